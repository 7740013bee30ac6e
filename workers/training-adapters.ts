/**
 * Imported adapters in IndexedDB (their own database: idb-keyval opens one object store per
 * database). Each is validated against the pack's manifest on import, so a stored one always
 * carries every adapter tensor with its manifest shape.
 */
import { createStore, get, set, type UseStore, values } from "idb-keyval";
import { importAdapter } from "../src/core/training/adapter-file";
import { parseTrainingLog } from "../src/core/training/log";
import { packCache } from "./pack-cache";
import type { ImportedAdapter } from "./training-api";

interface StoredAdapter extends ImportedAdapter {
  tensors: Map<string, Float32Array>;
}

let store: UseStore | undefined;
const adapters = () => {
  store ??= createStore("patchdpo-adapters", "imported");
  return store;
};

export async function importAdapterFile(
  packId: string,
  bytes: ArrayBuffer,
  name: string,
  log?: { text: string; name: string },
): Promise<ImportedAdapter> {
  const pack = await packCache().record(packId);
  if (!pack) throw new Error(`pack "${packId}" is not in the pack cache: load it on the Models tab first`);
  const { tensors, metadata } = importAdapter(pack.manifest, bytes, name);
  const history = log && parseTrainingLog(log.text, log.name);
  const record: StoredAdapter = {
    id: crypto.randomUUID(),
    packId,
    label: name.replace(/\.safetensors$/i, ""),
    metadata,
    importedAt: new Date().toISOString(),
    history,
    tensors,
  };
  await set(record.id, record, adapters());
  const { tensors: _t, ...summary } = record;
  return summary;
}

export async function importedAdapters(packId: string): Promise<ImportedAdapter[]> {
  return (await values<StoredAdapter>(adapters()))
    .filter((a) => a.packId === packId)
    .map(({ tensors: _t, ...summary }) => summary)
    .sort((a, b) => a.importedAt.localeCompare(b.importedAt));
}

export async function importedTensors(id: string): Promise<Map<string, Float32Array>> {
  const stored = await get<StoredAdapter>(id, adapters());
  if (!stored) throw new Error(`no imported adapter "${id}"`);
  return stored.tensors;
}
