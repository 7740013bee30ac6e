/// <reference lib="webworker" />
/**
 * Training worker: checks the WebGPU device, and trains adapters (workers/training-run.ts) with
 * pause, resume from IndexedDB checkpoints and adapter export; each run trains under its Web Lock
 * (workers/tab-locks.ts), so no two tabs train the same run.
 */
import * as Comlink from "comlink";
import { readBaseAdapter } from "../src/core/pack/base-adapter";
import { exportAdapter } from "../src/core/training/adapter-file";
import type { GpuContext } from "../src/gpu/context";
import { acquireDevice } from "../src/gpu/device";
import type { EnhanceRecord } from "./enhance-api";
import { enhanceRun } from "./enhance-run";
import { deleteEnhance, listEnhance, readEnhance, saveEnhance } from "./enhance-store";
import { enhancedEncoderFile } from "./enhanced-encoder";
import { packCache } from "./pack-cache";
import { packWeightsFile } from "./pack-weights";
import { heldLocks, lockTab, released, withTabLock } from "./tab-locks";
import { TaskSignals } from "./task-signals";
import { importAdapterFile, importedAdapters, importedTensors } from "./training-adapters";
import type { RunRecord, TrainingApi, TrainingEvent, TrainOptions } from "./training-api";
import { listRuns, loadRun, openRun, readRun, trainRun } from "./training-run";
import { deleteStoredRun } from "./training-store";

const tasks = new TaskSignals();
/** The GPU context of each run this worker is training (for testLoseDevice and testStats). */
const engines = new Map<string, GpuContext | null>();
/** Armed test holds of checkpoint writes (testHoldCheckpointWrite), by run. */
const holds = new Map<string, { fromStep: number; started: (step: number) => void }>();

/** Trains the run `open` reads, holding its lock (refused with HeldError when another trainer has it). */
function start(
  runId: string,
  open: () => Promise<{ record: RunRecord; note?: string }>,
  onEvent: (e: TrainingEvent) => void,
  options: TrainOptions = {},
) {
  return withTabLock("run", runId, lockTab(options.tab), async () => {
    // Read under the lock: another tab may have trained the run until a moment ago.
    const { record, note } = await open();
    try {
      return await tasks.run(runId, (signal) =>
        trainRun(
          record,
          signal,
          onEvent,
          {
            previewEvery: options.previewEvery,
            engine: options.engine,
            onEngine: (ctx) => engines.set(runId, ctx),
            holdCheckpointWrite(step) {
              const hold = holds.get(runId);
              if (!hold || step < hold.fromStep) return undefined;
              holds.delete(runId);
              return () => hold.started(step);
            },
          },
          note,
        ),
      );
    } finally {
      engines.delete(runId);
    }
  });
}

const api: TrainingApi = {
  checkEngine(taskId, onProgress) {
    return tasks.run(taskId, async (signal) => {
      onProgress({ phase: "adapter", message: "Requesting WebGPU adapter and device" });
      const { device, adapter } = await acquireDevice();
      signal.throwIfAborted();
      onProgress({ phase: "device", message: `Device ready on ${adapter.name}` });
      const { maxBufferSize, maxStorageBufferBindingSize, maxComputeInvocationsPerWorkgroup } = device.limits;
      device.destroy();
      return { adapter, limits: { maxBufferSize, maxStorageBufferBindingSize, maxComputeInvocationsPerWorkgroup } };
    });
  },
  async cancel(taskId) {
    return tasks.cancel(taskId);
  },
  async train(runId, packId, dataset, config, onEvent, options) {
    return start(runId, () => openRun(runId, packId, dataset, config), onEvent, options);
  },
  async resume(runId, onEvent, options) {
    const open = async () => {
      const loaded = await loadRun(runId);
      if (!loaded) throw new Error(`no stored run "${runId}"`);
      return loaded;
    };
    return start(runId, open, onEvent, options);
  },
  async deleteRun(runId, tab) {
    await withTabLock("run", runId, lockTab(tab), () => deleteStoredRun(runId));
  },
  async testLoseDevice(runId) {
    const ctx = engines.get(runId);
    ctx?.device.destroy();
    return !!ctx;
  },
  testHoldCheckpointWrite(runId, fromStep) {
    return new Promise((started) => holds.set(runId, { fromStep, started }));
  },
  async testStats() {
    const gpu = [...engines.values()].filter((ctx) => ctx !== null);
    const memory = (performance as { memory?: { usedJSHeapSize: number } }).memory;
    return {
      gpuBuffers: gpu.length ? gpu.reduce((n, ctx) => n + ctx.pool.liveCount, 0) : null,
      heapBytes: memory?.usedJSHeapSize ?? null,
    };
  },
  async pause(runId) {
    return tasks.cancel(runId);
  },
  run: readRun,
  async runs() {
    const [runs, held] = await Promise.all([listRuns(), heldLocks("run")]);
    return runs.map((r) => {
      const live = held.has(r.id) || engines.has(r.id);
      if (r.status === "running" && !live)
        return {
          ...r,
          status: "interrupted" as const,
          message: "the page was closed or reloaded, or its worker ended, during training",
        };
      const tab = held.get(r.id);
      return tab ? { ...r, heldBy: tab } : r;
    });
  },
  released: (runId) => released("run", runId),
  async baseAdapter(packId) {
    const { manifest, file, bytes } = await packWeightsFile(packId);
    return readBaseAdapter(manifest, new Map([[file, bytes]]));
  },
  async exportAdapter(runId) {
    const record = await readRun(runId);
    if (!record?.checkpoint) throw new Error(`run "${runId}" has no checkpoint`);
    const pack = await packCache().record(record.packId);
    if (!pack) throw new Error(`pack "${record.packId}" is not in the pack cache`);
    const meta = { run: runId, step: String(record.checkpoint.step), config: JSON.stringify(record.config) };
    return exportAdapter(pack.manifest, record.checkpoint.adapter, meta);
  },
  async runAdapter(runId) {
    const record = await readRun(runId);
    if (!record?.checkpoint) throw new Error(`run "${runId}" has no checkpoint`);
    return record.checkpoint.adapter;
  },
  importAdapter: importAdapterFile,
  importedAdapters,
  importedAdapter: importedTensors,

  async enhance(id, packId, label, images, config, onEvent, options = {}) {
    return withTabLock("run", id, lockTab(options.tab), async () => {
      const stored = await readEnhance(id);
      const record: EnhanceRecord = stored ?? {
        id,
        packId,
        label,
        config,
        images,
        history: [],
        sPatch: [],
        matches: {},
        step: 0,
        status: "new",
        createdAt: new Date().toISOString(),
      };
      if (!stored) await saveEnhance(record);
      try {
        return await tasks.run(id, (signal) =>
          enhanceRun(record, signal, onEvent, { engine: options.engine, onEngine: (ctx) => engines.set(id, ctx) }),
        );
      } finally {
        engines.delete(id);
      }
    });
  },
  async pauseEnhance(id) {
    return tasks.cancel(id);
  },
  async enhanceRuns() {
    const [runs, held] = await Promise.all([listEnhance(), heldLocks("run")]);
    return runs.map((r) =>
      r.status === "running" && !held.has(r.id) && !engines.has(r.id)
        ? { ...r, status: "interrupted" as const, message: "the page was closed or reloaded during enhancement" }
        : r,
    );
  },
  enhanceRun: readEnhance,
  async deleteEnhance(id, tab) {
    await withTabLock("run", id, lockTab(tab), () => deleteEnhance(id));
  },
  exportEncoder: enhancedEncoderFile,
};

Comlink.expose(api);
