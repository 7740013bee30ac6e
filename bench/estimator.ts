/**
 * Estimator check (issue 5), headless in Node with onnxruntime-web's WASM backend: patch quality
 * of generated vs reference images with the trained patch encoder, the random-weight one (an
 * ablation) and the pack's independent evaluator (its patch features), each scored by AUROC against
 * ground-truth bad patches (see src/core/quality/estimator.ts).
 *
 *   npx tsx bench/estimator.ts [--threshold 0.1]
 *
 * Reads tests/fixtures/estimator-emoji64.safetensors (generated, ground_truth, reference: uint8
 * [N,64,64,3]; optionally subject_mask: uint8 [N,8,8], 1 where the 8×8 block is mostly subject in
 * the ground truth), written by the foundry; the encoders, their files and preprocessing come from
 * public/models/emoji64/manifest.json. With a subject mask it also reports `auroc_*_subject`, the
 * same readings over subject blocks only.
 */
import { existsSync, readFileSync } from "node:fs";
import { sessionRun, wasmSession } from "../node/ort.ts";
import { readManifest } from "../node/packs.ts";
import { imageToTensor } from "../src/core/generate/image.ts";
import type { ModelRun } from "../src/core/metrics/image-encoder.ts";
import type { Manifest } from "../src/core/pack/manifest.ts";
import { patchQualityCpu } from "../src/core/quality/cpu.ts";
import {
  type EncoderSpec,
  evaluatorEncoderSpec,
  packEncoderSpec,
  patchFeatures,
} from "../src/core/quality/encoder-spec.ts";
import {
  BAD_PATCH_ERROR,
  type EstimatorScore,
  estimatorAuroc,
  patchErrors,
  qualityPerBlock,
} from "../src/core/quality/estimator.ts";
import { parseSafetensors } from "../src/core/safetensors.ts";

export const ESTIMATOR_FIXTURE = "tests/fixtures/estimator-emoji64.safetensors";
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
  /** `[n, size/BLOCK, size/BLOCK]`: 1 where the block is mostly subject in the ground truth. */
  subjectMask?: Uint8Array;
}

export function readEstimatorFixture(path = ESTIMATOR_FIXTURE): EstimatorData {
  const { tensors } = parseSafetensors(readFileSync(path), path);
  const get = (name: string) => {
    const t = tensors.get(name);
    if (t?.dtype !== "U8" || t.shape.length !== 4 || t.shape[3] !== 3) {
      throw new Error(`${path}: ${name} must be uint8 [N, S, S, 3]`);
    }
    return t;
  };
  const generated = get("generated");
  const [n, size] = generated.shape;
  const mask = tensors.get("subject_mask");
  const side = size / BLOCK;
  if (mask && (mask.dtype !== "U8" || mask.shape.join() !== [n, side, side].join())) {
    throw new Error(`${path}: subject_mask must be uint8 [${n}, ${side}, ${side}]`);
  }
  return {
    n,
    size,
    generated: generated.data as Uint8Array,
    truth: get("ground_truth").data as Uint8Array,
    reference: get("reference").data as Uint8Array,
    ...(mask ? { subjectMask: mask.data as Uint8Array } : {}),
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
  model: ModelRun,
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
    const result = await model({
      [spec.input]: { dtype: "float32", data: input, dims: [m, 3, spec.image_size, spec.image_size] },
    });
    const t = result[spec.output];
    out.set(patchFeatures(t.data as Float32Array, t.dims, spec), i0 * patchValues);
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
  const session = await wasmSession(model);
  try {
    const run = sessionRun(session);
    const gen = await encode(run, spec, data.generated, data.n, data.size, background);
    const ref = await encode(run, spec, data.reference, data.n, data.size, background);
    const patches = spec.grid[0] * spec.grid[1];
    const q = patchQualityCpu(gen, ref, { batch: data.n, genPatches: patches, refPatches: patches, dim: spec.dim });
    return qualityPerBlock(q.genMax, { height: spec.grid[0], width: spec.grid[1] }, data.n, data.size / BLOCK);
  } finally {
    await session.release();
  }
}

/** The encoders the check scores, by the name in their report keys (`auroc_<name>`). */
const SCORED = ["trained_encoder", "random_encoder", "independent"] as const;
type Scored = (typeof SCORED)[number];

export type EstimatorReport = Record<`auroc_${Scored}`, number> &
  /** Present when the fixture has a subject mask: the same AUROCs over subject blocks only. */
  Partial<Record<`auroc_${Scored}_subject`, number>> & {
    bad_patch_error_threshold: number;
    bad_patch_fraction: number;
    images: number;
    patches: number;
    subject_bad_patch_fraction?: number;
    subject_patches?: number;
  };

/** Each scored encoder's ONNX file (in the pack folder) and spec, from the manifest. */
function scoredEncoders(manifest: Manifest): Record<Scored, { file: string | undefined; spec: EncoderSpec }> {
  return {
    trained_encoder: { file: manifest.roles.patch_encoder?.file, spec: packEncoderSpec(manifest) },
    random_encoder: {
      file: manifest.evaluators?.patch_encoder_random?.file,
      spec: evaluatorEncoderSpec(manifest, "patch_encoder_random"),
    },
    independent: { file: manifest.evaluators?.independent?.file, spec: evaluatorEncoderSpec(manifest, "independent") },
  };
}

export async function estimatorCheck(threshold = BAD_PATCH_ERROR): Promise<EstimatorReport> {
  for (const f of [ESTIMATOR_FIXTURE, `${EMOJI64}/manifest.json`]) {
    if (!existsSync(f)) throw new Error(`${f} is missing (the foundry writes it once emoji64 is trained)`);
  }
  const manifest = readManifest(EMOJI64);
  const encoders = scoredEncoders(manifest);
  const data = readEstimatorFixture();
  const errors = patchErrors(data.generated, data.truth, data.n, data.size, BLOCK);
  const bg = manifest.image.background;
  const aurocs: Record<string, number> = {};
  // Bad-block counts depend only on the errors and the mask: any encoder's score has them.
  let all: EstimatorScore | undefined;
  let subject: EstimatorScore | undefined;
  for (const name of SCORED) {
    const { file, spec } = encoders[name];
    const path = `${EMOJI64}/${file}`;
    if (!file || !existsSync(path)) throw new Error(`${path} is missing (the foundry writes it)`);
    const quality = await blockQuality(readFileSync(path), spec, data, bg);
    all = estimatorAuroc(quality, errors, threshold);
    aurocs[`auroc_${name}`] = all.auroc;
    if (!data.subjectMask) continue;
    subject = estimatorAuroc(quality, errors, threshold, data.subjectMask);
    aurocs[`auroc_${name}_subject`] = subject.auroc;
  }
  return {
    ...aurocs,
    bad_patch_error_threshold: threshold,
    bad_patch_fraction: all?.badFraction,
    images: data.n,
    patches: all?.blocks,
    ...(subject ? { subject_bad_patch_fraction: subject.badFraction, subject_patches: subject.blocks } : {}),
  } as EstimatorReport;
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
