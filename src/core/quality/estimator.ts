/**
 * Estimator check (issue 5): how well patch quality predicts true local error on EmojiBench,
 * where every generated image has a ground-truth scene. A pixel patch is "bad" when its mean
 * absolute error against the ground truth exceeds a threshold; low quality should predict bad.
 */
import { auroc } from "../metrics/auroc.ts";
import type { Grid } from "./maps.ts";

/** Default bad-patch threshold: mean |generated − ground truth| over the patch above 0.1 (≈ 26/255). */
export const BAD_PATCH_ERROR = 0.1;

/**
 * Mean absolute error per `patch`×`patch` pixel block of NHWC uint8 RGB images, in [0,1] units.
 * Returns `[n, (size/patch)²]`, blocks in row-major order.
 */
export function patchErrors(
  generated: Uint8Array,
  truth: Uint8Array,
  n: number,
  size: number,
  patch: number,
): Float32Array {
  if (size % patch !== 0) throw new RangeError(`image size ${size} is not a multiple of the patch size ${patch}`);
  const per = size * size * 3;
  if (generated.length !== n * per || truth.length !== n * per) {
    throw new RangeError(`expected ${n}×${size}×${size}×3 bytes per array`);
  }
  const side = size / patch;
  const out = new Float32Array(n * side * side);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = i * per + (y * size + x) * 3;
        const e =
          Math.abs(generated[p] - truth[p]) +
          Math.abs(generated[p + 1] - truth[p + 1]) +
          Math.abs(generated[p + 2] - truth[p + 2]);
        out[i * side * side + Math.floor(y / patch) * side + Math.floor(x / patch)] += e;
      }
    }
  }
  const scale = 1 / (255 * 3 * patch * patch);
  for (let k = 0; k < out.length; k++) out[k] *= scale;
  return out;
}

/**
 * Quality of each pixel block, taken from the encoder patch that contains the block's centre
 * (the encoder grid need not match the block grid).
 */
export function qualityPerBlock(quality: Float32Array, grid: Grid, n: number, blocksPerSide: number): Float32Array {
  const patches = grid.height * grid.width;
  if (quality.length !== n * patches) throw new RangeError(`expected ${n}×${patches} quality values`);
  const out = new Float32Array(n * blocksPerSide * blocksPerSide);
  for (let i = 0; i < n; i++) {
    for (let by = 0; by < blocksPerSide; by++) {
      const row = Math.floor(((by + 0.5) / blocksPerSide) * grid.height);
      for (let bx = 0; bx < blocksPerSide; bx++) {
        const col = Math.floor(((bx + 0.5) / blocksPerSide) * grid.width);
        out[(i * blocksPerSide + by) * blocksPerSide + bx] = quality[i * patches + row * grid.width + col];
      }
    }
  }
  return out;
}

export interface EstimatorScore {
  /** P(quality of a random bad block < quality of a random good block). */
  auroc: number;
  badFraction: number;
  blocks: number;
}

/**
 * AUROC of low quality as a predictor of `error > threshold`. With `mask` (one byte per block), only
 * blocks where it is nonzero count: e.g. subject blocks, so that the easy plain background does not
 * dominate the reading.
 */
export function estimatorAuroc(
  quality: Float32Array,
  errors: Float32Array,
  threshold = BAD_PATCH_ERROR,
  mask?: Uint8Array,
): EstimatorScore {
  if (quality.length !== errors.length) throw new RangeError(`${quality.length} qualities but ${errors.length} errors`);
  if (mask && mask.length !== quality.length) {
    throw new RangeError(`${quality.length} qualities but a mask of ${mask.length} blocks`);
  }
  const lowness: number[] = [];
  const bad: boolean[] = [];
  for (let k = 0; k < quality.length; k++) {
    if (mask && mask[k] === 0) continue;
    lowness.push(-quality[k]);
    bad.push(errors[k] > threshold);
  }
  const badCount = bad.filter(Boolean).length;
  return { auroc: auroc(lowness, bad), badFraction: badCount / bad.length, blocks: bad.length };
}
