/** The training worker's comlink API. The WGSL engine and training requests arrive in later issues. */
import type { AdapterSummary } from "../src/gpu/device";

export interface EngineCheck {
  adapter: AdapterSummary;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeInvocationsPerWorkgroup: number };
}

export interface EngineCheckProgress {
  phase: "adapter" | "device";
  message: string;
}

export interface TrainingApi {
  /** Acquires a WebGPU device for the engine and reports its limits; throws why when unavailable. */
  checkEngine(taskId: string, onProgress: (p: EngineCheckProgress) => void): Promise<EngineCheck>;
  cancel(taskId: string): Promise<boolean>;
}
