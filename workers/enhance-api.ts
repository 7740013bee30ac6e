/** Types of the training worker's patch-encoder enhancement runs, shared with the app. */
import type { EnhanceConfig, EnhanceStepReport, SPatchPoint } from "../src/core/enhance/run";
import type { RgbaImage } from "../src/core/generate/image";

/** An enhancement run as stored (workers/enhance-store.ts); its checkpoint is stored apart. */
export interface EnhanceRecord {
  id: string;
  packId: string;
  /** What the user calls the enhanced encoder. */
  label: string;
  config: EnhanceConfig;
  /** The images it trains on and holds out, fitted to the encoder's input size. */
  images: { label: string; rgba: RgbaImage }[];
  history: EnhanceStepReport[];
  /** S_patch on the held-out pairs: before training (step 0), during and after. */
  sPatch: SPatchPoint[];
  /** The example held-out pair's best match per B patch: before training, and at the latest S_patch. */
  matches: { before?: Int32Array; latest?: Int32Array };
  /** Steps of the stored checkpoint: the enhanced encoder is the start weights with its parameters. */
  step: number;
  status: "new" | "running" | "paused" | "done" | "failed" | "interrupted";
  message?: string;
  /** Where it last trained. */
  backend?: string;
  createdAt: string;
}

/** A run as listed: no images (their labels only). */
export type EnhanceSummary = Omit<EnhanceRecord, "images"> & { imageLabels: string[] };

export type EnhanceEvent =
  | { kind: "backend"; backend: "webgpu" | "cpu"; note?: string }
  | { kind: "step"; report: EnhanceStepReport }
  | { kind: "s_patch"; point: SPatchPoint; matches: Int32Array }
  | { kind: "checkpoint"; step: number; status: EnhanceRecord["status"]; message?: string };
