/**
 * The Inspect tab: the image pair, the chosen patch encoder, the computed quality maps and the
 * view settings. A new pair or encoder recomputes the maps in the inference worker.
 */
import { create } from "zustand";
import type { EncoderRef, QualityResponse, UserEncoderInfo } from "../../../workers/quality-api";
import type { Manifest } from "../../core/pack";
import { packEncoderSpec } from "../../core/quality/encoder-spec";
import type { ColormapName } from "../../core/quality/heatmap";
import { inference } from "../services/workers";
import { useEncoders } from "./encoders";
import { openEnhanced } from "./enhance";
import type { SelectedImage } from "./selection";
import { useSettings } from "./settings";

/** "second": an optional second reference (subject B of a two-subject scene). */
export type Slot = "reference" | "generated" | "second";

export interface ViewSettings {
  colormap: ColormapName;
  opacity: number;
  /** Patches with quality at or above this are not coloured. */
  threshold: number;
  /** Colour scale from the map's min to max instead of fixed [0, 1]. */
  autoRange: boolean;
  /** Show the reference side: how well each reference patch is covered by the generated image. */
  reverse: boolean;
}

interface InspectState {
  reference?: SelectedImage;
  generated?: SelectedImage;
  second?: SelectedImage;
  /** The pack whose patch encoder to use, or a loaded user encoder. */
  userEncoder?: UserEncoderInfo;
  result?: QualityResponse;
  /** The generated image against the second reference, when there is one. */
  secondResult?: QualityResponse;
  error?: string;
  busy: boolean;
  view: ViewSettings;
  /** Patch index pinned by a click on the heatmap side (-1: none). */
  pinned: number;
  setImage(slot: Slot, image: SelectedImage): void;
  clearSecond(): void;
  /** Opens a pair from another tab (Compare's grid cells), with subject B's reference for a two-subject image. */
  open(reference: SelectedImage, generated: SelectedImage, second?: SelectedImage): void;
  setError(message: string | undefined): void;
  setUserEncoder(info: UserEncoderInfo | undefined): void;
  /** Uses a registered encoder (Models tab) as the patch encoder, or the pack's (undefined); the choice persists. */
  useRegistered(id: string | undefined): Promise<void>;
  /** Uses an enhanced encoder (Train tab, Encoder) as the patch encoder; the choice persists. */
  useEnhanced(runId: string): Promise<void>;
  setView(patch: Partial<ViewSettings>): void;
  setPinned(index: number): void;
  /**
   * Computes the maps of this pair (and of the generated image against the second reference, if
   * given) with the user encoder if one is loaded, else the pack's.
   */
  compute(
    pack: { id: string; manifest: Manifest } | undefined,
    reference: SelectedImage,
    generated: SelectedImage,
    userEncoder: UserEncoderInfo | undefined,
    second?: SelectedImage,
  ): Promise<void>;
}

let computeSeq = 0;

/** The prefix of an enhanced encoder's id in the persisted encoder choice. */
export const ENHANCED = "enhanced:";

function packEncoder(pack: { id: string; manifest: Manifest } | undefined): EncoderRef {
  if (!pack) throw new Error("no pack with a patch_encoder is loaded");
  const { manifest } = pack;
  return { kind: "pack", packId: pack.id, spec: packEncoderSpec(manifest), background: manifest.image.background };
}

export const useInspect = create<InspectState>()((set) => ({
  busy: false,
  pinned: -1,
  view: { colormap: "viridis", opacity: 0.6, threshold: 1.01, autoRange: true, reverse: false },

  setImage: (slot, image) => set({ [slot]: image, error: undefined, pinned: -1 }),
  clearSecond: () => set({ second: undefined, secondResult: undefined }),
  open: (reference, generated, second) =>
    set({
      reference,
      generated,
      second,
      result: undefined,
      secondResult: undefined,
      error: undefined,
      pinned: -1,
    }),
  setError: (error) => set({ error }),
  setUserEncoder: (userEncoder) => {
    if (!userEncoder?.registered && !userEncoder?.enhanced)
      useSettings.getState().setEncoderChoice("inspect", undefined);
    set({ userEncoder, result: undefined });
  },
  async useRegistered(id) {
    useSettings.getState().setEncoderChoice("inspect", id);
    if (!id) {
      set({ userEncoder: undefined, result: undefined });
      return;
    }
    try {
      const userEncoder = await useEncoders.getState().open(id);
      set({ userEncoder, result: undefined, error: undefined });
    } catch (e) {
      set({ error: `Encoder "${id}": ${(e as Error).message}` });
    }
  },
  async useEnhanced(runId) {
    useSettings.getState().setEncoderChoice("inspect", `${ENHANCED}${runId}`);
    try {
      const userEncoder = await openEnhanced(runId);
      set({ userEncoder, result: undefined, error: undefined });
    } catch (e) {
      set({ error: `Enhanced encoder "${runId}": ${(e as Error).message}` });
    }
  },
  setView: (patch) => set((s) => ({ view: { ...s.view, ...patch }, pinned: "reverse" in patch ? -1 : s.pinned })),
  setPinned: (pinned) => set({ pinned }),

  async compute(pack, reference, generated, userEncoder, second) {
    if (!userEncoder && !pack) {
      set({ error: "Load a pack with a patch_encoder, or a user encoder, to compute patch quality." });
      return;
    }
    // Only the latest request's answer is shown when the user changes images quickly.
    const seq = ++computeSeq;
    set({ busy: true, error: undefined });
    try {
      // A registered or enhanced encoder reopens when the provider changed or the worker restarted
      // (and an enhanced one when its run trained on).
      const user = userEncoder?.registered
        ? await useEncoders.getState().open(userEncoder.registered.id)
        : userEncoder?.enhanced
          ? await openEnhanced(userEncoder.enhanced.id)
          : userEncoder;
      const encoder: EncoderRef = user ? { kind: "user", id: user.id } : packEncoder(pack);
      const against = (image: SelectedImage) =>
        inference.call((api) => api.patchQuality({ encoder, reference: image.rgba, generated: generated.rgba }));
      const [result, secondResult] = await Promise.all([against(reference), second && against(second)]);
      if (seq === computeSeq) set({ result, secondResult, busy: false, pinned: -1 });
    } catch (e) {
      if (seq === computeSeq)
        set({ error: (e as Error).message, busy: false, result: undefined, secondResult: undefined });
    }
  },
}));
