import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adamwStep, clipGradNorm } from "../../core/engine/optim.ts";
import { gaussian } from "../../core/sampling/rng.ts";
import type { GpuContext } from "../context.ts";
import { skipWebGpu } from "../testing/node-gpu.ts";
import { closeKernels, expectNear, openKernels, type TestTensors } from "../testing/tensors.ts";
import { type OptimKernels, optimKernels } from "./optim.ts";

/** Three clipped AdamW steps in WebGPU vs core/engine/optim (PyTorch semantics), 1e-5·(1 + |ref|). */
describe.skipIf(skipWebGpu)("optimizer kernels", () => {
  let ctx: GpuContext, k: OptimKernels, t: TestTensors;
  beforeAll(async () => ({ ctx, kernels: k, t } = await openKernels(optimKernels)));
  afterAll(() => closeKernels(t, ctx));

  for (const maxNorm of [0, 1]) {
    it(`AdamW${maxNorm ? " with global-norm clipping" : ""}`, async () => {
      const n = 150;
      const p0 = gaussian(1, n);
      const opts = { lr: 1e-2, weightDecay: 0.1, maxNorm };
      const cpu = { p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n) };
      const buf = { param: t.up(p0), grad: t.zeros(n), m: t.zeros(n), v: t.zeros(n), sq: t.zeros(1) };
      let norm = 0;
      for (let step = 1; step <= 3; step++) {
        const g = gaussian(10 + step, n);
        ctx.device.queue.writeBuffer(buf.grad, 0, g.buffer, g.byteOffset, g.byteLength);
        ctx.submit("adamw", (b) => k.step(b, n, buf, step, opts));
        const clipped = g.slice();
        norm = maxNorm ? clipGradNorm([clipped], maxNorm) : 0;
        adamwStep(cpu.p, clipped, cpu.m, cpu.v, step, opts);
      }
      const [p, m, sq] = await t.read([buf.param, n], [buf.m, n], [buf.sq, 1]);
      expectNear(p, cpu.p, 1e-5, "param");
      expectNear(m, cpu.m, 1e-5, "m");
      if (maxNorm) expect(Math.sqrt(sq[0])).toBeCloseTo(norm, 4);
    });
  }
});
