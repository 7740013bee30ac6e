/** Stored datasets in IndexedDB (their own database: idb-keyval opens one object store per database). */
import { createStore, del, get, set, type UseStore, values } from "idb-keyval";
import type { StoredDataset } from "../src/core/dataset/format";
import { meanQuality } from "../src/core/dataset/types";
import { isQuotaError } from "../src/core/pack/errors";
import type { DatasetSummary } from "./dataset-api";

let store: UseStore | undefined;
const datasets = () => {
  store ??= createStore("patchdpo-datasets", "datasets");
  return store;
};

export function summarize(d: StoredDataset): DatasetSummary {
  const { samples, references, packId } = d.dataset;
  return {
    id: d.id,
    name: d.name,
    packId,
    createdAt: d.createdAt,
    references: references.length,
    samples: samples.length,
    meanGen: samples.reduce((s, x) => s + meanQuality(x), 0) / samples.length,
    settings: d.settings,
  };
}

export const readDataset = (id: string) => get<StoredDataset>(id, datasets());
/** Stores `d`; a full quota is refused with what to free (the write is one transaction: nothing is half-stored). */
export async function saveDataset(d: StoredDataset): Promise<void> {
  try {
    await set(d.id, d, datasets());
  } catch (e) {
    if (!isQuotaError(e)) throw e;
    throw new Error(
      `Not enough browser storage to save dataset "${d.name}". Nothing was stored; free space by deleting ` +
        "saved runs, other datasets or cached packs (the Models tab shows the storage used), then build it again.",
    );
  }
}
export const removeDataset = (id: string) => del(id, datasets());

export async function listDatasets(packId: string): Promise<DatasetSummary[]> {
  return (await values<StoredDataset>(datasets()))
    .filter((d) => d.dataset.packId === packId)
    .map(summarize)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
