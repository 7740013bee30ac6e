/**
 * ONNX models in Node through onnxruntime-web's WASM backend, one thread: a pack's role sessions
 * as a RunRole, and any model file as a session run with the studio's TensorData.
 */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import type { RunRole, TensorData } from "../src/core/generate";
import type { ModelRun } from "../src/core/metrics/image-encoder";
import type { RoleName } from "../src/core/pack/manifest";
import type { Tensor } from "../src/core/safetensors";
import { packPath, readManifest } from "./packs";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

/** A session over an ONNX file's bytes. */
export function wasmSession(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
}

export function createSession(pack: string, role: RoleName): Promise<ort.InferenceSession> {
  const file = readManifest(pack).roles[role]?.file;
  if (!file) throw new Error(`${pack} has no ${role}`);
  return wasmSession(readFileSync(`${packPath(pack)}/${file}`));
}

/** `session.run` with TensorData in and out (outputs read as float32, as every pack model writes them). */
export function sessionRun(session: ort.InferenceSession): ModelRun {
  return async (feeds) => {
    const inputs = Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, t.dims)]),
    );
    const out = await session.run(inputs);
    const result: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(out)) {
      result[k] = { dtype: t.type as "float32", dims: [...t.dims], data: t.data as Float32Array };
    }
    return result;
  };
}

/** A RunRole over lazily created sessions of a pack. */
export function nodeRunner(pack: string): RunRole {
  const sessions = new Map<RoleName, Promise<ModelRun>>();
  return async (role, feeds) => {
    if (!sessions.has(role)) sessions.set(role, createSession(pack, role).then(sessionRun));
    return (await (sessions.get(role) as Promise<ModelRun>))(feeds);
  };
}

export function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype === "I64" ? "int64" : "float32", t.data, t.shape);
}
