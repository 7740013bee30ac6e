/**
 * Patch encoders: the pack's `patch_encoder` role or a user-supplied ONNX described by a small
 * JSON. Both reduce to an `EncoderSpec`, and `patchFeatures` turns the model's raw output into
 * the `[batch, patches, dim]` rows the quality computation takes.
 *
 * Output layouts:
 * - `BHWD`: a feature map `[B, H, W, D]` (the built-in packs);
 * - `BDHW`: a channels-first feature map `[B, D, H, W]` (typical CNN exports);
 * - `BTD`: tokens `[B, T, D]` with `skip_tokens` CLS/register tokens first, then the `H·W` patch
 *   tokens in row-major order (DINOv2-style ViT exports).
 */
import { RESAMPLE_FILTERS, type ResampleFilter } from "../encoders/pil-resize.ts";
import { type EvaluatorName, evaluatorOutputs, type Manifest, roleInput, roleOutput } from "../pack/manifest.ts";

export const OUTPUT_LAYOUTS = ["BHWD", "BDHW", "BTD"] as const;
export type OutputLayout = (typeof OUTPUT_LAYOUTS)[number];

export interface EncoderSpec {
  /** ONNX input and patch-feature output names. */
  input: string;
  output: string;
  /** An output holding a global embedding `[1, D]`, which metrics use instead of pooled patches. */
  embedding_output?: string;
  /** Square input side in pixels; the input tensor is `[1, 3, image_size, image_size]`. */
  image_size: number;
  /** Pixel p in [0,1] maps to `range[0] + p·(range[1] − range[0])`. */
  range: [number, number];
  /** Patch grid `[height, width]`. */
  grid: [number, number];
  dim: number;
  skip_tokens: number;
  output_layout: OutputLayout;
  /** Optional per-channel `(x − mean) / std` after the range mapping (ImageNet-style encoders). */
  normalize?: { mean: [number, number, number]; std: [number, number, number] };
  /**
   * Optional: a Hugging Face image processor's steps instead of fitting the image into the square
   * on the background (src/core/encoders/preprocess.ts). With it, `image_size` is the side the
   * steps produce and `range` is `[0, 255 · rescale_factor]`.
   */
  preprocess?: Preprocess;
}

/**
 * A Hugging Face image processor's steps, in its order and arithmetic: alpha dropped as Pillow's
 * `convert("RGB")` does; Pillow's uint8 resize (to `shortest_edge` keeping the aspect ratio, or to
 * `height`×`width`); transformers' center crop; then in float32 `uint8 · rescale_factor` and the
 * spec's `normalize`.
 */
export interface Preprocess {
  resize?: { shortest_edge: number } | { height: number; width: number };
  /** Pillow filter of the resize. */
  resample: ResampleFilter;
  crop?: { height: number; width: number };
  /** Absent: no rescale (values stay 0…255, as with `do_rescale: false`). */
  rescale_factor?: number;
}

/** A user encoder: the spec plus the ONNX file name it describes. */
export interface UserEncoderSpec extends EncoderSpec {
  file: string;
}

export class EncoderSpecError extends Error {
  override name = "EncoderSpecError";
}

type Json = Record<string, unknown>;

function positiveInt(o: Json, key: string, source: string): number {
  const v = o[key];
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new EncoderSpecError(`${source}: ${key}: expected a positive integer`);
  return v as number;
}

function nonEmptyString(o: Json, key: string, source: string): string {
  const v = o[key];
  if (typeof v !== "string" || v.length === 0)
    throw new EncoderSpecError(`${source}: ${key}: expected a non-empty string`);
  return v;
}

function spec(o: Json, source: string): EncoderSpec {
  const preprocess = o.preprocess === undefined ? undefined : parsePreprocess(o.preprocess, `${source}: preprocess`);
  const side = preprocess ? preprocessSide(preprocess, `${source}: preprocess`) : undefined;
  const range = o.range ?? (preprocess ? [0, 255 * (preprocess.rescale_factor ?? 1)] : undefined);
  if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite) || !(range[1] !== range[0])) {
    throw new EncoderSpecError(`${source}: range: expected two different numbers, e.g. [-1, 1] or [0, 1]`);
  }
  const imageSize = o.image_size ?? side;
  if (side !== undefined && imageSize !== side) {
    throw new EncoderSpecError(`${source}: image_size: ${imageSize}, but the preprocess steps give ${side}×${side}`);
  }
  const grid = o.grid;
  if (!Array.isArray(grid) || grid.length !== 2 || !grid.every((g) => Number.isInteger(g) && g >= 1)) {
    throw new EncoderSpecError(`${source}: grid: expected [height, width] as two positive integers`);
  }
  const skip = o.skip_tokens ?? 0;
  if (!Number.isInteger(skip) || (skip as number) < 0) {
    throw new EncoderSpecError(`${source}: skip_tokens: expected a non-negative integer`);
  }
  const layout = o.output_layout;
  if (!OUTPUT_LAYOUTS.includes(layout as OutputLayout)) {
    throw new EncoderSpecError(`${source}: output_layout: expected one of ${OUTPUT_LAYOUTS.join(", ")}`);
  }
  if (layout !== "BTD" && skip !== 0) {
    throw new EncoderSpecError(`${source}: skip_tokens: only a token output (BTD) has tokens to skip`);
  }
  return {
    ...normalization(o.normalize, source),
    ...(preprocess ? { preprocess } : {}),
    input: nonEmptyString(o, "input", source),
    output: nonEmptyString(o, "output", source),
    image_size: positiveInt({ image_size: imageSize }, "image_size", source),
    range: [range[0], range[1]],
    grid: [grid[0], grid[1]],
    dim: positiveInt(o, "dim", source),
    skip_tokens: skip as number,
    output_layout: layout as OutputLayout,
  };
}

function normalization(v: unknown, source: string): Pick<EncoderSpec, "normalize"> {
  if (v === undefined) return {};
  const o = v as Json;
  const triple = (a: unknown) => Array.isArray(a) && a.length === 3 && a.every(Number.isFinite);
  if (typeof v !== "object" || v === null || !triple(o.mean) || !triple(o.std)) {
    throw new EncoderSpecError(`${source}: normalize: expected { "mean": [r, g, b], "std": [r, g, b] }`);
  }
  const std = o.std as [number, number, number];
  if (std.some((x) => x <= 0)) throw new EncoderSpecError(`${source}: normalize.std: values must be positive`);
  return { normalize: { mean: o.mean as [number, number, number], std } };
}

function sizeDict(v: unknown, where: string): { height: number; width: number } {
  const o = v as Json;
  if (typeof v !== "object" || v === null || !Number.isInteger(o.height) || !Number.isInteger(o.width)) {
    throw new EncoderSpecError(`${where}: expected { "height": H, "width": W } in pixels`);
  }
  if ((o.height as number) < 1 || (o.width as number) < 1)
    throw new EncoderSpecError(`${where}: sizes must be positive`);
  return { height: o.height as number, width: o.width as number };
}

function parsePreprocess(v: unknown, where: string): Preprocess {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new EncoderSpecError(`${where}: expected an object`);
  const o = v as Json;
  const resample = o.resample ?? "bicubic";
  if (!RESAMPLE_FILTERS.includes(resample as ResampleFilter)) {
    throw new EncoderSpecError(`${where}.resample: expected one of ${RESAMPLE_FILTERS.join(", ")}`);
  }
  const out: Preprocess = { resample: resample as ResampleFilter };
  if (o.resize !== undefined) {
    const r = o.resize as Json;
    if (typeof r === "object" && r !== null && "shortest_edge" in r) {
      if (!Number.isInteger(r.shortest_edge) || (r.shortest_edge as number) < 1) {
        throw new EncoderSpecError(`${where}.resize.shortest_edge: expected a positive integer`);
      }
      out.resize = { shortest_edge: r.shortest_edge as number };
    } else out.resize = sizeDict(r, `${where}.resize (or { "shortest_edge": S })`);
  }
  if (o.crop !== undefined) out.crop = sizeDict(o.crop, `${where}.crop`);
  if (o.rescale_factor !== undefined) {
    const f = o.rescale_factor;
    if (typeof f !== "number" || !Number.isFinite(f) || f <= 0) {
      throw new EncoderSpecError(`${where}.rescale_factor: expected a positive number (e.g. 1/255)`);
    }
    out.rescale_factor = f;
  }
  return out;
}

/** The square side the steps produce; throws when it is not one fixed square. */
export function preprocessSide(p: Preprocess, where = "preprocess"): number {
  let size: { height: number; width: number } | undefined = p.crop;
  if (!size && p.resize && "height" in p.resize) size = p.resize;
  if (!size) {
    throw new EncoderSpecError(
      `${where}: without a center crop, a resize to shortest_edge (or no resize) gives each image its own size; the studio needs one fixed input size`,
    );
  }
  if (size.height !== size.width) {
    throw new EncoderSpecError(`${where}: gives ${size.height}×${size.width} inputs; only square inputs are supported`);
  }
  return size.height;
}

/** Applies `spec.normalize` in place to one NCHW image `[3, size, size]`. */
export function normalizeChannels(pixels: Float32Array, s: EncoderSpec): Float32Array {
  if (!s.normalize) return pixels;
  const plane = s.image_size * s.image_size;
  for (let c = 0; c < 3; c++) {
    const { mean, std } = s.normalize;
    for (let i = c * plane; i < (c + 1) * plane; i++) pixels[i] = (pixels[i] - mean[c]) / std[c];
  }
  return pixels;
}

/** Validates a user encoder description; errors name the source and the field. */
export function parseUserEncoderSpec(json: unknown, source = "encoder.json"): UserEncoderSpec {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new EncoderSpecError(`${source}: expected a JSON object`);
  }
  const o = json as Json;
  const parsed: UserEncoderSpec = { file: nonEmptyString(o, "file", source), ...spec(o, source) };
  if (o.embedding_output !== undefined) parsed.embedding_output = nonEmptyString(o, "embedding_output", source);
  return parsed;
}

/** The pack's patch encoder as an EncoderSpec (names and sizes from the manifest's role entry). */
export function packEncoderSpec(manifest: Manifest): EncoderSpec {
  const role = manifest.roles.patch_encoder;
  if (!role) throw new EncoderSpecError(`pack "${manifest.id}" has no patch_encoder`);
  const source = `manifest.json: roles.patch_encoder`;
  return spec(
    {
      ...role,
      input: roleInput(manifest, "patch_encoder", "image").name,
      output: roleOutput(manifest, "patch_encoder", "features").name,
      image_size: manifest.image.size,
      range: manifest.image.range,
    },
    source,
  );
}

/**
 * One of the pack's evaluators (`manifest.evaluators`) as an EncoderSpec: its patch-feature output,
 * its embedding output when it has one, and the pack's pixel preprocessing.
 */
export function evaluatorEncoderSpec(manifest: Manifest, name: EvaluatorName): EncoderSpec {
  const e = manifest.evaluators?.[name];
  if (!e) throw new EncoderSpecError(`pack "${manifest.id}" has no evaluators.${name}`);
  const source = `manifest.json: evaluators.${name}`;
  const [input] = e.inputs;
  if (!input) throw new EncoderSpecError(`${source}: needs an input`);
  const { features, embedding } = evaluatorOutputs(e);
  const parsed = spec(
    { ...e, input: input.name, output: features, image_size: manifest.image.size, range: manifest.image.range },
    source,
  );
  return embedding ? { ...parsed, embedding_output: embedding } : parsed;
}

/** Expected output dims for a batch of `batch` images, in the spec's layout. */
export function expectedOutputDims(s: EncoderSpec, batch: number): number[] {
  const [h, w] = s.grid;
  if (s.output_layout === "BHWD") return [batch, h, w, s.dim];
  if (s.output_layout === "BDHW") return [batch, s.dim, h, w];
  return [batch, s.skip_tokens + h * w, s.dim];
}

/** Throws when an encoder output's dims do not match the spec, saying what was expected. */
export function checkOutputDims(dims: readonly number[], s: EncoderSpec): void {
  const want = expectedOutputDims(s, dims[0]);
  if (dims.length !== want.length || dims.some((d, i) => d !== want[i])) {
    const hint = fittingValues(dims, s);
    throw new EncoderSpecError(
      `encoder output "${s.output}" is [${dims.join(", ")}]; the spec (${s.output_layout}, grid ${s.grid.join("×")}, ` +
        `dim ${s.dim}, skip_tokens ${s.skip_tokens}) expects [${want.join(", ")}]${hint ? `. ${hint}` : ""}`,
    );
  }
}

/** The spec values an output of `dims` would fit, in words (e.g. "69 tokens = 64 patches + 5 to skip"). */
function fittingValues(dims: readonly number[], s: EncoderSpec): string | undefined {
  if (dims.length === 3 && s.output_layout === "BTD") {
    const [, tokens, dim] = dims;
    const patches = s.grid[0] * s.grid[1];
    const side = Math.sqrt(tokens - s.skip_tokens);
    // Either the grid is right and the leading tokens are not, or the other way round.
    const layouts = [
      Number.isInteger(side) && side !== s.grid[0]
        ? `${tokens} tokens = ${side}×${side} patches + ${s.skip_tokens} to skip: grid [${side}, ${side}]`
        : "",
      tokens > patches && tokens - patches !== s.skip_tokens
        ? `${tokens} tokens = ${patches} patches + ${tokens - patches} to skip: skip_tokens ${tokens - patches}`
        : "",
    ].filter(Boolean);
    const fits = [dim !== s.dim ? `dim ${dim}` : "", layouts.join(", or ")].filter(Boolean);
    return fits.length ? `It fits ${fits.join(" and ")}` : undefined;
  }
  if (dims.length === 4 && s.output_layout !== "BTD") {
    const [h, w, d] = s.output_layout === "BHWD" ? [dims[1], dims[2], dims[3]] : [dims[2], dims[3], dims[1]];
    return `It fits grid [${h}, ${w}] and dim ${d}`;
  }
  return undefined;
}

/**
 * Raw encoder output → `[batch, H·W, dim]` patch rows in row-major grid order. Throws when the
 * output's dims do not match the spec, saying what was expected.
 */
export function patchFeatures(data: Float32Array, dims: readonly number[], s: EncoderSpec): Float32Array {
  checkOutputDims(dims, s);
  const batch = dims[0];
  const patches = s.grid[0] * s.grid[1];
  if (data.length !== batch * patches * s.dim + batch * s.skip_tokens * s.dim) {
    throw new EncoderSpecError(`encoder output "${s.output}" has ${data.length} values for dims [${dims.join(", ")}]`);
  }
  if (s.output_layout === "BHWD") return data;
  const out = new Float32Array(batch * patches * s.dim);
  if (s.output_layout === "BTD") {
    const tokens = s.skip_tokens + patches;
    for (let b = 0; b < batch; b++) {
      const from = (b * tokens + s.skip_tokens) * s.dim;
      out.set(data.subarray(from, from + patches * s.dim), b * patches * s.dim);
    }
    return out;
  }
  // BDHW → BHWD: one transpose per batch item.
  for (let b = 0; b < batch; b++) {
    const base = b * patches * s.dim;
    for (let d = 0; d < s.dim; d++) {
      for (let p = 0; p < patches; p++) out[base + p * s.dim + d] = data[base + d * patches + p];
    }
  }
  return out;
}
