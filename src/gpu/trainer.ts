/**
 * Picks the training engine: the WGSL `GpuDenoiser` when a WebGPU device can be had, else the CPU
 * `CpuTrainer` behind the same `AdapterTrainer` interface (with the reason, for the UI to show).
 * With `engine: "auto"` and a probe batch, both engines time that batch's loss and gradients and
 * the faster is kept: a software adapter (SwiftShader) is usually slower than the CPU engine.
 */
import type { DenoiserArch } from "../core/engine/arch.ts";
import { ShardedTrainer, type ShardWorker } from "../core/engine/sharded.ts";
import {
  type AdapterTrainer,
  CpuTrainer,
  type LoraTensors,
  type Objective,
  type TrainingBatch,
} from "../core/engine/trainer.ts";
import { fasterBy } from "../core/timing.ts";
import { GpuContext } from "./context.ts";
import { GpuDenoiser } from "./denoiser.ts";
import { isSoftwareAdapter } from "./device.ts";

export type TrainingEngine = "webgpu" | "cpu";
/** "webgpu": WGSL whenever a device can be had; "cpu"; "auto": the faster on the probe batch. */
export type TrainingEngineChoice = TrainingEngine | "auto";

export interface TrainerChoice {
  trainer: AdapterTrainer;
  backend: TrainingEngine;
  /** The context the GPU trainer runs on (destroy it after the trainer), or null. */
  ctx: GpuContext | null;
  /** Why the CPU fallback was used, when it was. */
  fallbackReason?: string;
  /** How the WGSL engine's kernel variants were chosen, when it is the one. */
  kernels?: string;
  /** Threads of the CPU engine, when it is the one. */
  cpuThreads?: number;
  /** How "auto" chose, with the times it measured (ms for one loss-and-gradients call). */
  measured?: { reason: string; ms: Record<TrainingEngine, number> };
}

export interface EngineRequest {
  engine?: TrainingEngineChoice;
  probe?: { batch: TrainingBatch; objective: Objective };
  /** Starts the CPU engine's extra threads (none: it runs on the calling thread alone). */
  cpuWorkers?: (
    arch: DenoiserArch,
    weights: ReadonlyMap<string, Float32Array>,
    lora?: LoraTensors,
  ) => Promise<ShardWorker[]>;
  /** Chooses the WGSL engine's kernel variants on its context (`ctx.tuning`) and says how. */
  tuneKernels?: (ctx: GpuContext) => Promise<string>;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

export async function createTrainer(
  gpu: GPU | undefined,
  arch: DenoiserArch,
  weights: ReadonlyMap<string, Float32Array>,
  lora?: LoraTensors,
  { engine = "webgpu", probe, cpuWorkers, tuneKernels }: EngineRequest = {},
): Promise<TrainerChoice> {
  const cpu = async (fallbackReason?: string): Promise<TrainerChoice> => {
    const local = new CpuTrainer(arch, weights, lora);
    const workers = (await cpuWorkers?.(arch, weights, lora)) ?? [];
    const trainer = workers.length ? new ShardedTrainer(local, workers) : local;
    return { trainer, backend: "cpu", ctx: null, fallbackReason, cpuThreads: workers.length + 1 };
  };
  if (engine === "cpu") return cpu();
  if (!gpu) return cpu("WebGPU is not available");
  let ctx: GpuContext | null = null;
  let gpuChoice: TrainerChoice;
  try {
    ctx = await GpuContext.create(gpu, { label: "patchdpo-trainer" });
    const kernels = await tuneKernels?.(ctx);
    gpuChoice = { trainer: await GpuDenoiser.create(ctx, arch, weights, lora), backend: "webgpu", ctx, kernels };
  } catch (e) {
    ctx?.destroy();
    return cpu((e as Error).message);
  }
  if (engine !== "auto" || !probe) return gpuChoice;

  const other = await cpu();
  const { batch, objective } = probe;
  // The first GPU call compiles the pipelines: warm up, then time one call on each engine.
  await gpuChoice.trainer.lossAndGrads(batch, objective);
  const ms = {
    webgpu: await timed(() => gpuChoice.trainer.lossAndGrads(batch, objective)),
    cpu: await timed(() => other.trainer.lossAndGrads(batch, objective)),
  };
  const [kept, dropped] = ms.cpu < ms.webgpu ? [other, gpuChoice] : [gpuChoice, other];
  dropped.trainer.destroy();
  dropped.ctx?.destroy();
  const software = ctx && isSoftwareAdapter(ctx.adapter) ? " on a software adapter" : "";
  const margin = kept.backend === "cpu" ? fasterBy(ms.webgpu, ms.cpu) : fasterBy(ms.cpu, ms.webgpu);
  const names = kept.backend === "cpu" ? ["CPU engine", `WGSL${software}`] : ["WGSL engine", "the CPU engine"];
  const reason = `auto: ${names[0]} ${margin} than ${names[1]} on one step (${ms.cpu.toFixed(0)} ms CPU, ${ms.webgpu.toFixed(0)} ms WGSL)`;
  return { ...kept, measured: { reason, ms } };
}
