/// <reference lib="webworker" />
/**
 * Training worker. For now it only acquires the WebGPU device the WGSL engine will use; training
 * requests are added with the engine.
 */
import * as Comlink from "comlink";
import { acquireDevice } from "../src/gpu/device";
import { TaskSignals } from "./task-signals";
import type { TrainingApi } from "./training-api";

const tasks = new TaskSignals();

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
};

Comlink.expose(api);
