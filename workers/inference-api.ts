/** The inference worker's comlink API, shared by the worker and the app. */
import type { LoadProgress, Manifest, PackRecord, PackSource, RoleName } from "../src/core/pack";
import type { GpuProbe } from "../src/gpu/device";

export type ExecutionProviderChoice = "auto" | "webgpu" | "wasm";
export type ExecutionProvider = "webgpu" | "wasm";

export interface ComputeEnv {
  webgpu: GpuProbe;
  /** The provider "auto" resolves to in this worker. */
  autoProvider: ExecutionProvider;
  crossOriginIsolated: boolean;
  wasmThreads: number;
  cores: number;
}

export interface TensorData {
  dtype: "float32" | "int64";
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface LoadedPack {
  id: string;
  manifest: Manifest;
  provider: ExecutionProvider;
  /** Wall time of the whole load in the worker: manifest, files, hashes, sessions, cache write. */
  loadMs: number;
  /** The same split into manifest + files (fetch or cache read, hashing), session creation, cache write. */
  phaseMs: { files: number; sessions: number; cache_write: number };
  fromCache: string[];
  fetched: string[];
  notes: string[];
  /** Set when the pack loaded but could not be cached (e.g. storage quota). */
  cacheWarning?: string;
}

export type ProgressCallback = (p: LoadProgress) => void;

export interface InferenceApi {
  environment(): Promise<ComputeEnv>;
  loadPack(
    taskId: string,
    source: PackSource,
    provider: ExecutionProviderChoice,
    onProgress: ProgressCallback,
  ): Promise<LoadedPack>;
  /** Cancels a running request; false when it already finished. */
  cancel(taskId: string): Promise<boolean>;
  unloadPack(id: string): Promise<void>;
  /** Runs one role's session of a loaded pack; feeds must cover every input the manifest lists. */
  run(packId: string, role: RoleName, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  cachedPacks(): Promise<PackRecord[]>;
  deleteCachedPack(id: string): Promise<void>;
}
