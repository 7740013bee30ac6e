import { afterAll, beforeAll, describe, it } from "vitest";
import * as ops from "../../core/engine/ops.ts";
import { expectGradient, probeLoss } from "../../core/engine/testing/fd.ts";
import { gaussian } from "../../core/sampling/rng.ts";
import type { GpuContext } from "../context.ts";
import { skipWebGpu } from "../testing/node-gpu.ts";
import { closeKernels, expectNear, openKernels, type TestTensors } from "../testing/tensors.ts";
import { type ActivationKernels, activationKernels } from "./activation.ts";

/** GELU/SiLU in WebGPU vs the CPU backend (1e-5·(1 + |ref|)); backward vs central differences. */
describe.skipIf(skipWebGpu)("activation kernels", () => {
  let ctx: GpuContext, k: ActivationKernels, t: TestTensors;
  beforeAll(async () => ({ ctx, kernels: k, t } = await openKernels(activationKernels)));
  afterAll(() => closeKernels(t, ctx));

  for (const [act, cpu] of [
    ["gelu", ops.gelu],
    ["silu", ops.silu],
  ] as const) {
    it(`${act}: forward, dx`, async () => {
      const n = 70; // more than one workgroup
      const x = gaussian(1, n).map((v, i) => (i === 0 ? 60 : i === 1 ? -60 : 3 * v)); // saturated ends
      const dy = gaussian(2, n);
      const [bx, by, bdy, bdx] = [t.up(x), t.zeros(n), t.up(dy), t.zeros(n)];
      ctx.submit("act", (b) => {
        k.forward(b, act, n, bx, by);
        k.backward(b, act, n, bdy, bx, bdx);
      });
      const [y, dx] = await t.read([by, n], [bdx, n]);
      expectNear(y, cpu(x), 1e-5, act);
      expectGradient(() => probeLoss(cpu(x), dy), x, dx, { label: "dx" });
    });
  }
});
