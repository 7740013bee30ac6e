/**
 * A Hugging Face / transformers.js model folder on disk as a metric encoder in Node (tests, the
 * paper benchmark): the same staging, derivation and binding as the studio's worker, with
 * onnxruntime-web's WASM backend, external data and float16 I/O handled.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import * as ort from "onnxruntime-web";
import { float16Data, toFloat16 } from "../src/core/encoders/float16";
import { bindHfModel, type HfBinding } from "../src/core/encoders/hf";
import type { Backend } from "../src/core/encoders/hf-folder";
import { type EncoderModel, type FolderSource, type StagedFolder, stageHfFolder } from "../src/core/encoders/registry";
import { externalDataOption, sessionSignature } from "../src/core/encoders/session";
import type { TensorData } from "../src/core/generate";
import type { RgbaImage } from "../src/core/generate/image";
import {
  type Encoded,
  encodeImage,
  type ImageEncoder,
  imageEncoder,
  type ModelRun,
} from "../src/core/metrics/image-encoder";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

/** Node's WASM backend: the int8 export first, as in the browser. */
export const NODE_BACKEND: Backend = { provider: "wasm", shaderF16: false };

/** Every file under `dir` by its `/`-separated relative path, as a folder drop gives them. */
export function folderFiles(dir: string, label = dir): Extract<FolderSource, { kind: "files" }> {
  const files = new Map<string, Blob>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path).split(sep).join("/"), new Blob([readFileSync(path)]));
    }
  };
  walk(dir);
  return { kind: "files", label, files };
}

/** `session.run` with float32 feeds converted to the model's input dtype and float16 outputs read as float32. */
export function convertingRun(session: ort.InferenceSession, inputType: HfBinding["inputType"]): ModelRun {
  return async (feeds) => {
    const inputs = Object.fromEntries(
      Object.entries(feeds).map(([k, t]) =>
        inputType === "float16" && t.dtype === "float32"
          ? [k, new ort.Tensor("float16", toFloat16(t.data as Float32Array), t.dims)]
          : [k, new ort.Tensor(t.dtype, t.data, t.dims)],
      ),
    );
    const out = await session.run(inputs);
    const result: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(out)) {
      const data = t.type === "float16" ? float16Data(t.data) : (t.data as Float32Array);
      result[k] = { dtype: "float32", dims: [...t.dims], data };
    }
    return result;
  };
}

export interface OpenedHfEncoder {
  staged: StagedFolder;
  model: EncoderModel;
  session: ort.InferenceSession;
  binding: HfBinding;
  run: ModelRun;
  /** White background: only used by specs without a preprocess block. */
  encoder: ImageEncoder;
  encode(image: RgbaImage, what?: string): Promise<Encoded>;
}

/** Stages the folder, opens `file` (or the backend's export) with its external data, binds and checks it. */
export async function openHfFolder(
  dir: string,
  opts: { file?: string; backend?: Backend } = {},
): Promise<OpenedHfEncoder> {
  const staged = await stageHfFolder(folderFiles(dir), opts.backend ?? NODE_BACKEND);
  const model = opts.file ? staged.models.find((m) => m.file === opts.file) : staged.chosen;
  if (!model) throw new Error(`${dir}: no ${opts.file} among ${staged.models.map((m) => m.file).join(", ")}`);
  const bytes = (file: string) => staged.bytes.get(file) as Uint8Array;
  const session = await ort.InferenceSession.create(bytes(model.file), {
    executionProviders: ["wasm"],
    ...externalDataOption(model, bytes),
  });
  let binding: HfBinding;
  try {
    binding = bindHfModel(staged.derivation, sessionSignature(session), model.file);
  } catch (e) {
    await session.release();
    throw e;
  }
  const run = convertingRun(session, binding.inputType);
  const encoder = imageEncoder(binding.spec, [255, 255, 255], run);
  return {
    staged,
    model,
    session,
    binding,
    run,
    encoder,
    encode: (image, what = "image") => encodeImage(encoder, image, what),
  };
}
