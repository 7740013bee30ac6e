/** The inference worker's comlink API, shared by the worker and the app. */

import type { EncoderRecord } from "../src/core/encoders/registry";
import type { GenerateSettings, RgbaImage } from "../src/core/generate";
import type { LoadProgress, Manifest, PackRecord, PackSource, RoleName } from "../src/core/pack";
import type { UserEncoderSpec } from "../src/core/quality/encoder-spec";
import type { GpuProbe } from "../src/gpu/device";
import type { CompareCapabilities, CompareCellRequest, CompareCellResult } from "./compare-api";
import type { EnhanceSummary } from "./enhance-api";
import type { EncoderFolderInput, OnnxSignature, RegisteredEncoder } from "./hf-encoders";
import type { QualityRequest, QualityResponse, UserEncoderInfo } from "./quality-api";

export type ExecutionProviderChoice = "auto" | "webgpu" | "wasm";
export type ExecutionProvider = "webgpu" | "wasm";

/** What "auto" resolved to, and why (workers/backend-choice.ts). */
export interface BackendChoice {
  provider: ExecutionProvider;
  reason: string;
  /** One denoiser call on each backend, when measured. */
  ms?: Record<ExecutionProvider, number>;
  measuredAt?: string;
}

export interface ComputeEnv {
  webgpu: GpuProbe;
  /** The provider "auto" resolves to in this worker now: measured at the last pack load, else guessed. */
  autoProvider: ExecutionProvider;
  autoReason: string;
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
  /** How "auto" chose `provider` (absent when a backend was chosen by hand). */
  backend?: BackendChoice;
  /** Wall time of the whole load in the worker: manifest, files, hashes, sessions, cache write. */
  loadMs: number;
  /** The same split into manifest + files (fetch or cache read, hashing), "auto"'s backend choice, session creation, cache write. */
  phaseMs: { files: number; backend: number; sessions: number; cache_write: number };
  fromCache: string[];
  fetched: string[];
  notes: string[];
  /** Set when the pack loaded but could not be cached (e.g. storage quota). */
  cacheWarning?: string;
}

export type ProgressCallback = (p: LoadProgress) => void;

/** A reference subject: a gallery id of the pack, pixels (any size; fitted per manifest.image) or a ready [3,S,S] tensor. */
export type ReferenceInput =
  | { kind: "gallery"; id: string }
  | { kind: "pixels"; image: RgbaImage; label: string }
  | { kind: "tensor"; data: Float32Array };

/** "base" = the pack's own adapter tensors; trained adapters arrive as tensors by manifest name. */
export type AdapterInput = { kind: "base" } | { kind: "tensors"; label: string; tensors: Map<string, Float32Array> };

export interface GenerationRequest {
  packId: string;
  reference: ReferenceInput;
  /**
   * Subject B of a two-subject scene, for a pack whose denoiser takes two references
   * (`architecture.max_references`); the prompt's position then names a layout.
   */
  second?: ReferenceInput;
  adapter: AdapterInput;
  settings: GenerateSettings;
  /** Fixed initial noise (batch × latent size) instead of the seed's. */
  noise?: Float32Array;
  /** Decode image 0's predicted clean image every this many steps (0 or absent: no previews). */
  previewEvery?: number;
}

export interface GenerationProgress {
  step: number;
  total: number;
  preview?: RgbaImage;
}

export interface GenerationOutput {
  images: RgbaImage[];
  /** The reference as the image encoder saw it (fitted, on the pack background). */
  reference: RgbaImage;
  /** The second reference likewise, when there was one. */
  second?: RgbaImage;
  /** Final latents [batch, C, H, W] (scaled space) and decoded images [batch, 3, S, S] in manifest.image.range. */
  latents: Float32Array;
  decoded: Float32Array;
  /** Whole request in the worker vs the sum of session.run calls (the pipeline's own overhead is the rest). */
  timing: { totalMs: number; sessionMs: number; sessionRuns: number; tokensCached: boolean };
}

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
  /** Personalized generation with a loaded pack; cancellable between sampler steps. */
  generate(
    taskId: string,
    request: GenerationRequest,
    onProgress: (p: GenerationProgress) => void,
  ): Promise<GenerationOutput>;
  /** A gallery subject of a loaded pack, preprocessed the way the image encoder sees it. */
  galleryReference(packId: string, subjectId: string): Promise<RgbaImage>;
  /** An uploaded image file decoded and preprocessed for a loaded pack; clear errors for non-images and huge images. */
  uploadedReference(packId: string, file: Blob, name: string): Promise<RgbaImage>;
  /** Patch-quality maps of a generated image against a reference (Inspect tab). */
  patchQuality(request: QualityRequest): Promise<QualityResponse>;
  /** Loads a user-supplied patch encoder (ONNX + its description); errors name the bad field or name. */
  loadUserEncoder(
    spec: UserEncoderSpec,
    model: Uint8Array,
    provider: ExecutionProviderChoice,
  ): Promise<UserEncoderInfo>;
  /**
   * Registers a Hugging Face / transformers.js model folder as an encoder: derives its spec from
   * config.json + preprocessor_config.json, opens the backend's ONNX export, checks its inputs and
   * outputs, caches every file; errors name the file and key. Cancellable.
   */
  registerEncoder(
    taskId: string,
    source: EncoderFolderInput,
    provider: ExecutionProviderChoice,
    onProgress: (message: string) => void,
  ): Promise<RegisteredEncoder>;
  registeredEncoders(): Promise<EncoderRecord[]>;
  deleteRegisteredEncoder(id: string): Promise<void>;
  /** Opens a registered encoder for Inspect / Compare (`file`: that export instead of the backend's choice). */
  loadRegisteredEncoder(id: string, provider: ExecutionProviderChoice, file?: string): Promise<UserEncoderInfo>;
  /** Stored enhancement runs with a checkpoint: the enhanced encoders that can be opened. */
  enhancedEncoders(): Promise<EnhanceSummary[]>;
  /**
   * Opens an enhanced encoder (the pack's patch_encoder.onnx with the run's weights) for Inspect
   * and Compare; cheap when it is open at the same step on the same provider.
   */
  loadEnhancedEncoder(id: string, provider: ExecutionProviderChoice): Promise<UserEncoderInfo>;
  /**
   * Runs an encoder opened here (the id from loadUserEncoder, loadRegisteredEncoder or
   * loadEnhancedEncoder) on raw feeds: an enhanced encoder stands in for its pack's patch_encoder role.
   */
  runEncoder(id: string, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  /** The inputs and outputs an ONNX model declares (names, dtypes, shapes). */
  onnxSignature(model: Uint8Array, provider: ExecutionProviderChoice): Promise<OnnxSignature>;
  /**
   * Times one denoiser call of loaded pack `packId` on WASM and on WebGPU, even on a software
   * adapter (which a load does not time), and keeps the outcome as "auto"'s choice for later loads.
   */
  measureBackend(packId: string): Promise<BackendChoice>;
  /** Which comparison metrics a loaded pack supports (random-weight encoder, scene kit), and why not. */
  compareCapabilities(packId: string): Promise<CompareCapabilities>;
  /** One Compare-tab cell: every adapter from the same noise, each image scored; cancellable between images. */
  compareCell(taskId: string, request: CompareCellRequest): Promise<CompareCellResult>;
  cachedPacks(): Promise<PackRecord[]>;
  deleteCachedPack(id: string): Promise<void>;
}
