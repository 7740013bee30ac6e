/**
 * WebGPU adapter and device acquisition. Works in a window, a worker, or Node with a WebGPU
 * binding installed as navigator.gpu; reports why WebGPU is unavailable instead of throwing.
 */

export interface AdapterSummary {
  /** Human-readable name, e.g. "google swiftshader". */
  name: string;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** The adapter offers `shader-f16` (fp16 ONNX exports run on WebGPU only then). */
  shaderF16: boolean;
}

/** Adapters that are CPU emulations of a GPU, whatever `isFallbackAdapter` says. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|warp|basic render/i;

export const isSoftwareAdapter = (adapter: AdapterSummary): boolean =>
  adapter.isFallbackAdapter || SOFTWARE.test(adapter.name);

export type GpuProbe = { available: true; adapter: AdapterSummary } | { available: false; reason: string };

function gpuApi(): GPU | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu;
}

export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device].filter((p) => p && p.length > 0);
  return {
    name: parts.join(" ") || info.description || "unknown adapter",
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    // Optional: a summary of a device made elsewhere (GpuContext.fromDevice) has no adapter features.
    shaderF16: Boolean(adapter.features?.has("shader-f16")),
  };
}

async function requestAdapter(): Promise<{ adapter: GPUAdapter } | { reason: string }> {
  const gpu = gpuApi();
  if (!gpu) {
    const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
    return {
      reason:
        secure === false
          ? "WebGPU needs a secure context (https or localhost)"
          : "this browser has no WebGPU (navigator.gpu is missing)",
    };
  }
  try {
    const adapter = await gpu.requestAdapter();
    return adapter ? { adapter } : { reason: "no WebGPU adapter available (requestAdapter returned null)" };
  } catch (e) {
    return { reason: `requestAdapter failed: ${(e as Error).message}` };
  }
}

export async function probeWebGpu(): Promise<GpuProbe> {
  const result = await requestAdapter();
  if ("reason" in result) return { available: false, reason: result.reason };
  return { available: true, adapter: summarizeAdapter(result.adapter) };
}

/** Acquires a device for the studio's own WGSL kernels; throws with the reason when unavailable. */
export async function acquireDevice(): Promise<{ device: GPUDevice; adapter: AdapterSummary }> {
  const result = await requestAdapter();
  if ("reason" in result) throw new Error(`WebGPU unavailable: ${result.reason}`);
  const device = await result.adapter.requestDevice();
  return { device, adapter: summarizeAdapter(result.adapter) };
}
