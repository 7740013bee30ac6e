/**
 * The adapter-training interface both engines implement (the WGSL `GpuDenoiser` and the CPU
 * fallback `CpuTrainer` below), so the training worker can use either: objectives, one optimizer
 * step, gradients for inspection, reference forwards, adapter checkpoints.
 */

import type { DenoiserArch, LoraConfig } from "./arch";
import { CpuDenoiser, type DenoiserInputs } from "./denoiser";
import { dpoLoss, perSampleMse, perSampleMseBackward, weightedMse } from "./objectives";
import { AdamW, type AdamWOptions, clipGradNorm, type OptimizerState } from "./optim";
import { Scratch } from "./scratch";

type F32 = Float32Array;

/**
 * What a step minimises. `mse`: mean(w ⊙ (ε̂ − target)²). `dpo`: Diffusion-DPO against the frozen
 * base adapter, the batch holding P winners then P losers (same noise target and timestep per
 * pair); with per-element weights the errors are the PatchDPO-weighted ones.
 */
export type Objective = { kind: "mse" } | { kind: "dpo"; beta: number };

export const MSE: Objective = { kind: "mse" };

/** A fixed batch for training: inputs, noise target and per-element loss weights. */
export interface TrainingBatch {
  inputs: DenoiserInputs;
  target: F32;
  /** Per-element weights (all ones when omitted): plain fine-tuning or PatchDPO weighting. */
  weight?: F32;
}

export interface TrainOptions extends AdamWOptions {
  /** Global gradient-norm limit; 0 or omitted disables clipping. */
  maxNorm?: number;
}

export interface LossAndGrads {
  loss: number;
  /** ∂L/∂ every trainable tensor, by name. */
  adapter: Map<string, F32>;
  latent: F32;
  imageTokens: F32;
}

export interface LoraTensors {
  config: LoraConfig;
  tensors: ReadonlyMap<string, F32>;
}

export interface AdapterTrainer {
  /** ε̂ with the trained adapter (`reference`: the frozen starting adapter). */
  forward(inputs: DenoiserInputs, reference?: boolean): Promise<F32>;
  lossAndGrads(batch: TrainingBatch, objective?: Objective): Promise<LossAndGrads>;
  /** One clipped AdamW step (queued on the GPU; read `readLoss` to wait for it). */
  trainStep(batch: TrainingBatch, options: TrainOptions, objective?: Objective): void;
  /** Loss of the latest step or `lossAndGrads`. */
  readLoss(): Promise<number>;
  /**
   * The losses of the `trainStep`s since the last call, oldest first, in one readback: a loop
   * that reads them every K steps makes no per-step host round trip.
   */
  readLosses(): Promise<number[]>;
  readAdapter(reference?: boolean): Promise<Map<string, F32>>;
  writeAdapter(tensors: ReadonlyMap<string, F32>, reference?: boolean): void;
  /** AdamW's step count and moments, for checkpoints that resume exactly. */
  readOptimizer(): Promise<OptimizerState>;
  writeOptimizer(state: OptimizerState): void;
  destroy(): void;
}

/** The CPU engine behind the same interface: the fallback where WebGPU is missing. */
export class CpuTrainer implements AdapterTrainer {
  private readonly policy: CpuDenoiser;
  private readonly reference: CpuDenoiser;
  private readonly optimizer = new AdamW();
  private lastLoss = Number.NaN;
  private stepLosses: number[] = [];
  /** Every step's tensors, reused by the next (see scratch.ts); results handed out are copies. */
  private readonly scratch = new Scratch();

  /** Policy and reference share the frozen `weights`; only the trainable tensors are copied. */
  constructor(arch: DenoiserArch, weights: ReadonlyMap<string, F32>, lora?: LoraTensors) {
    this.policy = new CpuDenoiser(arch, weights, lora);
    this.reference = new CpuDenoiser(arch, weights, lora);
  }

  async forward(inputs: DenoiserInputs, reference = false): Promise<F32> {
    return this.scratch.run(() => (reference ? this.reference : this.policy).forward(inputs).eps).slice();
  }

  async lossAndGrads(batch: TrainingBatch, objective: Objective = MSE): Promise<LossAndGrads> {
    const { loss, adapter, latent, imageTokens } = this.scratch.run(() => this.compute(batch, objective));
    return {
      loss,
      adapter: new Map([...adapter].map(([n, g]) => [n, g.slice()])),
      latent: latent.slice(),
      imageTokens: imageTokens.slice(),
    };
  }

  trainStep(batch: TrainingBatch, options: TrainOptions, objective: Objective = MSE): void {
    const { loss, adapter } = this.scratch.run(() => this.compute(batch, objective));
    this.applyGradients(adapter, options);
    this.stepLosses.push(loss);
  }

  /** Clips `grads` in place and takes one AdamW step with them (the sharded trainer's step). */
  applyGradients(grads: ReadonlyMap<string, F32>, options: TrainOptions): void {
    if (options.maxNorm) clipGradNorm(grads.values(), options.maxNorm);
    this.optimizer.step(this.policy.adapter, grads, options);
  }

  async readLoss(): Promise<number> {
    return this.lastLoss;
  }

  async readLosses(): Promise<number[]> {
    return this.stepLosses.splice(0);
  }

  async readAdapter(reference = false): Promise<Map<string, F32>> {
    return new Map([...(reference ? this.reference : this.policy).adapter].map(([n, t]) => [n, t.slice()]));
  }

  writeAdapter(tensors: ReadonlyMap<string, F32>, reference = false): void {
    for (const [n, t] of (reference ? this.reference : this.policy).adapter) {
      const src = tensors.get(n);
      if (!src || src.length !== t.length) throw new Error(`writeAdapter: missing or mis-sized tensor ${n}`);
      t.set(src);
    }
  }

  async readOptimizer(): Promise<OptimizerState> {
    return this.optimizer.exportState();
  }

  writeOptimizer(state: OptimizerState): void {
    this.optimizer.importState(state);
  }

  destroy(): void {}

  private compute(batch: TrainingBatch, objective: Objective): LossAndGrads {
    const { target, weight } = batch;
    const { eps, tape } = this.policy.forward(batch.inputs);
    let loss: number;
    let dEps: F32;
    if (objective.kind === "mse") {
      ({ loss, grad: dEps } = weightedMse(eps, target, weight));
    } else {
      const items = batch.inputs.timestep.length;
      if (items % 2 !== 0) throw new RangeError(`dpo: the batch must hold winners then losers, got ${items} items`);
      const p = items / 2;
      const e = perSampleMse(eps, target, items, weight);
      const eRef = perSampleMse(this.reference.forward(batch.inputs).eps, target, items, weight);
      const terms = {
        winner: e.subarray(0, p),
        loser: e.subarray(p),
        refWinner: eRef.subarray(0, p),
        refLoser: eRef.subarray(p),
      };
      const r = dpoLoss(terms, objective.beta);
      loss = r.loss;
      dEps = perSampleMseBackward(Float32Array.from([...r.dWinner, ...r.dLoser]), eps, target, weight);
    }
    this.lastLoss = loss;
    return { loss, ...this.policy.backward(tape, dEps) };
  }
}
