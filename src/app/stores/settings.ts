/** User settings, persisted in localStorage across reloads. */
import { create } from "zustand";
import { persist } from "zustand/middleware";
import type { ExecutionProviderChoice } from "../../../workers/inference-api";

export const TABS = ["generate", "inspect", "dataset", "train", "compare", "models"] as const;
export type TabId = (typeof TABS)[number];

interface SettingsState {
  tab: TabId;
  executionProvider: ExecutionProviderChoice;
  /** Load the built-in pack when the studio opens. */
  autoLoadBuiltin: boolean;
  setTab(tab: TabId): void;
  setExecutionProvider(ep: ExecutionProviderChoice): void;
  setAutoLoadBuiltin(on: boolean): void;
}

export const useSettings = create<SettingsState>()(
  persist(
    (set) => ({
      tab: "models",
      executionProvider: "auto",
      autoLoadBuiltin: true,
      setTab: (tab) => set({ tab }),
      setExecutionProvider: (executionProvider) => set({ executionProvider }),
      setAutoLoadBuiltin: (autoLoadBuiltin) => set({ autoLoadBuiltin }),
    }),
    { name: "patchdpo-settings", version: 1 },
  ),
);
