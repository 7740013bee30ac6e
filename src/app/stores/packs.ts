/** Loaded and cached model packs, and the actions that load, unload and delete them. */

import { builtinPackIds } from "virtual:builtin-packs";
import { create } from "zustand";
import type { LoadedPack } from "../../../workers/inference-api";
import { formatBytes, isAbortError, type PackRecord, type PackSource, packFiles } from "../../core/pack";
import { callback, inference } from "../services/workers";
import { useSettings } from "./settings";
import { useTasks } from "./tasks";

export const DEFAULT_PACK_ID = "emoji64";
export const FALLBACK_PACK_ID = "tiny";

/** The built-in pack to open: `?pack=<id>` if given, else emoji64, else tiny, else the first one. */
export function defaultPackId(search = location.search): string | undefined {
  const requested = new URLSearchParams(search).get("pack");
  if (requested && builtinPackIds.includes(requested)) return requested;
  for (const id of [DEFAULT_PACK_ID, FALLBACK_PACK_ID]) if (builtinPackIds.includes(id)) return id;
  return builtinPackIds[0];
}

export function builtinSource(id: string): PackSource {
  return { kind: "url", url: new URL(`${import.meta.env.BASE_URL}models/${id}/`, location.origin).href, builtin: true };
}

export function describeSource(source: PackSource): string {
  if (source.kind === "url") {
    return source.builtin ? `built-in pack ${new URL(source.url).pathname.split("/").at(-2)}` : source.url;
  }
  if (source.kind === "files") return source.label;
  return `cached pack "${source.id}"`;
}

interface PacksState {
  loaded: Record<string, LoadedPack>;
  cached: PackRecord[];
  /** The last failed load, shown until the next load starts. */
  lastError?: string;
  load(source: PackSource): Promise<LoadedPack | undefined>;
  unload(id: string): Promise<void>;
  refreshCached(): Promise<void>;
  deleteCached(id: string): Promise<void>;
}

export const usePacks = create<PacksState>()((set, get) => ({
  loaded: {},
  cached: [],

  async load(source) {
    const tasks = useTasks.getState();
    const label = `Loading ${describeSource(source)}`;
    const taskId = tasks.start(label, () => void inference.call((api) => api.cancel(taskId)));
    set({ lastError: undefined });
    try {
      const pack = await inference.call((api) =>
        api.loadPack(
          taskId,
          source,
          useSettings.getState().executionProvider,
          callback((p) =>
            useTasks.getState().update(taskId, p.total > 0 ? Math.min(p.loaded / p.total, 1) : null, p.message),
          ),
        ),
      );
      const how = pack.fetched.length ? `${formatBytes(fetchedBytes(pack))} fetched` : "from cache";
      useTasks.getState().finish(taskId, "done", `Loaded "${pack.id}" in ${Math.round(pack.loadMs)} ms (${how})`);
      if (pack.cacheWarning) useTasks.getState().notice("warning", pack.cacheWarning);
      for (const note of pack.notes) useTasks.getState().notice("info", note);
      set((s) => ({ loaded: { ...s.loaded, [pack.id]: pack } }));
      await get().refreshCached();
      return pack;
    } catch (e) {
      if (isAbortError(e)) {
        useTasks.getState().finish(taskId, "cancelled", "Cancelled; nothing was cached");
      } else {
        const message = (e as Error).message;
        useTasks.getState().finish(taskId, "error", message);
        set({ lastError: message });
      }
      await get().refreshCached();
      return undefined;
    }
  },

  async unload(id) {
    await inference.call((api) => api.unloadPack(id));
    set((s) => {
      const { [id]: _, ...rest } = s.loaded;
      return { loaded: rest };
    });
  },

  async refreshCached() {
    try {
      set({ cached: await inference.call((api) => api.cachedPacks()) });
    } catch (e) {
      useTasks.getState().notice("error", `Could not read the pack cache: ${(e as Error).message}`);
    }
  },

  async deleteCached(id) {
    await inference.call((api) => api.deleteCachedPack(id));
    await get().refreshCached();
  },
}));

function fetchedBytes(pack: LoadedPack): number {
  const sizes = new Map(packFiles(pack.manifest).map((f) => [f.file, f.bytes]));
  return pack.fetched.reduce((sum, f) => sum + (sizes.get(f) ?? 0), 0);
}

// A restarted inference worker has no sessions: forget what the old one had loaded.
inference.onCrash(() => usePacks.setState({ loaded: {} }));
