import { describe, expect, it } from "vitest";
import { gaussian } from "../../sampling/rng";
import { type MatmulShape, scalarMatmul } from "../ops";
import { relError } from "../testing/rel-error";
import { simdGemm, simdMatmul } from "./gemm";

/** The SIMD kernel against the scalar double-precision loops, on every layout `matmul` takes. */
describe("WebAssembly SIMD gemm", () => {
  it("compiles where WebAssembly SIMD exists (Node, Chromium)", () => {
    expect(simdGemm()).not.toBeNull();
  });

  const shapes: [string, MatmulShape][] = [
    ["tile-aligned", { batch: 1, m: 8, n: 16, k: 12 }],
    ["odd sizes (padding on M and N)", { batch: 2, m: 5, n: 11, k: 7 }],
    ["one row, one column", { batch: 1, m: 1, n: 1, k: 9 }],
    ["transA, transB", { batch: 3, m: 6, n: 10, k: 5, transA: true, transB: true }],
    ["broadcast A", { batch: 2, m: 7, n: 9, k: 4, broadcastA: true }],
    ["broadcast B, transB", { batch: 2, m: 4, n: 13, k: 33, broadcastB: true, transB: true }],
    ["the denoiser's linear", { batch: 1, m: 128, n: 384, k: 128, transB: true }],
  ];
  for (const [label, s] of shapes) {
    it(label, () => {
      const a = gaussian(1, (s.broadcastA ? 1 : s.batch) * s.m * s.k);
      const b = gaussian(2, (s.broadcastB ? 1 : s.batch) * s.k * s.n);
      const bias = gaussian(3, s.n);
      for (const withBias of [undefined, bias]) {
        const fast = simdMatmul(a, b, s, withBias);
        expect(fast).not.toBeNull();
        expect(relError(fast as Float32Array, scalarMatmul(a, b, s, withBias))).toBeLessThan(1e-6);
      }
    });
  }

  it("grows its memory for large operands and keeps earlier results intact", () => {
    const s = { batch: 1, m: 300, n: 300, k: 300 };
    const a = gaussian(4, s.m * s.k);
    const b = gaussian(5, s.k * s.n);
    const small = { batch: 1, m: 4, n: 8, k: 2 };
    const first = simdMatmul(a, b, small);
    expect(relError(simdMatmul(a, b, s) as Float32Array, scalarMatmul(a, b, s))).toBeLessThan(1e-6);
    expect(simdMatmul(a, b, small)).toEqual(first);
  });
});
