/** Loaded and cached model packs, and the actions that load, unload and delete them. */

import { builtinPackIds } from "virtual:builtin-packs";
import { create } from "zustand";
import type { LoadedPack } from "../../../workers/inference-api";
import {
  concreteShape,
  formatBytes,
  type Manifest,
  type PackRecord,
  type PackSource,
  packFiles,
  ROLE_NAMES,
  type RoleName,
  zeroFeeds,
} from "../../core/pack";
import { callback, inference } from "../services/workers";
import { useCompute } from "./compute";
import { useSettings } from "./settings";
import { useStorage } from "./storage";
import { runTask, useTasks } from "./tasks";

export const DEFAULT_PACK_ID = "emoji64";
export const FALLBACK_PACK_ID = "tiny";

/**
 * The built-in pack to open: `?pack=<id>` if given, none for `?pack=none`, else emoji64, else
 * tiny, else the first one.
 */
export function defaultPackId(search = location.search): string | undefined {
  const requested = new URLSearchParams(search).get("pack");
  if (requested === "none") return undefined;
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

/** One role's run on zero inputs: its output shapes and time, or why it failed. */
export interface RoleRun {
  role: RoleName;
  text: string;
  ok: boolean;
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
  /** Runs each role of a loaded pack once on zero inputs and checks its output shapes against the manifest. */
  runEachRole(packId: string, manifest: Manifest): Promise<RoleRun[]>;
}

export interface PackNeeds {
  /** A role the tab cannot work without. */
  role?: RoleName;
  /** The pack the user chose in the tab. */
  chosen?: string;
}

/**
 * The pack a tab works on: the one chosen in it while that is loaded, else the first loaded pack
 * (in load order); either only if it has the role the tab needs.
 */
export function activePack(
  loaded: Record<string, LoadedPack>,
  { role, chosen }: PackNeeds = {},
): LoadedPack | undefined {
  const fits = (p: LoadedPack | undefined) => (p && (!role || p.manifest.roles[role]) ? p : undefined);
  return fits(chosen === undefined ? undefined : loaded[chosen]) ?? Object.values(loaded).find(fits);
}

/** The active pack (see activePack), re-rendering when it changes. */
export const useActivePack = (needs?: PackNeeds) => usePacks((s) => activePack(s.loaded, needs));

/**
 * Loads under way, by URL: a second request for the same pack while the first runs (React's
 * StrictMode runs the start-up effect twice in development; a double click) joins the first
 * rather than fetching everything again.
 */
const pending = new Map<string, Promise<LoadedPack | undefined>>();

export const usePacks = create<PacksState>()((set, get) => {
  async function loadNow(source: PackSource): Promise<LoadedPack | undefined> {
    set({ lastError: undefined });
    const result = await runTask(
      `Loading ${describeSource(source)}`,
      (signal, progress) =>
        inference.callCancellable(signal, (api, taskId) =>
          api.loadPack(
            taskId,
            source,
            useSettings.getState().executionProvider,
            callback((p) => progress(p.total > 0 ? Math.min(p.loaded / p.total, 1) : null, p.message)),
          ),
        ),
      {
        done: (pack) => {
          const how = pack.fetched.length ? `${formatBytes(fetchedBytes(pack))} fetched` : "from cache";
          return `Loaded "${pack.id}" in ${Math.round(pack.loadMs)} ms (${how})`;
        },
        cancelled: "Cancelled; nothing was cached",
      },
    );
    if (result.status === "done") {
      const pack = result.value;
      if (pack.cacheWarning) useTasks.getState().notice("warning", pack.cacheWarning);
      for (const note of pack.notes) useTasks.getState().notice("info", note);
      set((s) => ({ loaded: { ...s.loaded, [pack.id]: pack } }));
      // "auto" was measured (or read back) by this load: the header says what it chose.
      if (pack.backend) void useCompute.getState().probe();
    } else if (result.status === "error") set({ lastError: result.message });
    await get().refreshCached();
    return result.status === "done" ? result.value : undefined;
  }

  return {
    loaded: {},
    cached: [],

    load(source) {
      const key = source.kind === "url" ? source.url : undefined;
      const running = key === undefined ? undefined : pending.get(key);
      if (running) return running;
      const started = loadNow(source).finally(() => {
        if (key !== undefined) pending.delete(key);
      });
      if (key !== undefined) pending.set(key, started);
      return started;
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
      await useStorage.getState().refresh(); // the cache is most of the origin's storage
    },

    async deleteCached(id) {
      await inference.call((api) => api.deleteCachedPack(id));
      await get().refreshCached();
    },

    async runEachRole(packId, manifest) {
      const results: RoleRun[] = [];
      for (const role of ROLE_NAMES) {
        const spec = manifest.roles[role];
        if (!spec) continue;
        const started = performance.now();
        try {
          const out = await inference.call((api) =>
            api.run(packId, role, zeroFeeds(spec.inputs, 1, manifest.roles.image_encoder?.tokens)),
          );
          const ms = Math.round(performance.now() - started);
          const shapes = spec.outputs.map((t) => {
            const got = out[t.name];
            const ok = got && got.dims.join() === concreteShape(t.shape, 1).join();
            return { ok, text: `${t.name} ${got ? `[${got.dims.join(", ")}]` : "missing"}` };
          });
          results.push({
            role,
            ok: shapes.every((s) => s.ok),
            text: `${shapes.map((s) => s.text).join(", ")} in ${ms} ms`,
          });
        } catch (e) {
          results.push({ role, ok: false, text: `failed: ${(e as Error).message}` });
        }
      }
      return results;
    },
  };
});

function fetchedBytes(pack: LoadedPack): number {
  const sizes = new Map(packFiles(pack.manifest).map((f) => [f.file, f.bytes]));
  return pack.fetched.reduce((sum, f) => sum + (sizes.get(f) ?? 0), 0);
}

// A restarted inference worker has no sessions: forget what the old one had loaded.
inference.onCrash(() => usePacks.setState({ loaded: {} }));
