/**
 * The Train tab's state: stored datasets to train on, the run being trained or viewed (its live
 * history and events), sample previews on fixed held-out seeds every K steps (generated with the
 * run's current adapter in the inference worker while training goes on), the saved runs and the
 * interrupted ones the banner offers to resume. Runs train under this tab's label (tab-label.ts):
 * a run another tab trains is refused, with that tab's label.
 */

import { create } from "zustand";
import type { DatasetSummary } from "../../../workers/dataset-api";
import type { EngineCheck, RunRecord, RunSummary, TrainingEvent } from "../../../workers/training-api";
import type { RgbaImage } from "../../core/generate";
import { samplerDefaults } from "../../core/generate/sampler-defaults";
import type { Manifest } from "../../core/pack";
import type { StepReport, TrainConfig } from "../../core/training/loop";
import { download } from "../download";
import { callback, dataset, inference, training } from "../services/workers";
import { tabLabel } from "../tab-label";
import { useAdapters } from "./adapters";
import { useSettings } from "./settings";
import { runTask, useTasks } from "./tasks";

export type { RunSummary };

export interface Preview {
  step: number;
  images: RgbaImage[];
}

/** Held-out seeds of the previews: fixed, so previews of different steps are comparable. */
export const PREVIEW_SEEDS = [0, 1];
const PREVIEW_STEPS = 10;

interface Active {
  runId: string;
  /** "refused": another tab trains the run (the message names it). */
  status: RunRecord["status"] | "starting" | "refused";
  history: StepReport[];
  message?: string;
  backend?: string;
  config: TrainConfig;
}

interface TrainingState {
  /** The training device found by the last successful check. */
  engine?: EngineCheck;
  datasets: DatasetSummary[];
  datasetId?: string;
  runs: RunSummary[];
  /** Interrupted runs whose banner was dismissed in this page. */
  dismissed: string[];
  active?: Active;
  previews: Preview[];
  previewEvery: number;
  /** Acquires the training engine's WebGPU device and records its limits. */
  checkEngine(): Promise<void>;
  refresh(packId: string): Promise<void>;
  chooseDataset(id: string): void;
  setPreviewEvery(k: number): void;
  /** Trains a new run on the chosen stored dataset. */
  start(manifest: Manifest, config: TrainConfig): Promise<void>;
  /** Continues a stored run from its last checkpoint. */
  resume(manifest: Manifest, runId: string): Promise<void>;
  pause(): void;
  /** Shows a saved run's curves. */
  view(runId: string): Promise<void>;
  exportAdapter(runId: string): Promise<void>;
  /** Deletes a saved run (record, checkpoints, dataset), e.g. to free storage. */
  deleteRun(packId: string, runId: string): Promise<void>;
  /** Hides an interrupted run's banner for this page. */
  dismiss(runId: string): void;
}

export const useTraining = create<TrainingState>()((set, get) => {
  let previewing = false;
  /** Runs held by a tab whose release this store waits for (refresh). */
  const watching = new Set<string>();

  /** Generates the preview images with `tensors`; skipped while the previous preview still runs. */
  async function preview(manifest: Manifest, runId: string, step: number, tensors: Map<string, Float32Array>) {
    const subject = manifest.gallery?.heldout[0] ?? manifest.gallery?.train[0];
    if (previewing || !subject) return;
    previewing = true;
    try {
      const out = await inference.call((api) =>
        api.generate(
          `preview-${runId}-${step}`,
          {
            packId: manifest.id,
            reference: { kind: "gallery", id: subject.id },
            adapter: { kind: "tensors", label: `${runId} step ${step}`, tensors },
            settings: {
              ...samplerDefaults(manifest),
              prompt: {},
              seed: PREVIEW_SEEDS[0],
              batch: PREVIEW_SEEDS.length,
              steps: PREVIEW_STEPS,
              sampler: "ddim",
            },
          },
          callback(() => {}),
        ),
      );
      if (get().active?.runId === runId) set((s) => ({ previews: [...s.previews, { step, images: out.images }] }));
    } catch (e) {
      useTasks.getState().notice("warning", `Preview at step ${step} failed: ${(e as Error).message}`);
    } finally {
      previewing = false;
    }
  }

  /** Runs `call` (train or resume) as a task, following its events. */
  async function follow(
    manifest: Manifest,
    runId: string,
    config: TrainConfig,
    call: (onEvent: (e: TrainingEvent) => void, previewEvery: number) => Promise<RunRecord>,
  ) {
    set((s) => ({
      active: { runId, status: "starting", history: s.active?.runId === runId ? s.active.history : [], config },
      previews: s.active?.runId === runId ? s.previews : [],
    }));
    const patch = (p: Partial<Active>) =>
      set((s) => (s.active?.runId === runId ? { active: { ...s.active, ...p } } : {}));
    let refused: string | undefined;
    const result = await runTask(
      `Training ${runId} (${config.loss.method})`,
      (signal, progress) => {
        // Cancelling a run pauses it: it stops after the current step with a checkpoint, and can resume.
        signal.addEventListener("abort", () => void training.call((api) => api.pause(runId)));
        const onEvent = (e: TrainingEvent) => {
          if (e.kind === "step") {
            set((s) =>
              s.active?.runId === runId ? { active: { ...s.active, history: [...s.active.history, e.report] } } : {},
            );
            progress(e.report.step / config.steps, `step ${e.report.step} of ${config.steps}`);
          } else if (e.kind === "checkpoint") {
            // Steps after a running checkpoint only exist when the run resumed from it (lost device): they are trained again.
            set((s) =>
              s.active?.runId === runId
                ? {
                    active: {
                      ...s.active,
                      status: e.status,
                      message: e.message,
                      history:
                        e.status === "running" ? s.active.history.filter((r) => r.step <= e.step) : s.active.history,
                    },
                  }
                : {},
            );
            if (!get().runs.some((r) => r.id === runId)) void get().refresh(manifest.id);
          } else if (e.kind === "backend") patch({ backend: e.note ? `${e.backend} (${e.note})` : e.backend });
          else if (e.kind === "adapter") void preview(manifest, runId, e.step, e.tensors);
        };
        return call(callback(onEvent), get().previewEvery).catch((e: Error) => {
          if (e.name === "HeldError") refused = e.message;
          throw e;
        });
      },
      {
        done: (record) => {
          const detail = record.message ?? `${record.status} at step ${record.checkpoint?.step}`;
          return record.status === "failed" || record.status === "interrupted" ? { failed: detail } : detail;
        },
      },
    );
    if (result.status === "done") {
      const record = result.value;
      patch({ status: record.status, message: record.message, history: record.history });
    } else if (refused) patch({ status: "refused", message: refused });
    else patch({ status: "interrupted", message: result.status === "error" ? result.message : "Cancelled" });
    await get().refresh(manifest.id);
    await useAdapters.getState().refresh(manifest.id);
  }

  return {
    datasets: [],
    runs: [],
    dismissed: [],
    previews: [],
    previewEvery: 10,

    async checkEngine() {
      const result = await runTask(
        "Checking the training device",
        (signal, progress) =>
          training.callCancellable(signal, (api, taskId) =>
            api.checkEngine(
              taskId,
              callback((p) => progress(null, p.message)),
            ),
          ),
        { done: (check) => `WebGPU device ready on ${check.adapter.name}` },
      );
      if (result.status === "done") set({ engine: result.value });
    },

    async refresh(packId) {
      const [datasets, runs] = await Promise.all([
        dataset.call((api) => api.list(packId)),
        training.call((api) => api.runs()),
      ]);
      set((s) => ({
        datasets,
        runs: runs.filter((r) => r.packId === packId),
        datasetId: datasets.some((d) => d.id === s.datasetId) ? s.datasetId : datasets.at(-1)?.id,
      }));
      // A run another tab trains is listed again when that tab lets it go (paused, or closed).
      for (const r of runs) {
        if (!r.heldBy || watching.has(r.id)) continue;
        watching.add(r.id);
        void training
          .call((api) => api.released(r.id))
          .then(
            () => {
              watching.delete(r.id);
              return get().refresh(packId);
            },
            () => watching.delete(r.id), // the worker was restarted: the next refresh watches again
          );
      }
    },

    chooseDataset: (datasetId) => set({ datasetId }),
    setPreviewEvery: (previewEvery) => set({ previewEvery }),

    async start(manifest, config) {
      const id = get().datasetId;
      const stored = id ? await dataset.call((api) => api.get(id)) : undefined;
      if (!stored) {
        useTasks.getState().notice("error", "Choose a stored dataset to train on (build one on the Dataset tab).");
        return;
      }
      const runId = `run-${Date.now()}`;
      await follow(manifest, runId, config, (onEvent, previewEvery) =>
        training.call((api) =>
          api.train(runId, manifest.id, stored.dataset, config, onEvent, {
            previewEvery,
            tab: tabLabel(),
            engine: useSettings.getState().trainingEngine,
          }),
        ),
      );
    },

    async resume(manifest, runId) {
      const run = get().runs.find((r) => r.id === runId) ?? (await training.call((api) => api.run(runId)));
      if (!run) return;
      set({ active: { runId, status: "starting", history: run.history, config: run.config }, previews: [] });
      await follow(manifest, runId, run.config, (onEvent, previewEvery) =>
        training.call((api) =>
          api.resume(runId, onEvent, { previewEvery, tab: tabLabel(), engine: useSettings.getState().trainingEngine }),
        ),
      );
    },

    pause() {
      const runId = get().active?.runId;
      if (runId) void training.call((api) => api.pause(runId));
    },

    async view(runId) {
      const run = get().runs.find((r) => r.id === runId);
      const status = get().active?.status;
      if (run && status !== "running" && status !== "starting")
        set({
          active: { runId, status: run.status, history: run.history, message: run.message, config: run.config },
          previews: [],
        });
    },

    async exportAdapter(runId) {
      const bytes = await training.call((api) => api.exportAdapter(runId));
      download(bytes, `${runId}.safetensors`);
    },

    async deleteRun(packId, runId) {
      try {
        await training.call((api) => api.deleteRun(runId, tabLabel()));
      } catch (e) {
        useTasks.getState().notice("error", `Could not delete run ${runId}: ${(e as Error).message}`);
      }
      if (get().active?.runId === runId) set({ active: undefined, previews: [] });
      await get().refresh(packId);
      await useAdapters.getState().refresh(packId);
    },

    dismiss: (runId) => set((s) => ({ dismissed: [...s.dismissed, runId] })),
  };
});
