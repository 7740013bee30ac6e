import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sizeClass } from "./buffer-pool.ts";
import type { GpuContext } from "./context.ts";
import { GpuCommandError, GpuDeviceLostError, GpuLimitError } from "./errors.ts";
import { kernelKey } from "./pipeline-cache.ts";
import { createNodeContext, skipWebGpu } from "./testing/node-gpu.ts";
import { readFloat32, storageUsage, upload } from "./transfer.ts";

const SCALE = /* wgsl */ `
override FACTOR: f32 = 2.0;
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&x)) { x[id.x] *= FACTOR; }
}`;

describe("size classes and kernel keys", () => {
  it("rounds sizes up to four classes per power of two", () => {
    expect([1, 256, 257, 1000, 1025, 5000].map(sizeClass)).toEqual([256, 256, 320, 1024, 1280, 5120]);
  });

  it("keys kernels by source, entry point and constants regardless of their order", () => {
    const a = kernelKey({ code: "x", entryPoint: "main", constants: { A: 1, B: 2 } });
    expect(kernelKey({ code: "x", entryPoint: "main", constants: { B: 2, A: 1 } })).toBe(a);
    expect(kernelKey({ code: "x", entryPoint: "main", constants: { A: 1, B: 3 } })).not.toBe(a);
    expect(kernelKey({ code: "y", entryPoint: "main", constants: { A: 1, B: 2 } })).not.toBe(a);
  });
});

describe.skipIf(skipWebGpu)("GPU runtime (WebGPU)", () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await createNodeContext();
  });
  afterAll(() => ctx?.destroy());

  it("requests the adapter's limits", () => {
    expect(ctx.device.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(ctx.adapter.name.length).toBeGreaterThan(0);
  });

  it("reuses pooled buffers and counts live ones", () => {
    const before = ctx.pool.liveCount;
    const a = ctx.pool.acquire(1000, storageUsage());
    expect(ctx.pool.liveCount).toBe(before + 1);
    ctx.pool.release(a);
    const b = ctx.pool.acquire(900, storageUsage());
    expect(b).toBe(a);
    expect(ctx.pool.liveCount).toBe(before + 1);
    ctx.pool.release(b);
    expect(() => ctx.pool.release(b)).toThrow();
    ctx.pool.trim();
    expect(ctx.pool.liveCount).toBe(before);
  });

  it("refuses a buffer beyond the device's limits by name, allocating nothing", () => {
    const { maxBufferSize, maxStorageBufferBindingSize } = ctx.device.limits;
    const before = ctx.pool.liveCount;
    expect(() => ctx.pool.acquire(maxStorageBufferBindingSize + 2 ** 20, storageUsage(), "activations")).toThrow(
      new GpuLimitError(
        "activations",
        maxStorageBufferBindingSize + 2 ** 20,
        "maxStorageBufferBindingSize",
        maxStorageBufferBindingSize,
      ),
    );
    expect(() =>
      ctx.pool.acquire(maxBufferSize + 2 ** 20, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, "readback"),
    ).toThrow(/buffer "readback" needs .* MiB, more than this WebGPU device allows \(maxBufferSize .* MiB\)/);
    expect(ctx.pool.liveCount).toBe(before);
    // Just under the binding limit, the size class is capped so that the buffer still binds whole.
    const edge = maxStorageBufferBindingSize - 4;
    if (edge <= 256 * 1024 * 1024) {
      const b = ctx.pool.acquire(edge, storageUsage(), "edge");
      expect(b.size).toBeLessThanOrEqual(maxStorageBufferBindingSize);
      ctx.pool.release(b);
      ctx.pool.trim();
    }
  });

  it("caches pipelines per specialization and runs them in one batch", async () => {
    const size = ctx.pipelines.size;
    const double = ctx.pipelines.get({ code: SCALE, entryPoint: "main" });
    expect(ctx.pipelines.get({ code: SCALE, entryPoint: "main" })).toBe(double);
    const triple = await ctx.pipelines.get({ code: SCALE, entryPoint: "main", constants: { FACTOR: 3 } });
    expect(ctx.pipelines.size).toBe(size + 2);

    const x = upload(ctx, new Float32Array([1, 2, 3, 4]));
    const batch = ctx.batch();
    const entries = [{ binding: 0, resource: { buffer: x, size: 16 } }];
    batch.dispatch(await double, entries, [1]);
    batch.dispatch(triple, entries, [1]);
    batch.submit();
    expect(Array.from(await readFloat32(ctx, x, 4))).toEqual([6, 12, 18, 24]);
    ctx.pool.release(x);
  });

  it("rejects WGSL that does not compile and does not cache the failure", async () => {
    const bad = { code: "fn main( {", entryPoint: "main" };
    const size = ctx.pipelines.size;
    await expect(ctx.pipelines.get(bad)).rejects.toThrow();
    expect(ctx.pipelines.size).toBe(size);
  });

  it("surfaces validation errors of a batch at the next sync point", async () => {
    const pipeline = await ctx.pipelines.get({ code: SCALE, entryPoint: "main" });
    const uniform = ctx.pool.acquire(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const batch = ctx.batch();
    batch.dispatch(pipeline, [{ binding: 0, resource: { buffer: uniform } }], [1]); // a uniform buffer bound as storage is invalid
    batch.submit();
    await expect(ctx.sync()).rejects.toBeInstanceOf(GpuCommandError);
    await ctx.sync(); // reported once
    ctx.pool.release(uniform);
  });

  it("allows one open batch at a time", () => {
    const batch = ctx.batch();
    expect(() => ctx.batch()).toThrow(/still open/);
    batch.submit();
    expect(() => batch.submit()).toThrow(/already submitted/);
  });

  it("discards a batch whose recording throws, leaving the context usable", async () => {
    const inUse = ctx.pool.inUseCount;
    expect(() =>
      ctx.submit("failing", (batch) => {
        batch.temp(64);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(ctx.pool.inUseCount).toBe(inUse);
    ctx.submit("empty", () => {});
    await ctx.sync();
  });

  it("reports device loss as GpuDeviceLostError and recovers with a fresh context", async () => {
    const doomed = await createNodeContext();
    const x = upload(doomed, new Float32Array([1, 2, 3, 4]));
    doomed.device.destroy();
    await expect(readFloat32(doomed, x, 4)).rejects.toBeInstanceOf(GpuDeviceLostError);
    expect(doomed.lost?.reason).toBe("destroyed");
    expect(() => doomed.batch()).toThrow(GpuDeviceLostError);

    const fresh = await createNodeContext();
    const y = upload(fresh, new Float32Array([5, 6]));
    expect(Array.from(await readFloat32(fresh, y, 2))).toEqual([5, 6]);
    fresh.destroy();
  });
});
