/// <reference lib="webworker" />
/**
 * Training worker: checks the WebGPU device, and trains adapters (workers/training-run.ts) with
 * pause, resume from IndexedDB checkpoints and adapter export.
 */
import * as Comlink from "comlink";
import { readBaseAdapter } from "../src/core/pack/base-adapter";
import { exportAdapter } from "../src/core/training/adapter-file";
import type { GpuContext } from "../src/gpu/context";
import { acquireDevice } from "../src/gpu/device";
import { packCache } from "./pack-cache";
import { TaskSignals } from "./task-signals";
import { importAdapterFile, importedAdapters, importedTensors } from "./training-adapters";
import type { RunRecord, TrainingApi, TrainingEvent, TrainOptions } from "./training-api";
import { listRuns, openRun, packWeightsFile, readRun, trainRun } from "./training-run";

const tasks = new TaskSignals();
/** The GPU context of each run this worker is training (for testLoseDevice). */
const engines = new Map<string, GpuContext | null>();

async function start(record: RunRecord, onEvent: (e: TrainingEvent) => void, options: TrainOptions = {}) {
  try {
    return await tasks.run(record.id, (signal) =>
      trainRun(record, signal, onEvent, {
        previewEvery: options.previewEvery,
        onEngine: (ctx) => engines.set(record.id, ctx),
      }),
    );
  } finally {
    engines.delete(record.id);
  }
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
    return start(await openRun(runId, packId, dataset, config), onEvent, options);
  },
  async resume(runId, onEvent, options) {
    const record = await readRun(runId);
    if (!record) throw new Error(`no stored run "${runId}"`);
    return start(record, onEvent, options);
  },
  async testLoseDevice(runId) {
    const ctx = engines.get(runId);
    ctx?.device.destroy();
    return !!ctx;
  },
  async pause(runId) {
    return tasks.cancel(runId);
  },
  run: readRun,
  async runs() {
    return (await listRuns()).map((r) =>
      r.status === "running" && !engines.has(r.id)
        ? {
            ...r,
            status: "interrupted" as const,
            message: `the page was closed or reloaded during training; resume continues from the last checkpoint`,
          }
        : r,
    );
  },
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
};

Comlink.expose(api);
