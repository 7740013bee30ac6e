/** Shapes and results of the patch-quality computation, shared by the CPU and WGSL paths. */

/**
 * Generated features are `[batch, genPatches, dim]` and reference features `[batch, refPatches, dim]`,
 * row-major, patches in row-major grid order (index = row * width + col).
 */
export interface QualityShape {
  batch: number;
  genPatches: number;
  refPatches: number;
  dim: number;
}

/** Per batch item, flattened `[batch, patches]`. */
export interface QualityResult {
  shape: QualityShape;
  /** `p(x_gen[h,w]) = max_{i,j} cos(f_gen[h,w], f_ref[i,j])`. */
  genMax: Float32Array;
  /** Index of the best reference patch for each generated patch (lowest index on ties). */
  genArg: Uint32Array;
  /** Reverse view: `max_{h,w} cos(f_ref[i,j], f_gen[h,w])`, how well each reference patch is covered. */
  refMax: Float32Array;
  /** Index of the best generated patch for each reference patch (lowest index on ties). */
  refArg: Uint32Array;
}

/**
 * Vectors whose squared norm is below this count as zero: their cosine with anything is 0, never
 * NaN. The threshold sits far above f32 underflow so CPU (f64) and GPU (f32) agree on which
 * vectors are zero.
 */
export const ZERO_NORM_SQUARED = 1e-24;

export function checkQualityShape(shape: QualityShape, genLength: number, refLength: number): void {
  const { batch, genPatches, refPatches, dim } = shape;
  for (const [name, v] of Object.entries(shape)) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`quality shape: ${name} must be a positive integer, got ${v}`);
  }
  if (genLength !== batch * genPatches * dim) {
    throw new RangeError(`generated features: expected ${batch}×${genPatches}×${dim} values, got ${genLength}`);
  }
  if (refLength !== batch * refPatches * dim) {
    throw new RangeError(`reference features: expected ${batch}×${refPatches}×${dim} values, got ${refLength}`);
  }
}
