/** Creates and checks one ONNX session per role with onnxruntime-web, one ORT call at a time. */

import * as ort from "onnxruntime-web";
import { float16Data, toFloat16 } from "../src/core/encoders/float16";
import { onnxLoadError } from "../src/core/onnx-load-error";
import { type Manifest, PackError, ROLE_NAMES, type RoleName } from "../src/core/pack";
import { checkSignature, type ValueInfo } from "../src/core/pack/signature";
import type { ExecutionProvider, TensorData } from "./inference-api";
import { ORT_ASSET_DIR, ORT_ASSET_FILES } from "./ort-assets";
import { SerialQueue } from "./serial-queue";

export type RoleSessions = Partial<Record<RoleName, ort.InferenceSession>>;

const queue = new SerialQueue();

/** Points ORT at the runtime files the studio serves itself (see vite/ort-assets.ts). */
export function configureOrt(baseUrl: string): void {
  const dir = new URL(ORT_ASSET_DIR, baseUrl).href;
  ort.env.wasm.wasmPaths = { mjs: dir + ORT_ASSET_FILES.mjs, wasm: dir + ORT_ASSET_FILES.wasm };
  ort.env.logLevel = "error";
  // Every core (ORT's default is half of them, which is one on a 2-core machine): generation is
  // the studio's heaviest ONNX work and runs alone in this worker. Threads need cross-origin isolation.
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(16, navigator.hardwareConcurrency) : 1;
}

export function wasmThreads(): number {
  return ort.env.wasm.numThreads ?? 1;
}

function metadata(list: readonly ort.InferenceSession.ValueMetadata[] | undefined): ValueInfo[] | undefined {
  return list?.map((m) =>
    m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: m.shape } : { name: m.name, isTensor: false },
  );
}

/**
 * Creates every role's session and checks it against the manifest. Throws a PackError naming the
 * role and file for a model ORT cannot load or whose inputs/outputs differ from the manifest.
 */
export async function createRoleSessions(
  manifest: Manifest,
  bytes: ReadonlyMap<string, Uint8Array>,
  provider: ExecutionProvider,
  signal: AbortSignal,
  onRole: (role: RoleName, file: string) => void,
): Promise<RoleSessions> {
  const sessions: RoleSessions = {};
  try {
    for (const role of ROLE_NAMES) {
      const spec = manifest.roles[role];
      if (!spec) continue;
      signal.throwIfAborted();
      onRole(role, spec.file);
      const model = bytes.get(spec.file) as Uint8Array;
      let session: ort.InferenceSession;
      try {
        session = await createRoleSession(role, model, provider);
      } catch (e) {
        throw new PackError(`role ${role}: ${onnxLoadError(spec.file, e)}`);
      }
      sessions[role] = session;
      const problems = checkSignature(spec, {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        inputMetadata: metadata(session.inputMetadata),
        outputMetadata: metadata(session.outputMetadata),
      });
      if (problems.length) {
        throw new PackError(
          `${role} (${spec.file}) does not match manifest.json roles.${role}: ${problems.join("; ")}`,
        );
      }
    }
    return sessions;
  } catch (e) {
    await releaseSessions(sessions);
    throw e;
  }
}

/**
 * On WebGPU the patch encoder's output stays on the GPU, where the quality kernel binds it in
 * place (workers/quality.ts); runSession downloads such outputs for every other caller.
 */
function sessionOptions(role: RoleName, provider: ExecutionProvider): ort.InferenceSession.SessionOptions {
  const gpuOutput = provider === "webgpu" && role === "patch_encoder";
  return {
    executionProviders: [provider],
    logSeverityLevel: 3,
    // Idle WASM threads block rather than spin: they share the cores with the other workers and,
    // on a software adapter, with the GPU process that runs WebGPU.
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
    ...(gpuOutput ? { preferredOutputLocation: "gpu-buffer" as const } : {}),
  };
}

type ExternalData = { path: string; data: Uint8Array }[];

/** One session with `role`'s options, through the serial queue; `externalData` for weights in separate files. */
export function createRoleSession(
  role: RoleName,
  model: Uint8Array,
  provider: ExecutionProvider,
  externalData?: ExternalData,
): Promise<ort.InferenceSession> {
  const options = { ...sessionOptions(role, provider), ...(externalData?.length ? { externalData } : {}) };
  return queue.run(() => ort.InferenceSession.create(model, options));
}

/** A session outside a pack (a user-supplied or registered encoder, `model.onnx_data` as `externalData`). */
export const createSession = (model: Uint8Array, provider: ExecutionProvider, externalData?: ExternalData) =>
  createRoleSession("patch_encoder", model, provider, externalData);

/** The dtype a session declares for an input (float32 when it does not say). */
export function inputType(session: ort.InferenceSession, name: string): string {
  const meta = session.inputMetadata?.find((m) => m.name === name);
  return meta?.isTensor ? meta.type : "float32";
}

/** A float32 feed as the tensor a model wants: converted to float16 for fp16 inputs. */
function feedTensor(session: ort.InferenceSession, name: string, t: TensorData): ort.Tensor {
  if (t.dtype === "float32" && inputType(session, name) === "float16") {
    return new ort.Tensor("float16", toFloat16(t.data as Float32Array), t.dims);
  }
  return new ort.Tensor(t.dtype, t.data, t.dims);
}

/** session.run through the serial queue, outputs left where ORT put them (CPU or GPU buffers). */
export function runOrt(
  session: ort.InferenceSession,
  feeds: Record<string, TensorData>,
): Promise<ort.InferenceSession.OnnxValueMapType> {
  const inputs = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, feedTensor(session, name, t)]));
  return queue.run(() => session.run(inputs));
}

/** Releases through the serial queue too: a release beside a create or run breaks ORT's WASM backend. */
export function releaseSession(session: ort.InferenceSession): Promise<void> {
  return queue.run(() => session.release());
}

export async function releaseSessions(sessions: RoleSessions): Promise<void> {
  for (const s of Object.values(sessions)) await releaseSession(s);
}

/** `onRunMs` gets the duration of session.run alone (benchmarks compare it with whole-pipeline time). */
export async function runSession(
  session: ort.InferenceSession,
  feeds: Record<string, TensorData>,
  onRunMs?: (ms: number) => void,
): Promise<Record<string, TensorData>> {
  const inputs = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, feedTensor(session, name, t)]));
  const outputs = await queue.run(async () => {
    const started = performance.now();
    const out = await session.run(inputs);
    onRunMs?.(performance.now() - started);
    return out;
  });
  const result: Record<string, TensorData> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    const data = tensor.location === "cpu" ? tensor.data : await tensor.getData(true);
    if (tensor.type === "float16") {
      // fp16 exports: read as float32, as every caller takes them.
      result[name] = { dtype: "float32", dims: [...tensor.dims], data: float16Data(data) };
      continue;
    }
    if (tensor.type !== "float32" && tensor.type !== "int64") {
      throw new Error(`output "${name}" has unsupported dtype ${tensor.type}`);
    }
    result[name] = { dtype: tensor.type, dims: [...tensor.dims], data: data as Float32Array | BigInt64Array };
  }
  return result;
}
