/**
 * An enhancement run, the same in the studio's training worker and in scripts: the user's images
 * split into training images and held-out ones, reproducible training batches per step (so a run
 * resumed from a checkpoint sees the batches it would have), a fixed set of held-out pairs for
 * S_patch and one example pair whose best matches are shown before and after.
 */

import type { VitArch } from "../engine/vit";
import type { RgbaImage } from "../generate/image";
import { uniformStream } from "../sampling/rng";
import { bestMatches } from "./infonce";
import {
  type EncoderState,
  type EncoderTrainer,
  type EnhanceScope,
  type PairScore,
  pairImages,
  pairLoss,
  scoreOf,
} from "./trainer";
import { pairSet, proceduralBackgrounds, type Sprite, spriteOf, type ViewPair } from "./views";

export interface EnhanceConfig {
  /** Train every parameter, or the last block, the final norm and the head. */
  scope: EnhanceScope;
  /** Start from the pack's trained encoder, or from PyTorch-style random weights (an ablation). */
  start: "pack" | "random";
  steps: number;
  /** View pairs per step. */
  batchPairs: number;
  lr: number;
  weightDecay: number;
  maxNorm: number;
  temperature: number;
  /** S_patch on the held-out pairs every this many steps (and at the start and the end). */
  evalEvery: number;
  evalPairs: number;
  checkpointEvery: number;
  seed: number;
}

export const DEFAULT_ENHANCE: EnhanceConfig = {
  scope: "all",
  start: "pack",
  steps: 200,
  batchPairs: 16,
  lr: 5e-4,
  weightDecay: 0.01,
  maxNorm: 1,
  temperature: 0.1,
  evalEvery: 20,
  evalPairs: 64,
  checkpointEvery: 20,
  seed: 0,
};

export interface EnhanceStepReport extends PairScore {
  step: number;
  ms: number;
}

/** S_patch of the held-out pairs after `step` steps. */
export interface SPatchPoint extends PairScore {
  step: number;
}

/** The held-out share of the user's images: every fourth, at least one (S_patch needs unseen images). */
export function heldOutImages(count: number): number[] {
  if (count < 2) throw new Error(`enhancement needs at least 2 images (one is held out for S_patch); got ${count}`);
  const every = Math.min(4, count);
  return Array.from({ length: count }, (_, i) => i).filter((i) => i % every === every - 1);
}

export class EnhanceData {
  readonly train: Sprite[];
  readonly heldOut: Sprite[];
  readonly evalPairs: ViewPair[];
  /** The held-out pair shown with its matches. */
  readonly example: ViewPair;
  private readonly backgrounds: Float32Array[];
  private readonly views: { size: number; grid: number };

  constructor(
    images: readonly RgbaImage[],
    arch: VitArch,
    private readonly config: EnhanceConfig,
  ) {
    const held = new Set(heldOutImages(images.length));
    const sprites = images.map((img, i) => {
      if (img.width !== arch.image || img.height !== arch.image)
        throw new Error(`image ${i + 1} is ${img.width}×${img.height}; the encoder takes ${arch.image}×${arch.image}`);
      return spriteOf(img);
    });
    this.train = sprites.filter((_, i) => !held.has(i));
    this.heldOut = sprites.filter((_, i) => held.has(i));
    this.views = { size: arch.image, grid: arch.image / arch.patch };
    this.backgrounds = proceduralBackgrounds(16, arch.image, uniformStream(config.seed * 7919 + 5));
    this.evalPairs = pairSet(this.heldOut, this.backgrounds, config.evalPairs, config.seed * 7919 + 1, this.views);
    this.example = this.evalPairs[0];
  }

  /** The training batch of step `step` (0-based). */
  batch(step: number): ViewPair[] {
    const seed = this.config.seed * 7919 + 1000 + step;
    return pairSet(this.train, this.backgrounds, this.config.batchPairs, seed, this.views);
  }
}

/** Steps, S_patch and the example's matches of one trainer on one run's data. */
export class EnhanceLoop {
  step = 0;

  constructor(
    readonly trainer: EncoderTrainer,
    readonly data: EnhanceData,
    readonly config: EnhanceConfig,
  ) {}

  get done(): boolean {
    return this.step >= this.config.steps;
  }

  async next(): Promise<EnhanceStepReport> {
    const started = performance.now();
    const { lr, weightDecay, maxNorm, temperature } = this.config;
    const score = await this.trainer.step(this.data.batch(this.step), { lr, weightDecay, maxNorm, temperature });
    if (!Number.isFinite(score.loss)) throw new Error(`the InfoNCE loss is not finite at step ${this.step + 1}`);
    this.step += 1;
    return { step: this.step, ms: performance.now() - started, ...score };
  }

  /** S_patch on the held-out pairs now, and each example B patch's best A match. */
  async evaluate(): Promise<{ point: SPatchPoint; matches: Int32Array }> {
    const { evalPairs } = this.data;
    const features = await this.trainer.features(pairImages(evalPairs));
    const { tokens, dim } = this.trainer;
    const score = scoreOf(pairLoss(features, evalPairs, tokens, dim, this.config.temperature).result);
    const half = features.length / 2;
    const matches = bestMatches(
      features.subarray(0, tokens * dim),
      features.subarray(half, half + tokens * dim),
      tokens,
      dim,
    );
    return { point: { step: this.step, ...score }, matches };
  }

  async checkpoint(): Promise<{ step: number; state: EncoderState }> {
    return { step: this.step, state: await this.trainer.exportState() };
  }

  restore(cp: { step: number; state: EncoderState }): void {
    this.trainer.importState(cp.state);
    this.step = cp.step;
  }
}
