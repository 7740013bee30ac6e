import { describe, expect, it } from "vitest";
import { colormap, heatmapRgba, patchAt, valueRange } from "./heatmap.ts";

describe("colormap", () => {
  it("hits the end stops and clamps outside [0,1]", () => {
    expect(colormap("viridis", 0)).toEqual([68, 1, 84]);
    expect(colormap("viridis", 1)).toEqual([253, 231, 37]);
    expect(colormap("viridis", -3)).toEqual([68, 1, 84]);
    expect(colormap("magma", 2)).toEqual([252, 253, 191]);
  });

  it("interpolates between stops", () => {
    // Halfway between the stops at 0.25 and 0.5.
    expect(colormap("viridis", 0.375)).toEqual([46, 114, 140]);
  });

  it("is monotone in brightness for viridis", () => {
    const lum = (t: number) => colormap("viridis", t).reduce((a, b) => a + b);
    for (let t = 0; t < 1; t += 0.05) expect(lum(t + 0.05)).toBeGreaterThan(lum(t));
  });

  it("paints NaN black", () => {
    expect(colormap("red-green", Number.NaN)).toEqual([0, 0, 0]);
  });
});

describe("heatmapRgba", () => {
  const grid = { height: 1, width: 3 };

  it("colours by range and leaves patches at or above the threshold transparent", () => {
    const px = heatmapRgba([0, 0.5, 1], grid, { colormap: "viridis", range: [0, 1], threshold: 0.9 });
    expect(Array.from(px.subarray(0, 4))).toEqual([68, 1, 84, 255]);
    expect(Array.from(px.subarray(4, 8))).toEqual([33, 145, 140, 255]);
    expect(Array.from(px.subarray(8, 12))).toEqual([0, 0, 0, 0]);
  });

  it("rejects a grid of the wrong size", () => {
    expect(() => heatmapRgba([0, 1], grid, { colormap: "viridis", range: [0, 1], threshold: 1 })).toThrow(RangeError);
  });
});

describe("valueRange", () => {
  it("ignores non-finite values and widens a constant map", () => {
    expect(valueRange([0.2, Number.NaN, 0.9, 0.5])).toEqual([0.2, 0.9]);
    expect(valueRange([0.5, 0.5])).toEqual([0, 1]);
    expect(valueRange([])).toEqual([0, 1]);
  });
});

describe("patchAt", () => {
  const grid = { height: 2, width: 4 };
  it("maps element coordinates to row-major patch indices", () => {
    expect(patchAt(0, 0, 200, 100, grid)).toBe(0);
    expect(patchAt(199.9, 99.9, 200, 100, grid)).toBe(7);
    expect(patchAt(60, 55, 200, 100, grid)).toBe(5);
  });
  it("returns -1 outside the element", () => {
    expect(patchAt(-1, 10, 200, 100, grid)).toBe(-1);
    expect(patchAt(10, 100, 200, 100, grid)).toBe(-1);
  });
});
