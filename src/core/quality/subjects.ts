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
import type { RgbaImage } from "../generate/image";
import type { PromptChoice } from "../generate/prompt";
import type { Manifest } from "../pack/manifest";
import { patchQualityCpu } from "./cpu";
import type { Grid, RefWeightMode } from "./maps";
import { patchQualityMaps } from "./maps";

/** A patch no subject owns; as an assignment, a patch whose best match is reference background. */
export const NO_OWNER = -1;

/** What one reference's single-subject quality map gives per generated patch. */
export interface ReferenceMatch {
  /** Best cosine to the reference. */
  gen: Float32Array;
  /** That best patch's index in the reference. */
  genMatch: Uint32Array;
}

export interface SubjectAssignment {
  /** Per reference k: each generated patch's best cosine to reference k. */
  quality: Float32Array[];
  /** Per reference k: that best patch's index in reference k. */
  match: Uint32Array[];
  /**
   * Per generated patch: the reference it matches best (lowest index on ties), or NO_OWNER when
   * that best match is a background patch of the reference (the white around the subject).
   */
  assignment: Int8Array;
  /** Per generated patch: its subject (reference index) or NO_OWNER. */
  owners: Int8Array;
  /** Identity-aware `m_gen` (see the module comment). */
  gen: Float32Array;
}

export interface SubjectMaps extends SubjectAssignment {
  grid: Grid;
  /**
   * Per reference k: `m_ref` over k's own patches, matched against the generated patches k owns
   * (all of them when k owns none), so one subject's reference is not credited with the other's.
   */
  ref: Float32Array[];
}

/**
 * Identity assignment and identity-aware quality from each reference's single-subject map.
 * `background[k]` marks reference k's background patches (backgroundPatches); without it every
 * reference patch counts as subject.
 */
export function assignSubjects(
  perRef: ReferenceMatch[],
  owners: Int8Array,
  background?: Uint8Array[],
): SubjectAssignment {
  const n = owners.length;
  if (perRef.length < 1 || perRef.length > 127) throw new RangeError(`expected 1–127 references, got ${perRef.length}`);
  for (const [k, m] of perRef.entries()) {
    if (m.gen.length !== n) throw new RangeError(`reference ${k}: expected ${n} patches, got ${m.gen.length}`);
  }
  for (const o of owners) {
    if (o !== NO_OWNER && (o < 0 || o >= perRef.length)) throw new RangeError(`owner ${o} is not a reference index`);
  }
  const quality = perRef.map((m) => m.gen);
  const assignment = new Int8Array(n);
  const gen = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let k = 0;
    for (let r = 1; r < perRef.length; r++) if (quality[r][j] > quality[k][j]) k = r;
    assignment[j] = background?.[k][perRef[k].genMatch[j]] ? NO_OWNER : k;
    const o = owners[j];
    gen[j] = o === NO_OWNER ? quality[k][j] : quality[o][j] - (quality[k][j] - quality[o][j]);
  }
  return { quality, match: perRef.map((m) => m.genMatch), assignment, owners, gen };
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
  if (owners.length !== n) throw new RangeError(`owners: expected ${n} patches, got ${owners.length}`);
  const shape = { batch: 1, genPatches: n, refPatches: n, dim };
  const perRef = refs.map((ref) => patchQualityMaps(patchQualityCpu(gen, ref, shape), 0, grid, grid, refWeight));
  const assigned = assignSubjects(perRef, owners);
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
  return { grid, ...assigned, ref };
}

/**
 * A reference's background patches: those where at least `share` of the pixels are within
 * `tolerance` (0–255, per channel) of the background colour the pack composes references on.
 */
export function backgroundPatches(
  image: RgbaImage,
  grid: Grid,
  background: [number, number, number],
  tolerance = 8,
  share = 0.9,
): Uint8Array {
  const ph = image.height / grid.height;
  const pw = image.width / grid.width;
  if (!Number.isInteger(ph) || !Number.isInteger(pw))
    throw new RangeError(`a ${image.width}×${image.height} image does not tile a ${grid.width}×${grid.height} grid`);
  const out = new Uint8Array(grid.height * grid.width);
  for (let gy = 0; gy < grid.height; gy++) {
    for (let gx = 0; gx < grid.width; gx++) {
      let plain = 0;
      for (let y = gy * ph; y < (gy + 1) * ph; y++) {
        for (let x = gx * pw; x < (gx + 1) * pw; x++) {
          const p = (y * image.width + x) * 4;
          if (background.every((v, c) => Math.abs(image.data[p + c] - v) <= tolerance)) plain++;
        }
      }
      out[gy * grid.width + gx] = plain >= share * ph * pw ? 1 : 0;
    }
  }
  return out;
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
 * Which subject owns each patch of a two-subject image, from the pack's scene kit: the layout's
 * two positions and the prompt's sprite size (ownersFromLayout). Without
 * a kit, or with size "any", no patch has an owner, so quality is the best match over both
 * references and leakage is not penalized.
 */
export function layoutOwners(manifest: Manifest, prompt: PromptChoice, grid: Grid): Int8Array {
  const none = new Int8Array(grid.height * grid.width).fill(NO_OWNER);
  const kit = manifest.scenes;
  const slot = manifest.prompt.layouts?.slot ?? "position";
  const positions = kit?.pairs?.layouts[prompt[slot]];
  const sprite = kit?.sprites[prompt.size ?? "any"];
  if (!kit || !positions || !sprite) return none;
  return ownersFromLayout(
    positions.map((p) => kit.positions[p]),
    sprite.px,
    manifest.image.size,
    grid,
  );
}

/**
 * Identity leakage: of the patches some subject owns, the share whose best match is another
 * subject's reference (a match to reference background is poor quality, not leakage; NaN when no
 * patch is owned).
 */
export function identityLeakage(maps: Pick<SubjectAssignment, "assignment" | "owners">): number {
  let owned = 0;
  let leaked = 0;
  maps.owners.forEach((o, j) => {
    if (o === NO_OWNER) return;
    owned++;
    if (maps.assignment[j] !== NO_OWNER && maps.assignment[j] !== o) leaked++;
  });
  return owned === 0 ? Number.NaN : leaked / owned;
}
