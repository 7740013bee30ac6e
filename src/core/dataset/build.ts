/**
 * Builds a preference dataset with a pack's own networks (any `RunRole`: the inference worker's
 * sessions or ORT in Node): per reference the image tokens and the VAE latent, then per prompt and
 * seed one generated image from the current adapter, and the quality maps of that image against
 * the reference in both directions (`m_gen`, `m_ref`; core/quality/maps.ts).
 */
import {
  type AdapterTensors,
  encodePrompt,
  encodeReference,
  type GenerateResult,
  type GenerateSettings,
  generate,
  type PromptChoice,
  type RunRole,
} from "../generate";
import { feed } from "../pack/feeds";
import { type Manifest, roleInput, roleOutput } from "../pack/manifest";
import { patchQualityCpu } from "../quality/cpu";
import { normalizeChannels, packEncoderSpec, patchFeatures } from "../quality/encoder-spec";
import { patchQualityMaps, type RefWeightMode } from "../quality/maps";
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
  prompts: PromptChoice[];
  /** Seeds per reference and prompt: one generated image each. */
  seeds: number[];
  /** Sampler settings other than prompt, seed and batch. */
  sampler: Omit<GenerateSettings, "prompt" | "seed" | "batch">;
  /**
   * Generates one image of a reference; the default is the studio's pipeline (`generate`) with
   * `adapter`. Benchmarks pass images sampled elsewhere (the foundry's PyTorch sampler).
   */
  generateImage?: (
    ref: BuildReference,
    imageTokens: Float32Array,
    settings: GenerateSettings,
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
  const total = o.references.length * o.prompts.length * o.seeds.length;
  const generateImage =
    o.generateImage ??
    ((_ref: BuildReference, imageTokens: Float32Array, settings: GenerateSettings) =>
      generate({ run, manifest, imageTokens, adapter: o.adapter, settings, signal: o.signal }));
  for (const ref of o.references) {
    const entry = await datasetReference(run, manifest, ref);
    const refIndex = ds.references.push(entry) - 1;
    const refFeatures = await features(ref.tensor);
    for (const prompt of o.prompts) {
      for (const seed of o.seeds) {
        o.signal?.throwIfAborted();
        const settings = { ...o.sampler, prompt, seed, batch: 1 };
        const gen = await generateImage(ref, entry.imageTokens, settings);
        const shape = {
          batch: 1,
          genPatches: grid.height * grid.width,
          refPatches: grid.height * grid.width,
          dim: spec.dim,
        };
        const maps = patchQualityMaps(
          patchQualityCpu(await features(gen.images), refFeatures, shape),
          0,
          grid,
          grid,
          o.refWeight,
        );
        const sample: DatasetSample = {
          ref: refIndex,
          prompt,
          promptIds: encodePrompt(manifest.prompt, prompt).map(Number),
          seed,
          latent: gen.latents,
          mGen: maps.gen,
          mRef: maps.ref,
        };
        ds.samples.push(sample);
        o.onSample?.(ds.samples.length, total, sample, gen.images);
      }
    }
  }
  return ds;
}
