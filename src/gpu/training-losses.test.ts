/**
 * Every training loss of core/training on the WGSL engine against the CPU engine: value and
 * adapter gradient for the same batch, with the policy moved away from the frozen reference so
 * the DPO-style terms are not trivially zero.
 */
import { describe, expect, it } from "vitest";
import { packDenoiser } from "../../node/packs.ts";
import { relError } from "../core/engine/testing/tiny.ts";
import { CpuTrainer } from "../core/engine/trainer.ts";
import { gaussian } from "../core/sampling/index.ts";
import { buildStep, type LossOptions, METHODS } from "../core/training/steps.ts";
import { syntheticDataset } from "../core/training/testing/dataset.ts";
import { DEFAULT_WEIGHTS } from "../core/training/weights.ts";
import { GpuDenoiser } from "./denoiser.ts";
import { createNodeContext, skipWebGpu } from "./testing/node-gpu.ts";

describe.skipIf(skipWebGpu)("training losses: WGSL engine vs CPU engine", { timeout: 300_000 }, () => {
  const { arch, weights } = packDenoiser("tiny");
  const ds = syntheticDataset(arch);
  const latent = { channels: arch.latentChannels, height: arch.latentSize, width: arch.latentSize };
  const alphas = Float64Array.from({ length: 1000 }, (_, t) => 1 - (t + 1) / 1001);
  const draw = { sample: 0, other: 1, noise: gaussian(7, latent.channels * 256), timestep: 400 };
  const moved = new Map(
    [...weights]
      .filter(([n]) => n.includes("_ip."))
      .map(([n, w], i) => [n, w.map((v, j) => v + 0.05 * Math.sin(i + j))]),
  );
  const variants: LossOptions[] = [
    ...METHODS.map((method) => ({
      method,
      beta: 500,
      weights: DEFAULT_WEIGHTS,
      useReference: true,
      pairing: "reference" as const,
    })),
    { method: "dpo", beta: 500, weights: DEFAULT_WEIGHTS, useReference: true, pairing: "quality" },
  ];

  it("value and adapter gradient agree for every loss", async () => {
    const ctx = await createNodeContext();
    const gpu = await GpuDenoiser.create(ctx, arch, weights);
    const cpu = new CpuTrainer(arch, weights);
    try {
      gpu.writeAdapter(moved);
      cpu.writeAdapter(moved);
      for (const o of variants) {
        const label = `${o.method}/${o.pairing}`;
        const { batch, objective } = buildStep(ds, draw, o, latent, alphas);
        const want = await cpu.lossAndGrads(batch, objective);
        const got = await gpu.lossAndGrads(batch, objective);
        expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss), label).toBeLessThan(1e-4);
        for (const [n, g] of got.adapter)
          expect(relError(g, want.adapter.get(n) as Float32Array), `${label} ${n}`).toBeLessThan(1e-3);
      }
    } finally {
      gpu.destroy();
      ctx.destroy();
    }
  });

  it("optimizer state round-trips through readOptimizer/writeOptimizer", async () => {
    const ctx = await createNodeContext();
    const gpu = await GpuDenoiser.create(ctx, arch, weights);
    try {
      const { batch, objective } = buildStep(ds, draw, variants[0], latent, alphas);
      gpu.trainStep(batch, { lr: 1e-3 }, objective);
      const state = await gpu.readOptimizer();
      expect(state.step).toBe(1);
      const zeroed = { step: 0, m: new Map([...state.m].map(([n, t]) => [n, t.map(() => 0)])), v: state.v };
      gpu.writeOptimizer(zeroed);
      const back = await gpu.readOptimizer();
      expect(back.step).toBe(0);
      for (const t of back.m.values()) expect(t.every((v) => v === 0)).toBe(true);
      gpu.writeOptimizer(state);
      for (const [n, t] of (await gpu.readOptimizer()).v) expect(t).toEqual(state.v.get(n));
    } finally {
      gpu.destroy();
      ctx.destroy();
    }
  });
});
