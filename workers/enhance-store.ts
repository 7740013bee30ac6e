/**
 * Where enhancement runs live in IndexedDB: `patchdpo-enhance`/`runs` holds the records,
 * `patchdpo-enhance-checkpoints`/`checkpoints` one checkpoint per run (trained parameters and
 * AdamW state). Each is one put, whole or absent; the checkpoint is written before the record
 * that states its step, and a run resumes from the checkpoint's own step (a crash between the two
 * writes leaves the record a checkpoint behind, and the steps after it are trained again).
 */
import { createStore, del, get, set, type UseStore, values } from "idb-keyval";
import type { EncoderState } from "../src/core/enhance/trainer";
import type { EnhanceRecord, EnhanceSummary } from "./enhance-api";

export interface EnhanceCheckpoint {
  step: number;
  state: EncoderState;
}

let stores: { runs: UseStore; checkpoints: UseStore } | undefined;
const db = () => {
  stores ??= {
    runs: createStore("patchdpo-enhance", "runs"),
    checkpoints: createStore("patchdpo-enhance-checkpoints", "checkpoints"),
  };
  return stores;
};

export const readEnhance = (id: string) => get<EnhanceRecord>(id, db().runs);
export const saveEnhance = (r: EnhanceRecord) => set(r.id, r, db().runs);
export const readEnhanceCheckpoint = (id: string) => get<EnhanceCheckpoint>(id, db().checkpoints);
export const saveEnhanceCheckpoint = (id: string, cp: EnhanceCheckpoint) => set(id, cp, db().checkpoints);

export async function listEnhance(): Promise<EnhanceSummary[]> {
  const all = await values<EnhanceRecord>(db().runs);
  return all
    .map(({ images, ...r }) => ({ ...r, imageLabels: images.map((i) => i.label) }))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function deleteEnhance(id: string): Promise<void> {
  await del(id, db().checkpoints);
  await del(id, db().runs);
}
