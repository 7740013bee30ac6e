/**
 * A stored preference dataset (the dataset, how it was made, and its images as PNG) and its zip
 * layout, documented in docs/dataset-format.md: `dataset.json` (format, settings, shapes and the
 * per-item metadata) plus one raw little-endian float32 file per array and one PNG per image, at
 * paths fixed by item index. Decoding validates everything against the target pack so that a bad
 * file fails with a message that names the problem, before anything is stored.
 */
import { unzipSync, zipSync } from "fflate";
import type { PromptChoice } from "../generate/prompt";
import { type Manifest, requireRole } from "../pack/manifest";
import type { Grid, RefWeightMode } from "../quality/maps";
import type { DatasetReference, DatasetSample, PreferenceDataset } from "./types";

export const DATASET_FORMAT = "patchdpo-dataset";
export const DATASET_VERSION = 1;

/** How a dataset was made, kept with it so it can be read and rebuilt. */
export interface DatasetSettings {
  references: { id: string; label: string; source: "gallery" | "upload" }[];
  /** A two-subject dataset's pairs of reference indices (subject A, subject B). */
  pairs?: [number, number][];
  prompts: PromptChoice[];
  seeds: number[];
  sampler: { steps: number; sampler: "ddim" | "euler"; guidanceImage: number; guidancePrompt: number; ipScale: number };
  /** Label of the adapter the images were generated with. */
  adapter: string;
  refWeight: RefWeightMode;
  /**
   * The enhanced patch encoder the quality maps came from (Train tab, Encoder), with its S_patch
   * (top-1, held-out pairs) before enhancement and at the step used; absent: the pack's encoder.
   */
  patchEncoder?: EnhancedEncoderUse;
}

export interface EnhancedEncoderUse {
  /** The enhancement run's id and label. */
  run: string;
  label: string;
  step: number;
  sPatchBefore?: number;
  sPatch?: number;
}

export interface StoredDataset {
  id: string;
  name: string;
  createdAt: string;
  settings: DatasetSettings;
  dataset: PreferenceDataset;
  /** PNG files: each reference as the image encoder saw it, each generated image. */
  referenceImages: Uint8Array[];
  sampleImages: Uint8Array[];
}

/** The array shapes a pack fixes, checked on import. */
export interface DatasetShapes {
  packId: string;
  /** `[C, H, W]` of a latent. */
  latent: [number, number, number];
  /** `[T, D]` of the image tokens. */
  tokens: [number, number];
  grid: Grid;
  /** Token ids per prompt. */
  promptLength: number;
}

export function packShapes(manifest: Manifest, grid: Grid): DatasetShapes {
  const { tokens, dim } = requireRole(manifest, "image_encoder");
  const { channels, height, width } = manifest.latent;
  return {
    packId: manifest.id,
    latent: [channels, height, width],
    tokens: [tokens, dim],
    grid,
    promptLength: manifest.prompt.length,
  };
}

/** dataset.json. */
interface Header {
  format: typeof DATASET_FORMAT;
  version: number;
  name: string;
  packId: string;
  createdAt: string;
  settings: DatasetSettings;
  shapes: { latent: number[]; tokens: number[]; grid: [number, number] };
  references: { id: string; promptIds: number[] }[];
  samples: {
    ref: number;
    /** A two-subject sample's subject B (its `m_ref` in m_ref_b.f32). */
    second?: { ref: number; bFirst: boolean };
    prompt: PromptChoice;
    promptIds: number[];
    seed: number;
  }[];
}

export const referencePaths = (i: number) => ({
  latent: `references/${i}/latent.f32`,
  tokens: `references/${i}/tokens.f32`,
  image: `references/${i}/image.png`,
});
export const samplePaths = (j: number) => ({
  latent: `samples/${j}/latent.f32`,
  mGen: `samples/${j}/m_gen.f32`,
  mRef: `samples/${j}/m_ref.f32`,
  mRefB: `samples/${j}/m_ref_b.f32`,
  image: `samples/${j}/image.png`,
});

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Raw little-endian float32 bytes of an array (copied: the source may be a view). */
function f32Bytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i], true);
  return out;
}

export function encodeDatasetZip(d: StoredDataset, shapes: DatasetShapes): Uint8Array {
  const { dataset: ds } = d;
  const header: Header = {
    format: DATASET_FORMAT,
    version: DATASET_VERSION,
    name: d.name,
    packId: ds.packId,
    createdAt: d.createdAt,
    settings: d.settings,
    shapes: { latent: shapes.latent, tokens: shapes.tokens, grid: [ds.grid.height, ds.grid.width] },
    references: ds.references.map((r) => ({ id: r.id, promptIds: r.promptIds })),
    samples: ds.samples.map((s) => ({
      ref: s.ref,
      ...(s.second ? { second: { ref: s.second.ref, bFirst: s.second.bFirst } } : {}),
      prompt: s.prompt,
      promptIds: s.promptIds,
      seed: s.seed,
    })),
  };
  const files: Record<string, Uint8Array> = {
    "dataset.json": new TextEncoder().encode(JSON.stringify(header, null, 2)),
  };
  ds.references.forEach((r, i) => {
    const p = referencePaths(i);
    files[p.latent] = f32Bytes(r.latent);
    files[p.tokens] = f32Bytes(r.imageTokens);
    files[p.image] = d.referenceImages[i];
  });
  ds.samples.forEach((s, j) => {
    const p = samplePaths(j);
    files[p.latent] = f32Bytes(s.latent);
    files[p.mGen] = f32Bytes(s.mGen);
    files[p.mRef] = f32Bytes(s.mRef);
    if (s.second) files[p.mRefB] = f32Bytes(s.second.mRef);
    files[p.image] = d.sampleImages[j];
  });
  // PNGs and float noise barely compress; level 1 keeps export fast.
  return zipSync(files, { level: 1 });
}

export class DatasetFormatError extends Error {
  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = "DatasetFormatError";
  }
}

const isInts = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));
const sameShape = (a: unknown, b: number[]) => isInts(a) && a.join("×") === b.join("×");

/**
 * Reads a dataset zip for the pack of `shapes`; throws DatasetFormatError naming the file and the
 * problem (not a zip, not a dataset, other pack, other shapes, missing or short file, non-finite values).
 */
export function decodeDatasetZip(
  bytes: Uint8Array,
  shapes: DatasetShapes,
  source = "dataset.zip",
): Omit<StoredDataset, "id"> {
  const fail = (problem: string): never => {
    throw new DatasetFormatError(source, problem);
  };
  let files: Record<string, Uint8Array> = {};
  try {
    files = unzipSync(bytes);
  } catch (e) {
    fail(`not a zip file (${(e as Error).message})`);
  }
  const json = files["dataset.json"];
  if (!json) return fail("not a PatchDPO dataset: it has no dataset.json");
  let h: Header;
  try {
    h = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    return fail(`dataset.json is not valid JSON (${(e as Error).message})`);
  }
  if (h?.format !== DATASET_FORMAT) fail(`dataset.json is not a PatchDPO dataset (format "${h?.format}")`);
  if (h.version !== DATASET_VERSION)
    fail(`dataset format version ${h.version} is not supported (expected ${DATASET_VERSION})`);
  if (h.packId !== shapes.packId)
    fail(
      `the dataset was built with pack "${h.packId}"; load that pack to import it (the open pack is "${shapes.packId}")`,
    );
  const grid: [number, number] = [shapes.grid.height, shapes.grid.width];
  for (const [what, got, want] of [
    ["latent", h.shapes?.latent, shapes.latent],
    ["tokens", h.shapes?.tokens, shapes.tokens],
    ["grid", h.shapes?.grid, grid],
  ] as const)
    if (!sameShape(got, [...want])) fail(`${what} shape ${JSON.stringify(got)} does not match the pack's [${want}]`);
  if (!Array.isArray(h.references) || !Array.isArray(h.samples))
    fail("dataset.json needs references and samples lists");
  if (h.samples.length === 0) fail("the dataset has no samples");

  const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const floats = (path: string, n: number): Float32Array => {
    const b = files[path];
    if (!b) return fail(`missing file ${path}`);
    if (b.length !== n * 4) fail(`${path} has ${b.length} bytes, expected ${n * 4} (${n} float32)`);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = dv.getFloat32(i * 4, true);
      if (!Number.isFinite(out[i])) fail(`${path} holds a NaN or infinite value at index ${i}`);
    }
    return out;
  };
  const png = (path: string): Uint8Array => {
    const b = files[path];
    if (!b) return fail(`missing file ${path}`);
    if (b.length < 8 || PNG_SIGNATURE.some((v, i) => b[i] !== v)) fail(`${path} is not a PNG image`);
    return b;
  };
  const ids = (v: unknown, where: string): number[] =>
    isInts(v) && v.length === shapes.promptLength
      ? v
      : fail(`${where}: promptIds must be ${shapes.promptLength} integers, got ${JSON.stringify(v)}`);

  const references: DatasetReference[] = h.references.map((r, i) => {
    const p = referencePaths(i);
    return {
      id: String(r.id),
      promptIds: ids(r.promptIds, `references[${i}]`),
      latent: floats(p.latent, count(shapes.latent)),
      imageTokens: floats(p.tokens, count(shapes.tokens)),
    };
  });
  const refIndex = (v: unknown, where: string) => {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= references.length)
      fail(`${where} ${v} is not a reference index (0–${references.length - 1})`);
    return v as number;
  };
  const twoSubject = h.samples[0]?.second !== undefined;
  const samples: DatasetSample[] = h.samples.map((s, j) => {
    const p = samplePaths(j);
    refIndex(s.ref, `samples[${j}].ref`);
    if ((s.second !== undefined) !== twoSubject)
      fail(
        `samples[${j}]: a dataset holds one- or two-subject samples, not both (samples[0] has ${twoSubject ? "two" : "one"})`,
      );
    const second = s.second && {
      ref: refIndex(s.second.ref, `samples[${j}].second.ref`),
      bFirst:
        typeof s.second.bFirst === "boolean"
          ? s.second.bFirst
          : fail(`samples[${j}].second.bFirst must be true or false`),
      mRef: floats(p.mRefB, count(grid)),
    };
    if (second && second.ref === s.ref) fail(`samples[${j}]: subjects A and B are the same reference ${s.ref}`);
    return {
      ref: s.ref,
      ...(second ? { second } : {}),
      prompt: s.prompt ?? {},
      promptIds: ids(s.promptIds, `samples[${j}]`),
      seed: Number(s.seed),
      latent: floats(p.latent, count(shapes.latent)),
      mGen: floats(p.mGen, count(grid)),
      mRef: floats(p.mRef, count(grid)),
    };
  });
  return {
    name: String(h.name ?? "imported dataset"),
    createdAt: String(h.createdAt ?? new Date().toISOString()),
    settings: h.settings,
    dataset: { packId: h.packId, grid: shapes.grid, references, samples },
    referenceImages: references.map((_, i) => png(referencePaths(i).image)),
    sampleImages: samples.map((_, j) => png(samplePaths(j).image)),
  };
}
