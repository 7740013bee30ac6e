import { describe, expect, it } from "vitest";
import { gaussian, latentNoise, uint32Stream } from "./rng";

describe("seeded gaussian", () => {
  it("is reproducible and seed-dependent", () => {
    expect(gaussian(42, 1000)).toEqual(gaussian(42, 1000));
    expect(gaussian(42, 8)).not.toEqual(gaussian(43, 8));
  });

  it("has pinned values, so a change to the generator is caught", () => {
    const next = uint32Stream(1);
    expect([next(), next(), next()]).toEqual(PINNED_UINT32);
  });

  it("has standard-normal moments", () => {
    const x = gaussian(7, 200_000);
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.01);
    expect(x.every(Number.isFinite)).toBe(true);
  });

  it("gives image b of a batch the noise of seed + b", () => {
    const batch = latentNoise(100, 3, 1024);
    expect(batch.subarray(2048)).toEqual(gaussian(102, 1024));
  });
});

const PINNED_UINT32 = [2442144158, 3238099751, 3819917871];
