/**
 * Patch-encoder enhancement: patch InfoNCE over view pairs with known correspondences (views.ts,
 * infonce.ts), clipped AdamW on every parameter or on the last block, the final norm and the head
 * only. `EncoderTrainer` is what a run drives, on the CPU engine here or on WGSL
 * (src/gpu/encoder-trainer.ts); its state is by parameter name, so a run checkpointed on one
 * engine resumes on the other. `sPatch` measures correspondence accuracy on held-out pairs.
 */
import { AdamW, clipGradNorm, type OptimizerState } from "../engine/optim";
import { Scratch } from "../engine/scratch";
import type { CpuVit, VitArch } from "../engine/vit";
import { type InfoNceResult, infoNce } from "./infonce";
import type { ViewPair } from "./views";

type F32 = Float32Array;

/** What enhancement trains: the whole encoder, or its last block, final norm and head. */
export type EnhanceScope = "all" | "last";

export interface EnhanceOptions {
  lr: number;
  weightDecay?: number;
  /** Global gradient-norm limit; 0 disables clipping. */
  maxNorm?: number;
  /** InfoNCE temperature τ (the foundry trains with 0.1). */
  temperature: number;
}

export interface PairScore {
  loss: number;
  top1: number;
  top5: number;
  /** Subject patches scored. */
  valid: number;
}

/** A checkpoint of an encoder trainer: the trained parameters and AdamW's state, by name. */
export interface EncoderState {
  params: Map<string, F32>;
  optimizer: OptimizerState;
}

export interface EncoderTrainer {
  readonly scope: EnhanceScope;
  /** Patches per image, and feature size. */
  readonly tokens: number;
  readonly dim: number;
  /** One clipped AdamW step on a batch of pairs; resolves with the batch's score before the step. */
  step(pairs: readonly ViewPair[], options: EnhanceOptions): Promise<PairScore>;
  /** Features `[B·T, dim]` of images `[B, 3, size, size]` under the current weights. */
  features(images: F32): Promise<F32>;
  /** Every parameter, by name. */
  weights(): Promise<Map<string, F32>>;
  exportState(): Promise<EncoderState>;
  importState(state: EncoderState): void;
  destroy(): void;
}

/** The parameter names `scope` trains (a tail of `vitParameters`' order). */
export function trainedParameters(arch: VitArch, names: Iterable<string>, scope: EnhanceScope): string[] {
  const last = `layers.${arch.depth - 1}.`;
  return [...names].filter(
    (n) => scope === "all" || n.startsWith(last) || n.startsWith("norm.") || n.startsWith("head."),
  );
}

/** Both views of `pairs` as one batch `[A₀ … A_{n−1}, B₀ … B_{n−1}]` of images. */
export function pairImages(pairs: readonly ViewPair[]): F32 {
  const per = pairs[0].a.length;
  const images = new Float32Array(2 * pairs.length * per);
  pairs.forEach((p, i) => {
    images.set(p.a, i * per);
    images.set(p.b, (pairs.length + i) * per);
  });
  return images;
}

/** InfoNCE and accuracy of `features` (of `pairImages(pairs)`); the gradient is shaped as the features. */
export function pairLoss(
  features: F32,
  pairs: readonly ViewPair[],
  tokens: number,
  dim: number,
  temperature: number,
): { result: InfoNceResult; dFeatures: F32 } {
  const half = features.length / 2;
  const target = new Int32Array(pairs.length * tokens);
  for (const [i, p] of pairs.entries()) target.set(p.target, i * tokens);
  const result = infoNce(
    { a: features.subarray(0, half), b: features.subarray(half), target, tokens, dim },
    temperature,
  );
  const dFeatures = new Float32Array(features.length);
  dFeatures.set(result.dA);
  dFeatures.set(result.dB, half);
  return { result, dFeatures };
}

export const scoreOf = ({ loss, top1, top5, valid }: InfoNceResult): PairScore => ({ loss, top1, top5, valid });

/** S_patch: correspondence top-1 and top-5 accuracy of `vit` on `pairs`. */
export function sPatch(vit: CpuVit, pairs: readonly ViewPair[], temperature = 0.1): PairScore {
  const { features } = vit.forward(pairImages(pairs));
  return scoreOf(pairLoss(features, pairs, vit.tokens, vit.arch.dim, temperature).result);
}

export class CpuEncoderTrainer implements EncoderTrainer {
  private readonly optimizer = new AdamW();
  private readonly scratch = new Scratch();
  private readonly trained: ReadonlyMap<string, F32>;

  constructor(
    readonly vit: CpuVit,
    readonly scope: EnhanceScope,
  ) {
    const names = trainedParameters(vit.arch, vit.params.keys(), scope);
    this.trained = new Map(names.map((n) => [n, vit.params.get(n) as F32]));
  }

  async step(pairs: readonly ViewPair[], options: EnhanceOptions): Promise<PairScore> {
    // The step's tensors come from the scratch (see engine/scratch.ts); only numbers leave it.
    return this.scratch.run(() => this.stepOn(pairs, options));
  }

  get tokens(): number {
    return this.vit.tokens;
  }

  get dim(): number {
    return this.vit.arch.dim;
  }

  async features(images: F32): Promise<F32> {
    return this.vit.forward(images).features;
  }

  async weights(): Promise<Map<string, F32>> {
    return new Map([...this.vit.params].map(([n, t]) => [n, t.slice()]));
  }

  async exportState(): Promise<EncoderState> {
    return {
      params: new Map([...this.trained].map(([n, t]) => [n, t.slice()])),
      optimizer: this.optimizer.exportState(),
    };
  }

  importState(state: EncoderState): void {
    for (const [n, t] of state.params) (this.vit.params.get(n) as F32).set(t);
    this.optimizer.importState(state.optimizer);
  }

  destroy(): void {}

  private stepOn(pairs: readonly ViewPair[], options: EnhanceOptions): PairScore {
    const { features, tape } = this.vit.forward(pairImages(pairs));
    const { result, dFeatures } = pairLoss(features, pairs, this.vit.tokens, this.vit.arch.dim, options.temperature);
    const all = this.vit.backward(tape, dFeatures);
    const grads = new Map([...this.trained.keys()].map((n) => [n, all.get(n) as F32]));
    if (options.maxNorm) clipGradNorm(grads.values(), options.maxNorm);
    this.optimizer.step(this.trained, grads, { lr: options.lr, weightDecay: options.weightDecay ?? 0 });
    return scoreOf(result);
  }
}
