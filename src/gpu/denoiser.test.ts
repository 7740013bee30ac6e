import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packDenoiser } from "../../node/packs.ts";
import { initLora, LORA_TARGETS } from "../core/engine/arch.ts";
import { CpuDenoiser } from "../core/engine/denoiser.ts";
import { weightedMse } from "../core/engine/objectives.ts";
import { engineFixture, relError } from "../core/engine/testing/tiny.ts";
import { CpuTrainer } from "../core/engine/trainer.ts";
import { gaussian } from "../core/sampling/rng.ts";
import type { GpuContext } from "./context.ts";
import { GpuDenoiser } from "./denoiser.ts";
import { createNodeContext, skipWebGpu } from "./testing/node-gpu.ts";

/**
 * The WGSL denoiser against PyTorch (foundry fixture engine-tiny, float32). Tolerances relative
 * to each tensor's largest magnitude: ε 1e-6, loss 1e-6, adapter and input gradients 2e-6
 * (measured on SwiftShader: 2e-7, 0, ≤ 5.3e-7).
 */
describe.skipIf(skipWebGpu)("GPU denoiser (tiny pack) in WebGPU", () => {
  let ctx: GpuContext;
  let den: GpuDenoiser;
  const { arch, weights } = packDenoiser("tiny");
  const fx = engineFixture();
  const batch = { inputs: fx.inputs, target: fx.target, weight: fx.weight };
  beforeAll(async () => {
    ctx = await createNodeContext();
    den = await GpuDenoiser.create(ctx, arch, weights);
  });
  afterAll(() => {
    den?.destroy();
    ctx?.destroy();
  });

  it("forward ε matches the fixture", async () => {
    expect(relError(await den.forward(fx.inputs), fx.eps)).toBeLessThan(1e-6);
  });

  it("loss, adapter gradients and input gradients match the fixture", async () => {
    const g = await den.lossAndGrads(batch);
    expect(Math.abs(g.loss - fx.loss) / fx.loss).toBeLessThan(1e-6);
    for (const [name, grad] of g.adapter) {
      expect(relError(grad, fx.grads.get(name) as Float32Array), name).toBeLessThan(2e-6);
    }
    expect(relError(g.latent, fx.grads.get("input.latent") as Float32Array)).toBeLessThan(2e-6);
    expect(relError(g.imageTokens, fx.grads.get("input.image_tokens") as Float32Array)).toBeLessThan(2e-6);
  });

  it("training: 50 AdamW steps lower the loss and change only the adapter; 200 steps leak no buffers", async () => {
    const opts = { lr: 1e-2, maxNorm: 1 };
    den.trainStep(batch, opts);
    const first = await den.readLoss();
    const live = ctx.pool.liveCount;
    for (let i = 1; i < 50; i++) den.trainStep(batch, opts);
    await ctx.sync();
    expect(ctx.pool.liveCount).toBe(live);
    const g = await den.lossAndGrads(batch);
    expect(g.loss).toBeLessThan(0.95 * first); // the adapter alone moves this loss about 10 %
    const liveAfterReadback = ctx.pool.liveCount; // readbacks pool a few buffers of their own
    for (let i = 50; i < 200; i++) den.trainStep(batch, opts);
    await ctx.sync();
    expect(ctx.pool.liveCount).toBe(liveAfterReadback);
    // The frozen weights with the base adapter still give the fixture's ε; the trained one differs.
    expect(relError(await den.forward(fx.inputs, true), fx.eps)).toBeLessThan(1e-6);
    expect(relError(await den.forward(fx.inputs), fx.eps)).toBeGreaterThan(1e-3);
    const base = await den.readAdapter(true);
    for (const [name, v] of await den.readAdapter()) {
      expect(v, name).not.toEqual(base.get(name));
      expect(base.get(name), name).toEqual(weights.get(name));
    }
  }, 120_000);
});

describe.skipIf(skipWebGpu)("GPU denoiser on two references (engine-tiny-pair) in WebGPU", () => {
  it("ε, loss and every gradient over two references' tokens match the fixture; one reference runs too", async () => {
    const { arch, weights } = packDenoiser("tiny");
    const fx = engineFixture("engine-tiny-pair");
    const ctx = await createNodeContext();
    const den = await GpuDenoiser.create(ctx, arch, weights);
    try {
      expect(relError(await den.forward(fx.inputs), fx.eps)).toBeLessThan(1e-6);
      const g = await den.lossAndGrads({ inputs: fx.inputs, target: fx.target, weight: fx.weight });
      expect(Math.abs(g.loss - fx.loss) / fx.loss).toBeLessThan(1e-6);
      for (const [name, grad] of g.adapter)
        expect(relError(grad, fx.grads.get(name) as Float32Array), name).toBeLessThan(2e-6);
      expect(relError(g.latent, fx.grads.get("input.latent") as Float32Array)).toBeLessThan(2e-6);
      expect(relError(g.imageTokens, fx.grads.get("input.image_tokens") as Float32Array)).toBeLessThan(2e-6);
      const half = fx.inputs.imageTokens.length / 4;
      const one = Float32Array.from(
        { length: 2 * half },
        (_, i) => fx.inputs.imageTokens[Math.floor(i / half) * 2 * half + (i % half)],
      );
      const single = { ...fx.inputs, imageTokens: one };
      expect(relError(await den.forward(single), new CpuDenoiser(arch, weights).forward(single).eps)).toBeLessThan(
        1e-6,
      );
    } finally {
      den.destroy();
      ctx.destroy();
    }
  });
});

describe.skipIf(skipWebGpu)("GPU Diffusion-DPO vs the CPU trainer (tiny pack)", () => {
  it("loss and gradients agree (rel 1e-5) with the frozen base as reference; 3 steps agree (rel 1e-4)", async () => {
    const { arch, weights } = packDenoiser("tiny");
    const fx = engineFixture();
    // Winners = fixture items, losers = the same items with other latents; shared noise target.
    const latent = new Float32Array(fx.inputs.latent.length * 2);
    latent.set(fx.inputs.latent);
    latent.set(
      fx.inputs.latent.map((v) => 0.5 * v + 0.3),
      fx.inputs.latent.length,
    );
    const twice = <T extends ArrayLike<number>>(a: T) => [...Array.from(a), ...Array.from(a)];
    const batch = {
      inputs: {
        latent,
        timestep: Float32Array.from(twice(fx.inputs.timestep)),
        promptIds: Int32Array.from(twice(fx.inputs.promptIds)),
        imageTokens: Float32Array.from(twice(fx.inputs.imageTokens)),
        ipScale: fx.inputs.ipScale,
      },
      target: Float32Array.from(twice(fx.target)),
      weight: Float32Array.from(twice(fx.weight)),
    };
    const dpo = { kind: "dpo", beta: 50 } as const;
    // The policy starts away from the reference so the DPO term is not at its symmetric point.
    const perturbed = new Map(
      [...weights].filter(([n]) => n.includes("_ip.")).map(([n, t]) => [n, t.map((v) => 1.5 * v)]),
    );
    const cpu = new CpuTrainer(arch, weights);
    cpu.writeAdapter(perturbed);
    const want = await cpu.lossAndGrads(batch, dpo);
    expect(want.loss).not.toBeCloseTo(Math.LN2, 3);

    const ctx = await createNodeContext();
    try {
      const den = await GpuDenoiser.create(ctx, arch, weights);
      den.writeAdapter(perturbed);
      const got = await den.lossAndGrads(batch, dpo);
      expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
      for (const [name, g] of got.adapter)
        expect(relError(g, want.adapter.get(name) as Float32Array), name).toBeLessThan(1e-5);
      expect(relError(got.latent, want.latent)).toBeLessThan(1e-5);
      expect(relError(got.imageTokens, want.imageTokens)).toBeLessThan(1e-5);
      const options = { lr: 1e-3, maxNorm: 1 };
      for (let i = 0; i < 3; i++) {
        den.trainStep(batch, options, dpo);
        cpu.trainStep(batch, options, dpo);
      }
      expect(Math.abs((await den.readLoss()) - (await cpu.readLoss()))).toBeLessThan(1e-5);
      // The three steps' losses, kept on the device and read in one go.
      const [gpuLosses, cpuLosses] = [await den.readLosses(), await cpu.readLosses()];
      expect(gpuLosses).toHaveLength(3);
      for (const [i, l] of gpuLosses.entries()) expect(Math.abs(l - cpuLosses[i]), `step ${i + 1}`).toBeLessThan(1e-5);
      expect(await den.readLosses()).toEqual([]);
      const cpuAdapter = await cpu.readAdapter();
      for (const [name, v] of await den.readAdapter())
        expect(relError(v, cpuAdapter.get(name) as Float32Array), name).toBeLessThan(1e-4);
      den.destroy();
    } finally {
      ctx.destroy();
    }
  }, 60_000);
});

describe.skipIf(skipWebGpu)("GPU LoRA adapters vs the CPU engine (tiny pack)", () => {
  it("loss and all trainable gradients agree (rel 1e-5); a training step moves the LoRA tensors", async () => {
    const { arch, weights } = packDenoiser("tiny");
    const fx = engineFixture();
    const config = { rank: 3, alpha: 6, targets: LORA_TARGETS };
    const tensors = initLora(arch, config, gaussian, 11);
    for (const [n, t] of tensors) if (n.endsWith("lora_B")) t.set(gaussian(n.length, t.length).map((v) => 0.3 * v));
    const cpu = new CpuDenoiser(arch, weights, { config, tensors });
    const { eps, tape } = cpu.forward(fx.inputs);
    const mse = weightedMse(eps, fx.target, fx.weight);
    const want = cpu.backward(tape, mse.grad);

    const ctx = await createNodeContext();
    try {
      const den = await GpuDenoiser.create(ctx, arch, weights, { config, tensors });
      const batch = { inputs: fx.inputs, target: fx.target, weight: fx.weight };
      const got = await den.lossAndGrads(batch);
      expect(Math.abs(got.loss - mse.loss) / mse.loss).toBeLessThan(1e-5);
      expect([...got.adapter.keys()].sort()).toEqual([...want.adapter.keys()].sort());
      for (const [name, g] of got.adapter)
        expect(relError(g, want.adapter.get(name) as Float32Array), name).toBeLessThan(1e-5);
      expect(relError(got.latent, want.latent)).toBeLessThan(1e-5);
      den.trainStep(batch, { lr: 1e-3 });
      const after = await den.readAdapter();
      for (const n of tensors.keys()) expect(after.get(n), n).not.toEqual(tensors.get(n));
      den.destroy();
    } finally {
      ctx.destroy();
    }
  }, 60_000);
});
