import { describe, expect, it } from "vitest";
import { packDenoiser } from "../../node/packs.ts";
import { createNodeContext, skipWebGpu } from "./testing/node-gpu.ts";
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
    await createNodeContext(); // installs the webgpu globals
    const { create } = await import("webgpu");
    const choice = await createTrainer(create([]), arch, weights);
    expect(choice.backend).toBe("webgpu");
    choice.trainer.destroy();
    choice.ctx?.destroy();
  });
});
