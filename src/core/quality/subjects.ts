/**
 * Patch quality in multi-subject scenes: one generated image, K references (subject A, B, …).
 *
 * Each generated patch gets its quality against every reference (the single-subject `m_gen` per
 * reference) and an identity assignment, the reference it matches best. A patch also has an
 * owner: the subject whose region it lies in, from the scene's layout (training, where no ground
 * truth exists) or from the ground-truth masks (evaluation). A patch that matches another
 * subject's reference better than its owner's shows that subject's features leaking in: its
 * identity-aware quality is its owner's quality minus that excess, so leakage lowers the weight
 * PatchDPO gives it instead of passing for quality. Patches no subject owns (background) keep their
 * best quality over all references, as in a single-subject scene.
 */
import { patchQualityCpu } from "./cpu";
import type { Grid, RefWeightMode } from "./maps";
import { patchQualityMaps } from "./maps";

/** A patch no subject owns. */
export const NO_OWNER = -1;

export interface SubjectMaps {
  grid: Grid;
  /** Per reference k: each generated patch's best cosine to reference k. */
  quality: Float32Array[];
  /** Per reference k: that best patch's index in reference k. */
  match: Uint32Array[];
  /** Per generated patch: the reference it matches best (lowest index on ties). */
  assignment: Uint8Array;
  /** Per generated patch: its subject (reference index) or NO_OWNER. */
  owners: Int8Array;
  /** Identity-aware `m_gen` (see the module comment). */
  gen: Float32Array;
  /**
   * Per reference k: `m_ref` over k's own patches, matched against the generated patches k owns
   * (all of them when k owns none), so one subject's reference is not credited with the other's.
   */
  ref: Float32Array[];
}

/**
 * Per-subject maps from patch features: `gen` `[patches, dim]` of the generated image and one
 * `[patches, dim]` per reference, on the same grid.
 */
export function subjectMaps(
  gen: Float32Array,
  refs: Float32Array[],
  grid: Grid,
  dim: number,
  owners: Int8Array,
  refWeight: RefWeightMode = "coverage",
): SubjectMaps {
  const n = grid.height * grid.width;
  if (refs.length < 1 || refs.length > 127) throw new RangeError(`expected 1–127 references, got ${refs.length}`);
  if (owners.length !== n) throw new RangeError(`owners: expected ${n} patches, got ${owners.length}`);
  for (const o of owners) {
    if (o !== NO_OWNER && (o < 0 || o >= refs.length)) throw new RangeError(`owner ${o} is not a reference index`);
  }
  const shape = { batch: 1, genPatches: n, refPatches: n, dim };
  const perRef = refs.map((ref) => patchQualityMaps(patchQualityCpu(gen, ref, shape), 0, grid, grid, refWeight));
  const quality = perRef.map((m) => m.gen);
  const assignment = new Uint8Array(n);
  const best = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    best[j] = quality[0][j];
    for (let k = 1; k < refs.length; k++) {
      if (quality[k][j] > best[j]) {
        best[j] = quality[k][j];
        assignment[j] = k;
      }
    }
  }
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const o = owners[j];
    out[j] = o === NO_OWNER ? best[j] : quality[o][j] - (best[j] - quality[o][j]);
  }
  const ref = refs.map((r, k) => {
    const owned = [...owners.keys()].filter((j) => owners[j] === k);
    if (owned.length === 0 || owned.length === n) return perRef[k].ref;
    const part = new Float32Array(owned.length * dim);
    owned.forEach((j, i) => {
      part.set(gen.subarray(j * dim, (j + 1) * dim), i * dim);
    });
    const partShape = { batch: 1, genPatches: owned.length, refPatches: n, dim };
    return patchQualityMaps(patchQualityCpu(part, r, partShape), 0, { height: 1, width: owned.length }, grid, refWeight)
      .ref;
  });
  return { grid, quality, match: perRef.map((m) => m.genMatch), assignment, owners, gen: out, ref };
}

/**
 * Patch owners from per-subject pixel coverage (H×W each, in [0,1], as the scene renderer's masks):
 * a patch belongs to the subject covering more than `threshold` of it, else to no one.
 */
export function ownersFromMasks(masks: Float32Array[], size: number, grid: Grid, threshold = 0.5): Int8Array {
  const ph = size / grid.height;
  const pw = size / grid.width;
  if (!Number.isInteger(ph) || !Number.isInteger(pw)) throw new RangeError(`a ${size} px image does not tile a grid`);
  const owners = new Int8Array(grid.height * grid.width).fill(NO_OWNER);
  for (let gy = 0; gy < grid.height; gy++) {
    for (let gx = 0; gx < grid.width; gx++) {
      let bestCover = threshold;
      masks.forEach((mask, k) => {
        let sum = 0;
        for (let y = gy * ph; y < (gy + 1) * ph; y++)
          for (let x = gx * pw; x < (gx + 1) * pw; x++) sum += mask[y * size + x];
        const cover = sum / (ph * pw);
        if (cover > bestCover) {
          bestCover = cover;
          owners[gy * grid.width + gx] = k;
        }
      });
    }
  }
  return owners;
}

/**
 * Patch owners from a layout alone (where no ground truth exists): subject k owns the patches
 * whose centre lies in its px×px box centred at `centres[k]`; later subjects are drawn over
 * earlier ones, so they own the overlap.
 */
export function ownersFromLayout(centres: [number, number][], px: number, size: number, grid: Grid): Int8Array {
  const owners = new Int8Array(grid.height * grid.width).fill(NO_OWNER);
  for (let gy = 0; gy < grid.height; gy++) {
    for (let gx = 0; gx < grid.width; gx++) {
      const x = ((gx + 0.5) * size) / grid.width;
      const y = ((gy + 0.5) * size) / grid.height;
      centres.forEach(([cx, cy], k) => {
        const x0 = cx - Math.floor(px / 2);
        const y0 = cy - Math.floor(px / 2);
        if (x >= x0 && x < x0 + px && y >= y0 && y < y0 + px) owners[gy * grid.width + gx] = k;
      });
    }
  }
  return owners;
}

/**
 * Identity leakage: of the patches some subject owns, the share whose best match is another
 * subject's reference (NaN when no patch is owned).
 */
export function identityLeakage(maps: Pick<SubjectMaps, "assignment" | "owners">): number {
  let owned = 0;
  let leaked = 0;
  maps.owners.forEach((o, j) => {
    if (o === NO_OWNER) return;
    owned++;
    if (maps.assignment[j] !== o) leaked++;
  });
  return owned === 0 ? Number.NaN : leaked / owned;
}
