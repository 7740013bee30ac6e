import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dpoLoss, perSampleMse, perSampleMseBackward, weightedMse } from "../../core/engine/objectives.ts";
import { gaussian } from "../../core/sampling/rng.ts";
import type { GpuContext } from "../context.ts";
import { skipWebGpu } from "../testing/node-gpu.ts";
import { closeKernels, expectNear, openKernels, type TestTensors } from "../testing/tensors.ts";
import { type LossKernels, lossKernels } from "./loss.ts";

/**
 * Loss kernels in WebGPU vs core/engine/objectives.ts (whose gradients are checked against finite
 * differences in objectives.test.ts): values and gradients to 1e-5·(1 + |ref|).
 */
describe.skipIf(skipWebGpu)("loss kernels", () => {
  let ctx: GpuContext, k: LossKernels, t: TestTensors;
  beforeAll(async () => ({ ctx, kernels: k, t } = await openKernels(lossKernels)));
  afterAll(() => closeKernels(t, ctx));

  const n = 300; // 3 samples of 100: more than one reduction stride
  const pred = gaussian(1, n);
  const target = gaussian(2, n);
  const weight = gaussian(3, n).map(Math.abs);

  for (const weighted of [false, true]) {
    it(`${weighted ? "weighted" : "plain"} MSE and per-sample errors with their gradients`, async () => {
      const w = weighted ? weight : undefined;
      const ops = { pred: t.up(pred), target: t.up(target), weight: w && t.up(w) };
      const de = new Float32Array([0.5, -2, 1]);
      const [bl, bgl, be, bde, bge, one] = [
        t.zeros(1),
        t.zeros(n),
        t.zeros(3),
        t.up(de),
        t.zeros(n),
        t.up(new Float32Array([1])),
      ];
      ctx.submit("loss", (b) => {
        k.sampleErrors(b, n, 1, ops, bl);
        k.errorGrad(b, n, 1, ops, one, bgl);
        k.sampleErrors(b, n, 3, ops, be);
        k.errorGrad(b, n, 3, ops, bde, bge);
      });
      const [loss, gl, e, ge] = await t.read([bl, 1], [bgl, n], [be, 3], [bge, n]);
      const ref = weightedMse(pred, target, w);
      expect(Math.abs(loss[0] - ref.loss)).toBeLessThan(1e-5 * ref.loss);
      expectNear(gl, ref.grad, 1e-5, "dMSE");
      expectNear(e, perSampleMse(pred, target, 3, w), 1e-5, "errors");
      expectNear(ge, perSampleMseBackward(de, pred, target, w), 1e-5, "dErrors");
    });
  }

  it("Diffusion-DPO term and its gradient", async () => {
    const errors = new Float32Array([0.3, 0.9, 0.5, 0.4]);
    const refErrors = new Float32Array([0.4, 0.6, 0.45, 0.5]);
    const [be, br, bo, bd] = [t.up(errors), t.up(refErrors), t.zeros(1), t.zeros(4)];
    ctx.submit("dpo", (b) => k.dpo(b, 2, 2.5, be, br, bo, bd));
    const [loss, d] = await t.read([bo, 1], [bd, 4]);
    const ref = dpoLoss(
      {
        winner: errors.subarray(0, 2),
        loser: errors.subarray(2),
        refWinner: refErrors.subarray(0, 2),
        refLoser: refErrors.subarray(2),
      },
      2.5,
    );
    expect(loss[0]).toBeCloseTo(ref.loss, 6);
    expectNear(d, [...ref.dWinner, ...ref.dLoser], 1e-5, "dErrors");
  });
});
