/** The training worker's comlink API. */
import type { PreferenceDataset } from "../src/core/dataset/types";
import type { Checkpoint, StepReport, TrainConfig } from "../src/core/training/loop";
import type { AdapterSummary } from "../src/gpu/device";

/** A training run as stored in IndexedDB: everything needed to resume it or show it. */
export interface RunRecord {
  id: string;
  packId: string;
  config: TrainConfig;
  dataset: PreferenceDataset;
  history: StepReport[];
  /** The last good checkpoint (also the run's adapter once it ends). */
  checkpoint?: Checkpoint;
  status: "new" | "running" | "paused" | "done" | "failed" | "interrupted";
  /** Why a run failed or was interrupted. */
  message?: string;
  createdAt: string;
}

export type TrainingEvent =
  | { kind: "backend"; backend: "webgpu" | "cpu"; note?: string }
  | { kind: "step"; report: StepReport }
  /** The adapter after `step` steps, every `previewEvery` steps (for sample previews). */
  | { kind: "adapter"; step: number; tensors: Map<string, Float32Array> }
  | { kind: "checkpoint"; step: number; status: RunRecord["status"]; message?: string };

export interface TrainOptions {
  /** Emit an "adapter" event every this many steps; 0 or absent: never. */
  previewEvery?: number;
}

export interface EngineCheck {
  adapter: AdapterSummary;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeInvocationsPerWorkgroup: number };
}

export interface EngineCheckProgress {
  phase: "adapter" | "device";
  message: string;
}

/** An adapter file imported for a pack (validated against its manifest's adapter tensors). */
export interface ImportedAdapter {
  id: string;
  packId: string;
  label: string;
  /** The file's safetensors metadata (a studio export carries run, step and config). */
  metadata: Record<string, string>;
  importedAt: string;
  /** The training log imported with it (e.g. the PyTorch trainer's log.jsonl), for its curves. */
  history?: StepReport[];
}

export interface TrainingApi {
  /** Acquires a WebGPU device for the engine and reports its limits; throws why when unavailable. */
  checkEngine(taskId: string, onProgress: (p: EngineCheckProgress) => void): Promise<EngineCheck>;
  cancel(taskId: string): Promise<boolean>;
  /**
   * Trains run `runId` (task id = run id) until its last step or `pause`; a stored run resumes from
   * its last checkpoint and keeps its stored dataset and settings. Resolves with the run record.
   */
  train(
    runId: string,
    packId: string,
    dataset: PreferenceDataset,
    config: TrainConfig,
    onEvent: (e: TrainingEvent) => void,
    options?: TrainOptions,
  ): Promise<RunRecord>;
  /** Continues a stored run (paused, interrupted or left running by a closed page) from its last checkpoint. */
  resume(runId: string, onEvent: (e: TrainingEvent) => void, options?: TrainOptions): Promise<RunRecord>;
  /**
   * Test hook: destroys the GPU device of the running run `runId` to simulate a lost device (the
   * run must resume on a new device). False when the run is not training on WebGPU.
   */
  testLoseDevice(runId: string): Promise<boolean>;
  /** Stops a running run after its current step, with a checkpoint; false when it is not running. */
  pause(runId: string): Promise<boolean>;
  /** The pack's own adapter tensors (from its cached denoiser weights), e.g. to generate a dataset with. */
  baseAdapter(packId: string): Promise<Map<string, Float32Array>>;
  run(runId: string): Promise<RunRecord | undefined>;
  /**
   * Every stored run, oldest first, without datasets and checkpoints; a run stored as "running"
   * that this worker is not training (its page was closed or reloaded) is listed as "interrupted".
   */
  runs(): Promise<Omit<RunRecord, "dataset" | "checkpoint">[]>;
  /** The run's adapter (last good checkpoint) as safetensors with the manifest's tensor names. */
  exportAdapter(runId: string): Promise<ArrayBuffer>;
  /** The run's adapter tensors (last good checkpoint) by manifest name. */
  runAdapter(runId: string): Promise<Map<string, Float32Array>>;
  /** Validates a safetensors adapter file for the pack and stores it; errors name the missing or bad tensor. */
  /** Validates and stores an adapter file, with its training log (log.jsonl text) when given. */
  importAdapter(
    packId: string,
    bytes: ArrayBuffer,
    name: string,
    log?: { text: string; name: string },
  ): Promise<ImportedAdapter>;
  importedAdapters(packId: string): Promise<ImportedAdapter[]>;
  importedAdapter(id: string): Promise<Map<string, Float32Array>>;
}
