import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ops from "../../core/engine/ops.ts";
import { expectGradient, probeLoss } from "../../core/engine/testing/fd.ts";
import { gaussian } from "../../core/sampling/rng.ts";
import type { GpuContext } from "../context.ts";
import { skipWebGpu } from "../testing/node-gpu.ts";
import { closeKernels, expectNear, openKernels, type TestTensors } from "../testing/tensors.ts";
import { type LayerNormKernels, layerNormKernels } from "./layernorm.ts";

/**
 * Layer norm in WebGPU vs the CPU backend (|Δ| ≤ 1e-5·(1 + |ref|)), and the GPU backward vs
 * central differences of the forward (h = 1e-2, 2e-3·(1 + |fd|)).
 */
describe.skipIf(skipWebGpu)("layer norm kernel", () => {
  let ctx: GpuContext, k: LayerNormKernels, t: TestTensors;
  beforeAll(async () => ({ ctx, kernels: k, t } = await openKernels(layerNormKernels)));
  afterAll(() => closeKernels(t, ctx));

  const s = { rows: 5, c: 12, eps: 1e-6 };
  const n = s.rows * s.c;
  const x = gaussian(1, n).map((v, i) => 3 * v + (i % 3));
  const gamma = gaussian(2, s.c);
  const beta = gaussian(3, s.c);
  const dy = gaussian(4, n);
  const prior = gaussian(5, n); // accumulate into existing gradients

  for (const affine of [false, true]) {
    it(`${affine ? "affine" : "plain"}: forward, dx (accumulating), dγ/dβ`, async () => {
      const [bx, by, bs, bdy, bdx, bg, bb, bdg, bdb] = [
        t.up(x),
        t.zeros(n),
        t.zeros(2 * s.rows),
        t.up(dy),
        t.up(prior),
        t.up(gamma),
        t.up(beta),
        t.zeros(s.c),
        t.zeros(s.c),
      ];
      const aff = affine ? { gamma: bg, beta: bb } : undefined;
      ctx.submit("ln-test", (b) => {
        k.forward(b, s, bx, by, bs, aff);
        k.backward(b, s, { dy: bdy, x: bx, stats: bs, gamma: aff?.gamma }, bdx, true);
        k.backwardParams(b, s, { dy: bdy, x: bx, stats: bs }, { dgamma: bdg, dbeta: bdb });
      });
      const [y, stats, dx, dg, db] = await t.read([by, n], [bs, 2 * s.rows], [bdx, n], [bdg, s.c], [bdb, s.c]);
      const ref = ops.layerNorm(x, s.rows, s.c, s.eps, affine ? gamma : undefined, affine ? beta : undefined);
      expectNear(y, ref.y, 1e-5, "y");
      expectNear(
        stats.filter((_, i) => i % 2 === 0),
        ref.saved.mean,
        1e-5,
        "mean",
      );
      const probe = () =>
        probeLoss(ops.layerNorm(x, s.rows, s.c, s.eps, affine ? gamma : undefined, affine ? beta : undefined).y, dy);
      expectGradient(
        probe,
        x,
        dx.map((v, i) => v - prior[i]),
        { label: "dx" },
      );
      if (affine) {
        expectGradient(probe, gamma, dg, { label: "dγ" });
        expectGradient(probe, beta, db, { label: "dβ" });
      }
      const cpu = { dx: new Float32Array(n) };
      ops.layerNormBackward(dy, x, ref.saved, s.rows, s.c, cpu, affine ? gamma : undefined);
      expectNear(
        dx.map((v, i) => v - prior[i]),
        cpu.dx,
        1e-5,
        "dx vs CPU",
      );
      expect(dg.some((v) => v !== 0)).toBe(true);
    });
  }
});
