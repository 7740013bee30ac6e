/**
 * Reuses GPU buffers by (usage, size class) so training steps and batched kernels do not
 * allocate per call. Sizes are rounded up to a multiple of a quarter of their power of two
 * (< 25 % waste), so shapes that differ slightly share buffers. The pool remembers the size each
 * in-use buffer was asked for, so operand checks see the tensor, not the padding. `liveCount` is
 * what leak tests watch. A request beyond the device's limits is refused by name (GpuLimitError).
 */

import { GpuLimitError } from "./errors.ts";

/** Smallest size class; also keeps uniform buffers at a multiple of 16 bytes. */
const MIN_BYTES = 256;

export function sizeClass(byteLength: number): number {
  if (byteLength <= MIN_BYTES) return MIN_BYTES;
  const step = 2 ** (Math.floor(Math.log2(byteLength)) - 2);
  return Math.ceil(byteLength / step) * step;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly live = new Set<GPUBuffer>();
  /** In-use buffers and the byte length each was acquired for. */
  private readonly inUse = new Map<GPUBuffer, number>();

  constructor(private readonly device: GPUDevice) {}

  /** A buffer of at least `byteLength` bytes; its contents are undefined (not zeroed on reuse). */
  acquire(byteLength: number, usage: GPUBufferUsageFlags, label = "pooled"): GPUBuffer {
    const { maxBufferSize, maxStorageBufferBindingSize } = this.device.limits;
    if (usage & GPUBufferUsage.STORAGE && byteLength > maxStorageBufferBindingSize)
      throw new GpuLimitError(label, byteLength, "maxStorageBufferBindingSize", maxStorageBufferBindingSize);
    if (byteLength > maxBufferSize) throw new GpuLimitError(label, byteLength, "maxBufferSize", maxBufferSize);
    // The size class may round past a limit that the request itself fits.
    const cap = usage & GPUBufferUsage.STORAGE ? maxStorageBufferBindingSize : maxBufferSize;
    const size = Math.min(sizeClass(byteLength), cap);
    const buffer = this.free.get(`${usage}:${size}`)?.pop() ?? this.create(size, usage, label);
    this.inUse.set(buffer, byteLength);
    return buffer;
  }

  /** The byte length an in-use buffer of this pool was acquired for; any other buffer's size. */
  byteLength(buffer: GPUBuffer): number {
    return this.inUse.get(buffer) ?? buffer.size;
  }

  release(buffer: GPUBuffer): void {
    if (!this.inUse.delete(buffer)) throw new Error(`buffer "${buffer.label}" is not in use from this pool`);
    if (buffer.mapState !== "unmapped") buffer.unmap();
    const key = `${buffer.usage}:${buffer.size}`;
    const list = this.free.get(key);
    if (list) list.push(buffer);
    else this.free.set(key, [buffer]);
  }

  /** Buffers created by this pool and not yet destroyed (in use + idle). */
  get liveCount(): number {
    return this.live.size;
  }

  get inUseCount(): number {
    return this.inUse.size;
  }

  /** Destroys idle buffers, e.g. after a large one-off job. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) this.dispose(b);
    this.free.clear();
  }

  destroy(): void {
    this.trim();
    for (const b of this.inUse.keys()) this.dispose(b);
    this.inUse.clear();
  }

  private create(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const buffer = this.device.createBuffer({ size, usage, label });
    this.live.add(buffer);
    return buffer;
  }

  private dispose(buffer: GPUBuffer): void {
    buffer.destroy();
    this.live.delete(buffer);
  }
}
