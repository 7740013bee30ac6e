/** A synthetic preference dataset shaped for a denoiser arch: seeded latents, tokens and quality maps. */
import type { PreferenceDataset } from "../../dataset/types";
import type { DenoiserArch } from "../../engine/arch";
import { gaussian } from "../../sampling";

export function syntheticDataset(arch: DenoiserArch, samplesPerRef = 2, refs = 2, seed = 1): PreferenceDataset {
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
    })),
  };
}
