/**
 * The Generate tab: the form (reference, prompt, sampler settings) and the gallery of runs. Each
 * run is one card; a failed or cancelled run marks its own card and leaves the others intact.
 */
import { create } from "zustand";
import type { GenerationOutput, ReferenceInput } from "../../../workers/inference-api";
import type { GenerateSettings, RgbaImage } from "../../core/generate";
import { isAbortError, type Manifest } from "../../core/pack";
import { defaultSettings, defaultSubject, type ReferenceChoice, type RunSettings } from "../generate-settings";
import { callback, inference } from "../services/workers";
import { useAdapters } from "./adapters";
import { runTask, useTasks } from "./tasks";

export type RunStatus = "running" | "done" | "error" | "cancelled";

export interface RunCard {
  id: string;
  settings: RunSettings;
  status: RunStatus;
  step: number;
  total: number;
  /** Image 0's predicted clean image during the run. */
  preview?: RgbaImage;
  /** The reference as the model saw it; kept so uploads can be re-run and sent to Inspect. */
  reference: RgbaImage;
  /** Subject B's reference likewise, for a two-subject scene. */
  second?: RgbaImage;
  images: RgbaImage[];
  timing?: GenerationOutput["timing"];
  error?: string;
  cancel?: () => void;
}

interface Form {
  packId: string;
  settings: GenerateSettings;
  reference?: ReferenceChoice;
  /** The chosen reference, fitted to the pack's image size. */
  referenceImage?: RgbaImage;
  referenceError?: string;
  /** Subject B (a gallery subject) for a two-subject scene, and its image. */
  second?: ReferenceChoice & { kind: "gallery" };
  secondImage?: RgbaImage;
  adapter: string;
}

interface GenerationState {
  form?: Form;
  cards: RunCard[];
  /** Resets the form to the pack's defaults and its first held-out subject. */
  initForm(packId: string, manifest: Manifest): Promise<void>;
  setSettings(patch: Partial<GenerateSettings>): void;
  /** An AdapterChoice id of stores/adapters.ts ("base" for the pack's own). */
  setAdapter(id: string): void;
  chooseSubject(packId: string, id: string, label: string): Promise<void>;
  /** Subject B of a two-subject scene, or none (undefined). */
  chooseSecond(packId: string, manifest: Manifest, subject?: { id: string; label: string }): Promise<void>;
  upload(packId: string, file: File): Promise<void>;
  /** Runs the form's settings; resolves when the run ends (any status). */
  generate(): Promise<void>;
  rerun(cardId: string): Promise<void>;
  remove(cardId: string): void;
}

/** Previews cost one decoder run each; every 5th step keeps them under ~10% of a 25-step run. */
const PREVIEW_EVERY = 5;

export const useGeneration = create<GenerationState>()((set, get) => {
  const patchCard = (id: string, patch: Partial<RunCard>) =>
    set((s) => ({ cards: s.cards.map((c) => (c.id === id ? { ...c, ...patch } : c)) }));
  const patchForm = (patch: Partial<Form>) => set((s) => (s.form ? { form: { ...s.form, ...patch } } : {}));

  /** The reference being loaded last: an earlier load that finishes later is dropped. */
  let latestReference: ReferenceChoice | undefined;

  /** Switches the reference once `load` succeeds; a refused image leaves the previous reference chosen. */
  async function setReference(choice: ReferenceChoice, load: () => Promise<RgbaImage>) {
    latestReference = choice;
    patchForm({ referenceError: undefined });
    try {
      const image = await load();
      if (latestReference === choice) patchForm({ reference: choice, referenceImage: image });
    } catch (e) {
      if (latestReference === choice) patchForm({ referenceError: (e as Error).message });
    }
  }

  async function start(settings: RunSettings, reference: RgbaImage, secondImage?: RgbaImage) {
    const inputOf = (choice: ReferenceChoice, image: RgbaImage): ReferenceInput =>
      choice.kind === "gallery" ? { kind: "gallery", id: choice.id } : { kind: "pixels", image, label: choice.label };
    const input = inputOf(settings.reference, reference);
    const second = settings.second && secondImage && inputOf(settings.second, secondImage);
    // The card is the task's: it shares its id and its cancel.
    const result = await runTask(
      `Generating ${settings.batch} × ${settings.reference.label}${settings.second ? ` and ${settings.second.label}` : ""}`,
      async (signal, progress, taskId) => {
        const card: RunCard = {
          id: taskId,
          settings,
          status: "running",
          step: 0,
          total: settings.steps,
          reference,
          second: secondImage,
          images: [],
          cancel: () => useTasks.getState().cancel(taskId),
        };
        set((s) => ({ cards: [card, ...s.cards] }));
        const generate = async () => {
          const adapter = await useAdapters.getState().tensors(settings.adapter);
          return inference.callCancellable(signal, (api, requestId) =>
            api.generate(
              requestId,
              { packId: settings.packId, reference: input, second, adapter, settings, previewEvery: PREVIEW_EVERY },
              callback((p) => {
                // A preview decoded late must not move the card back after the run ended.
                if (get().cards.find((c) => c.id === taskId)?.status !== "running") return;
                patchCard(taskId, { step: p.step, total: p.total, ...(p.preview && { preview: p.preview }) });
                progress(p.step / p.total, `Step ${p.step} of ${p.total}`);
              }),
            ),
          );
        };
        // A failure says which adapter it ran with: the same settings may work with another.
        return generate().catch((e: Error) => {
          if (isAbortError(e)) throw e;
          throw new Error(`with adapter "${settings.adapterLabel ?? settings.adapter}": ${e.message}`);
        });
      },
      { done: (out) => `${out.images.length} image(s) in ${(out.timing.totalMs / 1000).toFixed(1)} s` },
    );
    if (result.status === "done") {
      const out = result.value;
      patchCard(result.id, {
        status: "done",
        images: out.images,
        reference: out.reference,
        second: out.second,
        timing: out.timing,
        cancel: undefined,
      });
    } else {
      const error = result.status === "cancelled" ? "Cancelled" : result.message;
      patchCard(result.id, { status: result.status, error, cancel: undefined });
    }
  }

  return {
    cards: [],

    async initForm(packId, manifest) {
      set({ form: { packId, settings: defaultSettings(manifest), adapter: "base" } });
      const subject = defaultSubject(manifest);
      if (subject?.kind === "gallery") await get().chooseSubject(packId, subject.id, subject.label);
    },

    setSettings: (patch) =>
      set((s) => (s.form ? { form: { ...s.form, settings: { ...s.form.settings, ...patch } } } : {})),

    setAdapter: (adapter) => patchForm({ adapter }),

    chooseSubject: (packId, id, label) =>
      setReference({ kind: "gallery", id, label }, () => inference.call((api) => api.galleryReference(packId, id))),

    async chooseSecond(packId, manifest, subject) {
      // A layout names where A and B go: with one subject again, its slot goes back to "any".
      const layouts = manifest.prompt.layouts;
      const prompt = get().form?.settings.prompt ?? {};
      const slotValue = layouts && prompt[layouts.slot];
      const isLayout = !!layouts && layouts.values.some((v) => v.text === slotValue);
      if (!subject) {
        patchForm({ second: undefined, secondImage: undefined });
        if (layouts && isLayout) get().setSettings({ prompt: { ...prompt, [layouts.slot]: "any" } });
        return;
      }
      if (layouts && !isLayout) get().setSettings({ prompt: { ...prompt, [layouts.slot]: layouts.values[0].text } });
      try {
        const image = await inference.call((api) => api.galleryReference(packId, subject.id));
        patchForm({ second: { kind: "gallery", ...subject }, secondImage: image, referenceError: undefined });
      } catch (e) {
        patchForm({ referenceError: (e as Error).message });
      }
    },

    upload: (packId, file) =>
      setReference({ kind: "upload", label: file.name }, () =>
        inference.call((api) => api.uploadedReference(packId, file, file.name)),
      ),

    async generate() {
      const form = get().form;
      if (!form?.reference || !form.referenceImage) return;
      const settings: RunSettings = {
        ...form.settings,
        prompt: { ...form.settings.prompt },
        packId: form.packId,
        reference: form.reference,
        ...(form.second ? { second: form.second } : {}),
        adapter: form.adapter,
        adapterLabel: useAdapters.getState().list.find((a) => a.id === form.adapter)?.label,
      };
      await start(settings, form.referenceImage, form.secondImage);
    },

    async rerun(cardId) {
      const card = get().cards.find((c) => c.id === cardId);
      if (card) await start(card.settings, card.reference, card.second);
    },

    remove: (cardId) => set((s) => ({ cards: s.cards.filter((c) => c.id !== cardId) })),
  };
});
