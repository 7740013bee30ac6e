/**
 * Training runs inside the training worker: the pack's denoiser weights from the pack cache, the
 * engine from createTrainer (WGSL when WebGPU works, CPU otherwise), the shared TrainingLoop, and
 * a run record in IndexedDB (settings, dataset, history, last good checkpoint) so that a run
 * resumes after a reload or a lost device from its last checkpoint. A non-finite loss or adapter
 * stops the run with the last good checkpoint kept as the run's adapter.
 */
import { createStore, get, set, type UseStore, values } from "idb-keyval";
import type { PreferenceDataset } from "../src/core/dataset/types";
import { denoiserArch } from "../src/core/engine/arch";
import { parseSafetensors } from "../src/core/safetensors";
import { alphasCumprod } from "../src/core/sampling";
import {
  type Checkpoint,
  DEFAULT_TRAIN_CONFIG,
  NonFiniteError,
  type StepReport,
  type TrainConfig,
  TrainingLoop,
} from "../src/core/training/loop";
import type { GpuContext } from "../src/gpu/context";
import { GpuDeviceLostError } from "../src/gpu/errors";
import { createTrainer } from "../src/gpu/trainer";
import { packCache } from "./pack-cache";
import type { RunRecord, TrainingEvent } from "./training-api";

let store: UseStore | undefined;
const runs = () => {
  store ??= createStore("patchdpo-training", "runs");
  return store;
};

/** A stored run; one saved before a setting existed (e.g. batchSize) gets its default. */
export async function readRun(id: string): Promise<RunRecord | undefined> {
  const r = await get<RunRecord>(id, runs());
  return r && { ...r, config: { ...DEFAULT_TRAIN_CONFIG, ...r.config } };
}
const saveRun = (r: RunRecord) => set(r.id, r, runs());

export async function listRuns(): Promise<Omit<RunRecord, "dataset" | "checkpoint">[]> {
  const all = await values<RunRecord>(runs());
  return all
    .map(({ dataset: _d, checkpoint: _c, ...rest }) => rest)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** The cached pack's manifest and its denoiser weights file (pack-relative path and bytes). */
export async function packWeightsFile(packId: string) {
  const record = await packCache().record(packId);
  if (!record) throw new Error(`pack "${packId}" is not in the pack cache: load it on the Models tab first`);
  const file = record.manifest.roles.denoiser?.weights.file;
  const entry = record.files.find((f) => f.file === file);
  if (!entry) throw new Error(`pack "${packId}" has no denoiser weights file in the cache`);
  const read = await packCache().read(entry);
  if (!read.ok) throw new Error(`pack "${packId}": ${read.problem}`);
  return { manifest: record.manifest, file: entry.file, bytes: read.bytes };
}

async function packWeights(packId: string) {
  const { manifest, file, bytes } = await packWeightsFile(packId);
  const { tensors } = parseSafetensors(bytes, file);
  return { manifest, weights: new Map([...tensors].map(([n, t]) => [n, t.data as Float32Array])) };
}

/** A new run record, or the stored one of `id` (resume). */
export async function openRun(
  id: string,
  packId: string,
  dataset: PreferenceDataset,
  config: TrainConfig,
): Promise<RunRecord> {
  const stored = await readRun(id);
  if (stored) return stored;
  const record: RunRecord = {
    id,
    packId,
    config,
    dataset,
    history: [],
    status: "new",
    createdAt: new Date().toISOString(),
  };
  await saveRun(record);
  return record;
}

/** A lost GPU device re-creates the engine and resumes from the last checkpoint this many times per call. */
export const MAX_DEVICE_LOSSES = 3;

export interface RunHooks {
  /** Every this many steps, the current adapter tensors (for sample previews); 0 = never. */
  previewEvery?: number;
  /** Each engine the run starts on (a new one after a lost device), e.g. for the test-only device-loss hook. */
  onEngine?(ctx: GpuContext | null): void;
}

export async function trainRun(
  record: RunRecord,
  signal: AbortSignal,
  onEvent: (e: TrainingEvent) => void,
  hooks: RunHooks = {},
): Promise<RunRecord> {
  const { manifest, weights } = await packWeights(record.packId);
  let good: Checkpoint | undefined = record.checkpoint;
  record.message = undefined;
  const keep = async (status: RunRecord["status"], message?: string) => {
    Object.assign(record, { checkpoint: good, status, message });
    await saveRun(record);
    onEvent({ kind: "checkpoint", step: good?.step ?? 0, status, message });
  };
  for (let losses = 0; ; losses++) {
    const choice = await createTrainer(
      (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu,
      denoiserArch(manifest),
      weights,
    );
    onEvent({ kind: "backend", backend: choice.backend, note: choice.fallbackReason });
    hooks.onEngine?.(choice.ctx);
    const { latent: l } = manifest;
    const loop = new TrainingLoop(
      choice.trainer,
      record.dataset,
      record.config,
      { channels: l.channels, height: l.height, width: l.width },
      alphasCumprod(manifest.scheduler),
    );
    try {
      if (good) loop.restore(good);
      else good = await loop.checkpoint();
      // Steps after the checkpoint are trained again on resume; their reports are replaced.
      record.history = record.history.filter((r) => r.step <= loop.step);
      await keep("running", record.message);
      while (!loop.done && !signal.aborted) {
        const report: StepReport = await loop.next();
        record.history.push(report);
        onEvent({ kind: "step", report });
        if (loop.step % record.config.checkpointEvery === 0) {
          good = await loop.checkpoint();
          await keep("running", record.message);
        }
        if (hooks.previewEvery && loop.step % hooks.previewEvery === 0)
          onEvent({ kind: "adapter", step: loop.step, tensors: await choice.trainer.readAdapter() });
      }
      good = await loop.checkpoint();
      await keep(loop.done ? "done" : "paused", record.message);
      return record;
    } catch (e) {
      if (e instanceof NonFiniteError) {
        record.history = record.history.filter((r) => r.step <= (good?.step ?? 0));
        await keep("failed", `${e.message}. Stopped and restored the last good checkpoint (step ${good?.step}).`);
        return record;
      }
      // device.lost may resolve a little after the failing call rejects: explain() waits for it.
      const explained = choice.ctx ? await choice.ctx.explain(e) : e;
      const lost = explained instanceof GpuDeviceLostError ? explained : undefined;
      const why = lost ? `The GPU device was lost (${lost.message})` : (e as Error).message;
      if (!lost || losses >= MAX_DEVICE_LOSSES || signal.aborted) {
        // The last checkpoint stays; train() or resume() again continues from it.
        await keep("interrupted", why);
        return record;
      }
      record.message = `${why}; resumed on a new device from the checkpoint at step ${good?.step ?? 0}.`;
    } finally {
      choice.trainer.destroy();
      choice.ctx?.destroy();
    }
  }
}
