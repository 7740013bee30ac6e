/**
 * Personalized generation inside the inference worker: a reference (gallery subject, pixels or a
 * ready tensor) → image tokens (cached per reference) → the guided sampler of src/core/generate
 * over the pack's denoiser with an adapter → VAE decoder → RGBA images. Session calls go through a
 * runner that reports each session.run's duration, so a request can report how much of its time
 * was spent outside ONNX Runtime.
 */

import { denoiserArch } from "../src/core/engine/arch";
import { concatReferences } from "../src/core/engine/references";
import {
  type AdapterTensors,
  decodeLatents,
  encodeReference,
  generate,
  imageToTensor,
  type RgbaImage,
  type RunRole,
  referenceOrder,
  type TensorData,
  tensorToImage,
} from "../src/core/generate";
import { type Manifest, type PackSource, packBaseUrl, type RoleName, type SourceInfo } from "../src/core/pack";
import { decodeImageBlob } from "./image-decode";
import type { GenerationOutput, GenerationProgress, GenerationRequest, ReferenceInput } from "./inference-api";
import { LruCache } from "./lru";

/** Runs one role of a loaded pack; `onRunMs` receives the time spent in session.run. */
export type SessionRunner = (
  role: RoleName,
  feeds: Record<string, TensorData>,
  onRunMs: (ms: number) => void,
) => Promise<Record<string, TensorData>>;

export interface GenerationPack {
  manifest: Manifest;
  /** The adapter tensors of the pack's own denoiser weights ("base"). */
  baseAdapter: AdapterTensors;
  /** A gallery file (pack-relative path) from wherever the pack came from. */
  galleryFile(file: string): Promise<Blob>;
}

/**
 * Where gallery images come from: the pack's URL (also for cached packs first loaded from a URL)
 * or the files the user picked. Gallery PNGs are not part of the cached pack, so a cached pack that
 * came from local files has no gallery until its folder is picked again.
 */
export function gallerySource(
  source: PackSource,
  info: SourceInfo,
  fetchFn: typeof fetch,
): (file: string) => Promise<Blob> {
  const url = source.kind === "url" ? source.url : info.kind === "url" ? info.url : undefined;
  if (url) {
    const base = packBaseUrl(url);
    return async (file) => {
      const res = await fetchFn(new URL(file, base).href);
      if (!res.ok) throw new Error(`${file}: HTTP ${res.status} from ${base}`);
      return res.blob();
    };
  }
  const files = source.kind === "files" ? source.files : {};
  return async (file) => {
    const blob = files[file];
    if (!blob) throw new Error(`${file} is not available: pick the pack folder again to use its gallery`);
    return blob;
  };
}

/** The pack's reference preprocessing, returned as the 8-bit image the image encoder will see. */
export function fitReference(image: RgbaImage, manifest: Manifest, source: string): RgbaImage {
  const { size, range } = manifest.image;
  return tensorToImage(imageToTensor(image, manifest.image, source), 0, size, range);
}

async function digest(values: Float32Array): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", values as Float32Array<ArrayBuffer>);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Generator {
  private readonly packs = new Map<string, GenerationPack>();
  /** Image tokens by pack id and reference-tensor hash: encoding a reference once serves every re-run. */
  private readonly tokens = new LruCache<string, Float32Array>(32);
  /** Fitted gallery subjects by pack id and subject id, so a re-run does not fetch and decode again. */
  private readonly subjects = new LruCache<string, RgbaImage>(64);

  constructor(private readonly runner: (packId: string) => SessionRunner) {}

  register(pack: GenerationPack): void {
    this.forget(pack.manifest.id);
    this.packs.set(pack.manifest.id, pack);
  }

  /** Drops a pack and its cached tokens (a reloaded pack of the same id may have other weights). */
  forget(packId: string): void {
    this.packs.delete(packId);
    const ofPack = (key: string) => key.startsWith(`${packId}|`);
    this.tokens.deleteWhere(ofPack);
    this.subjects.deleteWhere(ofPack);
  }

  private pack(packId: string): GenerationPack {
    const pack = this.packs.get(packId);
    if (!pack) throw new Error(`pack "${packId}" is not loaded`);
    return pack;
  }

  async galleryReference(packId: string, subjectId: string): Promise<RgbaImage> {
    const { manifest, galleryFile } = this.pack(packId);
    const entry = [...(manifest.gallery?.heldout ?? []), ...(manifest.gallery?.train ?? [])].find(
      (e) => e.id === subjectId,
    );
    if (!entry) throw new Error(`pack "${packId}" has no gallery subject "${subjectId}"`);
    const key = `${packId}|${subjectId}`;
    const cached = this.subjects.get(key);
    if (cached) return cached;
    const fitted = fitReference(await decodeImageBlob(await galleryFile(entry.file), entry.file), manifest, entry.file);
    this.subjects.set(key, fitted);
    return fitted;
  }

  async uploadedReference(packId: string, file: Blob, name: string): Promise<RgbaImage> {
    return fitReference(await decodeImageBlob(file, name), this.pack(packId).manifest, name);
  }

  /** The reference as the image encoder's input, and as the 8-bit image that input shows. */
  private async referenceTensor(
    packId: string,
    ref: ReferenceInput,
  ): Promise<{ tensor: Float32Array; image: RgbaImage }> {
    const { manifest } = this.pack(packId);
    const { size, range } = manifest.image;
    let tensor: Float32Array;
    if (ref.kind === "tensor") {
      if (ref.data.length !== 3 * size * size) throw new Error(`reference tensor must have 3×${size}×${size} values`);
      tensor = ref.data;
    } else if (ref.kind === "gallery") {
      tensor = imageToTensor(await this.galleryReference(packId, ref.id), manifest.image, ref.id);
    } else {
      tensor = imageToTensor(ref.image, manifest.image, ref.label);
    }
    return { tensor, image: tensorToImage(tensor, 0, size, range) };
  }

  /** A reference's image tokens, encoded once per pack and reference tensor. */
  private async imageTokens(
    packId: string,
    tensor: Float32Array,
    run: RunRole,
  ): Promise<{ tokens: Float32Array; cached: boolean }> {
    const key = `${packId}|${await digest(tensor)}`;
    const cached = this.tokens.get(key);
    if (cached) return { tokens: cached, cached: true };
    const tokens = await encodeReference(run, this.pack(packId).manifest, tensor);
    this.tokens.set(key, tokens);
    return { tokens, cached: false };
  }

  async generate(
    req: GenerationRequest,
    signal: AbortSignal,
    onProgress: (p: GenerationProgress) => void,
  ): Promise<GenerationOutput> {
    const started = performance.now();
    const pack = this.pack(req.packId);
    const { manifest } = pack;
    const runSession = this.runner(req.packId);
    let sessionMs = 0;
    let sessionRuns = 0;
    const run: RunRole = (role, feeds) =>
      runSession(role, feeds, (ms) => {
        sessionMs += ms;
        sessionRuns++;
      });

    if (req.second && denoiserArch(manifest).maxReferences < 2)
      throw new Error(`pack "${req.packId}"'s denoiser takes one reference; a second one needs a two-reference pack`);
    const refs = await Promise.all(
      [req.reference, req.second].filter((r) => r !== undefined).map((r) => this.referenceTensor(req.packId, r)),
    );
    const encoded = [];
    for (const r of refs) encoded.push(await this.imageTokens(req.packId, r.tensor, run));
    const tokensCached = encoded.every((e) => e.cached);
    const imageTokens = concatReferences(
      encoded.map((e) => e.tokens),
      refs.length > 1 ? referenceOrder(manifest.prompt, req.settings.prompt) : [0],
    );
    signal.throwIfAborted();

    const adapter = req.adapter.kind === "base" ? pack.baseAdapter : req.adapter.tensors;
    const { size, range } = manifest.image;
    const previews: Promise<void>[] = [];
    const { images, latents } = await generate({
      run,
      manifest,
      imageTokens,
      adapter,
      settings: req.settings,
      noise: req.noise,
      signal,
      onStep: (step, total, clean) => {
        const every = req.previewEvery ?? 0;
        if (every > 0 && step % every === 0 && step < total) {
          // Decoded on the session queue between denoiser steps; a failed preview is not an error.
          const latent = Float32Array.from(clean);
          previews.push(
            decodeLatents(run, manifest, latent, 1).then(
              (img) => onProgress({ step, total, preview: tensorToImage(img, 0, size, range) }),
              () => undefined,
            ),
          );
        } else {
          onProgress({ step, total });
        }
      },
    });
    await Promise.all(previews);
    const batch = req.settings.batch;
    return {
      images: Array.from({ length: batch }, (_, b) => tensorToImage(images, b, size, range)),
      reference: refs[0].image,
      ...(refs[1] ? { second: refs[1].image } : {}),
      latents,
      decoded: images,
      timing: { totalMs: performance.now() - started, sessionMs, sessionRuns, tokensCached },
    };
  }
}
