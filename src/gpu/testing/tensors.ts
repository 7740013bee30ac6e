/** Kernel-test helpers: upload arrays, allocate zeroed outputs, read back, free everything. */
import { expect } from "vitest";
import type { GpuContext } from "../context.ts";
import { readBuffers, storageUsage, upload } from "../transfer.ts";
import { createNodeContext } from "./node-gpu.ts";

export class TestTensors {
  private readonly held: GPUBuffer[] = [];

  constructor(private readonly ctx: GpuContext) {}

  up(data: Float32Array | Uint32Array): GPUBuffer {
    const b = upload(this.ctx, data);
    this.held.push(b);
    return b;
  }

  zeros(n: number): GPUBuffer {
    return this.up(new Float32Array(n));
  }

  async read(...regions: [GPUBuffer, number][]): Promise<Float32Array[]> {
    const out = await readBuffers(
      this.ctx,
      regions.map(([buffer, n]) => ({ buffer, byteLength: 4 * n })),
    );
    return out.map((d) => new Float32Array(d));
  }

  release(): void {
    for (const b of this.held.splice(0)) this.ctx.pool.release(b);
  }
}

export { storageUsage };

/** |got − want| ≤ tol·(1 + |want|) elementwise. */
export function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label = "value"): void {
  expect(got.length, `${label} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i]), `${label}[${i}]: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(want[i])),
    );
  }
}

/** A kernel test's context, its kernels (loaded by `load`) and a tensor helper. */
export async function openKernels<K>(
  load: (ctx: GpuContext) => Promise<K>,
): Promise<{ ctx: GpuContext; kernels: K; t: TestTensors }> {
  const ctx = await createNodeContext();
  return { ctx, kernels: await load(ctx), t: new TestTensors(ctx) };
}

/** Frees what `openKernels` made; either may be missing when opening failed. */
export function closeKernels(t: TestTensors | undefined, ctx: GpuContext | undefined): void {
  t?.release();
  ctx?.destroy();
}
