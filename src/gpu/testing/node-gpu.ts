/**
 * A real WebGPU context for Node tests and benchmarks, via the `webgpu` package (Dawn). On the
 * build machines the adapter is SwiftShader, which needs
 *   LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
 * (set by `npm run test:unit`). Missing WebGPU fails the tests; set PATCHDPO_SKIP_WEBGPU=1 to skip
 * them explicitly on machines that have none.
 */
import { GpuContext } from "../context.ts";

export const skipWebGpu = process.env.PATCHDPO_SKIP_WEBGPU === "1";

let gpuObject: Promise<GPU> | undefined;

/** The process's one Dawn instance: a second `create()` in one process can abort it at exit. */
export async function nodeGpu(): Promise<GPU> {
  gpuObject ??= import("webgpu").then(({ create, globals }) => {
    // Kernel modules use GPUBufferUsage & co. as globals, as in browsers.
    Object.assign(globalThis, globals);
    return create([]);
  });
  return gpuObject;
}

export async function createNodeContext(): Promise<GpuContext> {
  try {
    return await GpuContext.create(await nodeGpu());
  } catch (e) {
    throw new Error(
      `WebGPU is unavailable in Node (${(e as Error).message}). Run with LD_LIBRARY_PATH=/usr/lib/chromium ` +
        "VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, or set PATCHDPO_SKIP_WEBGPU=1 to skip GPU tests.",
    );
  }
}
