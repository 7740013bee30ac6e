/**
 * Where training runs live in IndexedDB: three databases, so that every write is its own small
 * transaction.
 *
 * - `patchdpo-training`/`runs`: the run record (settings, history, status, and the list of its
 *   stored checkpoints, oldest first);
 * - `patchdpo-training-checkpoints`/`checkpoints`: one entry per checkpoint (adapter and AdamW
 *   state), keyed `[runId, step]`;
 * - `patchdpo-training-datasets`/`datasets`: each run's dataset, written once when the run starts.
 *
 * A checkpoint is written before the record that lists it, and the checkpoints that drop out of the
 * list are deleted after: a crash mid-write leaves the record listing the previous checkpoints,
 * each whole. Records of the first format (dataset and one checkpoint inline) read as they are and
 * are rewritten in this layout when the run trains again.
 */
import { createStore, get, promisifyRequest, set, type UseStore, values } from "idb-keyval";
import type { PreferenceDataset } from "../src/core/dataset/types";
import {
  type AdapterSizes,
  type CheckpointRef,
  checkpointProblem,
  keepCheckpoints,
} from "../src/core/training/checkpoint";
import { type Checkpoint, DEFAULT_TRAIN_CONFIG } from "../src/core/training/loop";
import type { RunRecord, RunSummary } from "./training-api";

/** A run record as stored; one of the first format also holds its dataset and checkpoint inline. */
interface StoredRun extends Omit<RunRecord, "dataset" | "checkpoint" | "checkpoints"> {
  checkpoints?: CheckpointRef[];
  dataset?: PreferenceDataset;
  checkpoint?: Checkpoint;
}

const stores = new Map<string, UseStore>();
const open = (db: string, name: string) => () => {
  let s = stores.get(db);
  if (!s) {
    s = createStore(db, name);
    stores.set(db, s);
  }
  return s;
};
const runs = open("patchdpo-training", "runs");
const checkpoints = open("patchdpo-training-checkpoints", "checkpoints");
const datasets = open("patchdpo-training-datasets", "datasets");

/** Every key of run `id` in the checkpoint store: `[id, step]` sorts between `[id]` and `[id, []]`. */
const runRange = (id: string) => IDBKeyRange.bound([id], [id, []]);

/** A stored record with the settings it predates at their defaults and its checkpoint list. */
function normalized(r: StoredRun): StoredRun & { checkpoints: CheckpointRef[] } {
  const legacy = r.checkpoint ? [{ step: r.checkpoint.step, savedAt: r.createdAt }] : [];
  return { ...r, config: { ...DEFAULT_TRAIN_CONFIG, ...r.config }, checkpoints: r.checkpoints ?? legacy };
}

export async function readRecord(id: string) {
  const r = await get<StoredRun>(id, runs());
  return r && normalized(r);
}

/** Every stored run, oldest first, without dataset and checkpoint tensors. */
export async function listRecords(): Promise<RunSummary[]> {
  const all = await values<StoredRun>(runs());
  return all
    .map((r) => {
      const { dataset: _d, checkpoint: _c, ...rest } = normalized(r);
      return rest;
    })
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** The record as stored: everything but the dataset and the checkpoint tensors. */
export function saveRecord(r: Omit<RunRecord, "dataset" | "checkpoint">): Promise<void> {
  const { id, packId, config, history, checkpoints, status, message, createdAt } = r;
  return set(id, { id, packId, config, history, checkpoints, status, message, createdAt }, runs());
}

export const saveDataset = (id: string, ds: PreferenceDataset) => set(id, ds, datasets());

export async function readDataset(r: StoredRun): Promise<PreferenceDataset | undefined> {
  return r.dataset ?? get<PreferenceDataset>(r.id, datasets());
}

/**
 * Test hook of a checkpoint write (workers/training.worker.ts `testHoldCheckpointWrite`): called
 * once the entry's put is issued, after which the transaction is kept open (never committed) until
 * the worker ends, as a write cut short by a crash.
 */
export type HoldWrite = () => void;

/** Writes one checkpoint entry in its own transaction; resolves once it is committed. */
function putCheckpoint(id: string, cp: Checkpoint, hold?: HoldWrite): Promise<void> {
  return checkpoints()("readwrite", (store) => {
    store.put(cp, [id, cp.step]);
    if (hold) {
      // Requests chained from each other's callbacks keep the transaction active, so it never commits.
      const spin = () => {
        store.count().onsuccess = spin;
      };
      spin();
      hold();
    }
    return promisifyRequest(store.transaction);
  });
}

function deleteCheckpoints(id: string, steps: number[]): Promise<void> {
  return checkpoints()("readwrite", (store) => {
    for (const step of steps) store.delete([id, step]);
    return promisifyRequest(store.transaction);
  });
}

/**
 * Stores checkpoint `cp` of the run: its entry (own transaction), then the record listing it among
 * the newest `config.keepCheckpoints` (own transaction; `record.checkpoints` changes only once that
 * is stored), then deletes the entries that dropped out. A checkpoint of the step the list already
 * ends with only rewrites the record.
 */
export async function storeCheckpoint(
  record: Omit<RunRecord, "dataset" | "checkpoint">,
  cp: Checkpoint,
  hold?: HoldWrite,
): Promise<void> {
  if (record.checkpoints.at(-1)?.step === cp.step) return saveRecord(record);
  await putCheckpoint(record.id, cp, hold);
  const { kept, dropped } = keepCheckpoints(
    record.checkpoints,
    { step: cp.step, savedAt: new Date().toISOString() },
    record.config.keepCheckpoints,
  );
  await saveRecord({ ...record, checkpoints: kept });
  record.checkpoints = kept;
  // Best effort: an entry left behind by a crash here is collected when the run trains again.
  await deleteCheckpoints(
    record.id,
    dropped.map((d) => d.step),
  ).catch(() => undefined);
}

/**
 * The newest listed checkpoint of the run that reads back whole (checkpoint.ts), and why each newer
 * one was passed over.
 */
export async function newestWholeCheckpoint(
  r: StoredRun & { checkpoints: CheckpointRef[] },
  sizes?: AdapterSizes,
): Promise<{ checkpoint?: Checkpoint; passedOver: string[] }> {
  const passedOver: string[] = [];
  for (const ref of [...r.checkpoints].reverse()) {
    let cp: unknown;
    try {
      cp =
        (await get<Checkpoint>([r.id, ref.step], checkpoints())) ?? (r.checkpoint?.step === ref.step && r.checkpoint);
    } catch (e) {
      passedOver.push(`step ${ref.step}: ${(e as Error).message}`);
      continue;
    }
    const problem = checkpointProblem(cp, sizes, ref.step);
    if (!problem) return { checkpoint: cp as Checkpoint, passedOver };
    passedOver.push(`step ${ref.step}: ${problem}`);
  }
  return { passedOver };
}

/**
 * Rewrites a record of the first format in this layout (dataset, then its checkpoint entry, then
 * the record without them), and deletes checkpoint entries of the run that its record does not
 * list (left by a crash between a checkpoint's entry and its record).
 */
export async function tidyRun(id: string): Promise<void> {
  const stored = await get<StoredRun>(id, runs());
  if (!stored) return;
  const r = normalized(stored);
  if (stored.dataset) await saveDataset(id, stored.dataset);
  if (stored.checkpoint) await putCheckpoint(id, stored.checkpoint);
  if (stored.dataset || stored.checkpoint) await saveRecord(r);
  const listed = new Set(r.checkpoints.map((c) => c.step));
  const keys = await checkpoints()("readonly", (store) => promisifyRequest(store.getAllKeys(runRange(id))));
  const orphans = keys.map((k) => (k as [string, number])[1]).filter((step) => !listed.has(step));
  if (orphans.length) await deleteCheckpoints(id, orphans);
}

/** Deletes the run: its record first (so nothing lists what follows), its checkpoints, its dataset. */
export async function deleteStoredRun(id: string): Promise<void> {
  await runs()("readwrite", (store) => {
    store.delete(id);
    return promisifyRequest(store.transaction);
  });
  await checkpoints()("readwrite", (store) => {
    store.delete(runRange(id));
    return promisifyRequest(store.transaction);
  });
  await datasets()("readwrite", (store) => {
    store.delete(id);
    return promisifyRequest(store.transaction);
  });
}
