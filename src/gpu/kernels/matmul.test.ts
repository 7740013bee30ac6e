import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gaussian } from "../../core/sampling/rng.ts";
import type { GpuContext } from "../context.ts";
import { createNodeContext, skipWebGpu } from "../testing/node-gpu.ts";
import { readFloat32, storageUsage, upload } from "../transfer.ts";
import { MATMUL_VARIANTS, type MatmulShape, type MatmulVariant, prepareMatmul, timeMatmulVariants } from "./matmul.ts";

/**
 * Oracle: f64 matmul on the CPU. Tolerance: |Δ| ≤ 1e-5 · (1 + K) · max|operand|², the f32
 * rounding bound for a K-term dot product of the test's Gaussian data (≈1e-4 here).
 */
function matmulCpu(a: Float32Array, b: Float32Array, s: MatmulShape, bias?: Float32Array): Float64Array {
  const { batch, m, n, k } = s;
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    const ba = s.broadcastA ? 0 : z * m * k;
    const bb = s.broadcastB ? 0 : z * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = bias ? bias[j] : 0;
        for (let t = 0; t < k; t++) {
          const av = a[ba + (s.transA ? t * m + i : i * k + t)];
          const bv = b[bb + (s.transB ? j * k + t : t * n + j)];
          acc += av * bv;
        }
        out[(z * m + i) * n + j] = acc;
      }
    }
  }
  return out;
}

function expectClose(got: Float32Array, want: Float64Array, k: number): void {
  expect(got.length).toBe(want.length);
  const tol = 1e-5 * (1 + k) * 16; // Gaussian operands stay below |4| with these seeds
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `element ${i}`).toBeLessThanOrEqual(tol);
}

describe.skipIf(skipWebGpu).each(MATMUL_VARIANTS)(
  "matmul kernel, %s variant, in WebGPU vs CPU",
  (variant: MatmulVariant) => {
    let ctx: GpuContext;
    beforeAll(async () => {
      ctx = await createNodeContext();
    });
    afterAll(() => ctx?.destroy());

    async function run(s: MatmulShape, a: Float32Array, b: Float32Array, bias?: Float32Array): Promise<Float32Array> {
      const record = await prepareMatmul(ctx, s, variant);
      const bufs = [upload(ctx, a), upload(ctx, b), ...(bias ? [upload(ctx, bias)] : [])];
      const c = ctx.pool.acquire(s.batch * s.m * s.n * 4, storageUsage());
      ctx.submit("matmul-test", (batch) => record(batch, { a: bufs[0], b: bufs[1], c, bias: bufs[2] }));
      const out = await readFloat32(ctx, c, s.batch * s.m * s.n);
      for (const buf of [...bufs, c]) ctx.pool.release(buf);
      return out;
    }

    const cases: [string, MatmulShape][] = [
      ["plain, odd sizes", { batch: 1, m: 5, n: 7, k: 3 }],
      ["transposed A", { batch: 2, m: 6, n: 5, k: 9, transA: true }],
      ["transposed B", { batch: 2, m: 3, n: 10, k: 6, transB: true }],
      [
        "both transposed, broadcast B, bias",
        { batch: 3, m: 9, n: 6, k: 5, transA: true, transB: true, broadcastB: true, bias: true },
      ],
      ["several tiles, broadcast A", { batch: 2, m: 37, n: 41, k: 19, broadcastA: true, bias: true }],
      // Past one 64×64 shared tile in both directions, and a K that ends inside a 16-wide slice.
      ["several shared tiles, transposed A, bias", { batch: 2, m: 70, n: 130, k: 37, transA: true, bias: true }],
      ["several shared tiles, transposed B", { batch: 1, m: 131, n: 66, k: 48, transB: true }],
    ];
    for (const [name, s] of cases) {
      it(`forward: ${name}`, async () => {
        const a = gaussian(21, (s.broadcastA ? 1 : s.batch) * s.m * s.k);
        const b = gaussian(22, (s.broadcastB ? 1 : s.batch) * s.k * s.n);
        const bias = s.bias ? gaussian(23, s.n) : undefined;
        expectClose(await run(s, a, b, bias), matmulCpu(a, b, s, bias), s.k);
      });
    }

    it("backward: dA = dC·Bᵀ, dB = Aᵀ·dC, dbias = 1ᵀ·dC agree with finite differences", async () => {
      const s = { batch: 1, m: 4, n: 6, k: 5, bias: true };
      const a = gaussian(31, s.m * s.k);
      const b = gaussian(32, s.k * s.n);
      const bias = gaussian(33, s.n);
      const w = gaussian(34, s.m * s.n); // L = Σ W ⊙ C, so dC = W
      const loss = (aa: Float32Array, bb: Float32Array, cc: Float32Array) =>
        matmulCpu(aa, bb, s, cc).reduce((sum, v, i) => sum + v * w[i], 0);
      const fd = (x: Float32Array, i: number, eps = 1e-2) => {
        const plus = x.slice();
        const minus = x.slice();
        plus[i] += eps;
        minus[i] -= eps;
        const args = (v: Float32Array) => [x === a ? v : a, x === b ? v : b, x === bias ? v : bias] as const;
        return (loss(...args(plus)) - loss(...args(minus))) / (plus[i] - minus[i]);
      };
      const dA = await run({ batch: 1, m: s.m, n: s.k, k: s.n, transB: true }, w, b);
      const dB = await run({ batch: 1, m: s.k, n: s.n, k: s.m, transA: true }, a, w);
      const dBias = await run({ batch: 1, m: 1, n: s.n, k: s.m }, new Float32Array(s.m).fill(1), w);
      // The loss is linear in each operand, so central differences are exact up to f64 rounding.
      for (const [grad, x] of [
        [dA, a],
        [dB, b],
        [dBias, bias],
      ] as const) {
        for (let i = 0; i < x.length; i++)
          expect(Math.abs(grad[i] - fd(x, i)), `element ${i}`).toBeLessThanOrEqual(1e-4);
      }
    });
  },
);

describe.skipIf(skipWebGpu)("matmul autotuning", () => {
  it("times every variant on the adapter", async () => {
    const ctx = await createNodeContext();
    try {
      const ms = await timeMatmulVariants(ctx, [{ batch: 1, m: 64, n: 64, k: 64 }], 1);
      expect(Object.keys(ms)).toEqual([...MATMUL_VARIANTS]);
      for (const v of MATMUL_VARIANTS) expect(ms[v]).toBeGreaterThan(0);
    } finally {
      ctx.destroy();
    }
  });
});
