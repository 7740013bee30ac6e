/** A synthetic preference dataset shaped for a denoiser arch: seeded latents, tokens and quality maps. */
import { encodeDatasetZip, packShapes, type StoredDataset } from "../../dataset/format";
import type { PreferenceDataset } from "../../dataset/types";
import type { DenoiserArch } from "../../engine/arch";
import type { Manifest } from "../../pack/manifest";
import { gaussian } from "../../sampling";

/** The shape of a synthetic dataset: generated images per reference, references, seed, and whether each image shows two subjects. */
export interface SyntheticOptions {
  samplesPerRef?: number;
  refs?: number;
  seed?: number;
  /** Two-subject samples: reference r's images also show r + 1 (mod refs), B placed first in every other image. */
  pairs?: boolean;
}

export function syntheticDataset(
  arch: DenoiserArch,
  { samplesPerRef = 2, refs = 2, seed = 1, pairs = false }: SyntheticOptions = {},
): PreferenceDataset {
  const perLatent = arch.latentChannels * arch.latentSize * arch.latentSize;
  const grid = { height: 8, width: 8 };
  const map = (s: number) => gaussian(s, 64).map((v) => Math.tanh(0.5 + 0.5 * v));
  return {
    packId: "synthetic",
    grid,
    references: Array.from({ length: refs }, (_, r) => ({
      id: `ref${r}`,
      latent: gaussian(seed * 1000 + r, perLatent),
      imageTokens: gaussian(seed * 1000 + 100 + r, arch.imageTokens * arch.imageDim),
      promptIds: Array(arch.promptLength).fill(0),
    })),
    samples: Array.from({ length: refs * samplesPerRef }, (_, i) => ({
      ref: Math.floor(i / samplesPerRef),
      prompt: {},
      promptIds: Array.from({ length: arch.promptLength }, (_, k) => 1 + ((i + k) % 5)),
      seed: i,
      latent: gaussian(seed * 1000 + 200 + i, perLatent),
      mGen: map(seed * 1000 + 300 + i),
      mRef: map(seed * 1000 + 400 + i),
      ...(pairs
        ? {
            second: {
              ref: (Math.floor(i / samplesPerRef) + 1) % refs,
              mRef: map(seed * 1000 + 500 + i),
              bFirst: i % 2 === 1,
            },
          }
        : {}),
    })),
  };
}

/** `syntheticDataset` for `manifest`'s pack as a dataset zip (docs/dataset-format.md), for the PyTorch trainer. */
export function syntheticDatasetZip(manifest: Manifest, arch: DenoiserArch, o: SyntheticOptions = {}): Uint8Array {
  const dataset = { ...syntheticDataset(arch, o), packId: manifest.id };
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]); // the signature is all that is checked
  const stored: StoredDataset = {
    id: "synthetic",
    name: "synthetic dataset",
    createdAt: "2026-01-01T00:00:00.000Z",
    settings: {
      references: dataset.references.map((r) => ({ id: r.id, label: r.id, source: "upload" })),
      prompts: [{}],
      seeds: dataset.samples.map((s) => s.seed),
      sampler: { steps: 1, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
      adapter: "base",
      refWeight: "coverage",
    },
    dataset,
    referenceImages: dataset.references.map(() => png),
    sampleImages: dataset.samples.map(() => png),
  };
  return encodeDatasetZip(stored, packShapes(manifest, dataset.grid));
}
