import { describe, expect, it } from "vitest";
import { AdamW, adamwStep, clipGradNorm } from "./optim";

/**
 * AdamW against values computed by hand from PyTorch's update rule (torch.optim.AdamW), and
 * global-norm clipping against torch.nn.utils.clip_grad_norm_'s definition.
 */
describe("optimizer", () => {
  it("clips the global norm across tensors and leaves small gradients alone", () => {
    const a = new Float32Array([3, 0]);
    const b = new Float32Array([4]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5, 6);
    const f = 1 / (5 + 1e-6);
    expect([...a, ...b].map((v) => v / f)).toEqual([expect.closeTo(3, 4), 0, expect.closeTo(4, 4)]);
    const c = new Float32Array([0.1]);
    clipGradNorm([c], 1);
    expect(c[0]).toBeCloseTo(0.1, 7);
  });

  it("AdamW steps: bias correction and decoupled weight decay", () => {
    const p = new Float32Array([1, -2]);
    const m = new Float32Array(2);
    const v = new Float32Array(2);
    const opt = { lr: 0.1, weightDecay: 0.5 };
    // Step 1: m̂/√v̂ = sign(g), so p ← p(1 − lr·λ) − lr·g/(|g| + ε).
    adamwStep(p, new Float32Array([0.5, -3]), m, v, 1, opt);
    expect(p[0]).toBeCloseTo(1 * 0.95 - 0.1, 6);
    expect(p[1]).toBeCloseTo(-2 * 0.95 + 0.1, 6);
    // Step 2 with g = 1 on the first: m = 0.9·0.05 + 0.1, v = 0.999·0.00025 + 0.001.
    const before = p[0];
    adamwStep(p, new Float32Array([1, 0]), m, v, 2, opt);
    const mh = (0.9 * 0.05 + 0.1) / (1 - 0.81);
    const vh = (0.999 * 0.00025 + 0.001) / (1 - 0.999 ** 2);
    expect(p[0]).toBeCloseTo(before * 0.95 - (0.1 * mh) / (Math.sqrt(vh) + 1e-8), 5);
  });

  it("AdamW class keeps state per parameter and requires every gradient", () => {
    const params = new Map([["w", new Float32Array([1])]]);
    const opt = new AdamW();
    const options = { lr: 0.01, weightDecay: 0 };
    for (let i = 0; i < 3; i++) opt.step(params, new Map([["w", new Float32Array([1])]]), options);
    expect(opt.stepCount).toBe(3);
    expect(params.get("w")?.[0]).toBeCloseTo(0.97, 5);
    expect(() => opt.step(params, new Map(), options)).toThrow(/no gradient for w/);
  });
});
