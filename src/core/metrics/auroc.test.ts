import { describe, expect, it } from "vitest";
import { auroc } from "./auroc.ts";

describe("auroc", () => {
  it("is 1 for perfect separation and 0 for inverted", () => {
    expect(auroc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(auroc([0.1, 0.2, 0.8, 0.9], [true, true, false, false])).toBe(0);
  });

  it("matches a hand count without ties", () => {
    // Positives 0.35, 0.8; negatives 0.1, 0.4, 0.5. Pairs won: 0.35 beats 0.1 (1); 0.8 beats all (3) → 4/6.
    expect(auroc([0.1, 0.35, 0.4, 0.5, 0.8], [false, true, false, false, true])).toBeCloseTo(4 / 6, 12);
  });

  it("counts ties as one half (average ranks)", () => {
    // Positives 0.5, 0.7; negatives 0.5, 0.2. Pairs: (0.5 vs 0.5) ½, (0.5 vs 0.2) 1, (0.7 vs both) 2 → 3.5/4.
    expect(auroc([0.5, 0.7, 0.5, 0.2], [true, true, false, false])).toBeCloseTo(3.5 / 4, 12);
    expect(auroc([1, 1, 1, 1], [true, false, true, false])).toBe(0.5);
  });

  it("rejects one-class labels, NaN scores and length mismatches", () => {
    expect(() => auroc([1, 2], [true, true])).toThrow(RangeError);
    expect(() => auroc([1, Number.NaN], [true, false])).toThrow(RangeError);
    expect(() => auroc([1, 2], [true])).toThrow(RangeError);
  });
});
