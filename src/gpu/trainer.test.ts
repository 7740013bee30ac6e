import { describe, expect, it } from "vitest";
import { packDenoiser } from "../../node/packs.ts";
import { DEFAULT_TRAIN_CONFIG, StepSource } from "../core/training/loop.ts";
import { syntheticDataset } from "../core/training/testing/dataset.ts";
import { nodeGpu, skipWebGpu } from "./testing/node-gpu.ts";
import { createTrainer } from "./trainer.ts";

describe("createTrainer", () => {
  const { arch, weights } = packDenoiser("tiny");

  it("falls back to the CPU trainer without WebGPU or without an adapter", async () => {
    const none = await createTrainer(undefined, arch, weights);
    expect(none.backend).toBe("cpu");
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    const choice = await createTrainer(noAdapter, arch, weights);
    expect(choice.backend).toBe("cpu");
    expect(choice.fallbackReason).toMatch(/no WebGPU adapter/);
  });

  it.skipIf(skipWebGpu)("uses the WGSL engine when a device is available", async () => {
    const choice = await createTrainer(await nodeGpu(), arch, weights);
    expect(choice.backend).toBe("webgpu");
    choice.trainer.destroy();
    choice.ctx?.destroy();
  });

  it("uses the CPU engine when asked, even with WebGPU", async () => {
    const choice = await createTrainer({} as GPU, arch, weights, undefined, { engine: "cpu" });
    expect(choice.backend).toBe("cpu");
    expect(choice.fallbackReason).toBeUndefined();
  });

  it.skipIf(skipWebGpu)("auto times one step on each engine and keeps the faster, saying by how much", async () => {
    const latent = { channels: arch.latentChannels, height: arch.latentSize, width: arch.latentSize };
    const alphas = Float64Array.from({ length: 1000 }, (_, t) => 1 - (t + 1) / 1001);
    const probe = new StepSource(syntheticDataset(arch), DEFAULT_TRAIN_CONFIG, latent, alphas).batchAt(0);
    const choice = await createTrainer(await nodeGpu(), arch, weights, undefined, { engine: "auto", probe });
    const ms = choice.measured?.ms;
    expect(ms?.cpu).toBeGreaterThan(0);
    expect(ms?.webgpu).toBeGreaterThan(0);
    expect(choice.backend).toBe((ms?.cpu ?? 0) < (ms?.webgpu ?? 0) ? "cpu" : "webgpu");
    expect(choice.ctx === null).toBe(choice.backend === "cpu");
    expect(choice.measured?.reason).toMatch(
      /^auto: (CPU|WGSL) engine [\d.]+× faster than .* on one step \(\d+ ms CPU, \d+ ms WGSL\)$/,
    );
    // The kept engine trains.
    expect(Number.isFinite((await choice.trainer.lossAndGrads(probe.batch, probe.objective)).loss)).toBe(true);
    choice.trainer.destroy();
    choice.ctx?.destroy();
  });
});
