import { describe, expect, it } from "vitest";
import { gaussian } from "../sampling/rng";
import { dpoLoss, perSampleMse, perSampleMseBackward, weightedMse } from "./objectives";
import { expectGradient } from "./testing/fd";

/** Loss values against their definitions; gradients against central differences (see fd.ts). */
describe("losses", () => {
  const pred = gaussian(1, 12);
  const target = gaussian(2, 12);
  const weight = gaussian(3, 12).map(Math.abs);

  it("weighted MSE value and gradient", () => {
    const { loss, grad } = weightedMse(pred, target, weight);
    let want = 0;
    for (let i = 0; i < 12; i++) want += (weight[i] * (pred[i] - target[i]) ** 2) / 12;
    expect(loss).toBeCloseTo(want, 6);
    expectGradient(() => weightedMse(pred, target, weight).loss, pred, grad, { h: 1e-3, tol: 1e-4 });
    expect(weightedMse(pred, pred).loss).toBe(0);
    expect(() => weightedMse(pred, target.subarray(1))).toThrow(RangeError);
  });

  it("per-sample errors and their backward", () => {
    const e = perSampleMse(pred, target, 3, weight);
    expect(e[1]).toBeCloseTo(weightedMse(pred.subarray(4, 8), target.subarray(4, 8), weight.subarray(4, 8)).loss, 6);
    const de = new Float32Array([0.5, -1, 2]);
    const grad = perSampleMseBackward(de, pred, target, weight);
    const probe = () => perSampleMse(pred, target, 3, weight).reduce((s, v, i) => s + v * de[i], 0);
    expectGradient(probe, pred, grad, { h: 1e-3, tol: 1e-4 });
  });

  it("Diffusion-DPO: value, gradient, and the pull towards the winner", () => {
    const terms = {
      winner: new Float32Array([0.3, 0.9]),
      loser: new Float32Array([0.5, 0.4]),
      refWinner: new Float32Array([0.4, 0.6]),
      refLoser: new Float32Array([0.45, 0.5]),
    };
    const beta = 2;
    const r = dpoLoss(terms, beta);
    const d = [0.3 - 0.4 - (0.5 - 0.45), 0.9 - 0.6 - (0.4 - 0.5)];
    const want = d.map((x) => -Math.log(1 / (1 + Math.exp(beta * x)))).reduce((a, b) => a + b) / 2;
    expect(r.loss).toBeCloseTo(want, 6);
    expect(r.margin).toBeCloseTo(-(d[0] + d[1]) / 2, 6);
    expectGradient(() => dpoLoss(terms, beta).loss, terms.winner, r.dWinner, { h: 1e-3, tol: 1e-4 });
    expectGradient(() => dpoLoss(terms, beta).loss, terms.loser, r.dLoser, { h: 1e-3, tol: 1e-4 });
    // Lowering the winner's error (or raising the loser's) lowers the loss.
    expect(r.dWinner.every((g) => g > 0) && r.dLoser.every((g) => g < 0)).toBe(true);
    // At d = 0 the loss is log 2.
    const zero = new Float32Array(2);
    expect(dpoLoss({ winner: zero, loser: zero, refWinner: zero, refLoser: zero }, 5).loss).toBeCloseTo(Math.LN2, 6);
    // Stable for large β·d.
    expect(Number.isFinite(dpoLoss({ ...terms, winner: new Float32Array([1e4, 1e4]) }, 1e3).loss)).toBe(true);
  });
});
