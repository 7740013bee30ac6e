/**
 * Per-image quality maps on the patch grids, as the Inspect tab and the PatchDPO loss use them.
 *
 * `gen[h,w]` is the patch quality `p(x_gen[h,w])`, the best cosine to any reference patch.
 *
 * `ref[i,j]` is the reference-side map `m_ref` (DESIGN §2: high where the matching generated
 * patches were good; the loss weights reference patches by `1 − m_ref`). Two definitions:
 * - `"coverage"` (default): `m_ref[i,j] = max_{h,w} cos(f_ref[i,j], f_gen[h,w])`, the best cosine
 *   any generated patch reaches to this reference patch. A reference detail that the generated
 *   image lost entirely is low here, so training on the reference emphasises it.
 * - `"attributed"`: the mean quality `p(x_gen[h,w])` of the generated patches whose best match is
 *   `[i,j]`; reference patches that no generated patch picked fall back to their coverage value.
 *   This follows the paper's wording ("reference patches corresponding to low-quality generated
 *   patches get high weight") literally, at the cost of noise from bad patches' arbitrary matches.
 * Both are raw cosines in [-1, 1]; clamping or rescaling to loss weights belongs to the loss.
 */
import type { QualityResult } from "./types.ts";

export interface Grid {
  height: number;
  width: number;
}

export type RefWeightMode = "coverage" | "attributed";

export interface PatchQualityMaps {
  genGrid: Grid;
  refGrid: Grid;
  /** `[genGrid.height * genGrid.width]`, row-major. */
  gen: Float32Array;
  /** Best reference patch index per generated patch (for hover highlighting). */
  genMatch: Uint32Array;
  /** `m_ref`, `[refGrid.height * refGrid.width]`, row-major. */
  ref: Float32Array;
  /** Best generated patch index per reference patch (reverse view). */
  refMatch: Uint32Array;
}

export function patchQualityMaps(
  result: QualityResult,
  item: number,
  genGrid: Grid,
  refGrid: Grid,
  refWeight: RefWeightMode = "coverage",
): PatchQualityMaps {
  const { batch, genPatches: ng, refPatches: nr } = result.shape;
  if (!Number.isInteger(item) || item < 0 || item >= batch) throw new RangeError(`item ${item} not in [0, ${batch})`);
  if (genGrid.height * genGrid.width !== ng) throw new RangeError(`generated grid does not have ${ng} patches`);
  if (refGrid.height * refGrid.width !== nr) throw new RangeError(`reference grid does not have ${nr} patches`);
  const gen = result.genMax.slice(item * ng, (item + 1) * ng);
  const genMatch = result.genArg.slice(item * ng, (item + 1) * ng);
  const ref = result.refMax.slice(item * nr, (item + 1) * nr);
  const refMatch = result.refArg.slice(item * nr, (item + 1) * nr);
  if (refWeight === "attributed") {
    const sum = new Float64Array(nr);
    const count = new Uint32Array(nr);
    for (let g = 0; g < ng; g++) {
      sum[genMatch[g]] += gen[g];
      count[genMatch[g]]++;
    }
    for (let r = 0; r < nr; r++) if (count[r] > 0) ref[r] = sum[r] / count[r];
  }
  return { genGrid, refGrid, gen, genMatch, ref, refMatch };
}

/** Row and column of a row-major patch index. */
export function patchPosition(index: number, grid: Grid): { row: number; col: number } {
  return { row: Math.floor(index / grid.width), col: index % grid.width };
}
