/**
 * Compiles each (shader source, entry point, override constants) once. Creation is async so
 * WGSL compile errors surface as rejected promises instead of silent uncaptured errors.
 */

export interface KernelSpec {
  code: string;
  entryPoint: string;
  /** Values for the shader's `override` declarations (workgroup sizes, flags). */
  constants?: Record<string, number>;
  label?: string;
}

export function kernelKey(spec: KernelSpec): string {
  const constants = Object.entries(spec.constants ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${spec.entryPoint}|${JSON.stringify(constants)}|${spec.code}`;
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly device: GPUDevice) {}

  get(spec: KernelSpec): Promise<GPUComputePipeline> {
    const key = kernelKey(spec);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipelineAsync({
        label: spec.label ?? spec.entryPoint,
        layout: "auto",
        compute: { module: this.module(spec.code), entryPoint: spec.entryPoint, constants: spec.constants },
      });
      // A failed compile must not poison the cache for a later, fixed attempt.
      pipeline.catch(() => this.pipelines.delete(key));
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** Number of distinct pipelines requested so far (tests check reuse). */
  get size(): number {
    return this.pipelines.size;
  }

  private module(code: string): GPUShaderModule {
    let module = this.modules.get(code);
    if (!module) {
      module = this.device.createShaderModule({ code });
      this.modules.set(code, module);
    }
    return module;
  }
}
