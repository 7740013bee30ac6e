/**
 * CPU reference for patch quality: the oracle for the WGSL kernel and the fallback without
 * WebGPU. Accumulates in f64; ties resolve to the lowest index, as on the GPU.
 */
import { checkQualityShape, type QualityResult, type QualityShape, ZERO_NORM_SQUARED } from "./types.ts";

/** L2-normalized copy of `rows` vectors of length `dim`; zero vectors stay zero. */
function normalizeRows(data: Float32Array, rows: number, dim: number): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    let sq = 0;
    for (let k = 0; k < dim; k++) sq += data[base + k] * data[base + k];
    const inv = sq < ZERO_NORM_SQUARED ? 0 : 1 / Math.sqrt(sq);
    for (let k = 0; k < dim; k++) out[base + k] = data[base + k] * inv;
  }
  return out;
}

export function patchQualityCpu(gen: Float32Array, ref: Float32Array, shape: QualityShape): QualityResult {
  checkQualityShape(shape, gen.length, ref.length);
  const { batch, genPatches: ng, refPatches: nr, dim } = shape;
  const g = normalizeRows(gen, batch * ng, dim);
  const r = normalizeRows(ref, batch * nr, dim);
  const genMax = new Float32Array(batch * ng);
  const genArg = new Uint32Array(batch * ng);
  const refMax = new Float32Array(batch * nr);
  const refArg = new Uint32Array(batch * nr);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < ng; i++) {
      const gi = (b * ng + i) * dim;
      const row = b * ng + i;
      for (let j = 0; j < nr; j++) {
        const rj = (b * nr + j) * dim;
        let s = 0;
        for (let k = 0; k < dim; k++) s += g[gi + k] * r[rj + k];
        // Compare after rounding to f32 so exact ties match the GPU's f32 comparisons; the first
        // candidate seeds the max (as on the GPU, which has no -inf literal), so NaN features give NaN.
        const s32 = Math.fround(s);
        if (j === 0 || s32 > genMax[row]) {
          genMax[row] = s32;
          genArg[row] = j;
        }
        const col = b * nr + j;
        if (i === 0 || s32 > refMax[col]) {
          refMax[col] = s32;
          refArg[col] = i;
        }
      }
    }
  }
  return { shape, genMax, genArg, refMax, refArg };
}
