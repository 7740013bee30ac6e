/** User settings, persisted in localStorage across reloads. */
import { create } from "zustand";
import { persist } from "zustand/middleware";
import type { ExecutionProviderChoice } from "../../../workers/inference-api";
import type { TrainingEngineChoice } from "../../gpu/trainer";

/** Where a registered encoder (Models tab) can be chosen. */
export type EncoderSlot = "inspect" | "dino" | "clip_i";

export const TABS = ["generate", "inspect", "dataset", "train", "compare", "models"] as const;
export type TabId = (typeof TABS)[number];

interface SettingsState {
  tab: TabId;
  executionProvider: ExecutionProviderChoice;
  trainingEngine: TrainingEngineChoice;
  /** Load the built-in pack when the studio opens. */
  autoLoadBuiltin: boolean;
  /** The registered encoder chosen per slot (Inspect's patch encoder, Compare's evaluators), by id. */
  encoderChoice: Partial<Record<EncoderSlot, string>>;
  /** Per registered encoder: the ONNX export to run instead of the backend's choice. */
  encoderFile: Record<string, string>;
  setTab(tab: TabId): void;
  setExecutionProvider(ep: ExecutionProviderChoice): void;
  setTrainingEngine(engine: TrainingEngineChoice): void;
  setAutoLoadBuiltin(on: boolean): void;
  setEncoderChoice(slot: EncoderSlot, id: string | undefined): void;
  setEncoderFile(id: string, file: string | undefined): void;
  /** Forgets a deleted encoder wherever it was chosen. */
  forgetEncoder(id: string): void;
}

export const useSettings = create<SettingsState>()(
  persist(
    (set) => ({
      tab: "models",
      executionProvider: "auto",
      trainingEngine: "auto",
      autoLoadBuiltin: true,
      encoderChoice: {},
      encoderFile: {},
      setTab: (tab) => set({ tab }),
      setExecutionProvider: (executionProvider) => set({ executionProvider }),
      setTrainingEngine: (trainingEngine) => set({ trainingEngine }),
      setAutoLoadBuiltin: (autoLoadBuiltin) => set({ autoLoadBuiltin }),
      setEncoderChoice: (slot, id) => set((s) => ({ encoderChoice: { ...s.encoderChoice, [slot]: id } })),
      setEncoderFile: (id, file) =>
        set((s) => {
          const { [id]: _, ...rest } = s.encoderFile;
          return { encoderFile: file ? { ...rest, [id]: file } : rest };
        }),
      forgetEncoder: (id) =>
        set((s) => {
          const { [id]: _, ...files } = s.encoderFile;
          const choice = Object.fromEntries(Object.entries(s.encoderChoice).filter(([, v]) => v !== id));
          return { encoderChoice: choice, encoderFile: files };
        }),
    }),
    { name: "patchdpo-settings", version: 1 },
  ),
);
