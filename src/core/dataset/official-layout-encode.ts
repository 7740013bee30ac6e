/**
 * An official-layout import as a studio dataset: the parts read by fromOfficialLayout encoded with
 * the pack's networks through the same functions the dataset builder uses (core/dataset/build.ts):
 * each reference's latent and image tokens from its PNG, each generated image's latent from its
 * PNG with the VAE encoder. The images and maps are kept as read; the sample latents are
 * re-encodings, not the sampler's latents that the original dataset held.
 */
import { describePrompt, encodePrompt, imageToTensor, type RgbaImage, type RunRole } from "../generate";
import { samplerDefaults } from "../generate/sampler-defaults";
import type { Manifest } from "../pack/manifest";
import { datasetReference, encodeLatent } from "./build";
import type { StoredDataset } from "./format";
import type { OfficialParts } from "./official-layout";
import type { DatasetSample } from "./types";

export interface EncodeOfficialOptions {
  run: RunRole;
  manifest: Manifest;
  name: string;
  /** PNG bytes → pixels (the browser's decoder in the worker, node/png.ts in Node). */
  decode: (png: Uint8Array, source: string) => Promise<RgbaImage> | RgbaImage;
  signal?: AbortSignal;
  /** After each encoded image, references first. */
  onProgress?: (done: number, total: number) => void;
}

export async function encodeOfficialParts(
  parts: OfficialParts,
  o: EncodeOfficialOptions,
): Promise<Omit<StoredDataset, "id">> {
  const { run, manifest } = o;
  const total = parts.references.length + parts.samples.length;
  let done = 0;
  const tensor = async (png: Uint8Array, source: string) => {
    o.signal?.throwIfAborted();
    return imageToTensor(await o.decode(png, source), manifest.image, source);
  };
  const step = () => o.onProgress?.(++done, total);

  const references = [];
  for (const [i, r] of parts.references.entries()) {
    references.push(await datasetReference(run, manifest, { id: r.id, tensor: await tensor(r.png, `reference ${i}`) }));
    step();
  }
  const samples: DatasetSample[] = [];
  for (const [j, s] of parts.samples.entries()) {
    const latent = await encodeLatent(run, manifest, await tensor(s.png, `sample ${j}`));
    const promptIds = encodePrompt(manifest.prompt, s.prompt).map(Number);
    samples.push({ ref: s.ref, prompt: s.prompt, promptIds, seed: s.seed, latent, mGen: s.mGen, mRef: s.mRef });
    step();
  }
  const prompts = new Map(parts.samples.map((s) => [describePrompt(manifest.prompt, s.prompt), s.prompt]));
  return {
    name: o.name,
    createdAt: new Date().toISOString(),
    settings: {
      references: parts.references.map(({ id }) => ({ id, label: id, source: "upload" })),
      prompts: [...prompts.values()],
      seeds: [...new Set(parts.samples.map((s) => s.seed))],
      // The layout does not record how the images were sampled or which m_ref definition made the maps.
      sampler: samplerDefaults(manifest),
      adapter: "unknown (official layout import)",
      refWeight: "coverage",
    },
    dataset: { packId: manifest.id, grid: parts.grid, references, samples },
    referenceImages: parts.references.map((r) => r.png),
    sampleImages: parts.samples.map((s) => s.png),
  };
}
