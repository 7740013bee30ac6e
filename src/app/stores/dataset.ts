/**
 * The Dataset tab's state: the build form, the stored datasets of the open pack (kept by the
 * dataset worker in IndexedDB), the one being viewed, and the build / import / export / delete
 * actions (the studio's zip or the official PatchDPO layout), each a task in the task area (builds
 * and official-layout imports can be cancelled).
 */

import { create } from "zustand";
import type { BuildRequest, DatasetSummary } from "../../../workers/dataset-api";
import { consecutivePairs } from "../../core/dataset/build";
import type { DatasetSettings, StoredDataset } from "../../core/dataset/format";
import type { PromptChoice, RgbaImage, RunRole } from "../../core/generate";
import { samplerDefaults } from "../../core/generate/sampler-defaults";
import type { Manifest } from "../../core/pack";
import { download } from "../download";
import { callback, dataset, inference, training } from "../services/workers";
import { tabLabel } from "../tab-label";
import { useAdapters } from "./adapters";
import { openEnhanced } from "./enhance";
import { runTask, useTasks } from "./tasks";

export interface FormReference {
  id: string;
  label: string;
  source: "gallery" | "upload";
  image: RgbaImage;
}

export interface DatasetForm {
  name: string;
  references: FormReference[];
  /** Two subjects per image (two-reference packs): references paired in order, 1 with 2, 3 with 4, … */
  twoSubjects: boolean;
  prompts: PromptChoice[];
  seeds: string;
  sampler: DatasetSettings["sampler"];
  adapter: string;
  refWeight: DatasetSettings["refWeight"];
  /** An enhanced encoder's run id (Train tab, Encoder) for the quality maps; undefined: the pack's. */
  patchEncoder?: string;
}

export interface BuildState {
  taskId: string;
  done: number;
  total: number;
  /** PNGs generated so far, for the live preview. */
  images: { png: Uint8Array; meanGen: number }[];
}

interface DatasetState {
  packId?: string;
  form?: DatasetForm;
  list: DatasetSummary[];
  viewed?: StoredDataset;
  building?: BuildState;
  error?: string;
  /** Loads the pack's training subjects into a fresh form and lists its datasets. */
  init(manifest: Manifest): Promise<void>;
  setForm(patch: Partial<DatasetForm>): void;
  upload(manifest: Manifest, files: File[]): Promise<void>;
  refresh(): Promise<void>;
  /** Builds and stores a dataset from `form` (default: the tab's form); resolves with its id, or undefined. */
  build(manifest: Manifest, seeds: number[], form?: DatasetForm): Promise<string | undefined>;
  cancel(): void;
  view(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  exportZip(manifest: Manifest, id: string): Promise<void>;
  importZip(manifest: Manifest, file: File): Promise<void>;
  /** Downloads the dataset as a zip of the official PatchDPO layout (docs/official-layout.md). */
  exportOfficial(manifest: Manifest, id: string): Promise<void>;
  /** Imports a zip of the official layout, encoding its images with the pack (cancellable). */
  importOfficial(manifest: Manifest, file: File): Promise<void>;
}

/** A dataset name as a file name. */
const fileName = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, "_");

/** The pack's training subjects, one "any" prompt, seeds 1-2 and the pack's sampler defaults. */
export async function defaultForm(manifest: Manifest): Promise<DatasetForm> {
  const references = await Promise.all(
    (manifest.gallery?.train ?? []).map(async (e) => ({
      id: e.id,
      label: e.name,
      source: "gallery" as const,
      image: await inference.call((api) => api.galleryReference(manifest.id, e.id)),
    })),
  );
  return {
    name: `${manifest.id} dataset`,
    references,
    twoSubjects: false,
    prompts: [Object.fromEntries(manifest.prompt.slots.map((s) => [s.name, "any"]))],
    seeds: "1-2",
    sampler: samplerDefaults(manifest),
    adapter: "base",
    refWeight: "coverage",
  };
}

export const useDataset = create<DatasetState>()((set, get) => ({
  list: [],

  async init(manifest) {
    // Reset before awaiting the form: its gallery images wait on the inference worker, and a reset
    // after that wait would wipe what the tab did meanwhile (an import's error, a viewed dataset).
    set({ packId: manifest.id, viewed: undefined, error: undefined, form: undefined });
    const form = await defaultForm(manifest);
    if (get().packId === manifest.id) set({ form });
    await get().refresh();
  },

  setForm: (patch) => set((s) => (s.form ? { form: { ...s.form, ...patch } } : {})),

  async upload(manifest, files) {
    set({ error: undefined });
    for (const file of files) {
      try {
        const image = await inference.call((api) => api.uploadedReference(manifest.id, file, file.name));
        const ref: FormReference = { id: file.name, label: file.name, source: "upload", image };
        set((s) => (s.form ? { form: { ...s.form, references: [...s.form.references, ref] } } : {}));
      } catch (e) {
        set({ error: (e as Error).message });
      }
    }
  },

  async refresh() {
    const { packId } = get();
    if (packId) set({ list: await dataset.call((api) => api.list(packId)) });
  },

  async build(manifest, seeds, form = get().form) {
    if (!form || get().building) return;
    set({ error: undefined });
    const result = await runTask(
      `Building dataset "${form.name}"`,
      async (signal, progress, taskId) => {
        set({ building: { taskId, done: 0, total: 0, images: [] } });
        const choice = await useAdapters.getState().tensors(form.adapter);
        const tensors =
          choice.kind === "base" ? await training.call((api) => api.baseAdapter(manifest.id)) : choice.tensors;
        const encoder = form.patchEncoder ? await openEnhanced(form.patchEncoder) : undefined;
        const request: BuildRequest = {
          name: form.name,
          manifest,
          references: form.references,
          ...(form.twoSubjects ? { pairs: consecutivePairs(form.references.length) } : {}),
          prompts: form.prompts,
          seeds,
          sampler: form.sampler,
          adapter: { label: choice.kind === "base" ? "base" : choice.label, tensors },
          refWeight: form.refWeight,
          patchEncoder: encoder?.enhanced && {
            run: encoder.enhanced.id,
            label: encoder.enhanced.label,
            step: encoder.enhanced.step,
            sPatchBefore: encoder.enhanced.sPatchBefore,
            sPatch: encoder.enhanced.sPatch,
          },
          tab: tabLabel(),
        };
        // The enhanced encoder is the pack's graph with other weights: same feeds, same outputs.
        const run: RunRole = (role, feeds) =>
          inference.call((api) =>
            encoder && role === "patch_encoder" ? api.runEncoder(encoder.id, feeds) : api.run(manifest.id, role, feeds),
          );
        return dataset.callCancellable(signal, (api, requestId) =>
          api.build(
            requestId,
            request,
            callback(run),
            callback((p) => {
              set((s) => ({
                building: s.building && {
                  ...s.building,
                  done: p.done,
                  total: p.total,
                  images: p.image
                    ? [...s.building.images, { png: p.image, meanGen: p.meanGen ?? 0 }]
                    : s.building.images,
                },
              }));
              progress(p.done / p.total, `${p.done} of ${p.total} images`);
            }),
          ),
        );
      },
      {
        done: (summary) => `${summary.samples} images, mean quality ${summary.meanGen.toFixed(3)}`,
        cancelled: "Cancelled; nothing was stored",
      },
    );
    try {
      if (result.status === "error") set({ error: result.message });
      if (result.status !== "done") return;
      await get().refresh();
      await get().view(result.value.id);
      return result.value.id;
    } finally {
      set({ building: undefined });
    }
  },

  cancel() {
    const taskId = get().building?.taskId;
    if (taskId) useTasks.getState().cancel(taskId);
  },

  async view(id) {
    set({ viewed: await dataset.call((api) => api.get(id)) });
  },

  async remove(id) {
    await dataset.call((api) => api.remove(id));
    if (get().viewed?.id === id) set({ viewed: undefined });
    await get().refresh();
  },

  async exportZip(manifest, id) {
    const name = get().list.find((d) => d.id === id)?.name ?? id;
    try {
      const zip = await dataset.call((api) => api.exportZip(id, manifest));
      download(zip, `${fileName(name)}.zip`, "application/zip");
    } catch (e) {
      set({ error: (e as Error).message });
    }
  },

  async importZip(manifest, file) {
    set({ error: undefined });
    const result = await runTask(
      `Importing ${file.name}`,
      async () => {
        const bytes = new Uint8Array(await file.arrayBuffer());
        return dataset.call((api) => api.importZip(bytes, file.name, manifest, tabLabel()));
      },
      { done: (summary) => `${summary.samples} images of ${summary.references} references`, cancellable: false },
    );
    if (result.status === "error") set({ error: result.message });
    if (result.status !== "done") return;
    await get().refresh();
    await get().view(result.value.id);
  },

  async exportOfficial(manifest, id) {
    set({ error: undefined });
    const name = get().list.find((d) => d.id === id)?.name ?? id;
    const result = await runTask(
      `Exporting "${name}" in the official layout`,
      async () => {
        const zip = await dataset.call((api) => api.exportOfficial(id, manifest));
        download(zip, `${fileName(name)}-official.zip`, "application/zip");
        return zip.length;
      },
      { done: (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`, cancellable: false },
    );
    if (result.status === "error") set({ error: result.message });
  },

  async importOfficial(manifest, file) {
    set({ error: undefined });
    const result = await runTask(
      `Importing ${file.name} (official layout)`,
      async (signal, progress) => {
        const bytes = new Uint8Array(await file.arrayBuffer());
        return dataset.callCancellable(signal, (api, requestId) =>
          api.importOfficial(
            requestId,
            bytes,
            file.name,
            manifest,
            callback((role, feeds) => inference.call((api) => api.run(manifest.id, role, feeds))),
            callback((done, total) => progress(done / total, `${done} of ${total} images encoded`)),
            tabLabel(),
          ),
        );
      },
      {
        done: ({ summary }) => `${summary.samples} images of ${summary.references} references`,
        cancelled: "Cancelled; nothing was stored",
      },
    );
    if (result.status === "error") set({ error: result.message });
    if (result.status !== "done") return;
    for (const w of result.value.warnings) useTasks.getState().notice("warning", `${file.name}: ${w}`);
    await get().refresh();
    await get().view(result.value.summary.id);
  },
}));
