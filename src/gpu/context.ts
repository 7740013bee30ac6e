/**
 * One WebGPU device plus the engine's shared state (buffer pool, pipeline cache), created from
 * any `GPU` object: `navigator.gpu` in a page or worker, or the `webgpu` package's in Node.
 */

import { type BatchOwner, CommandBatch } from "./batch.ts";
import { BufferPool } from "./buffer-pool.ts";
import { type AdapterSummary, summarizeAdapter } from "./device.ts";
import { GpuCommandError, GpuDeviceLostError, GpuUnavailableError } from "./errors.ts";
import type { MatmulVariant } from "./kernels/matmul.ts";
import { PipelineCache } from "./pipeline-cache.ts";

/** Which variant of each tuned kernel this context's engine uses (set from a measurement). */
export interface KernelTuning {
  matmul?: MatmulVariant;
}

/** Limits raised to the adapter's maximum: large feature maps and weights need more than defaults. */
const WANTED_LIMITS = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupsPerDimension",
] as const;

export interface GpuContextOptions {
  powerPreference?: GPUPowerPreference;
  label?: string;
}

export class GpuContext implements BatchOwner {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly tuning: KernelTuning = {};
  private lostError: GpuDeviceLostError | null = null;
  private pendingErrors: Promise<GPUError | null>[] = [];
  private batchOpen = false;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
  ) {
    this.pool = new BufferPool(device);
    this.pipelines = new PipelineCache(device);
    device.lost.then((info) => {
      this.lostError = new GpuDeviceLostError(info.reason, info.message);
    });
  }

  static async create(gpu: GPU, options: GpuContextOptions = {}): Promise<GpuContext> {
    const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
    if (!adapter) throw new GpuUnavailableError("no WebGPU adapter available (requestAdapter returned null)");
    const requiredLimits: Record<string, number> = {};
    for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
    const device = await adapter.requestDevice({ label: options.label ?? "patchdpo-engine", requiredLimits });
    return new GpuContext(device, summarizeAdapter(adapter));
  }

  /**
   * A context on a device created elsewhere, e.g. onnxruntime-web's WebGPU device, so that kernels
   * can bind that runtime's output buffers in place. `destroy()` would destroy the shared device:
   * the owner of the device decides when it ends.
   */
  static fromDevice(device: GPUDevice): GpuContext {
    const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    return new GpuContext(device, summarizeAdapter({ info: info ?? {} } as GPUAdapter));
  }

  /** The loss that ended this context, or null while it is usable. */
  get lost(): GpuDeviceLostError | null {
    return this.lostError;
  }

  assertAlive(): void {
    if (this.lostError) throw this.lostError;
  }

  /** Starts recording; only one batch may be open at a time (error scopes are a device-wide stack). */
  batch(label?: string): CommandBatch {
    this.assertAlive();
    if (this.batchOpen) throw new Error("another command batch is still open; submit it first");
    this.batchOpen = true;
    return new CommandBatch(this, label);
  }

  /** Records with `record` and submits; a throw while recording discards the batch and rethrows. */
  submit(label: string, record: (batch: CommandBatch) => void): void {
    const batch = this.batch(label);
    try {
      record(batch);
    } catch (e) {
      batch.discard();
      throw e;
    }
    batch.submit();
  }

  batchClosed(errors: Promise<GPUError | null>[]): void {
    this.batchOpen = false;
    this.pendingErrors.push(...errors);
  }

  /** Waits for submitted work; throws the first command error or the device loss. */
  async sync(): Promise<void> {
    this.assertAlive();
    try {
      await this.device.queue.onSubmittedWorkDone();
    } catch (e) {
      throw await this.explain(e);
    }
    await this.throwPendingErrors();
  }

  /** Rethrows errors reported for earlier batches; called at every sync point. */
  async throwPendingErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    for (const error of await Promise.all(pending)) {
      if (!error) continue;
      const kind =
        error instanceof GPUValidationError
          ? "validation"
          : error instanceof GPUOutOfMemoryError
            ? "out-of-memory"
            : "internal";
      throw new GpuCommandError(kind, error.message);
    }
    this.assertAlive();
  }

  /**
   * Maps a failed GPU promise (mapAsync, onSubmittedWorkDone) to GpuDeviceLostError when the
   * device went away; `device.lost` may resolve a little after the failing call rejects.
   */
  async explain(error: unknown): Promise<unknown> {
    if (this.lostError) return this.lostError;
    await Promise.race([this.device.lost, new Promise((resolve) => setTimeout(resolve, 100))]);
    return this.lostError ?? error;
  }

  destroy(): void {
    this.pool.destroy();
    this.device.destroy();
  }
}
