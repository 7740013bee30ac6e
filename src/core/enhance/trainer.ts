/**
 * Patch-encoder enhancement on the CPU engine: patch InfoNCE over view pairs with known
 * correspondences (views.ts, infonce.ts), clipped AdamW on every parameter or on the last block,
 * the final norm and the head only. `sPatch` measures correspondence accuracy on held-out pairs.
 */
import { AdamW, clipGradNorm } from "../engine/optim";
import { Scratch } from "../engine/scratch";
import type { CpuVit, VitArch } from "../engine/vit";
import { infoNce } from "./infonce";
import type { ViewPair } from "./views";

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

/** The parameter names `scope` trains. */
export function trainedParameters(arch: VitArch, names: Iterable<string>, scope: EnhanceScope): string[] {
  const last = `layers.${arch.depth - 1}.`;
  return [...names].filter(
    (n) => scope === "all" || n.startsWith(last) || n.startsWith("norm.") || n.startsWith("head."),
  );
}

/** The features of both views of `pairs`, and the loss and accuracy of their correspondences. */
function score(vit: CpuVit, pairs: readonly ViewPair[], temperature: number) {
  const per = pairs[0].a.length;
  const images = new Float32Array(2 * pairs.length * per);
  pairs.forEach((p, i) => {
    images.set(p.a, i * per);
    images.set(p.b, (pairs.length + i) * per);
  });
  const { features, tape } = vit.forward(images);
  const half = features.length / 2;
  const target = new Int32Array(pairs.length * vit.tokens);
  for (const [i, p] of pairs.entries()) target.set(p.target, i * vit.tokens);
  const result = infoNce(
    { a: features.subarray(0, half), b: features.subarray(half), target, tokens: vit.tokens, dim: vit.arch.dim },
    temperature,
  );
  return { result, tape };
}

/** S_patch: correspondence top-1 and top-5 accuracy of `vit` on `pairs`. */
export function sPatch(vit: CpuVit, pairs: readonly ViewPair[], temperature = 0.1): PairScore {
  const { loss, top1, top5, valid } = score(vit, pairs, temperature).result;
  return { loss, top1, top5, valid };
}

export class CpuEncoderTrainer {
  private readonly optimizer = new AdamW();
  private readonly scratch = new Scratch();
  private readonly trained: ReadonlyMap<string, Float32Array>;

  constructor(
    readonly vit: CpuVit,
    readonly scope: EnhanceScope,
  ) {
    const names = trainedParameters(vit.arch, vit.params.keys(), scope);
    this.trained = new Map(names.map((n) => [n, vit.params.get(n) as Float32Array]));
  }

  /** One clipped AdamW step on a batch of pairs; returns the batch's score before the step. */
  step(pairs: readonly ViewPair[], options: EnhanceOptions): PairScore {
    // The step's tensors come from the scratch (see engine/scratch.ts); only numbers leave it.
    return this.scratch.run(() => this.stepOn(pairs, options));
  }

  private stepOn(pairs: readonly ViewPair[], options: EnhanceOptions): PairScore {
    const { result, tape } = score(this.vit, pairs, options.temperature);
    const dF = new Float32Array(result.dA.length + result.dB.length);
    dF.set(result.dA);
    dF.set(result.dB, result.dA.length);
    const all = this.vit.backward(tape, dF);
    const grads = new Map([...this.trained.keys()].map((n) => [n, all.get(n) as Float32Array]));
    if (options.maxNorm) clipGradNorm(grads.values(), options.maxNorm);
    this.optimizer.step(this.trained, grads, { lr: options.lr, weightDecay: options.weightDecay ?? 0 });
    const { loss, top1, top5, valid } = result;
    return { loss, top1, top5, valid };
  }
}
