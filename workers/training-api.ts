/** The training worker's comlink API. */
import type { PreferenceDataset } from "../src/core/dataset/types";
import type { EnhanceConfig } from "../src/core/enhance/run";
import type { CheckpointRef } from "../src/core/training/checkpoint";
import type { Checkpoint, StepReport, TrainConfig } from "../src/core/training/loop";
import type { AdapterSummary } from "../src/gpu/device";
import type { TrainingEngineChoice } from "../src/gpu/trainer";
import type { EnhanceEvent, EnhanceRecord, EnhanceSummary } from "./enhance-api";

/**
 * A training run as stored in IndexedDB (workers/training-store.ts: the record, one entry per
 * checkpoint, the dataset apart): everything needed to resume it or show it.
 */
export interface RunRecord {
  id: string;
  packId: string;
  config: TrainConfig;
  dataset: PreferenceDataset;
  history: StepReport[];
  /** The newest stored checkpoint that reads back whole (also the run's adapter once it ends). */
  checkpoint?: Checkpoint;
  /** The stored checkpoints, oldest first: at most `config.keepCheckpoints`. */
  checkpoints: CheckpointRef[];
  status: "new" | "running" | "paused" | "done" | "failed" | "interrupted";
  /** Why a run failed or was interrupted. */
  message?: string;
  createdAt: string;
}

/** A stored run as listed: no dataset or checkpoint tensors; `heldBy` is the tab label of a live trainer. */
export type RunSummary = Omit<RunRecord, "dataset" | "checkpoint"> & { heldBy?: string };

export type TrainingEvent =
  | { kind: "backend"; backend: "webgpu" | "cpu"; note?: string }
  | { kind: "step"; report: StepReport }
  /** The adapter after `step` steps, every `previewEvery` steps (for sample previews). */
  | { kind: "adapter"; step: number; tensors: Map<string, Float32Array> }
  | { kind: "checkpoint"; step: number; status: RunRecord["status"]; message?: string };

export interface TrainOptions {
  /** Emit an "adapter" event every this many steps; 0 or absent: never. */
  previewEvery?: number;
  /** The calling tab's label (shown in its header): another tab refused this run is told it. */
  tab?: string;
  /** The training engine; absent: WGSL whenever a WebGPU device can be had (src/gpu/trainer.ts). */
  engine?: TrainingEngineChoice;
}

/** Test and benchmark hook: what the training worker holds now (workers/training.worker.ts). */
export interface TrainingStats {
  /** Live GPU buffers of the WGSL engines of the runs being trained; null when none trains on WebGPU. */
  gpuBuffers: number | null;
  /** The worker's JS heap (`performance.memory.usedJSHeapSize`) where the browser reports it. */
  heapBytes: number | null;
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
   * A run another tab (or this one) is training is refused with a HeldError naming that tab; a
   * checkpoint that does not fit in the browser's storage quota stops the run ("interrupted", with
   * what to delete), keeping the previous checkpoint.
   */
  train(
    runId: string,
    packId: string,
    dataset: PreferenceDataset,
    config: TrainConfig,
    onEvent: (e: TrainingEvent) => void,
    options?: TrainOptions,
  ): Promise<RunRecord>;
  /**
   * Continues a stored run (paused, interrupted or left running by a closed page) from its newest
   * checkpoint that reads back whole; refused like `train` while another trainer holds it.
   */
  resume(runId: string, onEvent: (e: TrainingEvent) => void, options?: TrainOptions): Promise<RunRecord>;
  /** Deletes a stored run (record, checkpoints, dataset); refused while a trainer holds it. */
  deleteRun(runId: string, tab?: string): Promise<void>;
  /**
   * Test hook: destroys the GPU device of the running run `runId` to simulate a lost device (the
   * run must resume on a new device). False when the run is not training on WebGPU.
   */
  testLoseDevice(runId: string): Promise<boolean>;
  /**
   * Test hook, inert until called: the next checkpoint write of run `runId` at step `fromStep` or
   * later issues its put and then keeps its transaction open for as long as the worker lives (the
   * run waits on it); resolves with that step once the write is under way, e.g. for the test to
   * terminate the worker mid-write.
   */
  testHoldCheckpointWrite(runId: string, fromStep: number): Promise<number>;
  /** Test and benchmark hook: live GPU buffers and the worker's heap (a read, no effect). */
  testStats(): Promise<TrainingStats>;
  /** Stops a running run after its current step, with a checkpoint; false when it is not running. */
  pause(runId: string): Promise<boolean>;
  /** The pack's own adapter tensors (from its cached denoiser weights), e.g. to generate a dataset with. */
  baseAdapter(packId: string): Promise<Map<string, Float32Array>>;
  run(runId: string): Promise<RunRecord | undefined>;
  /**
   * Every stored run, oldest first, without datasets and checkpoints; a run stored as "running"
   * that no tab is training (its page was closed or reloaded, its worker ended) is listed as
   * "interrupted", and a run a tab is training carries that tab's label (`heldBy`).
   */
  runs(): Promise<RunSummary[]>;
  /** Resolves when no tab trains `runId` any more (e.g. the tab that held it was closed). */
  released(runId: string): Promise<void>;
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

  /**
   * Enhances the pack's patch encoder on `images` (run `id`, task id = run id; a stored run resumes
   * from its checkpoint, keeping its stored images and settings) until its last step or
   * `pauseEnhance`. Refused like `train` while another trainer holds it. Resolves with the record.
   */
  enhance(
    id: string,
    packId: string,
    label: string,
    images: EnhanceRecord["images"],
    config: EnhanceConfig,
    onEvent: (e: EnhanceEvent) => void,
    options?: TrainOptions,
  ): Promise<EnhanceRecord>;
  /** Stops a running enhancement after its current step, with a checkpoint; false when it is not running. */
  pauseEnhance(id: string): Promise<boolean>;
  enhanceRuns(): Promise<EnhanceSummary[]>;
  enhanceRun(id: string): Promise<EnhanceRecord | undefined>;
  deleteEnhance(id: string, tab?: string): Promise<void>;
  /** The enhanced encoder (start weights with the run's checkpoint) as safetensors with the pack's tensor names. */
  exportEncoder(id: string): Promise<ArrayBuffer>;
}
