import { afterAll, beforeAll, describe, it } from "vitest";
import * as ops from "../../core/engine/ops.ts";
import { expectGradient, probeLoss } from "../../core/engine/testing/fd.ts";
import { gaussian } from "../../core/sampling/rng.ts";
import type { GpuContext } from "../context.ts";
import { skipWebGpu } from "../testing/node-gpu.ts";
import { closeKernels, expectNear, openKernels, type TestTensors } from "../testing/tensors.ts";
import { type AdaLnKernels, adaLnKernels } from "./adaln.ts";

/**
 * Modulation and gated residuals in WebGPU vs the CPU backend (1e-5·(1 + |ref|)) with shift,
 * scale and gate taken from column blocks of one [B, 3C] tensor; gradients vs central differences.
 */
describe.skipIf(skipWebGpu)("adaLN kernels", () => {
  let ctx: GpuContext, k: AdaLnKernels, t: TestTensors;
  beforeAll(async () => ({ ctx, kernels: k, t } = await openKernels(adaLnKernels)));
  afterAll(() => closeKernels(t, ctx));

  const [B, T, C] = [2, 3, 5];
  const s = { batch: B, tokens: T, c: C, stride: 3 * C };
  const n = B * T * C;
  const x = gaussian(1, n);
  const h = gaussian(2, n);
  const mod = gaussian(3, B * 3 * C); // [shift | scale | gate]
  const dy = gaussian(4, n);
  const col = (j: number) =>
    Float32Array.from({ length: B * C }, (_, i) => mod[Math.floor(i / C) * 3 * C + j * C + (i % C)]);
  const cols = { shift: 0, scale: C };

  it("modulate: y, dx, dshift, dscale", async () => {
    const [bx, bm, by, bdy, bdx, bdm] = [t.up(x), t.up(mod), t.zeros(n), t.up(dy), t.zeros(n), t.zeros(mod.length)];
    ctx.submit("mod", (b) => {
      k.modulate(b, s, bx, bm, cols, by);
      k.modulateBack(b, s, bdy, bm, C, bdx);
      k.modulateParams(b, s, bdy, bx, cols, bdm);
    });
    const [y, dx, dmod] = await t.read([by, n], [bdx, n], [bdm, mod.length]);
    expectNear(y, ops.modulate(x, col(0), col(1), B, T, C), 1e-5, "y");
    const probe = () => probeLoss(ops.modulate(x, col(0), col(1), B, T, C), dy);
    expectGradient(probe, x, dx, { label: "dx" });
    expectGradient(probe, mod, dmod, { label: "dmod" }); // gate columns stay 0
  });

  it("gated residual: x += g·h, dh, dgate", async () => {
    const [bx, bh, bm, bdy, bdh, bdm] = [t.up(x), t.up(h), t.up(mod), t.up(dy), t.zeros(n), t.zeros(mod.length)];
    ctx.submit("gate", (b) => {
      k.gateAdd(b, s, bx, bm, 2 * C, bh);
      k.gateBack(b, s, bdy, bm, 2 * C, bdh);
      k.gateParam(b, s, bdy, bh, 2 * C, bdm);
    });
    const [y, dh, dmod] = await t.read([bx, n], [bdh, n], [bdm, mod.length]);
    const gated = () => {
      const out = x.slice();
      ops.addGated(out, col(2), h, B, T, C);
      return out;
    };
    expectNear(y, gated(), 1e-5, "x");
    const probe = () => probeLoss(gated(), dy);
    expectGradient(probe, h, dh, { label: "dh" });
    expectGradient(probe, mod, dmod, { label: "dmod" });
  });
});
