import { describe, expect, it } from "vitest";
import { estimatorAuroc, patchErrors, qualityPerBlock } from "./estimator.ts";

describe("patchErrors", () => {
  it("averages |generated − truth| over each block and channel in [0,1] units", () => {
    // One 4×4 image, 2×2 blocks: block 0 has one pixel off by 255 in one channel; block 3 all off by 51.
    const size = 4;
    const gen = new Uint8Array(size * size * 3);
    const truth = new Uint8Array(size * size * 3);
    gen[0] = 255;
    for (const [y, x] of [
      [2, 2],
      [2, 3],
      [3, 2],
      [3, 3],
    ])
      truth.fill(51, (y * size + x) * 3, (y * size + x) * 3 + 3);
    const e = patchErrors(gen, truth, 1, size, 2);
    expect(e[0]).toBeCloseTo(1 / 12, 6);
    expect(e[1]).toBe(0);
    expect(e[2]).toBe(0);
    expect(e[3]).toBeCloseTo(0.2, 6);
  });

  it("rejects sizes that do not divide", () => {
    expect(() => patchErrors(new Uint8Array(75), new Uint8Array(75), 1, 5, 2)).toThrow(RangeError);
  });
});

describe("qualityPerBlock", () => {
  it("takes each block's value from the encoder patch holding its centre", () => {
    // Encoder grid 2×2, blocks 4×4: each encoder patch covers 2×2 blocks.
    const q = qualityPerBlock(Float32Array.from([1, 2, 3, 4]), { height: 2, width: 2 }, 1, 4);
    expect(Array.from(q)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
});

describe("estimatorAuroc", () => {
  it("is 1 when every bad block has lower quality than every good one, 0 when reversed", () => {
    const errors = Float32Array.from([0.5, 0.01, 0.3, 0.02]);
    expect(estimatorAuroc(Float32Array.from([0.1, 0.9, 0.2, 0.8]), errors).auroc).toBe(1);
    expect(estimatorAuroc(Float32Array.from([0.9, 0.1, 0.8, 0.2]), errors).auroc).toBe(0);
    expect(estimatorAuroc(Float32Array.from([0.1, 0.9, 0.2, 0.8]), errors)).toMatchObject({
      badFraction: 0.5,
      blocks: 4,
    });
  });

  it("with a mask, scores only the blocks it keeps", () => {
    // Unmasked, the last two blocks spoil the ranking; the mask leaves a perfect one.
    const errors = Float32Array.from([0.5, 0.01, 0.3, 0.02]);
    const quality = Float32Array.from([0.1, 0.9, 0.95, 0.05]);
    expect(estimatorAuroc(quality, errors).auroc).toBe(0.25);
    const masked = estimatorAuroc(quality, errors, undefined, Uint8Array.from([1, 1, 0, 0]));
    expect(masked).toEqual({ auroc: 1, badFraction: 0.5, blocks: 2 });
    expect(() => estimatorAuroc(quality, errors, undefined, new Uint8Array(3))).toThrow(RangeError);
  });
});
