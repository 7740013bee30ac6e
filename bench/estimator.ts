/**
 * Estimator check (issue 5), headless in Node with onnxruntime-web's WASM backend: patch quality
 * of generated vs reference images with the trained patch encoder and with a random-weight one,
 * scored by AUROC against ground-truth bad patches (see src/core/quality/estimator.ts).
 *
 *   npx tsx bench/estimator.ts [--threshold 0.1]
 *
 * Reads tests/fixtures/estimator-emoji64.safetensors (generated, ground_truth, reference: uint8
 * [N,64,64,3]) and the pack's evaluators/patch_encoder_random.onnx, written by the foundry; the trained
 * encoder and its preprocessing come from public/models/emoji64/manifest.json.
 */
import { existsSync, readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { imageToTensor } from "../src/core/generate/image.ts";
import type { Manifest } from "../src/core/pack/manifest.ts";
import { patchQualityCpu } from "../src/core/quality/cpu.ts";
import { type EncoderSpec, packEncoderSpec, patchFeatures } from "../src/core/quality/encoder.ts";
import { BAD_PATCH_ERROR, estimatorAuroc, patchErrors, qualityPerBlock } from "../src/core/quality/estimator.ts";
import { parseSafetensors } from "../src/core/safetensors.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

export const ESTIMATOR_FIXTURE = "tests/fixtures/estimator-emoji64.safetensors";
export const RANDOM_ENCODER = "public/models/emoji64/evaluators/patch_encoder_random.onnx";
export const EMOJI64 = "public/models/emoji64";
/** Ground-truth error is measured on 8×8-pixel blocks (issue 5). */
export const BLOCK = 8;

/** Image triples, NHWC uint8 RGB. */
export interface EstimatorData {
  n: number;
  size: number;
  generated: Uint8Array;
  truth: Uint8Array;
  reference: Uint8Array;
}

export function readEstimatorFixture(path = ESTIMATOR_FIXTURE): EstimatorData {
  const b = readFileSync(path);
  const { tensors } = parseSafetensors(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), path);
  const get = (name: string) => {
    const t = tensors.get(name);
    if (t?.dtype !== "U8" || t.shape.length !== 4 || t.shape[3] !== 3) {
      throw new Error(`${path}: ${name} must be uint8 [N, S, S, 3]`);
    }
    return t;
  };
  const generated = get("generated");
  const [n, size] = generated.shape;
  return {
    n,
    size,
    generated: generated.data as Uint8Array,
    truth: get("ground_truth").data as Uint8Array,
    reference: get("reference").data as Uint8Array,
  };
}

/** Image `i` of an NHWC uint8 RGB batch → the encoder's NCHW input, via the studio's preprocessing. */
function encoderInput(images: Uint8Array, i: number, size: number, spec: EncoderSpec, bg: [number, number, number]) {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    data.set(images.subarray((i * size * size + p) * 3, (i * size * size + p) * 3 + 3), p * 4);
    data[p * 4 + 3] = 255;
  }
  return imageToTensor(
    { width: size, height: size, data },
    { size: spec.image_size, range: spec.range, background: bg },
  );
}

/** Patch features `[n, patches, dim]` of a batch of images, run in chunks. */
async function encode(
  session: ort.InferenceSession,
  spec: EncoderSpec,
  images: Uint8Array,
  n: number,
  size: number,
  bg: [number, number, number],
): Promise<Float32Array> {
  const per = spec.image_size * spec.image_size * 3;
  const patchValues = spec.grid[0] * spec.grid[1] * spec.dim;
  const out = new Float32Array(n * patchValues);
  const chunk = 16;
  for (let i0 = 0; i0 < n; i0 += chunk) {
    const m = Math.min(chunk, n - i0);
    const input = new Float32Array(m * per);
    for (let k = 0; k < m; k++) input.set(encoderInput(images, i0 + k, size, spec, bg), k * per);
    const result = await session.run({
      [spec.input]: new ort.Tensor("float32", input, [m, 3, spec.image_size, spec.image_size]),
    });
    const t = result[spec.output];
    out.set(patchFeatures(t.data as Float32Array, [...t.dims], spec), i0 * patchValues);
  }
  return out;
}

/** Per-block quality `[n, blocks]` of generated vs reference with one encoder. */
export async function blockQuality(
  model: Uint8Array,
  spec: EncoderSpec,
  data: EstimatorData,
  background: [number, number, number],
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  try {
    const gen = await encode(session, spec, data.generated, data.n, data.size, background);
    const ref = await encode(session, spec, data.reference, data.n, data.size, background);
    const patches = spec.grid[0] * spec.grid[1];
    const q = patchQualityCpu(gen, ref, { batch: data.n, genPatches: patches, refPatches: patches, dim: spec.dim });
    return qualityPerBlock(q.genMax, { height: spec.grid[0], width: spec.grid[1] }, data.n, data.size / BLOCK);
  } finally {
    await session.release();
  }
}

export interface EstimatorReport {
  auroc_trained_encoder: number;
  auroc_random_encoder: number;
  bad_patch_error_threshold: number;
  bad_patch_fraction: number;
  images: number;
  patches: number;
}

export async function estimatorCheck(threshold = BAD_PATCH_ERROR): Promise<EstimatorReport> {
  for (const f of [ESTIMATOR_FIXTURE, RANDOM_ENCODER, `${EMOJI64}/manifest.json`]) {
    if (!existsSync(f)) throw new Error(`${f} is missing (the foundry writes it once emoji64 is trained)`);
  }
  const manifest: Manifest = JSON.parse(readFileSync(`${EMOJI64}/manifest.json`, "utf8"));
  const spec = packEncoderSpec(manifest);
  const trainedFile = manifest.roles.patch_encoder?.file as string;
  const data = readEstimatorFixture();
  const errors = patchErrors(data.generated, data.truth, data.n, data.size, BLOCK);
  const bg = manifest.image.background;
  const trained = estimatorAuroc(
    await blockQuality(readFileSync(`${EMOJI64}/${trainedFile}`), spec, data, bg),
    errors,
    threshold,
  );
  const random = estimatorAuroc(await blockQuality(readFileSync(RANDOM_ENCODER), spec, data, bg), errors, threshold);
  return {
    auroc_trained_encoder: trained.auroc,
    auroc_random_encoder: random.auroc,
    bad_patch_error_threshold: threshold,
    bad_patch_fraction: trained.badFraction,
    images: data.n,
    patches: trained.blocks,
  };
}

if (process.argv[1]?.endsWith("estimator.ts")) {
  const at = process.argv.indexOf("--threshold");
  const threshold = at > 0 ? Number(process.argv[at + 1]) : BAD_PATCH_ERROR;
  estimatorCheck(threshold).then(
    (r) => console.log(JSON.stringify(r)),
    (e) => {
      console.error((e as Error).message);
      process.exit(1);
    },
  );
}
