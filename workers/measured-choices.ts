/**
 * Choices "auto" made by measuring (the ONNX Runtime backend, the training engine, kernel
 * variants), kept in one
 * IndexedDB store per origin so a later load or run on the same device skips the timing. Storage
 * trouble (a full quota, private mode) only costs a new measurement, so it is never an error.
 */
import { createStore, get, set, type UseStore } from "idb-keyval";

type MeasuredKind = "backend" | "engine" | "kernels";

let store: UseStore | undefined;
const choices = () => {
  store ??= createStore("patchdpo-measured-choices", "choices");
  return store;
};

export const recalled = <T>(kind: MeasuredKind, key: string): Promise<T | undefined> =>
  get<T>(`${kind}|${key}`, choices()).catch(() => undefined);

export const remember = <T>(kind: MeasuredKind, key: string, value: T): Promise<void> =>
  set(`${kind}|${key}`, value, choices()).catch(() => undefined);
