/** Moving data between typed arrays and GPU buffers. Readback happens only through here. */
import type { GpuContext } from "./context.ts";

/** Usage for tensors: bindable as storage, uploadable, readable. A function because in Node the
 * GPU* globals exist only once the `webgpu` package is loaded. */
export function storageUsage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** A pooled storage buffer holding `data`; release it with `ctx.pool.release`. */
export function upload(ctx: GpuContext, data: Float32Array | Uint32Array | Int32Array): GPUBuffer {
  ctx.assertAlive();
  const buffer = ctx.pool.acquire(data.byteLength, storageUsage(), "upload");
  ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/**
 * Copies several regions into one staging buffer and maps it once, so reading N outputs costs
 * one round trip. Sizes must be multiples of 4 bytes (f32/u32/i32 data).
 */
export async function readBuffers(
  ctx: GpuContext,
  regions: { buffer: GPUBuffer; offset?: number; byteLength: number }[],
): Promise<ArrayBuffer[]> {
  const total = regions.reduce((sum, r) => sum + r.byteLength, 0);
  if (regions.some((r) => r.byteLength % 4 !== 0)) throw new Error("readback sizes must be multiples of 4 bytes");
  const staging = ctx.pool.acquire(total, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, "readback");
  try {
    const batch = ctx.batch("readback");
    let at = 0;
    for (const r of regions) {
      batch.copy(r.buffer, r.offset ?? 0, staging, at, r.byteLength);
      at += r.byteLength;
    }
    batch.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, total);
    } catch (e) {
      throw await ctx.explain(e);
    }
    await ctx.throwPendingErrors();
    const mapped = staging.getMappedRange(0, total);
    at = 0;
    return regions.map((r) => {
      const out = mapped.slice(at, at + r.byteLength);
      at += r.byteLength;
      return out;
    });
  } finally {
    ctx.pool.release(staging);
  }
}

export async function readFloat32(ctx: GpuContext, buffer: GPUBuffer, length: number): Promise<Float32Array> {
  const [data] = await readBuffers(ctx, [{ buffer, byteLength: length * 4 }]);
  return new Float32Array(data);
}
