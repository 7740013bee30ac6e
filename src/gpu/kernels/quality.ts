/**
 * WGSL patch quality (quality.wgsl), batched: `qualityKernel` records all pairs of a batch into
 * an open command batch, like the other kernels; `patchQualityGpu` is the one-submission
 * convenience on top. Features can come as typed arrays or as GPU buffers already on the device
 * (e.g. the patch encoder's ORT-web WebGPU output), which are bound in place without a copy.
 */
import { checkQualityShape, type QualityResult, type QualityShape } from "../../core/quality/types.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { readBuffers, storageUsage } from "../transfer.ts";
import { declareKernels, loadKernels, WG } from "./dispatch.ts";
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

export interface QualityOptions {
  /** Cap on the similarity scratch buffer; larger batches run in chunks of items (default 64 MiB). */
  maxSimBytes?: number;
}

/** Records patch quality of `gen` against `ref`, of shape `out.shape`, into `out`. */
export type QualityKernel = (
  batch: CommandBatch,
  gen: FeatureSource,
  ref: FeatureSource,
  out: QualityBuffers,
  options?: QualityOptions,
) => void;

const SIM_TILE = 8 * 4; // workgroup 8×8 threads, 4×4 outputs each

const QUALITY = declareKernels({
  name: "quality",
  code,
  params: { rows: "u32", dim: "u32", ng: "u32", nr: "u32", batch0: "u32", items: "u32" },
  entries: {
    inv_norms: ["norm_x", "norm_inv"],
    similarity: ["gen", "refs", "gen_inv", "ref_inv", "sim"],
    reduce_max: ["red_sim", "out_max", "out_arg"],
  },
});

export async function qualityKernel(ctx: GpuContext): Promise<QualityKernel> {
  const k = await loadKernels(ctx, QUALITY, {
    invNorms: { entryPoint: "inv_norms" },
    similarity: { entryPoint: "similarity" },
    reduceRows: { entryPoint: "reduce_max", constants: { COLUMNS: 0 } },
    reduceCols: { entryPoint: "reduce_max", constants: { COLUMNS: 1 } },
  });
  return (b, gen, ref, out, options = {}) => {
    const { shape } = out;
    const { batch: items, genPatches: ng, refPatches: nr, dim } = shape;
    // A device buffer may hold more than the features; only the prefix is read.
    const length = (source: FeatureSource, values: number) =>
      source instanceof Float32Array ? source.length : Math.min(Math.floor(b.bindingBytes(source) / 4), values);
    checkQualityShape(shape, length(gen, items * ng * dim), length(ref, items * nr * dim));
    const simBytesPerItem = ng * nr * 4;
    const limit = Math.min(options.maxSimBytes ?? 64 * 1024 * 1024, ctx.device.limits.maxStorageBufferBindingSize);
    if (simBytesPerItem > limit) throw new RangeError(`${ng}×${nr} similarity matrix exceeds ${limit} bytes`);
    const chunk = Math.min(
      items,
      Math.floor(limit / simBytesPerItem),
      ctx.device.limits.maxComputeWorkgroupsPerDimension,
    );

    const bind = (source: FeatureSource) =>
      source instanceof Float32Array ? b.upload(source, storageUsage()) : source;
    const g = [bind(gen), items * ng * dim] as const;
    const r = [bind(ref), items * nr * dim] as const;
    const gInv = [b.temp(items * ng * 4), items * ng] as const;
    const rInv = [b.temp(items * nr * 4), items * nr] as const;
    k.invNorms.dispatchThreads(b, { rows: items * ng, dim }, { norm_x: g, norm_inv: gInv }, items * ng);
    k.invNorms.dispatchThreads(b, { rows: items * nr, dim }, { norm_x: r, norm_inv: rInv }, items * nr);
    const sim = b.temp(chunk * simBytesPerItem);
    for (let b0 = 0; b0 < items; b0 += chunk) {
      const n = Math.min(chunk, items - b0);
      const params = { dim, ng, nr, batch0: b0, items: n };
      const simOut = [sim, n * ng * nr] as const;
      const operands = { gen: g, refs: r, gen_inv: gInv, ref_inv: rInv, sim: simOut };
      k.similarity.dispatch(b, params, operands, [Math.ceil(nr / SIM_TILE), Math.ceil(ng / SIM_TILE), n]);
      const rows = { red_sim: simOut, out_max: [out.genMax, items * ng], out_arg: [out.genArg, items * ng] } as const;
      k.reduceRows.dispatch(b, params, rows, [Math.ceil(ng / WG), n]);
      const cols = { red_sim: simOut, out_max: [out.refMax, items * nr], out_arg: [out.refArg, items * nr] } as const;
      k.reduceCols.dispatch(b, params, cols, [Math.ceil(nr / WG), n]);
    }
  };
}

/** Records the kernel into one submission of its own; nothing is read back. */
export async function computePatchQuality(
  ctx: GpuContext,
  gen: FeatureSource,
  ref: FeatureSource,
  shape: QualityShape,
  options: QualityOptions = {},
): Promise<QualityBuffers> {
  const record = await qualityKernel(ctx);
  const { batch: items, genPatches: ng, refPatches: nr } = shape;
  const usage = storageUsage();
  const out: QualityBuffers = {
    shape,
    genMax: ctx.pool.acquire(items * ng * 4, usage, "quality.genMax"),
    genArg: ctx.pool.acquire(items * ng * 4, usage, "quality.genArg"),
    refMax: ctx.pool.acquire(items * nr * 4, usage, "quality.refMax"),
    refArg: ctx.pool.acquire(items * nr * 4, usage, "quality.refArg"),
  };
  try {
    ctx.submit("patch-quality", (b) => record(b, gen, ref, out, options));
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
