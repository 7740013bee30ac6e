/**
 * What the engine's element-wise kernels share: the WGSL prefix (common.wgsl), pipeline lookup,
 * uniform parameter blocks, and 1-D thread dispatch. Every kernel module declares its bindings at
 * fixed numbers; an entry point's recorder passes null for the bindings it does not use.
 */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import common from "./common.wgsl?raw";

/** Must equal `WG` in common.wgsl. */
const WG = 64;

/** Compiles (once, through the context's cache) the named entry points of a kernel module. */
export async function loadKernels<K extends string>(
  ctx: GpuContext,
  code: string,
  entries: Record<K, { entryPoint: string; constants?: Record<string, number> }>,
): Promise<Record<K, GPUComputePipeline>> {
  const names = Object.keys(entries) as K[];
  const pipelines = await Promise.all(
    names.map((n) => ctx.pipelines.get({ code: common + code, label: entries[n].entryPoint, ...entries[n] })),
  );
  return Object.fromEntries(names.map((n, i) => [n, pipelines[i]])) as Record<K, GPUComputePipeline>;
}

/** A uniform block of `u32` fields followed by `f32` fields, in the WGSL struct's order. */
export function params(batch: CommandBatch, u32: number[], f32: number[] = []): GPUBuffer {
  const data = new ArrayBuffer(4 * Math.max(4, u32.length + f32.length));
  new Uint32Array(data, 0, u32.length).set(u32);
  new Float32Array(data, 4 * u32.length, f32.length).set(f32);
  return batch.uniform(new Uint32Array(data));
}

/** Dispatches at least `threads` invocations of a `@workgroup_size(WG)` entry point. */
export function dispatchThreads(
  batch: CommandBatch,
  pipeline: GPUComputePipeline,
  bindings: (Binding | null)[],
  threads: number,
): void {
  const groups = Math.ceil(threads / WG);
  const x = Math.min(groups, 65535);
  batch.dispatch(pipeline, bindings, [x, Math.ceil(groups / x)]);
}
