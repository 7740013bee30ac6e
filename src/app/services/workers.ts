/** The app's worker instances. Vite bundles each worker from the `new URL(...)` literal. */
import * as Comlink from "comlink";
import type { DatasetApi } from "../../../workers/dataset-api";
import type { InferenceApi } from "../../../workers/inference-api";
import type { TrainingApi } from "../../../workers/training-api";
import { WorkerHost } from "./worker-host";

export const inference = new WorkerHost<InferenceApi>(
  "inference",
  () => new Worker(new URL("../../../workers/inference.worker.ts", import.meta.url), { type: "module" }),
);

export const training = new WorkerHost<TrainingApi>(
  "training",
  () => new Worker(new URL("../../../workers/training.worker.ts", import.meta.url), { type: "module" }),
);

export const dataset = new WorkerHost<DatasetApi>(
  "dataset",
  () => new Worker(new URL("../../../workers/dataset.worker.ts", import.meta.url), { type: "module" }),
);

/** Wraps a callback so the worker can call it across the boundary. */
export const callback = <F extends (...args: never[]) => unknown>(fn: F) => Comlink.proxy(fn);
