import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodePng } from "../../../node/png";
import { parseManifest } from "../pack/manifest";
import { uniformStream } from "../sampling/rng";
import { loadSceneAssets, SceneRenderer } from "../scene/render";
import { patchQualityCpu } from "./cpu";
import {
  assignSubjects,
  backgroundPatches,
  identityLeakage,
  NO_OWNER,
  ownersFromLayout,
  ownersFromMasks,
  subjectMaps,
} from "./subjects";

const grid = { height: 2, width: 2 };
const dim = 8;

function randomFeatures(n: number, seed: number): Float32Array {
  const rand = uniformStream(seed);
  return Float32Array.from({ length: n * dim }, () => rand() * 2 - 1);
}

const patch = (f: Float32Array, i: number) => f.subarray(i * dim, (i + 1) * dim);

describe("subjectMaps", () => {
  // Generated patches: 0 copies A's patch 1, 1 copies B's patch 2 (in A's region: leakage),
  // 2 copies B's patch 0, 3 is random (background).
  const a = randomFeatures(4, 1);
  const b = randomFeatures(4, 2);
  const gen = new Float32Array(4 * dim);
  gen.set(patch(a, 1), 0);
  gen.set(patch(b, 2), dim);
  gen.set(patch(b, 0), 2 * dim);
  gen.set(randomFeatures(1, 3), 3 * dim);
  const owners = Int8Array.from([0, 0, 1, NO_OWNER]);
  const maps = subjectMaps(gen, [a, b], grid, dim, owners);
  const shape = { batch: 1, genPatches: 4, refPatches: 4, dim };

  it("gives each reference's quality as the CPU oracle does, and assigns each patch its best reference", () => {
    expect(maps.quality[0]).toEqual(patchQualityCpu(gen, a, shape).genMax);
    expect(maps.quality[1]).toEqual(patchQualityCpu(gen, b, shape).genMax);
    expect(maps.match[0][0]).toBe(1);
    expect(maps.match[1][1]).toBe(2);
    expect([...maps.assignment.slice(0, 3)]).toEqual([0, 1, 1]);
  });

  it("counts a patch that matches the other subject as leakage, not quality", () => {
    const qa = maps.quality[0];
    expect(maps.gen[0]).toBeCloseTo(1, 5);
    expect(maps.gen[1]).toBeCloseTo(qa[1] - (1 - qa[1]), 5);
    expect(maps.gen[1]).toBeLessThan(qa[1]);
    expect(maps.gen[2]).toBeCloseTo(1, 5);
    expect(maps.gen[3]).toBe(Math.max(maps.quality[0][3], maps.quality[1][3]));
    expect(identityLeakage(maps)).toBeCloseTo(1 / 3, 6);
  });

  it("matches each reference's patches against the generated patches its subject owns", () => {
    const ownA = new Float32Array([...patch(gen, 0), ...patch(gen, 1)]);
    const partial = patchQualityCpu(ownA, a, { batch: 1, genPatches: 2, refPatches: 4, dim });
    expect(maps.ref[0]).toEqual(partial.refMax);
    expect(maps.ref[1]).toEqual(patchQualityCpu(patch(gen, 2).slice(), b, { ...shape, genPatches: 1 }).refMax);
  });

  it("assigns a patch whose best match is reference background to no subject, and does not count it as leakage", () => {
    const perRef = maps.quality.map((gen, k) => ({ gen, genMatch: maps.match[k] }));
    // B's patch 2 (copied into generated patch 1, in A's region) is white around B.
    const background = [new Uint8Array(4), Uint8Array.from([0, 0, 1, 0])];
    const assigned = assignSubjects(perRef, owners, background);
    expect([...assigned.assignment.slice(0, 3)]).toEqual([0, NO_OWNER, 1]);
    expect(identityLeakage(assigned)).toBe(0);
    expect(assigned.gen).toEqual(maps.gen);
  });

  it("refuses owners that are not reference indices", () => {
    expect(() => subjectMaps(gen, [a, b], grid, dim, Int8Array.from([0, 2, 1, -1]))).toThrow(/owner 2/);
    expect(() => subjectMaps(gen, [a, b], grid, dim, Int8Array.from([0, 1]))).toThrow(/expected 4 patches/);
  });
});

describe("backgroundPatches", () => {
  it("marks the patches that are (almost) all the background colour", () => {
    const data = new Uint8ClampedArray(4 * 4 * 4).fill(255);
    data.set([0, 0, 0, 255], 0); // one dark pixel in the top-left patch (1 of 4: 75% plain)
    data.set([250, 250, 250, 255], (3 * 4 + 3) * 4); // near-white in the bottom-right patch
    const image = { width: 4, height: 4, data };
    expect([...backgroundPatches(image, grid, [255, 255, 255])]).toEqual([0, 1, 1, 1]);
    expect([...backgroundPatches(image, grid, [255, 255, 255], 8, 0.75)]).toEqual([1, 1, 1, 1]);
    expect(() => backgroundPatches({ ...image, width: 3 }, grid, [255, 255, 255])).toThrow(/does not tile/);
  });
});

describe("patch owners", () => {
  it("from masks: the subject covering more than half of the patch", () => {
    const size = 4;
    const left = new Float32Array(16);
    const right = new Float32Array(16);
    for (let y = 0; y < 4; y++) {
      left[y * 4] = left[y * 4 + 1] = 1; // the whole left column of patches
      right[y * 4 + 3] = 1; // half of the right column
    }
    right[3 * 4 + 2] = 1; // and one more pixel of the bottom-right patch
    expect([...ownersFromMasks([left, right], size, grid)]).toEqual([0, NO_OWNER, 0, 1]);
  });

  it("from the layout agrees with the renderer's masks on every patch the masks give a subject", async () => {
    const dir = new URL("../../../public/models/tiny/", import.meta.url);
    const kit = parseManifest(readFileSync(new URL("manifest.json", dir), "utf8")).scenes;
    if (!kit?.pairs) throw new Error("tiny has no pair kit");
    const r = new SceneRenderer(
      kit,
      await loadSceneAssets(kit, async (f) => decodePng(readFileSync(new URL(f, dir)), f)),
    );
    const g = { height: 8, width: 8 };
    let owned = 0;
    for (const { a, b, prompt } of kit.pairs.eval) {
      const fromMasks = ownersFromMasks(r.pairMasks(a, b, prompt), 64, g);
      const [pa, pb] = r.pairPrompts(prompt);
      const centres = [kit.positions[pa.position], kit.positions[pb.position]];
      const fromLayout = ownersFromLayout(centres, kit.sprites[prompt.size].px, 64, g);
      fromMasks.forEach((o, j) => {
        if (o === NO_OWNER) return;
        owned++;
        expect(fromLayout[j]).toBe(o);
      });
    }
    expect(owned).toBeGreaterThan(10);
  });
});
