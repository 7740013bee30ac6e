/**
 * Records many dispatches and copies into one command buffer and submits them together: one
 * queue submission per logical step instead of one per kernel. Temporary buffers (uniforms,
 * scratch) return to the pool at submit; that is safe because every later write to a reused
 * buffer goes through the same queue and is ordered after this submission.
 */
import type { BufferPool } from "./buffer-pool.ts";

export type Binding = GPUBuffer | GPUBufferBinding;

/** How a batch reports its validation errors back to the context that opened it. */
export interface BatchOwner {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  batchClosed(errors: Promise<GPUError | null>[]): void;
}

export class CommandBatch {
  private readonly encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private readonly temps: GPUBuffer[] = [];
  private open = true;

  constructor(
    private readonly owner: BatchOwner,
    label?: string,
  ) {
    // Scopes cover bind-group creation and encoding too, so mistakes surface at the next sync point.
    owner.device.pushErrorScope("validation");
    owner.device.pushErrorScope("out-of-memory");
    this.encoder = owner.device.createCommandEncoder({ label });
  }

  /**
   * Binds `entries` to @group(0) and dispatches `workgroups`. `layout` defaults to the pipeline's;
   * kernels pass the one they looked up once.
   */
  dispatch(
    pipeline: GPUComputePipeline,
    entries: GPUBindGroupEntry[],
    workgroups: [number, number?, number?],
    layout = pipeline.getBindGroupLayout(0),
  ): void {
    this.assertOpen();
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const bindGroup = this.owner.device.createBindGroup({ layout, entries });
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
  }

  /** Bytes a binding covers; a pooled buffer counts the size it was acquired for, not its size class. */
  bindingBytes(binding: Binding): number {
    if (!("buffer" in binding)) return this.owner.pool.byteLength(binding);
    return binding.size ?? this.owner.pool.byteLength(binding.buffer) - (binding.offset ?? 0);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, byteLength: number): void {
    this.assertOpen();
    this.endPass();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, byteLength);
  }

  /** Zero-fills `byteLength` bytes (default: the whole buffer), e.g. before accumulating into it. */
  clear(buffer: GPUBuffer, byteLength?: number): void {
    this.assertOpen();
    this.endPass();
    this.encoder.clearBuffer(buffer, 0, byteLength);
  }

  /** A uniform buffer holding `data`, valid until this batch is submitted. */
  uniform(data: Uint32Array | Float32Array): GPUBuffer {
    return this.upload(data, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  }

  /** A scratch buffer initialised with `data`, valid until this batch is submitted. */
  upload(data: Uint32Array | Float32Array, usage: GPUBufferUsageFlags): GPUBuffer {
    const buffer = this.temp(data.byteLength, usage);
    this.owner.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  /** Scratch storage valid until this batch is submitted. */
  temp(byteLength: number, usage: GPUBufferUsageFlags = GPUBufferUsage.STORAGE): GPUBuffer {
    this.assertOpen();
    const buffer = this.owner.pool.acquire(byteLength, usage, "batch-temp");
    this.temps.push(buffer);
    return buffer;
  }

  submit(): void {
    this.assertOpen();
    this.endPass();
    this.owner.device.queue.submit([this.encoder.finish()]);
    this.close();
  }

  /** Drops everything recorded (e.g. after an exception while recording); nothing is submitted. */
  discard(): void {
    this.assertOpen();
    this.endPass();
    this.close();
  }

  private close(): void {
    this.open = false;
    for (const b of this.temps) this.owner.pool.release(b);
    const device = this.owner.device;
    this.owner.batchClosed([device.popErrorScope(), device.popErrorScope()]);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private assertOpen(): void {
    if (!this.open) throw new Error("command batch already submitted");
  }
}
