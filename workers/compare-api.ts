/** Types of the inference worker's comparison requests (Compare tab), shared with the app. */
import type { RgbaImage } from "../src/core/generate/image";
import type { ImageRecord } from "../src/core/metrics/aggregate";
import type { CompareSampler, GridCell } from "../src/core/metrics/grid";
import type { GlobalMetric } from "../src/core/metrics/image";
import type { Grid } from "../src/core/quality/maps";
import type { AdapterInput } from "./inference-api";

export interface CompareCellRequest {
  packId: string;
  cell: GridCell;
  /** Every adapter generates this cell from the same initial noise; `id` names it in the records. */
  adapters: { id: string; adapter: AdapterInput }[];
  sampler: CompareSampler;
  /** An enhanced encoder (id from loadEnhancedEncoder) in the pack encoder's place for `patch_quality`. */
  patchEncoder?: string;
  /** User encoders (ids from loadUserEncoder) for the global-similarity metrics. */
  global: Partial<Record<GlobalMetric, string>>;
}

export interface CompareCellResult {
  /** The reference as the image encoder saw it (subject A's in a two-subject cell). */
  reference: RgbaImage;
  /** A two-subject cell's subject B reference. */
  secondReference?: RgbaImage;
  /** The ground-truth scene when the pack's scene kit covers this subject and prompt. */
  truth?: RgbaImage;
  /** Per adapter, in request order. */
  images: RgbaImage[];
  /** Per adapter: patch-quality map per patch metric (`patch_quality`, `patch_quality_independent`…). */
  maps: Record<string, Float32Array>[];
  grid: Grid;
  records: ImageRecord[];
}

/** What the worker can evaluate for a loaded pack, and why something is missing. */
export interface CompareCapabilities {
  /** Metric key → the pack evaluator giving it (`evaluators.<name>`), for those that loaded. */
  evaluators: Record<string, string>;
  scenes: boolean;
  notes: string[];
}
