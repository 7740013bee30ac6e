/**
 * Training runs inside the training worker: the pack's denoiser weights from the pack cache, the
 * engine from trainerFor (WGSL when WebGPU works, CPU otherwise, or the faster of the two for "auto"), the shared TrainingLoop, and
 * the run in IndexedDB (workers/training-store.ts: a record with settings, history and the list of
 * its last `keepCheckpoints` checkpoints, each checkpoint its own entry, the dataset written once)
 * so that a run resumes after a reload, a crash or a lost device from its newest checkpoint that
 * reads back whole. A non-finite loss or adapter stops the run with the last good checkpoint kept
 * as the run's adapter; a full storage quota stops it keeping the previous checkpoint.
 */
import type { PreferenceDataset } from "../src/core/dataset/types";
import { denoiserArch } from "../src/core/engine/arch";
import { isQuotaError } from "../src/core/pack/errors";
import { alphasCumprod } from "../src/core/sampling";
import { type AdapterSizes, adapterSizes } from "../src/core/training/checkpoint";
import {
  type Checkpoint,
  checkDataset,
  NonFiniteError,
  StepSource,
  type TrainConfig,
  TrainingLoop,
} from "../src/core/training/loop";
import type { GpuContext } from "../src/gpu/context";
import type { TrainingEngineChoice } from "../src/gpu/trainer";
import { stepFailure } from "./device-loss";
import { trainerFor } from "./engine-choice";
import { packCache } from "./pack-cache";
import { packWeights } from "./pack-weights";
import type { RunRecord, RunSummary, TrainingEvent } from "./training-api";
import {
  type HoldWrite,
  listRecords,
  newestWholeCheckpoint,
  readDataset,
  readRecord,
  saveDataset,
  saveRecord,
  storeCheckpoint,
  tidyRun,
} from "./training-store";

/** The adapter tensors of the pack's manifest, when the pack is cached (to check checkpoints against). */
async function packAdapterSizes(packId: string): Promise<AdapterSizes | undefined> {
  const record = await packCache().record(packId);
  const tensors = record?.manifest.roles.denoiser?.adapter.tensors;
  return tensors && adapterSizes(tensors);
}

/**
 * A stored run with its dataset and its newest checkpoint that reads back whole (undefined when
 * there is no such run); `note` says which newer checkpoints were passed over and why.
 */
export async function loadRun(id: string): Promise<{ record: RunRecord; note?: string } | undefined> {
  const r = await readRecord(id);
  if (!r) return undefined;
  const [dataset, sizes] = await Promise.all([readDataset(r), packAdapterSizes(r.packId)]);
  if (!dataset) throw new Error(`run "${id}": its stored dataset is missing`);
  const { checkpoint, passedOver } = await newestWholeCheckpoint(r, sizes);
  const { dataset: _d, checkpoint: _c, ...rest } = r;
  const record: RunRecord = { ...rest, dataset, checkpoint };
  const from = checkpoint ? `the checkpoint at step ${checkpoint.step}` : "step 0 (no stored checkpoint read back)";
  const note = passedOver.length
    ? `Passed over checkpoints that did not read back whole (${passedOver.join("; ")}); resumed from ${from}.`
    : undefined;
  return { record, note };
}

/** A stored run, one saved before a setting existed (e.g. keepCheckpoints) with its default. */
export async function readRun(id: string): Promise<RunRecord | undefined> {
  return (await loadRun(id))?.record;
}

export const listRuns = (): Promise<RunSummary[]> => listRecords();

/** A new run (its dataset stored, then its record), or the stored one of `id` (resume). */
export async function openRun(
  id: string,
  packId: string,
  dataset: PreferenceDataset,
  config: TrainConfig,
): Promise<{ record: RunRecord; note?: string }> {
  const stored = await loadRun(id);
  if (stored) return stored;
  checkDataset(dataset, config); // a dataset that cannot feed the loss is refused before anything is stored
  const record: RunRecord = {
    id,
    packId,
    config,
    dataset,
    history: [],
    checkpoints: [],
    status: "new",
    createdAt: new Date().toISOString(),
  };
  await saveDataset(id, dataset);
  await saveRecord(record);
  return { record };
}

export interface RunHooks {
  /** Every this many steps, the current adapter tensors (for sample previews); 0 = never. */
  previewEvery?: number;
  /** The training engine; absent: WGSL whenever a WebGPU device can be had. */
  engine?: TrainingEngineChoice;
  /** Each engine the run starts on (a new one after a lost device), e.g. for the test-only device-loss hook. */
  onEngine?(ctx: GpuContext | null): void;
  /** Test-only (testHoldCheckpointWrite): the hold of the checkpoint write at `step`, if one is armed. */
  holdCheckpointWrite?(step: number): HoldWrite | undefined;
}

/** A write that the browser's storage quota refused. */
class StorageFullError extends Error {
  constructor(what: string, kept: number | undefined) {
    super(
      `Browser storage is full: ${what} could not be saved (QuotaExceededError), so the run stopped; ${
        kept === undefined ? "it has no stored checkpoint yet" : `its checkpoint at step ${kept} is kept`
      }. Delete saved runs you no longer need (Saved runs below), datasets (Dataset tab) or cached packs (Models tab), then resume.`,
    );
  }
}

export async function trainRun(
  record: RunRecord,
  signal: AbortSignal,
  onEvent: (e: TrainingEvent) => void,
  hooks: RunHooks = {},
  note?: string,
): Promise<RunRecord> {
  const { manifest, weights } = await packWeights(record.packId);
  let good: Checkpoint | undefined = record.checkpoint;
  // Before any record is saved: a record of the first format moves its dataset and checkpoint out first.
  await tidyRun(record.id).catch((e) => {
    throw isQuotaError(e)
      ? new StorageFullError("the run's dataset and checkpoint, moved out of its old record,", good?.step)
      : e;
  });
  record.message = note;
  /** Stores `cp` (unless it is the one stored last) with the record at `status`; then it is the good one. */
  const save = async (cp: Checkpoint, status: RunRecord["status"]) => {
    record.status = status;
    const stored = record.checkpoints.at(-1)?.step === cp.step;
    try {
      await storeCheckpoint(record, cp, stored ? undefined : hooks.holdCheckpointWrite?.(cp.step));
    } catch (e) {
      if (!isQuotaError(e)) throw e;
      const what = stored ? "the run's record" : `the checkpoint at step ${cp.step}`;
      throw new StorageFullError(what, good?.step);
    }
    good = cp;
    record.checkpoint = cp;
    onEvent({ kind: "checkpoint", step: cp.step, status, message: record.message });
  };
  /** Ends the run at `status` with the last good checkpoint; a record that cannot be stored is still returned. */
  const settle = async (status: RunRecord["status"], message: string) => {
    record.history = record.history.filter((r) => r.step <= (good?.step ?? 0));
    Object.assign(record, { checkpoint: good, status, message });
    try {
      await saveRecord(record);
    } catch (e) {
      record.message = `${message} (The run's record could not be updated: ${(e as Error).message}.)`;
    }
    onEvent({ kind: "checkpoint", step: good?.step ?? 0, status, message: record.message });
    return record;
  };
  for (let losses = 0; ; losses++) {
    const { latent: l } = manifest;
    const latent = { channels: l.channels, height: l.height, width: l.width };
    const alphas = alphasCumprod(manifest.scheduler);
    const source = new StepSource(record.dataset, record.config, latent, alphas);
    const choice = await trainerFor(
      hooks.engine ?? "webgpu",
      manifest,
      denoiserArch(manifest),
      weights,
      source,
      good?.step ?? 0,
    );
    onEvent({ kind: "backend", backend: choice.backend, note: choice.note });
    hooks.onEngine?.(choice.ctx);
    const loop = new TrainingLoop(choice.trainer, source);
    try {
      if (good) loop.restore(good);
      // Steps after the checkpoint are trained again on resume; their reports and checkpoints are replaced.
      record.history = record.history.filter((r) => r.step <= loop.step);
      await save(good ?? (await loop.checkpoint()), "running");
      while (!loop.done && !signal.aborted) {
        const msPerStep = record.history.at(-1)?.ms ?? 0;
        for (const report of await loop.next(
          loop.stepsToReadback(msPerStep, record.config.checkpointEvery, hooks.previewEvery ?? 0),
        )) {
          record.history.push(report);
          onEvent({ kind: "step", report });
        }
        if (loop.step % record.config.checkpointEvery === 0) await save(await loop.checkpoint(), "running");
        if (hooks.previewEvery && loop.step % hooks.previewEvery === 0)
          onEvent({ kind: "adapter", step: loop.step, tensors: await choice.trainer.readAdapter() });
      }
      await save(await loop.checkpoint(), loop.done ? "done" : "paused");
      return record;
    } catch (e) {
      if (e instanceof StorageFullError) return await settle("interrupted", e.message);
      if (e instanceof NonFiniteError)
        return await settle(
          "failed",
          `${e.message}. Stopped and restored the last good checkpoint (step ${good?.step}).`,
        );
      const { resume, why } = await stepFailure(choice.ctx, e, losses, signal);
      // The last checkpoint stays; train() or resume() again continues from it.
      if (!resume) return await settle("interrupted", why);
      record.message = `${why}; resumed on a new device from the checkpoint at step ${good?.step ?? 0}.`;
    } finally {
      choice.trainer.destroy();
      choice.ctx?.destroy();
    }
  }
}
