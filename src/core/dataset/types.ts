/**
 * A preference dataset (DESIGN.md §2 "Data"): reference subjects and images the model generated
 * from them, each generated image with its patch-quality maps in both directions. Everything the
 * training losses need is here, so training never runs the VAE, the image encoder or the patch
 * encoder again.
 */
import type { Grid } from "../quality/maps";

export interface DatasetReference {
  /** Gallery id or upload label. */
  id: string;
  /** The reference's clean latent `[C, H, W]` (VAE encoder output, scaled space). */
  latent: Float32Array;
  /** Image-encoder tokens `[T, D]`: both terms of every loss condition on these (DESIGN §2). */
  imageTokens: Float32Array;
  /** Prompt ids used when the reference image itself is a training target (the null prompt). */
  promptIds: number[];
}

export interface DatasetSample {
  /** Index into `references`. */
  ref: number;
  prompt: Record<string, string>;
  promptIds: number[];
  seed: number;
  /** The generated image's clean latent `[C, H, W]`. */
  latent: Float32Array;
  /** `m_gen` on the patch grid: best cosine of each generated patch to any reference patch. */
  mGen: Float32Array;
  /** `m_ref` on the patch grid (see core/quality/maps.ts for its definitions). */
  mRef: Float32Array;
}

export interface PreferenceDataset {
  packId: string;
  /** The patch grid of `mGen` and `mRef` (8×8 for the built-in packs). */
  grid: Grid;
  references: DatasetReference[];
  samples: DatasetSample[];
}

/** Mean patch quality of a sample: how "good" the generated image is as a whole. */
export function meanQuality(s: DatasetSample): number {
  let sum = 0;
  for (const v of s.mGen) sum += v;
  return sum / s.mGen.length;
}
