/** Test helpers: a pack's ONNX sessions through onnxruntime-web's WASM backend in Node. */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { packPath } from "../src/core/engine/testing/tiny";
import type { AdapterTensors, RunRole, TensorData } from "../src/core/generate";
import type { Manifest, RoleName } from "../src/core/pack/manifest";
import { parseSafetensors, type Tensor } from "../src/core/safetensors";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

export function loadSafetensors(path: string) {
  const b = readFileSync(path);
  return parseSafetensors(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), path);
}

export function need(tensors: ReadonlyMap<string, Tensor>, name: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`missing tensor ${name}`);
  return t;
}

export function readManifest(pack: string): Manifest {
  return JSON.parse(readFileSync(`${packPath(pack)}/manifest.json`, "utf8"));
}

export function createSession(pack: string, role: RoleName): Promise<ort.InferenceSession> {
  const file = readManifest(pack).roles[role]?.file;
  if (!file) throw new Error(`${pack} has no ${role}`);
  return ort.InferenceSession.create(readFileSync(`${packPath(pack)}/${file}`), { executionProviders: ["wasm"] });
}

/** A RunRole over lazily created sessions of a pack. */
export function nodeRunner(pack: string): RunRole {
  const sessions = new Map<RoleName, Promise<ort.InferenceSession>>();
  return async (role, feeds) => {
    if (!sessions.has(role)) sessions.set(role, createSession(pack, role));
    const s = await (sessions.get(role) as Promise<ort.InferenceSession>);
    const inputs = Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, t.dims)]),
    );
    const out = await s.run(inputs);
    const result: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(out)) {
      result[k] = { dtype: t.type as "float32", dims: [...t.dims], data: t.data as Float32Array };
    }
    return result;
  };
}

/** The pack's base adapter tensors from the denoiser weights file. */
export function baseAdapter(pack: string): AdapterTensors {
  const den = readManifest(pack).roles.denoiser;
  if (!den) throw new Error(`${pack} has no denoiser`);
  const weights = loadSafetensors(`${packPath(pack)}/${(den.weights as { file: string }).file}`).tensors;
  const spec = den.adapter as { tensors: { name: string }[] };
  return new Map(spec.tensors.map((t) => [t.name, need(weights, t.name).data as Float32Array]));
}

export function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype === "I64" ? "int64" : "float32", t.data, t.shape);
}
