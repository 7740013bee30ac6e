import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { patchQualityCpu } from "../../core/quality/cpu.ts";
import type { QualityResult, QualityShape } from "../../core/quality/types.ts";
import { gaussian } from "../../core/sampling/rng.ts";
import type { GpuContext } from "../context.ts";
import { createNodeContext, skipWebGpu } from "../testing/node-gpu.ts";
import { upload } from "../transfer.ts";
import { computePatchQuality, patchQualityGpu, readPatchQuality, releasePatchQuality } from "./quality.ts";

/**
 * Tolerances: |Δ similarity| ≤ 1e-5 against the f64 CPU oracle (f32 dot products of unit vectors,
 * dim ≤ 64). Argmax must be equal, unless the GPU's pick is within 1e-5 of the CPU max by the
 * oracle's own cosine (a near-tie that f32 rounding may break either way). Exact ties (duplicate
 * features) must resolve to the lowest index on both.
 */
const SIM_TOL = 1e-5;

function cosine(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < dim; k++) {
    dot += a[ai * dim + k] * b[bi * dim + k];
    na += a[ai * dim + k] ** 2;
    nb += b[bi * dim + k] ** 2;
  }
  return na < 1e-24 || nb < 1e-24 ? 0 : dot / Math.sqrt(na * nb);
}

function expectAgrees(gpu: QualityResult, gen: Float32Array, ref: Float32Array, shape: QualityShape): void {
  const cpu = patchQualityCpu(gen, ref, shape);
  const { batch, genPatches: ng, refPatches: nr, dim } = shape;
  const views = [
    { max: "genMax", arg: "genArg", n: ng, other: nr, a: gen, b: ref },
    { max: "refMax", arg: "refArg", n: nr, other: ng, a: ref, b: gen },
  ] as const;
  for (const v of views) {
    expect(gpu[v.max].length).toBe(batch * v.n);
    for (let e = 0; e < batch * v.n; e++) {
      const item = Math.floor(e / v.n);
      expect(Number.isFinite(gpu[v.max][e])).toBe(true);
      expect(Math.abs(gpu[v.max][e] - cpu[v.max][e]), `${v.max}[${e}]`).toBeLessThanOrEqual(SIM_TOL);
      expect(gpu[v.arg][e]).toBeLessThan(v.other);
      if (gpu[v.arg][e] !== cpu[v.arg][e]) {
        const picked = cosine(v.a, e, v.b, item * v.other + gpu[v.arg][e], dim);
        expect(cpu[v.max][e] - picked, `${v.arg}[${e}] is not a near-tie`).toBeLessThanOrEqual(SIM_TOL);
      }
    }
  }
}

function features(seed: number, shape: QualityShape): { gen: Float32Array; ref: Float32Array } {
  return {
    gen: gaussian(seed, shape.batch * shape.genPatches * shape.dim),
    ref: gaussian(seed + 1, shape.batch * shape.refPatches * shape.dim),
  };
}

describe.skipIf(skipWebGpu)("patch-quality kernel in WebGPU vs CPU reference", () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await createNodeContext();
  });
  afterAll(() => ctx?.destroy());

  it("matches on random features, 64 pairs in one submission", async () => {
    const shape = { batch: 64, genPatches: 16, refPatches: 16, dim: 8 };
    const { gen, ref } = features(1, shape);
    expectAgrees(await patchQualityGpu(ctx, gen, ref, shape), gen, ref, shape);
  });

  it("matches on non-square grids (3×5 vs 4×2), dim not a multiple of 4", async () => {
    const shape = { batch: 3, genPatches: 15, refPatches: 8, dim: 7 };
    const { gen, ref } = features(2, shape);
    expectAgrees(await patchQualityGpu(ctx, gen, ref, shape), gen, ref, shape);
  });

  it("matches across several tiles and workgroups (6×7 vs 5×9, dim 13)", async () => {
    const shape = { batch: 2, genPatches: 42, refPatches: 45, dim: 13 };
    const { gen, ref } = features(3, shape);
    expectAgrees(await patchQualityGpu(ctx, gen, ref, shape), gen, ref, shape);
  });

  it("handles a single patch on either side", async () => {
    for (const shape of [
      { batch: 2, genPatches: 1, refPatches: 1, dim: 5 },
      { batch: 2, genPatches: 1, refPatches: 6, dim: 5 },
      { batch: 2, genPatches: 6, refPatches: 1, dim: 5 },
    ]) {
      const { gen, ref } = features(4, shape);
      const gpu = await patchQualityGpu(ctx, gen, ref, shape);
      expectAgrees(gpu, gen, ref, shape);
      if (shape.refPatches === 1) expect(Array.from(gpu.genArg)).toEqual(new Array(gpu.genArg.length).fill(0));
    }
  });

  it("gives similarity 0, never NaN, for zero vectors", async () => {
    const shape = { batch: 2, genPatches: 4, refPatches: 3, dim: 6 };
    const { gen, ref } = features(5, shape);
    gen.fill(0, 0, 6); // item 0, generated patch 0
    ref.fill(0, 3 * 6, 6 * 6); // item 1: every reference patch is zero
    gen.fill(1e-30, 6 * 6, 7 * 6); // item 1, generated patch 2: below the zero-norm threshold
    const gpu = await patchQualityGpu(ctx, gen, ref, shape);
    expectAgrees(gpu, gen, ref, shape);
    expect(gpu.genMax[0]).toBe(0);
    expect(gpu.genArg[0]).toBe(0);
    expect(Array.from(gpu.genMax.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    expect(Array.from(gpu.refMax.subarray(3, 6))).toEqual([0, 0, 0]);
  });

  it("breaks exact ties towards the lowest index, like the CPU", async () => {
    const shape = { batch: 1, genPatches: 5, refPatches: 6, dim: 9 };
    const { gen, ref } = features(6, shape);
    const dim = shape.dim;
    // Reference patches 1, 3 and 5 are identical, and generated patch 4 equals them, so its best
    // match is an exact three-way tie. Generated patches 0 and 2 are identical, so every
    // reference patch that prefers one of them ties.
    ref.copyWithin(3 * dim, 1 * dim, 2 * dim);
    ref.copyWithin(5 * dim, 1 * dim, 2 * dim);
    gen.set(ref.subarray(1 * dim, 2 * dim), 4 * dim);
    gen.copyWithin(2 * dim, 0, dim);
    const gpu = await patchQualityGpu(ctx, gen, ref, shape);
    const cpu = patchQualityCpu(gen, ref, shape);
    expect(gpu.genArg[4]).toBe(1);
    expect(cpu.genArg[4]).toBe(1);
    expect(Array.from(gpu.genArg)).toEqual(Array.from(cpu.genArg));
    expect(Array.from(gpu.refArg)).toEqual(Array.from(cpu.refArg));
    expect(Array.from(gpu.refArg)).not.toContain(2);
  });

  it("reads features from device buffers, including an offset binding", async () => {
    const shape = { batch: 3, genPatches: 6, refPatches: 10, dim: 12 };
    const { gen, ref } = features(7, shape);
    const align = ctx.device.limits.minStorageBufferOffsetAlignment;
    const padded = new Float32Array(align / 4 + ref.length);
    padded.set(ref, align / 4);
    const genBuffer = upload(ctx, gen);
    const refBuffer = upload(ctx, padded);
    const gpu = await patchQualityGpu(ctx, genBuffer, { buffer: refBuffer, offset: align }, shape);
    expectAgrees(gpu, gen, ref, shape);
    ctx.pool.release(genBuffer);
    ctx.pool.release(refBuffer);
    await expect(patchQualityGpu(ctx, genBuffer, genBuffer, { ...shape, refPatches: 10000 })).rejects.toThrow(
      RangeError,
    );
  });

  it("gives the same result when the batch is split into similarity chunks", async () => {
    const shape = { batch: 5, genPatches: 9, refPatches: 7, dim: 4 };
    const { gen, ref } = features(8, shape);
    const whole = await patchQualityGpu(ctx, gen, ref, shape);
    const chunked = await patchQualityGpu(ctx, gen, ref, shape, { maxSimBytes: 2 * 9 * 7 * 4 });
    expect(chunked).toEqual(whole);
    expectAgrees(chunked, gen, ref, shape);
  });

  it("keeps outputs on the device until asked and leaks no buffers", async () => {
    const shape = { batch: 4, genPatches: 8, refPatches: 8, dim: 16 };
    const { gen, ref } = features(9, shape);
    await patchQualityGpu(ctx, gen, ref, shape);
    const live = ctx.pool.liveCount;
    for (let i = 0; i < 5; i++) {
      const q = await computePatchQuality(ctx, gen, ref, shape);
      expect(ctx.pool.inUseCount).toBe(4);
      expectAgrees(await readPatchQuality(ctx, q), gen, ref, shape);
      releasePatchQuality(ctx, q);
    }
    expect(ctx.pool.inUseCount).toBe(0);
    expect(ctx.pool.liveCount).toBe(live);
  });
});
