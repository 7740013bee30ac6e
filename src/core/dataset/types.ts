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
  /** Index into `references`: the subject, or subject A of a two-subject sample. */
  ref: number;
  /** A two-subject sample's subject B (multi-subject personalization); absent: one subject. */
  second?: SecondSubject;
  prompt: Record<string, string>;
  promptIds: number[];
  seed: number;
  /** The generated image's clean latent `[C, H, W]`. */
  latent: Float32Array;
  /**
   * `m_gen` on the patch grid: best cosine of each generated patch to any reference patch; of a
   * two-subject sample, the identity-aware map (core/quality/subjects.ts: a patch that matches
   * the other subject better than its own loses that excess).
   */
  mGen: Float32Array;
  /** `m_ref` on the patch grid (see core/quality/maps.ts for its definitions); subject A's of a two-subject sample. */
  mRef: Float32Array;
}

export interface SecondSubject {
  /** Index into `references`. */
  ref: number;
  /** B's `m_ref`, over the generated patches B owns. */
  mRef: Float32Array;
  /** Whether the denoiser takes B's reference first (the layout puts B left or top). */
  bFirst: boolean;
}

/** Whether a dataset's samples are two-subject ones (a dataset holds one kind). */
export const isTwoSubject = (ds: PreferenceDataset): boolean => ds.samples[0]?.second !== undefined;

/** A sample's references in the denoiser's order (indices into `references`). */
export function sampleReferences(s: DatasetSample): number[] {
  if (!s.second) return [s.ref];
  return s.second.bFirst ? [s.second.ref, s.ref] : [s.ref, s.second.ref];
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
