/**
 * What "auto" means for the training engine: createTrainer times one loss-and-gradients call on
 * the WGSL and the CPU engine and keeps the faster (src/gpu/trainer.ts); the outcome is kept in
 * IndexedDB per pack model, adapter, batch size and core count, so later runs there skip the timing.
 */
import type { DenoiserArch } from "../src/core/engine/arch";
import type { Manifest } from "../src/core/pack/manifest";
import { requireRole } from "../src/core/pack/manifest";
import type { StepSource } from "../src/core/training/loop";
import { probeWebGpu } from "../src/gpu/device";
import { createTrainer, type TrainerChoice, type TrainingEngine, type TrainingEngineChoice } from "../src/gpu/trainer";
import { cpuShardWorkers } from "./cpu-shards";
import { tuneKernels } from "./kernel-tuning";
import { recalled, remember } from "./measured-choices";

/** How the engines are built here: the CPU engine on every core, the WGSL kernels tuned to the adapter. */
const ENGINES = { cpuWorkers: cpuShardWorkers, tuneKernels };

interface Remembered {
  engine: TrainingEngine;
  reason: string;
}

/** The trainer for a run: `choice` as asked, or for "auto" the engine measured faster here. */
export async function trainerFor(
  choice: TrainingEngineChoice,
  manifest: Manifest,
  arch: DenoiserArch,
  weights: ReadonlyMap<string, Float32Array>,
  source: StepSource,
  step: number,
): Promise<TrainerChoice & { note?: string }> {
  const made = await choose(choice, manifest, arch, weights, source, step);
  // The header says how many threads the CPU engine trains on, or how the WGSL kernels were chosen.
  const how = made.backend === "cpu" ? `on ${made.cpuThreads} thread${made.cpuThreads === 1 ? "" : "s"}` : made.kernels;
  return { ...made, note: [made.note, how].filter(Boolean).join("; ") || undefined };
}

async function choose(
  ...[choice, manifest, arch, weights, source, step]: Parameters<typeof trainerFor>
): Promise<TrainerChoice & { note?: string }> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (choice !== "auto" || !gpu) {
    const made = await createTrainer(gpu, arch, weights, undefined, {
      engine: choice === "auto" ? "webgpu" : choice,
      ...ENGINES,
    });
    return { ...made, note: made.fallbackReason };
  }
  const probe = await probeWebGpu();
  const adapter = probe.available ? probe.adapter.name : "none";
  const key = `${requireRole(manifest, "denoiser").sha256}|${adapter}|batch ${source.config.batchSize}|${navigator.hardwareConcurrency} cores`;
  const known = await recalled<Remembered>("engine", key);
  if (known) {
    const made = await createTrainer(gpu, arch, weights, undefined, {
      engine: known.engine,
      ...ENGINES,
    });
    // A device that can no longer be had falls back whatever was remembered.
    return { ...made, note: made.fallbackReason ?? `${known.reason}, measured earlier here` };
  }
  const made = await createTrainer(gpu, arch, weights, undefined, {
    engine: "auto",
    probe: source.batchAt(step),
    ...ENGINES,
  });
  if (made.measured) await remember<Remembered>("engine", key, { engine: made.backend, reason: made.measured.reason });
  return { ...made, note: made.fallbackReason ?? made.measured?.reason };
}
