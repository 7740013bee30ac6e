/**
 * Builds a preference dataset with a pack's own networks (any `RunRole`: the inference worker's
 * sessions or ORT in Node): per reference the image tokens and the VAE latent, then per prompt and
 * seed one generated image from the current adapter, and the quality maps of that image against
 * the reference in both directions (`m_gen`, `m_ref`; core/quality/maps.ts). A two-subject
 * dataset generates each pair of references in one image and keeps per-subject maps
 * (core/quality/subjects.ts).
 */

import { concatReferences } from "../engine/references";
import {
  type AdapterTensors,
  encodePrompt,
  encodeReference,
  type GenerateResult,
  type GenerateSettings,
  generate,
  type PromptChoice,
  type RunRole,
  referenceOrder,
} from "../generate";
import { feed } from "../pack/feeds";
import { type Manifest, roleInput, roleOutput } from "../pack/manifest";
import { patchQualityCpu } from "../quality/cpu";
import { normalizeChannels, packEncoderSpec, patchFeatures } from "../quality/encoder-spec";
import { patchQualityMaps, type RefWeightMode } from "../quality/maps";
import { layoutOwners, subjectMaps } from "../quality/subjects";
import type { DatasetReference, DatasetSample, PreferenceDataset } from "./types";

export interface BuildReference {
  id: string;
  /** `[3, size, size]` in manifest.image.range, as the image encoder takes it. */
  tensor: Float32Array;
}

export interface BuildOptions {
  run: RunRole;
  manifest: Manifest;
  adapter: AdapterTensors;
  references: BuildReference[];
  /**
   * Two-subject datasets: pairs of indices into `references` (subject A, subject B), each
   * generated in one image with every prompt (whose position slot holds a layout) and seed.
   * Absent: one image per reference, prompt and seed.
   */
  pairs?: [number, number][];
  prompts: PromptChoice[];
  /** Seeds per reference and prompt: one generated image each. */
  seeds: number[];
  /** Sampler settings other than prompt, seed and batch. */
  sampler: Omit<GenerateSettings, "prompt" | "seed" | "batch">;
  /**
   * Generates one image of a reference (of subjects `ref` and `second` of a pair, whose tokens
   * `imageTokens` holds in the denoiser's order); the default is the studio's pipeline
   * (`generate`) with `adapter`. Benchmarks pass images sampled elsewhere (the foundry's PyTorch sampler).
   */
  generateImage?: (
    ref: BuildReference,
    imageTokens: Float32Array,
    settings: GenerateSettings,
    second?: BuildReference,
  ) => Promise<GenerateResult>;
  refWeight?: RefWeightMode;
  signal?: AbortSignal;
  /** After each generated image, with its decoded pixels `[3, size, size]`. */
  onSample?: (done: number, total: number, sample: DatasetSample, image: Float32Array) => void;
}

function f32(out: Record<string, { data: unknown }>, name: string, role: string): Float32Array {
  const t = out[name]?.data;
  if (!(t instanceof Float32Array)) throw new Error(`${role}: no float32 output "${name}"`);
  return t;
}

/** The clean latent of an image `[3, size, size]` in the denoiser's scaled space (VAE encoder × scale factor). */
export async function encodeLatent(run: RunRole, manifest: Manifest, tensor: Float32Array): Promise<Float32Array> {
  const image = roleInput(manifest, "vae_encoder", "image");
  const latentOut = await run("vae_encoder", { [image.name]: feed(image, 1, tensor) });
  const scale = manifest.latent.scale_factor;
  return f32(latentOut, roleOutput(manifest, "vae_encoder", "latent").name, "vae_encoder").map((v) => v * scale);
}

/** A reference as training sees it: its image tokens, its VAE latent (scaled space) and the null prompt. */
export async function datasetReference(
  run: RunRole,
  manifest: Manifest,
  ref: BuildReference,
): Promise<DatasetReference> {
  const imageTokens = await encodeReference(run, manifest, ref.tensor);
  const latent = await encodeLatent(run, manifest, ref.tensor);
  const promptIds = Array(manifest.prompt.length).fill(manifest.prompt.null_id);
  return { id: ref.id, latent, imageTokens, promptIds };
}

/** The studio's pairing of a two-subject dataset's references: 1 with 2, 3 with 4, … (an odd last one is left out). */
export function consecutivePairs(references: number): [number, number][] {
  return Array.from({ length: Math.floor(references / 2) }, (_, i) => [2 * i, 2 * i + 1]);
}

export async function buildDataset(o: BuildOptions): Promise<PreferenceDataset> {
  const { run, manifest } = o;
  const spec = packEncoderSpec(manifest);
  const patchImage = roleInput(manifest, "patch_encoder", "image");
  const grid = { height: spec.grid[0], width: spec.grid[1] };
  const features = async (pixels: Float32Array) => {
    const out = await run("patch_encoder", { [patchImage.name]: feed(patchImage, 1, normalizeChannels(pixels, spec)) });
    return patchFeatures(f32(out, spec.output, "patch_encoder"), out[spec.output].dims, spec);
  };
  const ds: PreferenceDataset = { packId: manifest.id, grid, references: [], samples: [] };
  const total = (o.pairs?.length ?? o.references.length) * o.prompts.length * o.seeds.length;
  const generateImage =
    o.generateImage ??
    ((_ref: BuildReference, imageTokens: Float32Array, settings: GenerateSettings) =>
      generate({ run, manifest, imageTokens, adapter: o.adapter, settings, signal: o.signal }));
  const shape = { batch: 1, genPatches: grid.height * grid.width, refPatches: grid.height * grid.width, dim: spec.dim };
  const add = (sample: DatasetSample, image: Float32Array) => {
    ds.samples.push(sample);
    o.onSample?.(ds.samples.length, total, sample, image);
  };
  const refFeatures: Float32Array[] = [];
  for (const ref of o.references) {
    ds.references.push(await datasetReference(run, manifest, ref));
    refFeatures.push(await features(ref.tensor));
  }
  for (const pair of o.pairs ?? []) {
    if (
      pair.length !== 2 ||
      pair.some((k) => !Number.isInteger(k) || k < 0 || k >= o.references.length) ||
      pair[0] === pair[1]
    )
      throw new RangeError(
        `pair ${JSON.stringify(pair)}: two different reference indices (0–${o.references.length - 1})`,
      );
  }
  const items: [number, number?][] = o.pairs ?? o.references.map((_, k) => [k]);
  for (const [a, b] of items) {
    for (const prompt of o.prompts) {
      const order = b === undefined ? [0] : referenceOrder(manifest.prompt, prompt);
      const subjects = b === undefined ? [a] : [a, b];
      const tokens = concatReferences(
        subjects.map((k) => ds.references[k].imageTokens),
        order,
      );
      for (const seed of o.seeds) {
        o.signal?.throwIfAborted();
        const settings = { ...o.sampler, prompt, seed, batch: 1 };
        const gen = await generateImage(
          o.references[a],
          tokens,
          settings,
          b === undefined ? undefined : o.references[b],
        );
        const genFeatures = await features(gen.images);
        const common = {
          ref: a,
          prompt,
          promptIds: encodePrompt(manifest.prompt, prompt).map(Number),
          seed,
          latent: gen.latents,
        };
        if (b === undefined) {
          const maps = patchQualityMaps(
            patchQualityCpu(genFeatures, refFeatures[a], shape),
            0,
            grid,
            grid,
            o.refWeight,
          );
          add({ ...common, mGen: maps.gen, mRef: maps.ref }, gen.images);
        } else {
          const owners = layoutOwners(manifest, prompt, grid);
          const maps = subjectMaps(genFeatures, [refFeatures[a], refFeatures[b]], grid, spec.dim, owners, o.refWeight);
          const second = { ref: b, mRef: maps.ref[1], bFirst: order[0] === 1 };
          add({ ...common, second, mGen: maps.gen, mRef: maps.ref[0] }, gen.images);
        }
      }
    }
  }
  return ds;
}
