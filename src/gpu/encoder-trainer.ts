/**
 * Patch-encoder enhancement on the WGSL engine: the GpuVit's forward gives the features, patch
 * InfoNCE and its gradient run on the CPU (a few hundred patches), then one submit records the
 * forward again with its tape, the backward into the flat gradient buffer and clipped AdamW over
 * the trained tail of the layout (optim.wgsl). Recording the forward twice costs one forward a
 * step; it keeps every tape a batch temporary. Same contract as `CpuEncoderTrainer`.
 */
import type { OptimizerState } from "../core/engine/optim.ts";
import type { VitArch } from "../core/engine/vit.ts";
import {
  type EncoderState,
  type EncoderTrainer,
  type EnhanceOptions,
  type EnhanceScope,
  type PairScore,
  pairImages,
  pairLoss,
  scoreOf,
  trainedParameters,
} from "../core/enhance/trainer.ts";
import type { ViewPair } from "../core/enhance/views.ts";
import type { GpuContext } from "./context.ts";
import { type OptimKernels, optimKernels } from "./kernels/optim.ts";
import { readBuffers, storageUsage, upload } from "./transfer.ts";
import { GpuVit } from "./vit.ts";

type F32 = Float32Array;

export class GpuEncoderTrainer implements EncoderTrainer {
  /** Trained parameter names, and the byte range of the layout they fill (its tail). */
  private readonly trained: string[];
  private readonly from: number;
  private readonly grads: GPUBuffer;
  private readonly m: GPUBuffer;
  private readonly v: GPUBuffer;
  private readonly sq: GPUBuffer;
  private t = 0;

  private constructor(
    private readonly ctx: GpuContext,
    readonly vit: GpuVit,
    private readonly optim: OptimKernels,
    readonly scope: EnhanceScope,
  ) {
    const { layout } = vit;
    this.trained = trainedParameters(vit.arch, layout.names(), scope);
    this.from = layout.offset(this.trained[0]);
    // Zeroed: the padding between parameters gets no gradient and no update.
    const zeros = new Float32Array(layout.bytes / 4);
    this.grads = upload(ctx, zeros);
    this.m = upload(ctx, zeros);
    this.v = upload(ctx, zeros);
    this.sq = upload(ctx, new Float32Array(1));
  }

  static async create(
    ctx: GpuContext,
    arch: VitArch,
    weights: ReadonlyMap<string, F32>,
    scope: EnhanceScope,
  ): Promise<GpuEncoderTrainer> {
    const vit = await GpuVit.create(ctx, arch, weights);
    try {
      return new GpuEncoderTrainer(ctx, vit, await optimKernels(ctx), scope);
    } catch (e) {
      vit.destroy();
      throw e;
    }
  }

  async step(pairs: readonly ViewPair[], options: EnhanceOptions): Promise<PairScore> {
    const images = pairImages(pairs);
    const features = await this.vit.features(images);
    const { result, dFeatures } = pairLoss(features, pairs, this.vit.tokens, this.vit.arch.dim, options.temperature);
    const span = (buffer: GPUBuffer): GPUBufferBinding => ({
      buffer,
      offset: this.from,
      size: this.vit.layout.bytes - this.from,
    });
    this.t += 1;
    this.ctx.submit("encoder.step", (b) => {
      const tape = this.vit.forward(b, b.upload(images, storageUsage()), 2 * pairs.length);
      this.vit.backward(b, tape, b.upload(dFeatures, storageUsage()), this.grads);
      this.optim.step(
        b,
        (this.vit.layout.bytes - this.from) / 4,
        { param: span(this.vit.params), grad: span(this.grads), m: span(this.m), v: span(this.v), sq: this.sq },
        this.t,
        { lr: options.lr, weightDecay: options.weightDecay ?? 0, maxNorm: options.maxNorm ?? 0 },
      );
    });
    return scoreOf(result);
  }

  get tokens(): number {
    return this.vit.tokens;
  }

  get dim(): number {
    return this.vit.arch.dim;
  }

  features(images: F32): Promise<F32> {
    return this.vit.features(images);
  }

  weights(): Promise<Map<string, F32>> {
    return this.vit.weights();
  }

  async exportState(): Promise<EncoderState> {
    const { layout } = this.vit;
    const region = (buffer: GPUBuffer) => ({ buffer, byteLength: layout.bytes });
    const [params, m, v] = await readBuffers(this.ctx, [region(this.vit.params), region(this.m), region(this.v)]);
    const optimizer: OptimizerState = {
      step: this.t,
      m: layout.split(m, this.trained),
      v: layout.split(v, this.trained),
    };
    return { params: layout.split(params, this.trained), optimizer };
  }

  importState(state: EncoderState): void {
    const { layout } = this.vit;
    this.vit.write(state.params);
    this.t = state.optimizer.step;
    for (const [flat, moments] of [
      [this.m, state.optimizer.m],
      [this.v, state.optimizer.v],
    ] as const)
      for (const [n, t] of moments)
        this.ctx.device.queue.writeBuffer(flat, layout.offset(n), t.buffer, t.byteOffset, t.byteLength);
  }

  destroy(): void {
    for (const b of [this.grads, this.m, this.v, this.sq]) this.ctx.pool.release(b);
    this.vit.destroy();
  }
}
