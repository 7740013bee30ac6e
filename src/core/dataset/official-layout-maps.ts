/**
 * The quality-map file of the official PatchDPO layout (docs/official-layout.md): per folder k and
 * generated image i, `target_map` (= the studio's m_ref) and `gene_map` (= m_gen) as 2-D float32
 * arrays at latent resolution. The studio writes `patch_quality.pkl` and reads it back, or the
 * same nesting as `patch_quality.json` (nested lists) or `patch_quality.safetensors` (tensors
 * `sample{k}/{i}/target_map` and `sample{k}/{i}/gene_map`).
 *
 * Maps go from the patch grid to the latent grid by block replication (core/training/weights.ts
 * `toLatent`, the upsampling training uses), so the grid map comes back exactly as each block's
 * value; a foreign map that is not constant per block is average-pooled instead.
 */
import type { Grid } from "../quality/maps";
import { parseSafetensors } from "../safetensors";
import { toLatent } from "../training/weights";
import { DatasetFormatError } from "./format";
import { NdArray, type PickleKey, readPickle } from "./pickle";
import { type PickleWritable, writePickle } from "./pickle-write";

/** Accepted map files, in the order the import looks for them. */
export const MAPS_FILES = ["patch_quality.pkl", "patch_quality.safetensors", "patch_quality.json"] as const;
export type MapsFile = (typeof MAPS_FILES)[number];

/** One generated image's maps at latent resolution, and the studio's extras (absent in foreign files). */
export interface LatentMaps {
  targetMap: NdArray;
  geneMap: NdArray;
  /** The sample's seed and its reference's id: extra keys the official loader never reads. */
  seed?: number;
  reference?: string;
}

/** The maps of generated image `sample` of folder `folder`, or undefined when the file has none. */
export type MapsLookup = (folder: number, sample: number) => LatentMaps | undefined;

/** `[folder][sample] = {target_map, gene_map, seed, reference}` as a pickle of nested int-keyed dicts. */
export function writeMapsPickle(folders: LatentMaps[][]): Uint8Array {
  const entry = (m: LatentMaps) => {
    const d = new Map<PickleKey, PickleWritable>([
      ["target_map", m.targetMap],
      ["gene_map", m.geneMap],
    ]);
    if (m.seed !== undefined) d.set("seed", m.seed);
    if (m.reference !== undefined) d.set("reference", m.reference);
    return d;
  };
  return writePickle(new Map(folders.map((samples, k) => [k, new Map(samples.map((m, i) => [i, entry(m)]))])));
}

type Fail = (problem: string) => never;

/** A child of a pickle dict or list, or of a JSON object (string keys) or array. */
function child(c: unknown, key: number | string): unknown {
  if (c instanceof Map) return c.get(key);
  if (Array.isArray(c)) return typeof key === "number" ? c[key] : undefined;
  return c !== null && typeof c === "object" ? (c as Record<string, unknown>)[String(key)] : undefined;
}

function nestedLookup(root: unknown, name: string, array: (v: unknown, where: string) => NdArray, fail: Fail) {
  return (folder: number, sample: number): LatentMaps | undefined => {
    const entry = child(child(root, folder), sample);
    if (entry === undefined) return undefined;
    const where = `${name} [${folder}][${sample}]`;
    const map = (key: string) => {
      const v = child(entry, key);
      return v === undefined ? fail(`${where} has no "${key}"`) : array(v, `${where}["${key}"]`);
    };
    const seed = child(entry, "seed");
    const reference = child(entry, "reference");
    return {
      targetMap: map("target_map"),
      geneMap: map("gene_map"),
      seed: Number.isSafeInteger(seed) ? (seed as number) : undefined,
      reference: typeof reference === "string" ? reference : undefined,
    };
  };
}

/** Nested JSON lists of numbers → an array (rows of equal length). */
function jsonArray(v: unknown, where: string, fail: Fail): NdArray {
  if (!Array.isArray(v) || !v.every((row) => Array.isArray(row))) return fail(`${where} is not a list of rows`);
  const rows = v as unknown[][];
  const width = rows[0]?.length ?? 0;
  if (!rows.every((r) => r.length === width && r.every((x) => typeof x === "number")))
    fail(`${where} is not a rectangular list of numbers`);
  return new NdArray([rows.length, width], Float32Array.from(rows.flat() as number[]));
}

/** Reads a maps file; throws DatasetFormatError naming the file and the problem. */
export function readMaps(name: MapsFile, bytes: Uint8Array): MapsLookup {
  const fail: Fail = (problem) => {
    throw new DatasetFormatError(name, problem);
  };
  if (name === "patch_quality.safetensors") {
    let tensors: ReturnType<typeof parseSafetensors>["tensors"] = new Map();
    try {
      tensors = parseSafetensors(bytes, name).tensors;
    } catch (e) {
      fail((e as Error).message);
    }
    return (folder, sample) => {
      const map = (key: string) => {
        const t = tensors.get(`sample${folder}/${sample}/${key}`);
        if (!t) return undefined;
        if (t.dtype !== "F32") fail(`tensor sample${folder}/${sample}/${key} is ${t.dtype}, not F32`);
        return new NdArray(t.shape, t.data as Float32Array);
      };
      const [targetMap, geneMap] = [map("target_map"), map("gene_map")];
      if (!targetMap && !geneMap) return undefined;
      if (!targetMap || !geneMap)
        fail(`sample${folder}/${sample} needs both tensors target_map and gene_map, has one of them`);
      return { targetMap: targetMap as NdArray, geneMap: geneMap as NdArray };
    };
  }
  if (name === "patch_quality.json") {
    let root: unknown;
    try {
      root = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message}; NaN is not JSON)`);
    }
    return nestedLookup(root, name, (v, where) => jsonArray(v, where, fail), fail);
  }
  const root = readPickle(bytes, name);
  const array = (v: unknown, where: string) =>
    v instanceof NdArray ? v : fail(`${where} is not a numpy array (a ${v === null ? "None" : typeof v})`);
  return nestedLookup(root, name, array, fail);
}

/** A grid map as the official layout stores it: `[H, W]` at latent resolution, block-replicated. */
export function latentMap(map: Float32Array, grid: Grid, latent: { height: number; width: number }): NdArray {
  return new NdArray([latent.height, latent.width], toLatent(map, grid, { channels: 1, ...latent }));
}

/**
 * A latent-resolution map back on the patch grid: each block's value, or its mean when the block
 * is not constant (`pooled` then says so). Throws for a shape other than the latent's or NaN/Inf.
 */
export function gridMap(
  a: NdArray,
  grid: Grid,
  latent: { height: number; width: number },
  where: string,
  fail: Fail,
): { map: Float32Array; pooled: boolean } {
  const { height: H, width: W } = latent;
  if (H % grid.height || W % grid.width) fail(`a ${grid.height}×${grid.width} grid does not tile the ${H}×${W} latent`);
  if (a.shape.length !== 2 || a.shape[0] !== H || a.shape[1] !== W)
    fail(`${where} has shape (${a.shape.join(", ")}); the official layout stores maps on the latent grid (${H}, ${W})`);
  const bad = a.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) fail(`${where} holds NaN or Inf at (${Math.floor(bad / W)}, ${bad % W})`);
  const fy = H / grid.height;
  const fx = W / grid.width;
  const map = new Float32Array(grid.height * grid.width);
  let pooled = false;
  for (let gy = 0; gy < grid.height; gy++)
    for (let gx = 0; gx < grid.width; gx++) {
      const first = a.data[gy * fy * W + gx * fx];
      let sum = 0;
      let constant = true;
      for (let y = gy * fy; y < (gy + 1) * fy; y++)
        for (let x = gx * fx; x < (gx + 1) * fx; x++) {
          sum += a.data[y * W + x];
          constant &&= a.data[y * W + x] === first;
        }
      map[gy * grid.width + gx] = constant ? first : sum / (fy * fx);
      pooled ||= !constant;
    }
  return { map, pooled };
}
