/** Typed failures of the WGSL engine, so callers can tell "rebuild the context" from programming errors. */

/**
 * The device is gone (driver reset, tab backgrounded too long, `destroy()`). Every buffer and
 * pipeline of the old context is invalid; recover by creating a fresh context and re-uploading.
 */
export class GpuDeviceLostError extends Error {
  override readonly name = "GpuDeviceLostError";
  constructor(
    readonly reason: GPUDeviceLostReason,
    detail: string,
  ) {
    super(`WebGPU device lost (${reason})${detail ? `: ${detail}` : ""}`);
  }
}

/** A validation or out-of-memory error the device reported for commands we submitted. */
export class GpuCommandError extends Error {
  override readonly name = "GpuCommandError";
  constructor(
    readonly kind: "validation" | "out-of-memory" | "internal",
    detail: string,
  ) {
    super(`WebGPU ${kind} error: ${detail}`);
  }
}

/** A buffer larger than this device allows: refused before WebGPU would fail the allocation or its binding. */
export class GpuLimitError extends Error {
  override readonly name = "GpuLimitError";
  constructor(
    readonly label: string,
    readonly byteLength: number,
    readonly limit: "maxBufferSize" | "maxStorageBufferBindingSize",
    readonly allowed: number,
  ) {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    super(
      `buffer "${label}" needs ${mib(byteLength)}, more than this WebGPU device allows (${limit} ${mib(allowed)}); ` +
        "use a smaller batch or model, or train on the CPU engine",
    );
  }
}

/** No adapter or device could be obtained; fall back to the CPU path. */
export class GpuUnavailableError extends Error {
  override readonly name = "GpuUnavailableError";
}
