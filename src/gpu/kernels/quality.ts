/**
 * WGSL patch quality (quality.wgsl), batched: all pairs of a batch in one command submission.
 * Features can come as typed arrays or as GPU buffers already on the device (e.g. the patch
 * encoder's ORT-web WebGPU output), which are bound in place without a copy.
 */
import { checkQualityShape, type QualityResult, type QualityShape } from "../../core/quality/types.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import type { KernelSpec } from "../pipeline-cache.ts";
import { bindingSize, readBuffers, storageUsage } from "../transfer.ts";
import code from "./quality.wgsl?raw";

/** Typed array, or a device buffer (binding offsets must respect minStorageBufferOffsetAlignment). */
export type FeatureSource = Float32Array | Binding;

/** Outputs left on the device; read them with `readPatchQuality`, free them with `releasePatchQuality`. */
export interface QualityBuffers {
  shape: QualityShape;
  genMax: GPUBuffer;
  genArg: GPUBuffer;
  refMax: GPUBuffer;
  refArg: GPUBuffer;
}

const WG = 64;
const SIM_TILE = 8 * 4; // workgroup 8×8 threads, 4×4 outputs each

const kernels = {
  invNorms: { code, entryPoint: "inv_norms", constants: { WG } },
  similarity: { code, entryPoint: "similarity" },
  reduceRows: { code, entryPoint: "reduce_max", constants: { WG, COLUMNS: 0 } },
  reduceCols: { code, entryPoint: "reduce_max", constants: { WG, COLUMNS: 1 } },
} satisfies Record<string, KernelSpec>;

function featureLength(source: FeatureSource): number {
  return source instanceof Float32Array ? source.length : Math.floor(bindingSize(source) / 4);
}

function bindFeatures(batch: CommandBatch, source: FeatureSource, values: number): Binding {
  if (source instanceof Float32Array) return batch.upload(source, storageUsage());
  return "buffer" in source ? { ...source, size: values * 4 } : { buffer: source, size: values * 4 };
}

export interface QualityOptions {
  /** Cap on the similarity scratch buffer; larger batches run in chunks of items (default 64 MiB). */
  maxSimBytes?: number;
}

/** Runs the kernel; nothing is read back. */
export async function computePatchQuality(
  ctx: GpuContext,
  gen: FeatureSource,
  ref: FeatureSource,
  shape: QualityShape,
  options: QualityOptions = {},
): Promise<QualityBuffers> {
  const { batch: items, genPatches: ng, refPatches: nr, dim } = shape;
  // Device buffers may be larger than the tensor (pooled sizes); only the prefix is bound.
  const genLength = gen instanceof Float32Array ? gen.length : Math.min(featureLength(gen), items * ng * dim);
  const refLength = ref instanceof Float32Array ? ref.length : Math.min(featureLength(ref), items * nr * dim);
  checkQualityShape(shape, genLength, refLength);
  const simBytesPerItem = ng * nr * 4;
  const limit = Math.min(options.maxSimBytes ?? 64 * 1024 * 1024, ctx.device.limits.maxStorageBufferBindingSize);
  if (simBytesPerItem > limit) throw new RangeError(`${ng}×${nr} similarity matrix exceeds ${limit} bytes`);
  const chunk = Math.min(
    items,
    Math.floor(limit / simBytesPerItem),
    ctx.device.limits.maxComputeWorkgroupsPerDimension,
  );
  const [invNorms, similarity, reduceRows, reduceCols] = await Promise.all(
    [kernels.invNorms, kernels.similarity, kernels.reduceRows, kernels.reduceCols].map((k) => ctx.pipelines.get(k)),
  );

  const usage = storageUsage();
  const out: QualityBuffers = {
    shape,
    genMax: ctx.pool.acquire(items * ng * 4, usage, "quality.genMax"),
    genArg: ctx.pool.acquire(items * ng * 4, usage, "quality.genArg"),
    refMax: ctx.pool.acquire(items * nr * 4, usage, "quality.refMax"),
    refArg: ctx.pool.acquire(items * nr * 4, usage, "quality.refArg"),
  };
  try {
    ctx.submit("patch-quality", (batch) => {
      const g = bindFeatures(batch, gen, items * ng * dim);
      const r = bindFeatures(batch, ref, items * nr * dim);
      const gInv = batch.temp(items * ng * 4);
      const rInv = batch.temp(items * nr * 4);
      batch.dispatch(
        invNorms,
        [g, gInv, batch.uniform(new Uint32Array([items * ng, dim]))],
        [Math.ceil((items * ng) / WG)],
      );
      batch.dispatch(
        invNorms,
        [r, rInv, batch.uniform(new Uint32Array([items * nr, dim]))],
        [Math.ceil((items * nr) / WG)],
      );
      const sim = batch.temp(chunk * simBytesPerItem);
      for (let b0 = 0; b0 < items; b0 += chunk) {
        const n = Math.min(chunk, items - b0);
        const simParams = batch.uniform(new Uint32Array([ng, nr, dim, b0]));
        batch.dispatch(
          similarity,
          [g, r, gInv, rInv, sim, simParams],
          [Math.ceil(nr / SIM_TILE), Math.ceil(ng / SIM_TILE), n],
        );
        const reduceParams = batch.uniform(new Uint32Array([ng, nr, b0, n]));
        batch.dispatch(reduceRows, [sim, out.genMax, out.genArg, reduceParams], [Math.ceil(ng / WG), n]);
        batch.dispatch(reduceCols, [sim, out.refMax, out.refArg, reduceParams], [Math.ceil(nr / WG), n]);
      }
    });
  } catch (e) {
    releasePatchQuality(ctx, out);
    throw e;
  }
  return out;
}

/** One readback of all four outputs. */
export async function readPatchQuality(ctx: GpuContext, q: QualityBuffers): Promise<QualityResult> {
  const { batch, genPatches: ng, refPatches: nr } = q.shape;
  const [genMax, genArg, refMax, refArg] = await readBuffers(ctx, [
    { buffer: q.genMax, byteLength: batch * ng * 4 },
    { buffer: q.genArg, byteLength: batch * ng * 4 },
    { buffer: q.refMax, byteLength: batch * nr * 4 },
    { buffer: q.refArg, byteLength: batch * nr * 4 },
  ]);
  return {
    shape: q.shape,
    genMax: new Float32Array(genMax),
    genArg: new Uint32Array(genArg),
    refMax: new Float32Array(refMax),
    refArg: new Uint32Array(refArg),
  };
}

export function releasePatchQuality(ctx: GpuContext, q: QualityBuffers): void {
  for (const b of [q.genMax, q.genArg, q.refMax, q.refArg]) ctx.pool.release(b);
}

/** Compute, read back and free: the GPU counterpart of `patchQualityCpu`. */
export async function patchQualityGpu(
  ctx: GpuContext,
  gen: FeatureSource,
  ref: FeatureSource,
  shape: QualityShape,
  options: QualityOptions = {},
): Promise<QualityResult> {
  const q = await computePatchQuality(ctx, gen, ref, shape, options);
  try {
    return await readPatchQuality(ctx, q);
  } finally {
    releasePatchQuality(ctx, q);
  }
}
