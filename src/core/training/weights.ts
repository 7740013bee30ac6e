/**
 * From patch-quality maps to per-element loss weights at latent resolution.
 *
 * Quality maps are raw cosines in [-1, 1] on the patch grid (8×8). A weight map is built in
 * three steps, each an option so the paper's ablations can be run:
 * 1. normalization `n(q)`: `"clamp"` → `clamp(q, 0, 1)` (cosines of unrelated patches are near
 *    0 or below); `"minmax"` → `(q − min q)/(max q − min q)` per image (relative quality);
 * 2. threshold τ and temperature T: `w = σ((n(q) − τ)/T)`, a soft step around τ that becomes a
 *    hard step `[n(q) ≥ τ]` at T = 0; without a threshold `w = n(q)`;
 * 3. nearest upsampling from the patch grid to the latent grid (16×16), the same weight on every
 *    latent channel.
 * The signed weight of the bounded PatchDPO loss is `s = 2w − 1 ∈ [−1, 1]`.
 */
import type { Grid } from "../quality/maps";

export interface WeightOptions {
  normalize: "clamp" | "minmax";
  /** τ in normalized units, or null for `w = n(q)`. */
  threshold: number | null;
  /** T ≥ 0; 0 makes the threshold a hard step. */
  temperature: number;
}

export const DEFAULT_WEIGHTS: WeightOptions = { normalize: "clamp", threshold: null, temperature: 0.1 };

export interface LatentShape {
  channels: number;
  height: number;
  width: number;
}

function normalize(q: Float32Array, mode: WeightOptions["normalize"]): Float32Array {
  if (mode === "clamp") return q.map((v) => Math.min(1, Math.max(0, v)));
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of q) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  // A flat map carries no preference between patches: weight every patch fully.
  return hi > lo ? q.map((v) => (v - lo) / (hi - lo)) : q.map(() => 1);
}

/** Quality map on the patch grid → weights in [0, 1] on the same grid (steps 1 and 2). */
export function qualityWeights(q: Float32Array, o: WeightOptions): Float32Array {
  const n = normalize(q, o.normalize);
  const tau = o.threshold;
  if (tau === null) return n;
  if (o.temperature <= 0) return n.map((v) => (v >= tau ? 1 : 0));
  return n.map((v) => 1 / (1 + Math.exp(-(v - tau) / o.temperature)));
}

/** Nearest upsampling of a grid map to `[C, H, W]` (step 3); H and W must be multiples of the grid. */
export function toLatent(map: Float32Array, grid: Grid, latent: LatentShape): Float32Array {
  const { channels, height, width } = latent;
  if (height % grid.height !== 0 || width % grid.width !== 0 || map.length !== grid.height * grid.width)
    throw new RangeError(`a ${grid.height}×${grid.width} map does not tile a ${height}×${width} latent`);
  const fy = height / grid.height;
  const fx = width / grid.width;
  const out = new Float32Array(channels * height * width);
  for (let c = 0; c < channels; c++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        out[(c * height + y) * width + x] = map[Math.floor(y / fy) * grid.width + Math.floor(x / fx)];
  return out;
}

/** Signed weights `2w − 1`, split into their positive and negative parts (both ≥ 0). */
export function signedParts(w: Float32Array): { positive: Float32Array; negative: Float32Array } {
  return {
    positive: w.map((v) => Math.max(0, 2 * v - 1)),
    negative: w.map((v) => Math.max(0, 1 - 2 * v)),
  };
}
