/**
 * The dataset worker's comlink API: build (with progress and cancel), store, list, export and import
 * datasets, as the studio's zip or in the official PatchDPO layout.
 */
import type { DatasetSettings, StoredDataset } from "../src/core/dataset/format";
import type { RgbaImage, RunRole } from "../src/core/generate";
import type { Manifest } from "../src/core/pack/manifest";

export interface BuildRequest {
  name: string;
  manifest: Manifest;
  /** Each reference as the image encoder sees it (fitted to the pack's size). */
  references: (DatasetSettings["references"][number] & { image: RgbaImage })[];
  /** A two-subject dataset's pairs of reference indices (subject A, subject B); absent: one subject per image. */
  pairs?: [number, number][];
  prompts: DatasetSettings["prompts"];
  seeds: number[];
  sampler: DatasetSettings["sampler"];
  adapter: { label: string; tensors: Map<string, Float32Array> };
  refWeight: DatasetSettings["refWeight"];
  /** Set when `run`'s patch_encoder is an enhanced encoder: recorded in the settings. */
  patchEncoder?: DatasetSettings["patchEncoder"];
  /** The asking tab's label: a dataset is written by one tab at a time (workers/tab-locks.ts). */
  tab?: string;
}

export interface BuildProgress {
  done: number;
  total: number;
  /** The image just generated (PNG) and its mean `m_gen`, for a live preview. */
  image?: Uint8Array;
  meanGen?: number;
}

/** A stored dataset without its arrays and images. */
export interface DatasetSummary {
  id: string;
  name: string;
  packId: string;
  createdAt: string;
  references: number;
  samples: number;
  /** Mean `m_gen` over all samples. */
  meanGen: number;
  settings: DatasetSettings;
}

export interface DatasetApi {
  /**
   * Generates `seeds × prompts` images per reference with the request's adapter through `run`
   * (the inference worker's sessions), computes both quality maps of each, and stores the dataset.
   * Nothing is stored when cancelled or failed. While another tab writes a dataset of the same name
   * for the pack, refused with a HeldError naming that tab.
   */
  build(
    taskId: string,
    request: BuildRequest,
    run: RunRole,
    onProgress: (p: BuildProgress) => void,
  ): Promise<DatasetSummary>;
  cancel(taskId: string): Promise<boolean>;
  list(packId: string): Promise<DatasetSummary[]>;
  get(id: string): Promise<StoredDataset | undefined>;
  remove(id: string): Promise<void>;
  /** The dataset as a zip (docs/dataset-format.md). */
  exportZip(id: string, manifest: Manifest): Promise<Uint8Array>;
  /** Validates a zip for `manifest`'s pack and stores it under a new id; errors name the problem. */
  importZip(bytes: Uint8Array, fileName: string, manifest: Manifest, tab?: string): Promise<DatasetSummary>;
  /** The dataset as a zip of the official PatchDPO data layout (docs/official-layout.md). */
  exportOfficial(id: string, manifest: Manifest): Promise<Uint8Array>;
  /**
   * Reads a zip of the official layout, encodes its images with the pack's networks through `run`
   * (reference latents and tokens, sample latents) and stores the dataset under a new id; nothing is
   * stored when it fails or is cancelled. `warnings` say what was adapted (maps averaged to the grid).
   */
  importOfficial(
    taskId: string,
    bytes: Uint8Array,
    fileName: string,
    manifest: Manifest,
    run: RunRole,
    onProgress: (done: number, total: number) => void,
    tab?: string,
  ): Promise<{ summary: DatasetSummary; warnings: string[] }>;
}
