/**
 * The origin's browser storage: persistence (asked for once, so the browser does not evict packs,
 * datasets and runs under pressure) and usage against the quota, for the Models tab.
 */
import { create } from "zustand";

interface StorageState {
  /** Bytes used and the quota, as the browser estimates them; undefined until measured or where unsupported. */
  usage?: number;
  quota?: number;
  /** Whether the browser granted persistent storage. */
  persisted?: boolean;
  /** Asks for persistence (no prompt in Chromium: granted by engagement heuristics) and measures. */
  init(): Promise<void>;
  refresh(): Promise<void>;
}

export const useStorage = create<StorageState>()((set, get) => ({
  async init() {
    const storage = navigator.storage;
    if (!storage) return;
    const persisted = (await storage.persisted?.()) || (await storage.persist?.().catch(() => false));
    set({ persisted: Boolean(persisted) });
    await get().refresh();
  },
  async refresh() {
    const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
    if (estimate) set({ usage: estimate.usage, quota: estimate.quota });
  },
}));
