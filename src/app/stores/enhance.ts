/**
 * The Train tab's Encoder section: the images to enhance the pack's patch encoder on, the run's
 * settings, the live run (steps, S_patch, the example pair's matches) and the stored runs, whose
 * checkpoints are the enhanced encoders Inspect, Dataset and Compare can choose.
 */
import { create } from "zustand";
import type { DatasetSummary } from "../../../workers/dataset-api";
import type { EnhanceEvent, EnhanceRecord, EnhanceSummary } from "../../../workers/enhance-api";
import { DEFAULT_ENHANCE, type EnhanceConfig, type EnhanceStepReport, type SPatchPoint } from "../../core/enhance/run";
import type { RgbaImage } from "../../core/generate/image";
import type { Manifest } from "../../core/pack";
import { download } from "../download";
import { callback, dataset, inference, training } from "../services/workers";
import { tabLabel } from "../tab-label";
import { useSettings } from "./settings";
import { runTask, useTasks } from "./tasks";

export interface EnhanceImage {
  label: string;
  rgba: RgbaImage;
}

/** The run on screen: live while it trains, or a stored one opened from the list. */
export interface ActiveEnhance {
  id: string;
  label: string;
  config: EnhanceConfig;
  images: EnhanceImage[];
  status: EnhanceRecord["status"] | "starting" | "refused";
  history: EnhanceStepReport[];
  sPatch: SPatchPoint[];
  matches: EnhanceRecord["matches"];
  backend?: string;
  message?: string;
}

interface EnhanceState {
  images: EnhanceImage[];
  config: EnhanceConfig;
  label: string;
  runs: EnhanceSummary[];
  active?: ActiveEnhance;
  addFiles(packId: string, files: File[]): Promise<void>;
  /** The pack's training gallery subjects (up to 16), as the encoder sees them. */
  fromGallery(manifest: Manifest): Promise<void>;
  /** The stored datasets of the last pack listed, whose references can be added. */
  datasets: DatasetSummary[];
  listDatasets(packId: string): Promise<void>;
  /** A stored dataset's references (as the image encoder saw them), added to the images. */
  fromDataset(packId: string, datasetId: string): Promise<void>;
  removeImage(index: number): void;
  setConfig(patch: Partial<EnhanceConfig>): void;
  setLabel(label: string): void;
  start(packId: string): Promise<void>;
  resume(id: string): Promise<void>;
  pause(): void;
  open(id: string): Promise<void>;
  refresh(): Promise<void>;
  remove(id: string): Promise<void>;
  exportEncoder(id: string): Promise<void>;
}

const newId = () =>
  `enhance-${new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, "")
    .slice(0, 14)}`;

export const useEnhance = create<EnhanceState>()((set, get) => {
  const patch = (id: string, p: Partial<ActiveEnhance>) =>
    set((s) => (s.active?.id === id ? { active: { ...s.active, ...p } } : {}));

  /** Runs `call` (a new run or a resume) as a task, following its events; cancelling the task pauses the run. */
  async function follow(active: ActiveEnhance, call: (onEvent: (e: EnhanceEvent) => void) => Promise<EnhanceRecord>) {
    const { id, config } = active;
    set({ active });
    let refused: string | undefined;
    const result = await runTask(
      `Encoder enhancement: ${active.label}`,
      (signal, progress) => {
        signal.addEventListener("abort", () => void training.call((api) => api.pauseEnhance(id)));
        const onEvent = (e: EnhanceEvent) => {
          const a = get().active;
          if (a?.id !== id) return;
          if (e.kind === "step") {
            patch(id, { history: [...a.history, e.report] });
            progress(e.report.step / config.steps, `step ${e.report.step} of ${config.steps}`);
          } else if (e.kind === "s_patch")
            patch(id, {
              sPatch: [...a.sPatch.filter((p) => p.step < e.point.step), e.point],
              matches: { before: a.matches.before ?? e.matches, latest: e.matches },
            });
          else if (e.kind === "checkpoint")
            patch(id, {
              status: e.status,
              message: e.message,
              history: e.status === "running" ? a.history.filter((r) => r.step <= e.step) : a.history,
            });
          else patch(id, { backend: e.note ? `${e.backend} (${e.note})` : e.backend });
        };
        return call(callback(onEvent)).catch((e: Error) => {
          if (e.name === "HeldError") refused = e.message;
          throw e;
        });
      },
      {
        done: (r) => {
          const detail = r.message ?? `${r.status} at step ${r.step}`;
          return r.status === "failed" || r.status === "interrupted" ? { failed: detail } : detail;
        },
      },
    );
    if (result.status === "done") {
      const r = result.value;
      patch(id, { status: r.status, message: r.message, history: r.history, sPatch: r.sPatch, matches: r.matches });
    } else if (refused) patch(id, { status: "refused", message: refused });
    else patch(id, { status: "interrupted", message: result.status === "error" ? result.message : "Cancelled" });
    await get().refresh();
  }

  const options = () => ({ tab: tabLabel(), engine: useSettings.getState().trainingEngine });

  return {
    images: [],
    config: DEFAULT_ENHANCE,
    label: "",
    runs: [],

    async addFiles(packId, files) {
      const added: EnhanceImage[] = [];
      for (const file of files) {
        try {
          added.push({
            label: file.name,
            rgba: await inference.call((api) => api.uploadedReference(packId, file, file.name)),
          });
        } catch (e) {
          useTasks.getState().notice("error", `${file.name}: ${(e as Error).message}`);
        }
      }
      set((s) => ({ images: [...s.images, ...added] }));
    },

    async fromGallery(manifest) {
      const entries = (manifest.gallery?.train ?? []).slice(0, 16);
      const images = await Promise.all(
        entries.map(async (e) => ({
          label: e.name,
          rgba: await inference.call((api) => api.galleryReference(manifest.id, e.id)),
        })),
      );
      set({ images });
    },

    datasets: [],
    async listDatasets(packId) {
      set({ datasets: await dataset.call((api) => api.list(packId)) });
    },

    async fromDataset(packId, datasetId) {
      const stored = await dataset.call((api) => api.get(datasetId));
      if (!stored) throw new Error(`no stored dataset "${datasetId}"`);
      const files = stored.referenceImages.map((png, i) => {
        const label = stored.settings.references[i]?.label ?? `${stored.name} reference ${i + 1}`;
        return new File([png.slice()], label, { type: "image/png" });
      });
      await get().addFiles(packId, files);
    },

    removeImage: (index) => set((s) => ({ images: s.images.filter((_, i) => i !== index) })),
    setConfig: (p) => set((s) => ({ config: { ...s.config, ...p } })),
    setLabel: (label) => set({ label }),

    async start(packId) {
      const { images, config } = get();
      const id = newId();
      const label = get().label.trim() || `${packId} encoder, ${images.length} images`;
      await follow({ id, label, config, images, status: "starting", history: [], sPatch: [], matches: {} }, (onEvent) =>
        training.call((api) => api.enhance(id, packId, label, images, config, onEvent, options())),
      );
    },

    async resume(id) {
      const r = await training.call((api) => api.enhanceRun(id));
      if (!r) throw new Error(`no stored enhancement run "${id}"`);
      await follow({ ...r, status: "starting" }, (onEvent) =>
        training.call((api) => api.enhance(id, r.packId, r.label, r.images, r.config, onEvent, options())),
      );
    },

    pause() {
      const id = get().active?.id;
      if (id) void training.call((api) => api.pauseEnhance(id));
    },

    async open(id) {
      const r = await training.call((api) => api.enhanceRun(id));
      if (r) set({ active: r });
    },

    async refresh() {
      try {
        set({ runs: await training.call((api) => api.enhanceRuns()) });
      } catch (e) {
        useTasks.getState().notice("error", `Could not read the enhancement runs: ${(e as Error).message}`);
      }
    },

    async remove(id) {
      await training.call((api) => api.deleteEnhance(id, tabLabel()));
      if (get().active?.id === id) set({ active: undefined });
      await get().refresh();
    },

    async exportEncoder(id) {
      const bytes = await training.call((api) => api.exportEncoder(id));
      download(bytes, `${id}-patch_encoder.safetensors`);
    },
  };
});

/** How an enhanced encoder is offered in the encoder menus (Inspect, Dataset, Compare). */
export function enhancedLabel(r: EnhanceSummary): string {
  return `${r.label} (enhanced, step ${r.step}, S_patch ${r.sPatch.at(-1)?.top1.toFixed(3) ?? "–"})`;
}

/** Opens an enhanced encoder in the inference worker (for Inspect, Dataset and Compare). */
export function openEnhanced(id: string) {
  return inference.call((api) => api.loadEnhancedEncoder(id, useSettings.getState().executionProvider));
}
