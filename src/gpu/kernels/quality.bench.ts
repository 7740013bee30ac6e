/**
 * Timing hook for the `quality` bench scenario (DESIGN §7): the WGSL kernel against the CPU
 * reference on the same features, in one run so that the ratio is meaningful on a noisy machine.
 * GPU time includes upload and readback, as a caller of `patchQualityGpu` experiences it.
 */
import { patchQualityCpu } from "../../core/quality/cpu.ts";
import { gaussian } from "../../core/sampling/rng.ts";
import { medianMs } from "../../core/timing.ts";
import type { GpuContext } from "../context.ts";
import { patchQualityGpu } from "./quality.ts";

export interface QualityBenchOptions {
  pairs?: number;
  /** Patch grid side for both images (8 → 8×8 patches). */
  grid?: number;
  dim?: number;
  warmup?: number;
  runs?: number;
}

export interface QualityBenchResult {
  kernel_speedup_vs_cpu: number;
  gpu_ms: number;
  cpu_ms: number;
  pairs: number;
  patches: number;
  dim: number;
}

export async function benchQualityKernel(
  ctx: GpuContext,
  { pairs = 64, grid = 8, dim = 64, warmup = 3, runs = 9 }: QualityBenchOptions = {},
): Promise<QualityBenchResult> {
  const patches = grid * grid;
  const shape = { batch: pairs, genPatches: patches, refPatches: patches, dim };
  const gen = gaussian(11, pairs * patches * dim);
  const ref = gaussian(12, pairs * patches * dim);
  const gpu_ms = await medianMs(() => patchQualityGpu(ctx, gen, ref, shape), warmup, runs);
  const cpu_ms = await medianMs(() => patchQualityCpu(gen, ref, shape), warmup, runs);
  return { kernel_speedup_vs_cpu: cpu_ms / gpu_ms, gpu_ms, cpu_ms, pairs, patches, dim };
}
