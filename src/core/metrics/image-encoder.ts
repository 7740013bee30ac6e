/**
 * Image encoders as metrics see them: one ONNX-like call per image (the pack's patch encoder, one of
 * its evaluators, or a user's DINO/CLIP export), preprocessed by its EncoderSpec
 * (src/core/encoders/preprocess.ts: the pack convention or a Hugging Face processor's steps).
 */
import { encoderInput } from "../encoders/preprocess";
import type { RgbaImage, TensorData } from "../generate";
import type { EvaluatorName, EvaluatorSpec, Manifest } from "../pack/manifest";
import { type EncoderSpec, evaluatorEncoderSpec, packEncoderSpec, patchFeatures } from "../quality/encoder-spec";

/** Runs the encoder on one `[1, 3, S, S]` input; returns its outputs by name. */
export type EncoderRun = (input: TensorData) => Promise<Record<string, TensorData>>;

/** Runs a model (an ONNX session, wherever it lives) on named feeds; returns its outputs by name. */
export type ModelRun = (feeds: Record<string, TensorData>) => Promise<Record<string, TensorData>>;

export interface ImageEncoder {
  spec: EncoderSpec;
  /** Fill colour for transparent pixels (the pack's background; white for user encoders). */
  background: [number, number, number];
  run: EncoderRun;
}

/** An encoder whose model takes the image as the spec's input. */
export function imageEncoder(spec: EncoderSpec, background: [number, number, number], model: ModelRun): ImageEncoder {
  return { spec, background, run: (input) => model({ [spec.input]: input }) };
}

/** The pack's patch encoder (the training signal) as a metric encoder. */
export function packPatchEncoder(manifest: Manifest, model: ModelRun): ImageEncoder {
  return imageEncoder(packEncoderSpec(manifest), manifest.image.background, model);
}

/**
 * One of the pack's evaluators as a metric encoder, the same wherever it runs (the Compare tab's
 * worker, the paper benchmark). Its spec is checked before `open` loads the model, so a pack
 * without that evaluator fails before any file is read.
 */
export async function evaluatorEncoder(
  manifest: Manifest,
  name: EvaluatorName,
  open: (evaluator: EvaluatorSpec) => Promise<ModelRun>,
): Promise<ImageEncoder> {
  const spec = evaluatorEncoderSpec(manifest, name);
  const model = await open(manifest.evaluators?.[name] as EvaluatorSpec);
  return imageEncoder(spec, manifest.image.background, model);
}

export interface Encoded {
  /** `[H·W, dim]` patch rows, row-major grid order. */
  patches: Float32Array;
  /**
   * The global embedding: the spec's embedding output when it has one, else the first skipped
   * token (CLS) when there is one, else the mean patch row.
   */
  pooled: Float32Array;
}

function float32Output(outputs: Record<string, TensorData>, name: string): TensorData & { data: Float32Array } {
  const out = outputs[name];
  if (out?.dtype !== "float32") throw new Error(`encoder output "${name}" is missing or not float32`);
  return out as TensorData & { data: Float32Array };
}

function meanRow(patches: Float32Array, dim: number): Float32Array {
  const n = patches.length / dim;
  const mean = new Float32Array(dim);
  for (let p = 0; p < n; p++) for (let d = 0; d < dim; d++) mean[d] += patches[p * dim + d] / n;
  return mean;
}

export async function encodeImage(enc: ImageEncoder, image: RgbaImage, what: string): Promise<Encoded> {
  const { spec } = enc;
  const size = spec.image_size;
  const pixels = encoderInput(spec, image, enc.background, what);
  const outputs = await enc.run({ dtype: "float32", dims: [1, 3, size, size], data: pixels });
  const features = float32Output(outputs, spec.output);
  const patches = patchFeatures(features.data, features.dims, spec);
  let pooled: Float32Array;
  if (spec.embedding_output) pooled = float32Output(outputs, spec.embedding_output).data;
  else if (spec.output_layout === "BTD" && spec.skip_tokens > 0) pooled = features.data.slice(0, spec.dim);
  else pooled = meanRow(patches, spec.dim);
  return { patches, pooled };
}

/** Cosine similarity; 0 when either vector is zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`cosine of vectors of length ${a.length} and ${b.length}`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}
