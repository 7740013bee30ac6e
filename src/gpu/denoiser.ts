/**
 * The DiT denoiser's adapter trainer on the WGSL engine: the `AdapterTrainer` of
 * core/engine/trainer.ts over three parts, each in its own module:
 * - `DenoiserParameters`: frozen weights and the flat trainable buffers (values, frozen base copy,
 *   gradients, AdamW moments), with upload and readback by tensor name;
 * - `DenoiserGraph`: the forward and backward recording, activations as batch temporaries;
 * - `ObjectiveRecorder`: the MSE or Diffusion-DPO loss and its gradient with respect to ε̂.
 * A whole training step (forward, loss, backward, clipped AdamW) records into one command batch,
 * and its scratch returns to the pool at submit, so the pool's live buffer count stays constant
 * from step to step. Each step also copies its loss into a log on the device, which `readLosses`
 * reads in one go: nothing in a step waits for the host.
 */
import type { DenoiserArch } from "../core/engine/arch.ts";
import type { DenoiserInputs } from "../core/engine/denoiser.ts";
import type { OptimizerState } from "../core/engine/optim.ts";
import {
  type AdapterTrainer,
  type LoraTensors,
  type LossAndGrads,
  MSE,
  type Objective,
  type TrainingBatch,
  type TrainOptions,
} from "../core/engine/trainer.ts";
import type { CommandBatch } from "./batch.ts";
import type { GpuContext } from "./context.ts";
import { DenoiserGraph, graphKernels } from "./denoiser-graph.ts";
import { DenoiserParameters } from "./denoiser-parameters.ts";
import { lossKernels } from "./kernels/loss.ts";
import { type OptimKernels, optimKernels } from "./kernels/optim.ts";
import { ObjectiveRecorder } from "./objective.ts";
import { readBuffers, storageUsage, upload } from "./transfer.ts";

type F32 = Float32Array;

/** Steps whose losses the device keeps until `readLosses`. */
export const LOSS_LOG = 256;

export class GpuDenoiser implements AdapterTrainer {
  /** Σ g² of the latest step (one float), for clipping without a readback. */
  private readonly sq: GPUBuffer;
  private step = 0;
  /** One float per step since the last `readLosses`. */
  private readonly lossLog: GPUBuffer;
  private unreadLosses = 0;

  private constructor(
    private readonly ctx: GpuContext,
    private readonly params: DenoiserParameters,
    private readonly graph: DenoiserGraph,
    private readonly objective: ObjectiveRecorder,
    private readonly optim: OptimKernels,
  ) {
    this.sq = upload(ctx, new Float32Array(1));
    this.lossLog = ctx.pool.acquire(4 * LOSS_LOG, storageUsage(), "denoiser.loss-log");
  }

  /** `lora`: optional LoRA tensors (see `initLora`), trained together with the image adapters. */
  static async create(
    ctx: GpuContext,
    arch: DenoiserArch,
    weights: ReadonlyMap<string, F32>,
    lora?: LoraTensors,
  ): Promise<GpuDenoiser> {
    const [graph, loss, optim] = await Promise.all([graphKernels(ctx), lossKernels(ctx), optimKernels(ctx)]);
    const params = new DenoiserParameters(ctx, arch, weights, lora);
    return new GpuDenoiser(
      ctx,
      params,
      new DenoiserGraph(arch, params, graph, arch.maxReferences > 1 ? weights.get("ref_embed") : undefined),
      new ObjectiveRecorder(ctx, loss),
      optim,
    );
  }

  /** Frees every buffer this denoiser holds. */
  destroy(): void {
    this.params.destroy();
    this.objective.destroy();
    this.ctx.pool.release(this.sq);
    this.ctx.pool.release(this.lossLog);
  }

  /** ε̂ for a batch, with the trained adapter (or the frozen base adapter with `reference`). */
  async forward(inputs: DenoiserInputs, reference = false): Promise<F32> {
    const n = inputs.latent.length;
    const out = this.ctx.pool.acquire(n * 4, storageUsage(), "denoiser.eps");
    try {
      this.ctx.submit("denoiser.forward", (b) => {
        const adapter = reference ? this.params.base : this.params.adapter;
        const tape = this.graph.forward(b, this.graph.uploadInputs(b, inputs), adapter);
        b.copy(tape.eps, 0, out, 0, n * 4);
      });
      const [eps] = await readBuffers(this.ctx, [{ buffer: out, byteLength: n * 4 }]);
      return new Float32Array(eps);
    } finally {
      this.ctx.pool.release(out);
    }
  }

  /**
   * The objective's loss and its gradients with respect to the adapter tensors and the float
   * inputs, read back (for tests and inspection; training uses `trainStep`).
   */
  async lossAndGrads(batch: TrainingBatch, objective: Objective = MSE): Promise<LossAndGrads> {
    const nl = batch.inputs.latent.length;
    const ni = batch.inputs.imageTokens.length;
    const dLatent = this.ctx.pool.acquire(nl * 4, storageUsage(), "denoiser.dLatent");
    const dImg = this.ctx.pool.acquire(ni * 4, storageUsage(), "denoiser.dImg");
    try {
      this.ctx.submit("denoiser.grads", (b) => {
        const g = this.recordLossAndGrads(b, batch, objective);
        b.copy(g.dLatent, 0, dLatent, 0, nl * 4);
        b.copy(g.dImg, 0, dImg, 0, ni * 4);
      });
      const [loss, grads, lat, img] = await readBuffers(this.ctx, [
        { buffer: this.objective.loss, byteLength: 4 },
        this.params.region(this.params.grad),
        { buffer: dLatent, byteLength: nl * 4 },
        { buffer: dImg, byteLength: ni * 4 },
      ]);
      return {
        loss: new Float32Array(loss)[0],
        adapter: this.params.split(grads),
        latent: new Float32Array(lat),
        imageTokens: new Float32Array(img),
      };
    } finally {
      this.ctx.pool.release(dLatent);
      this.ctx.pool.release(dImg);
    }
  }

  /** One AdamW step on the adapter tensors, recorded as one submission; nothing is read back. */
  trainStep(batch: TrainingBatch, options: TrainOptions, objective: Objective = MSE): void {
    if (this.unreadLosses >= LOSS_LOG) throw new Error(`trainStep: read the losses at least every ${LOSS_LOG} steps`);
    this.step += 1;
    const step = this.step;
    const slot = this.unreadLosses++;
    this.ctx.submit("denoiser.train-step", (b) => {
      this.recordLossAndGrads(b, batch, objective);
      b.copy(this.objective.loss, 0, this.lossLog, 4 * slot, 4);
      const { adapter, grad, m, v, bytes } = this.params;
      this.optim.step(b, bytes / 4, { param: adapter, grad, m, v, sq: this.sq }, step, options);
    });
  }

  async readLosses(): Promise<number[]> {
    const count = this.unreadLosses;
    this.unreadLosses = 0;
    if (count === 0) return [];
    const [log] = await readBuffers(this.ctx, [{ buffer: this.lossLog, byteLength: 4 * count }]);
    return [...new Float32Array(log)];
  }

  /** The loss of the latest `trainStep` or `lossAndGrads` (one small readback). */
  async readLoss(): Promise<number> {
    const [loss] = await readBuffers(this.ctx, [{ buffer: this.objective.loss, byteLength: 4 }]);
    return new Float32Array(loss)[0];
  }

  /** Replaces the trainable adapter tensors (e.g. a checkpoint); `reference`: the frozen base copy. */
  writeAdapter(tensors: ReadonlyMap<string, F32>, reference = false): void {
    this.params.write(reference ? this.params.base : this.params.adapter, tensors);
  }

  /** The adapter tensors (`reference`: the frozen base values) by name. */
  async readAdapter(reference = false): Promise<Map<string, F32>> {
    const [flat] = await readBuffers(this.ctx, [
      this.params.region(reference ? this.params.base : this.params.adapter),
    ]);
    return this.params.split(flat);
  }

  async readOptimizer(): Promise<OptimizerState> {
    const [m, v] = await readBuffers(this.ctx, [this.params.region(this.params.m), this.params.region(this.params.v)]);
    return { step: this.step, m: this.params.split(m), v: this.params.split(v) };
  }

  writeOptimizer(state: OptimizerState): void {
    this.step = state.step;
    this.params.write(this.params.m, state.m);
    this.params.write(this.params.v, state.v);
  }

  /** Forward with the trained adapter, the objective, and the backward into the gradient buffer. */
  private recordLossAndGrads(
    b: CommandBatch,
    batch: TrainingBatch,
    objective: Objective,
  ): { dLatent: GPUBuffer; dImg: GPUBuffer } {
    const { graph, params } = this;
    const inputs = graph.uploadInputs(b, batch.inputs);
    const tape = graph.forward(b, inputs, params.adapter);
    const usage = storageUsage();
    const operands = {
      items: inputs.batch,
      n: batch.inputs.latent.length,
      eps: tape.eps,
      target: b.upload(batch.target, usage),
      weight: batch.weight && b.upload(batch.weight, usage),
    };
    const dEps = this.objective.record(b, objective, operands, () => graph.forward(b, inputs, params.base).eps);
    return graph.backward(b, tape, dEps, params.adapter, params.grad);
  }
}
