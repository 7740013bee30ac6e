/**
 * Picks the training engine: the WGSL `GpuDenoiser` when a WebGPU device can be had, else the CPU
 * `CpuTrainer` behind the same `AdapterTrainer` interface (with the reason, for the UI to show).
 */
import type { DenoiserArch } from "../core/engine/arch.ts";
import { type AdapterTrainer, CpuTrainer, type LoraTensors } from "../core/engine/trainer.ts";
import { GpuContext } from "./context.ts";
import { GpuDenoiser } from "./denoiser.ts";

export interface TrainerChoice {
  trainer: AdapterTrainer;
  backend: "webgpu" | "cpu";
  /** The context the GPU trainer runs on (destroy it after the trainer), or null. */
  ctx: GpuContext | null;
  /** Why the CPU fallback was used, when it was. */
  fallbackReason?: string;
}

export async function createTrainer(
  gpu: GPU | undefined,
  arch: DenoiserArch,
  weights: ReadonlyMap<string, Float32Array>,
  lora?: LoraTensors,
): Promise<TrainerChoice> {
  if (!gpu)
    return {
      trainer: new CpuTrainer(arch, weights, lora),
      backend: "cpu",
      ctx: null,
      fallbackReason: "WebGPU is not available",
    };
  let ctx: GpuContext | null = null;
  try {
    ctx = await GpuContext.create(gpu, { label: "patchdpo-trainer" });
    return { trainer: await GpuDenoiser.create(ctx, arch, weights, lora), backend: "webgpu", ctx };
  } catch (e) {
    ctx?.destroy();
    return {
      trainer: new CpuTrainer(arch, weights, lora),
      backend: "cpu",
      ctx: null,
      fallbackReason: (e as Error).message,
    };
  }
}
