import { describe, expect, it } from "vitest";
import { patchQualityCpu } from "./cpu.ts";
import { patchPosition, patchQualityMaps } from "./maps.ts";
import { summarizeQuality } from "./summary.ts";

// Item 0: generated patches g0 = (1,0), g1 = (0,2), g2 = (0,0); reference r0 = (1,1), r1 = (0,-3).
// cos(g0,r0) = 1/√2, cos(g0,r1) = 0, cos(g1,r0) = 1/√2, cos(g1,r1) = -1, g2 is zero → 0.
const shape = { batch: 1, genPatches: 3, refPatches: 2, dim: 2 };
const gen = new Float32Array([1, 0, 0, 2, 0, 0]);
const ref = new Float32Array([1, 1, 0, -3]);
const s = Math.fround(Math.SQRT1_2);

describe("patchQualityCpu", () => {
  it("computes max/argmax both ways by hand", () => {
    const q = patchQualityCpu(gen, ref, shape);
    expect(Array.from(q.genMax)).toEqual([s, s, 0]);
    expect(Array.from(q.genArg)).toEqual([0, 0, 0]);
    // r0: best of g0, g1 (tie at 1/√2 → lowest index g0). r1: 0 from g0 and from g2 → g0.
    expect(Array.from(q.refMax)).toEqual([s, 0]);
    expect(Array.from(q.refArg)).toEqual([0, 0]);
  });

  it("keeps batch items separate", () => {
    const two = patchQualityCpu(new Float32Array([...gen, ...gen.map((v) => -v)]), new Float32Array([...ref, ...ref]), {
      ...shape,
      batch: 2,
    });
    // Negated generated features: g0' = (-1,0), g1' = (0,-2) → cos(g1', r1) = 1.
    expect(Array.from(two.genMax.subarray(3))).toEqual([0, 1, 0]);
    expect(Array.from(two.genArg.subarray(3))).toEqual([1, 1, 0]);
  });

  it("rejects inconsistent shapes", () => {
    expect(() => patchQualityCpu(gen, ref, { ...shape, dim: 3 })).toThrow(RangeError);
    expect(() => patchQualityCpu(gen, ref, { ...shape, batch: 0 })).toThrow(RangeError);
  });
});

describe("patchQualityMaps", () => {
  const q = patchQualityCpu(gen, ref, shape);

  it("coverage: m_ref is the reverse-view max", () => {
    const maps = patchQualityMaps(q, 0, { height: 1, width: 3 }, { height: 2, width: 1 });
    expect(Array.from(maps.gen)).toEqual([s, s, 0]);
    expect(Array.from(maps.ref)).toEqual([s, 0]);
    expect(Array.from(maps.refMatch)).toEqual([0, 0]);
  });

  it("attributed: m_ref is the mean quality of the generated patches matched to it", () => {
    const maps = patchQualityMaps(q, 0, { height: 3, width: 1 }, { height: 1, width: 2 }, "attributed");
    // All three generated patches pick r0: mean(1/√2, 1/√2, 0). Nobody picks r1 → its coverage, 0.
    expect(maps.ref[0]).toBeCloseTo((2 * s) / 3, 6);
    expect(maps.ref[1]).toBe(0);
    // The result's arrays are not modified.
    expect(Array.from(q.refMax)).toEqual([s, 0]);
  });

  it("checks grids against the result", () => {
    expect(() => patchQualityMaps(q, 0, { height: 2, width: 2 }, { height: 2, width: 1 })).toThrow(RangeError);
    expect(() => patchQualityMaps(q, 1, { height: 1, width: 3 }, { height: 2, width: 1 })).toThrow(RangeError);
  });

  it("maps indices to grid positions", () => {
    expect(patchPosition(7, { height: 3, width: 5 })).toEqual({ row: 1, col: 2 });
  });
});

describe("summarizeQuality", () => {
  it("bins, clamps out-of-range values and averages", () => {
    const sum = summarizeQuality([-1, -0.5, 0, 0.49, 0.5, 1, 2], 4);
    expect(Array.from(sum.edges)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(Array.from(sum.counts)).toEqual([1, 1, 2, 3]);
    expect(sum.mean).toBeCloseTo(2.49 / 7, 12);
    expect([sum.min, sum.max, sum.count]).toEqual([-1, 2, 7]);
  });

  it("reports NaN mean for no values and rejects bad arguments", () => {
    expect(summarizeQuality([]).mean).toBeNaN();
    expect(() => summarizeQuality([1], 0)).toThrow(RangeError);
    expect(() => summarizeQuality([1], 4, [1, 1])).toThrow(RangeError);
  });
});
