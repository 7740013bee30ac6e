/**
 * The Compare tab: which adapters, subjects, prompts and seeds; the grid the inference worker
 * generates for them (every adapter from the same noise per cell), its per-image metrics and the
 * summary table; view settings for the grid (heatmaps, sort, filter).
 */
import { create } from "zustand";
import type { CompareCapabilities, CompareCellResult } from "../../../workers/compare-api";
import type { AdapterInput, LoadedPack } from "../../../workers/inference-api";
import type { UserEncoderInfo } from "../../../workers/quality-api";
import type { PromptChoice } from "../../core/generate";
import { samplerDefaults } from "../../core/generate/sampler-defaults";
import { type CompareSampler, cellSubject, type GridCell, gridCells } from "../../core/metrics/grid";
import type { GlobalMetric } from "../../core/metrics/image";
import { buildReport, type CompareReport, metricsOf } from "../../core/metrics/report";
import { PAIR_SCENE_METRICS, pairChoice, SCENE_METRICS } from "../../core/metrics/scene";
import type { Manifest } from "../../core/pack";
import { inference } from "../services/workers";
import { type AdapterChoice, useAdapters } from "./adapters";
import { useEncoders } from "./encoders";
import { openEnhanced } from "./enhance";
import { useSettings } from "./settings";
import { runTask, useTasks } from "./tasks";

/** The encoder metrics; a two-subject image has each per subject too (`_a`, `_b`; core/metrics/image.ts evaluatePair). */
const ENCODER_METRICS = [
  "patch_quality",
  "patch_quality_independent",
  "global_sim_independent",
  "patch_quality_random",
  "dino",
  "clip_i",
] as const;

/** Known metric keys in display order. */
export const METRIC_ORDER = [
  ...ENCODER_METRICS,
  ...SCENE_METRICS,
  "identity_leakage",
  ...PAIR_SCENE_METRICS,
  ...ENCODER_METRICS.flatMap((k) => [`${k}_a`, `${k}_b`]),
] as const;

const BASE_LABELS: Record<string, string> = {
  patch_quality: "patch quality (pack encoder)",
  patch_quality_independent: "patch quality (independent evaluator)",
  global_sim_independent: "global similarity (independent evaluator)",
  patch_quality_random: "patch quality (random encoder, ablation)",
  dino: "DINO-style similarity",
  clip_i: "CLIP-I-style similarity",
  subject_region_psnr_db: "subject-region PSNR (dB)",
  scene_psnr_db: "scene PSNR (dB)",
  background_acc: "background accuracy",
  position_acc: "position accuracy",
  size_acc: "size accuracy",
  identity_leakage: "identity leakage (independent evaluator; lower is better)",
  subject_region_psnr_db_a: "subject-region PSNR of A (dB)",
  subject_region_psnr_db_b: "subject-region PSNR of B (dB)",
};

export const METRIC_LABELS: Record<string, string> = {
  ...BASE_LABELS,
  ...Object.fromEntries(
    ENCODER_METRICS.flatMap((k) =>
      (["a", "b"] as const).map((s) => [`${k}_${s}`, `${BASE_LABELS[k]} of ${s.toUpperCase()}`]),
    ),
  ),
};

export interface CompareForm {
  packId: string;
  adapters: string[];
  subjects: string[];
  /** Two subjects per image (two-reference packs with a pair kit): the held-out pairs, as "A+B". */
  twoSubjects: boolean;
  pairs: string[];
  /** "eval": the scene kit's eval prompts per subject; "custom": one prompt for every subject. */
  promptMode: "eval" | "custom";
  promptsPerSubject: number;
  customPrompt: PromptChoice;
  seeds: number[];
  sampler: CompareSampler;
  /** An enhanced encoder's run id (Train tab, Encoder) for `patch_quality`; undefined: the pack's. */
  patchEncoder?: string;
}

export interface GridView {
  heatmaps: boolean;
  /** Metric the grid sorts and filters by. */
  metric: string;
  /** Adapter whose value sorts the rows; rows sort by it, descending unless `ascending`. */
  sortBy: string;
  ascending: boolean;
  /** Hide rows whose sort value is below this (NaN: no filter). */
  minValue: number;
}

export interface CompareCellView extends CompareCellResult {
  cell: GridCell;
}

type Status = "idle" | "running" | "done" | "cancelled" | "error";

interface CompareState {
  form?: CompareForm;
  capabilities?: CompareCapabilities;
  global: Partial<Record<GlobalMetric, UserEncoderInfo>>;
  status: Status;
  progress: { done: number; total: number };
  error?: string;
  cells: CompareCellView[];
  report?: CompareReport;
  view: GridView;
  taskId?: string;
  initForm(pack: LoadedPack): void;
  setForm(patch: Partial<CompareForm>): void;
  setGlobal(metric: GlobalMetric, info: UserEncoderInfo | undefined): void;
  /** A registered encoder (Models tab) as this metric's evaluator, or none; the choice persists. */
  useRegistered(metric: GlobalMetric, id: string | undefined): Promise<void>;
  setView(patch: Partial<GridView>): void;
  run(pack: LoadedPack): Promise<void>;
  cancel(): void;
}

/** Held-out subjects the grid may use: the scene kit's (ground truth) or the gallery's. */
export function heldoutSubjects(m: Manifest): { id: string; name: string }[] {
  return m.gallery?.heldout ?? [];
}

/** The scene kit's held-out pairs ("A+B"), when the pack takes two references. */
export function heldoutPairs(m: Manifest): string[] {
  if (!m.prompt.layouts) return [];
  return [...new Set((m.scenes?.pairs?.eval ?? []).map((e) => cellSubject({ subject: e.a, second: e.b })))];
}

export function defaultForm(pack: LoadedPack): CompareForm {
  const m = pack.manifest;
  return {
    packId: pack.id,
    adapters: ["base"],
    subjects: heldoutSubjects(m)
      .slice(0, 2)
      .map((s) => s.id),
    twoSubjects: false,
    pairs: heldoutPairs(m).slice(0, 2),
    promptMode: m.scenes ? "eval" : "custom",
    promptsPerSubject: 2,
    customPrompt: Object.fromEntries(m.prompt.slots.map((s) => [s.name, s.values[0]?.text ?? "any"])),
    seeds: [101, 102],
    sampler: samplerDefaults(m),
  };
}

export function promptsFor(form: CompareForm, m: Manifest, subject: string): PromptChoice[] {
  if (form.promptMode === "custom" || !m.scenes) return [form.customPrompt];
  if (form.twoSubjects)
    return (m.scenes.pairs?.eval ?? [])
      .filter((e) => cellSubject({ subject: e.a, second: e.b }) === subject)
      .slice(0, form.promptsPerSubject)
      .map((e) => pairChoice(m.prompt, e.prompt));
  return m.scenes.eval_prompts
    .filter((p) => p.subject === subject)
    .slice(0, form.promptsPerSubject)
    .map((p) => p.prompt);
}

/** The form's cells: subjects (or pairs "A+B") × their prompts × seeds. */
export function compareCells(form: CompareForm, m: Manifest): GridCell[] {
  if (!form.twoSubjects) return gridCells(form.subjects, (s) => promptsFor(form, m, s), form.seeds);
  return gridCells(form.pairs, (p) => promptsFor(form, m, p), form.seeds).map((c) => {
    const [subject, second] = c.subject.split("+");
    return { ...c, subject, second };
  });
}

const labelOf = (list: AdapterChoice[], id: string) => list.find((a) => a.id === id)?.label ?? id;

export const useCompare = create<CompareState>()((set, get) => ({
  global: {},
  status: "idle",
  progress: { done: 0, total: 0 },
  cells: [],
  view: { heatmaps: false, metric: "patch_quality", sortBy: "base", ascending: false, minValue: Number.NaN },

  initForm(pack) {
    if (get().form?.packId === pack.id) return;
    set({ form: defaultForm(pack), cells: [], report: undefined, status: "idle", capabilities: undefined });
    inference
      .call((api) => api.compareCapabilities(pack.id))
      .then((capabilities) => set({ capabilities }))
      .catch((e: Error) => set({ error: e.message }));
  },
  setForm: (patch) => set((s) => (s.form ? { form: { ...s.form, ...patch } } : {})),
  setGlobal: (metric, info) => {
    if (!info?.registered) useSettings.getState().setEncoderChoice(metric, undefined);
    set((s) => ({ global: { ...s.global, [metric]: info } }));
  },
  async useRegistered(metric, id) {
    useSettings.getState().setEncoderChoice(metric, id);
    if (!id) {
      set((s) => ({ global: { ...s.global, [metric]: undefined } }));
      return;
    }
    try {
      const info = await useEncoders.getState().open(id);
      set((s) => ({ global: { ...s.global, [metric]: info }, error: undefined }));
    } catch (e) {
      set({ error: `Encoder "${id}": ${(e as Error).message}` });
    }
  },
  setView: (patch) => set((s) => ({ view: { ...s.view, ...patch } })),

  async run(pack) {
    const form = get().form;
    if (!form || get().status === "running") return;
    if (form.adapters.length < 2) {
      set({ error: "Choose at least two adapters to compare." });
      return;
    }
    const units = form.twoSubjects ? form.pairs : form.subjects;
    if (!units.length || !form.seeds.length) {
      set({ error: `Choose at least one held-out ${form.twoSubjects ? "pair" : "subject"} and one seed.` });
      return;
    }
    const m = pack.manifest;
    const cells = compareCells(form, m);
    set({
      status: "running",
      error: undefined,
      cells: [],
      report: undefined,
      progress: { done: 0, total: cells.length },
      view: { ...get().view, sortBy: form.adapters[0] },
    });
    const { list } = useAdapters.getState();
    // Registered encoders reopen when the provider changed or the worker restarted.
    try {
      for (const [k, v] of Object.entries(get().global)) {
        if (v?.registered) get().setGlobal(k as GlobalMetric, await useEncoders.getState().open(v.registered.id));
      }
    } catch (e) {
      set({ status: "error", error: (e as Error).message });
      return;
    }
    let patchEncoder: UserEncoderInfo | undefined;
    try {
      if (form.patchEncoder) patchEncoder = await openEnhanced(form.patchEncoder);
    } catch (e) {
      set({ status: "error", error: `Enhanced encoder "${form.patchEncoder}": ${(e as Error).message}` });
      return;
    }
    const global = Object.fromEntries(Object.entries(get().global).map(([k, v]) => [k, v?.id]));
    const result = await runTask(
      `Comparing ${form.adapters.length} adapters on ${cells.length} cells`,
      async (signal, progress, taskId) => {
        set({ taskId });
        // Fetch each adapter's tensors once; every cell reuses them.
        const adapters: { id: string; adapter: AdapterInput }[] = [];
        for (const id of form.adapters) adapters.push({ id, adapter: await useAdapters.getState().tensors(id) });
        const views: CompareCellView[] = [];
        for (const [i, cell] of cells.entries()) {
          const result = await inference.callCancellable(signal, (api, requestId) =>
            api.compareCell(requestId, {
              packId: pack.id,
              cell,
              adapters,
              sampler: form.sampler,
              global,
              patchEncoder: patchEncoder?.id,
            }),
          );
          views.push({ ...result, cell });
          set({ cells: [...views], progress: { done: i + 1, total: cells.length } });
          progress((i + 1) / cells.length, `cell ${i + 1} of ${cells.length}: ${cellSubject(cell)}, seed ${cell.seed}`);
        }
        const records = views.flatMap((v) => v.records);
        return buildReport({
          createdAt: new Date().toISOString(),
          packId: pack.id,
          settings: {
            ...(form.twoSubjects ? { two_subjects: true, pairs: form.pairs } : { subjects: form.subjects }),
            prompts: Object.fromEntries(units.map((s) => [s, promptsFor(form, m, s)])),
            promptMode: form.promptMode,
            seeds: form.seeds,
            sampler: form.sampler,
            noise: "one initial latent per cell (latentNoise(seed)), shared by every adapter",
            evaluators: {
              patch_quality: patchEncoder?.enhanced ? { enhanced: patchEncoder.enhanced } : "roles.patch_encoder",
              ...get().capabilities?.evaluators,
              ...Object.fromEntries(
                Object.entries(get().global).map(([k, v]) => [
                  k,
                  v ? { ...v.spec, ...(v.registered ? { registered: v.registered } : {}) } : null,
                ]),
              ),
              scene: get().capabilities?.scenes ?? false,
            },
            provider: pack.provider,
          },
          methods: form.adapters.map((id) => {
            const a = list.find((x) => x.id === id);
            return { id, label: labelOf(list, id), source: { kind: a?.source ?? id, method: a?.method } };
          }),
          metrics: metricsOf(records, METRIC_ORDER),
          baseline: form.adapters[0],
          records,
        });
      },
      { done: (report) => `${report.records.length} images compared` },
    );
    if (result.status === "done") set({ status: "done", report: result.value, taskId: undefined });
    else
      set({ status: result.status, error: result.status === "error" ? result.message : undefined, taskId: undefined });
  },

  cancel() {
    const { taskId } = get();
    if (taskId) useTasks.getState().cancel(taskId);
  },
}));
