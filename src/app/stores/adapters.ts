/**
 * The adapters a generation can use: the pack's own ("base"), every saved training run with a
 * checkpoint, and imported safetensors files. Runs and imports live in the training worker's
 * IndexedDB; this store lists them and fetches their tensors on demand.
 */
import { useEffect, useState } from "react";
import { create } from "zustand";
import type { AdapterInput } from "../../../workers/inference-api";
import type { ImportedAdapter } from "../../../workers/training-api";
import { training } from "../services/workers";

export interface AdapterChoice {
  id: string;
  label: string;
  source: "base" | "run" | "import";
  method?: string;
  packId: string;
}

interface AdaptersState {
  list: AdapterChoice[];
  /** The pack's imported adapters as stored (metadata, training log). */
  imported: ImportedAdapter[];
  /** Lists base + the pack's saved runs + its imported adapters. */
  refresh(packId: string): Promise<void>;
  tensors(id: string): Promise<AdapterInput>;
  /** Validates and stores a safetensors adapter for the pack (with its log.jsonl, for curves), then lists it. */
  importFile(packId: string, file: File, log?: File): Promise<AdapterChoice>;
}

const RUN = "run:";
const IMPORT = "import:";
/** The picker id of an imported adapter. */
export const importedChoiceId = (importedId: string) => IMPORT + importedId;

export const baseChoice = (packId: string): AdapterChoice => ({ id: "base", label: "base", source: "base", packId });

export const useAdapters = create<AdaptersState>()((set, get) => ({
  list: [],
  imported: [],

  async refresh(packId) {
    const [runs, imported] = await Promise.all([
      training.call((api) => api.runs()),
      training.call((api) => api.importedAdapters(packId)),
    ]);
    set({
      imported,
      list: [
        baseChoice(packId),
        ...runs
          .filter((r) => r.packId === packId && r.history.length > 0)
          .map((r): AdapterChoice => {
            const step = r.history.at(-1)?.step ?? 0;
            return {
              id: RUN + r.id,
              label: `${r.id} (${r.config.loss.method}, step ${step})`,
              source: "run",
              method: r.config.loss.method,
              packId,
            };
          }),
        ...imported.map(
          (a): AdapterChoice => ({
            id: importedChoiceId(a.id),
            label: `${a.label} (imported)`,
            source: "import",
            method: methodOf(a.metadata),
            packId,
          }),
        ),
      ],
    });
  },

  async tensors(id) {
    if (id === "base") return { kind: "base" };
    const label = get().list.find((a) => a.id === id)?.label ?? id;
    if (id.startsWith(RUN)) {
      const runId = id.slice(RUN.length);
      return { kind: "tensors", label, tensors: await training.call((api) => api.runAdapter(runId)) };
    }
    if (id.startsWith(IMPORT)) {
      const key = id.slice(IMPORT.length);
      return { kind: "tensors", label, tensors: await training.call((api) => api.importedAdapter(key)) };
    }
    throw new Error(`unknown adapter "${id}"`);
  },

  async importFile(packId, file, log) {
    const bytes = await file.arrayBuffer();
    const logText = log && { text: await log.text(), name: log.name };
    const a = await training.call((api) => api.importAdapter(packId, bytes, file.name, logText));
    await get().refresh(packId);
    const choice = get().list.find((c) => c.id === importedChoiceId(a.id));
    if (!choice) throw new Error(`imported adapter "${a.label}" did not appear in the list`);
    return choice;
  },
}));

/** The loss method recorded in a studio export's metadata (its training config), if any. */
function methodOf(metadata: Record<string, string>): string | undefined {
  try {
    return (JSON.parse(metadata.config ?? "{}") as { loss?: { method?: string } }).loss?.method;
  } catch {
    return undefined;
  }
}

/** How pickers name an adapter. */
export const adapterLabel = (a: AdapterChoice): string => (a.source === "base" ? "base (the pack's own)" : a.label);

/** The pack's adapters for a picker, refreshed when the pack changes; `error` says why a refresh or an import failed. */
export function usePackAdapters(packId: string) {
  const list = useAdapters((s) => s.list).filter((a) => a.packId === packId);
  const [error, setError] = useState<string>();
  useEffect(() => {
    useAdapters
      .getState()
      .refresh(packId)
      .catch((e: Error) => setError(e.message));
  }, [packId]);
  return { list, error, setError };
}
