/**
 * Images chosen in one tab for another: the Generate tab's "send to Inspect" puts the reference
 * and the generated image here, and the Inspect tab opens them.
 */
import { create } from "zustand";
import type { RgbaImage } from "../../core/generate/image";
import type { RunSettings } from "../generate-settings";

export interface SelectedImage {
  rgba: RgbaImage;
  label: string;
}

export interface SelectedGenerated extends SelectedImage {
  /** The generation settings that produced the image (prompt, seed, sampler…), as the Generate tab records them. */
  settings: RunSettings;
}

interface SelectionState {
  reference?: SelectedImage;
  generated?: SelectedGenerated;
  /** Subject B's reference, for an image of a two-subject scene. */
  second?: SelectedImage;
  select(reference: SelectedImage, generated?: SelectedGenerated, second?: SelectedImage): void;
}

export const useSelection = create<SelectionState>()((set) => ({
  select: (reference, generated, second) => set({ reference, generated, second }),
}));
