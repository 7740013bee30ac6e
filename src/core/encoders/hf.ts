/**
 * A Hugging Face / transformers.js model folder as a patch encoder: its `config.json` and
 * `preprocessor_config.json` give the EncoderSpec (grid, dim, tokens to skip, the exact image
 * processor steps), and `bindHfModel` checks it against the ONNX file's own inputs and outputs.
 * Nothing is hand-written and nothing is guessed from file names.
 *
 * - grid = the side the processor feeds ÷ `patch_size`; dim = `hidden_size`;
 * - tokens to skip: 1 CLS + `num_register_tokens` (DINOv2, DINOv2 with registers, ViT/DINO v1,
 *   CLIP); SigLIP has no CLS token (0);
 * - global embedding: DINO-style models give the CLS token of `last_hidden_state` (for `vit`,
 *   `pooler_output` is tanh(dense(CLS)), not what the DINO score uses); CLIP gives `image_embeds`
 *   (or `pooler_output` when the export has no projection); SigLIP gives `pooler_output` (its
 *   attention-pooling head) or `image_embeds`.
 *
 * Keys missing from a config take transformers' defaults for that class, and say so in `notes`
 * (transformers omits nested-config values that equal their defaults when it saves).
 */

import type { SessionSignature, ValueInfo } from "../pack/signature";
import { type EncoderSpec, EncoderSpecError, type Preprocess, preprocessSide } from "../quality/encoder-spec";
import { RESAMPLE_FILTERS } from "./pil-resize";

export const HF_MODEL_TYPES = [
  "dinov2",
  "dinov2_with_registers",
  "vit",
  "clip_vision_model",
  "clip",
  "siglip_vision_model",
  "siglip",
] as const;
export type HfModelType = (typeof HF_MODEL_TYPES)[number];

/** Which Compare slot a model family fills by default. */
export type HfFamily = "dino" | "clip" | "siglip";

export const CONFIG_FILE = "config.json";
export const PREPROCESSOR_FILE = "preprocessor_config.json";

export class HfConfigError extends EncoderSpecError {
  override name = "HfConfigError";
}

interface VisionDefaults {
  family: HfFamily;
  processor: ProcessorName;
  hidden_size: number;
  patch_size: number;
  image_size: number;
  num_register_tokens: number;
  /** The model's position embeddings are interpolated for other input sizes (DINOv2). */
  interpolates: boolean;
  /** The vision numbers sit in `vision_config` of a dual-encoder config. */
  nested: boolean;
}

const MODELS: Record<HfModelType, VisionDefaults> = {
  dinov2: {
    family: "dino",
    processor: "BitImageProcessor",
    hidden_size: 768,
    patch_size: 14,
    image_size: 224,
    num_register_tokens: 0,
    interpolates: true,
    nested: false,
  },
  dinov2_with_registers: {
    family: "dino",
    processor: "BitImageProcessor",
    hidden_size: 768,
    patch_size: 14,
    image_size: 224,
    num_register_tokens: 4,
    interpolates: true,
    nested: false,
  },
  vit: {
    family: "dino",
    processor: "ViTImageProcessor",
    hidden_size: 768,
    patch_size: 16,
    image_size: 224,
    num_register_tokens: 0,
    interpolates: false,
    nested: false,
  },
  clip_vision_model: {
    family: "clip",
    processor: "CLIPImageProcessor",
    hidden_size: 768,
    patch_size: 32,
    image_size: 224,
    num_register_tokens: 0,
    interpolates: false,
    nested: false,
  },
  clip: {
    family: "clip",
    processor: "CLIPImageProcessor",
    hidden_size: 768,
    patch_size: 32,
    image_size: 224,
    num_register_tokens: 0,
    interpolates: false,
    nested: true,
  },
  siglip_vision_model: {
    family: "siglip",
    processor: "SiglipImageProcessor",
    hidden_size: 768,
    patch_size: 16,
    image_size: 224,
    num_register_tokens: 0,
    interpolates: false,
    nested: false,
  },
  siglip: {
    family: "siglip",
    processor: "SiglipImageProcessor",
    hidden_size: 768,
    patch_size: 16,
    image_size: 224,
    num_register_tokens: 0,
    interpolates: false,
    nested: true,
  },
};

const PROCESSORS = ["BitImageProcessor", "CLIPImageProcessor", "ViTImageProcessor", "SiglipImageProcessor"] as const;
type ProcessorName = (typeof PROCESSORS)[number];

type Triple = [number, number, number];
const OPENAI_CLIP_MEAN: Triple = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD: Triple = [0.26862954, 0.26130258, 0.27577711];
const IMAGENET_STANDARD: Triple = [0.5, 0.5, 0.5];

interface ProcessorDefaults {
  size: { shortest_edge: number } | { height: number; width: number };
  /** What an integer `size` means: transformers' get_size_dict with or without default_to_square. */
  intSize: "shortest_edge" | "square";
  resample: number;
  /** Whether the processor has a center crop at all (ViT and SigLIP processors do not). */
  crop?: number;
  mean: Triple;
  std: Triple;
}

const PROCESSOR_DEFAULTS: Record<ProcessorName, ProcessorDefaults> = {
  BitImageProcessor: {
    size: { shortest_edge: 224 },
    intSize: "shortest_edge",
    resample: 3,
    crop: 224,
    mean: OPENAI_CLIP_MEAN,
    std: OPENAI_CLIP_STD,
  },
  CLIPImageProcessor: {
    size: { shortest_edge: 224 },
    intSize: "shortest_edge",
    resample: 3,
    crop: 224,
    mean: OPENAI_CLIP_MEAN,
    std: OPENAI_CLIP_STD,
  },
  ViTImageProcessor: {
    size: { height: 224, width: 224 },
    intSize: "square",
    resample: 2,
    mean: IMAGENET_STANDARD,
    std: IMAGENET_STANDARD,
  },
  SiglipImageProcessor: {
    size: { height: 224, width: 224 },
    intSize: "square",
    resample: 3,
    mean: IMAGENET_STANDARD,
    std: IMAGENET_STANDARD,
  },
};

/** The vision numbers read from config.json. */
export interface HfVisionConfig {
  model_type: HfModelType;
  patch_size: number;
  image_size: number;
  hidden_size: number;
  num_register_tokens: number;
  /** CLIP's `projection_dim`: the length of `image_embeds`. */
  projection_dim?: number;
}

export interface HfDerivation {
  modelType: HfModelType;
  family: HfFamily;
  /** The image processor class whose steps and defaults were applied. */
  processor: ProcessorName;
  vision: HfVisionConfig;
  /** The spec before the ONNX file is seen: input `pixel_values`, output `last_hidden_state`. */
  spec: EncoderSpec;
  /** Outputs that hold a global image embedding, most preferred first (CLIP / SigLIP). */
  embeddingCandidates: string[];
  /** Defaults taken and keys ignored, for the user to see. */
  notes: string[];
}

type Json = Record<string, unknown>;

function object(v: unknown, where: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new HfConfigError(`${where}: expected a JSON object`);
  return v as Json;
}

/** Parses a config file's text, naming it on a syntax error. */
export function parseConfigText(text: string, file: string): Json {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new HfConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return object(json, file);
}

class Keys {
  constructor(
    readonly o: Json,
    readonly file: string,
    readonly notes: string[],
  ) {}

  private where(key: string): string {
    return `${this.file}: ${key}`;
  }

  positiveInt(key: string, fallback?: number): number {
    const v = this.o[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) throw new HfConfigError(`${this.where(key)}: missing`);
      this.notes.push(`${this.file} has no ${key}: transformers' default ${fallback}`);
      return fallback;
    }
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new HfConfigError(`${this.where(key)}: expected a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  }

  nonNegativeInt(key: string, fallback: number): number {
    const v = this.o[key];
    if (v === undefined || v === null) return fallback;
    if (!Number.isInteger(v) || (v as number) < 0)
      throw new HfConfigError(`${this.where(key)}: expected a non-negative integer, got ${JSON.stringify(v)}`);
    return v as number;
  }

  flag(key: string, fallback: boolean): boolean {
    const v = this.o[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean")
      throw new HfConfigError(`${this.where(key)}: expected true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  size(key: string, intMeans: "shortest_edge" | "square", fallback: ProcessorDefaults["size"] | undefined) {
    const v = this.o[key];
    if (v === undefined || v === null) {
      if (!fallback) throw new HfConfigError(`${this.where(key)}: missing`);
      this.notes.push(`${this.file} has no ${key}: transformers' default ${JSON.stringify(fallback)}`);
      return fallback;
    }
    if (Number.isInteger(v) && (v as number) > 0) {
      const s = v as number;
      return intMeans === "shortest_edge" ? { shortest_edge: s } : { height: s, width: s };
    }
    if (typeof v === "object" && !Array.isArray(v)) {
      const o = v as Json;
      const pos = (x: unknown) => Number.isInteger(x) && (x as number) > 0;
      if ("height" in o || "width" in o) {
        if (!pos(o.height) || !pos(o.width))
          throw new HfConfigError(`${this.where(key)}: height and width must be positive integers`);
        return { height: o.height as number, width: o.width as number };
      }
      if ("shortest_edge" in o) {
        if (!pos(o.shortest_edge))
          throw new HfConfigError(`${this.where(key)}.shortest_edge: expected a positive integer`);
        if (o.longest_edge !== undefined && o.longest_edge !== null) {
          throw new HfConfigError(`${this.where(key)}: shortest_edge with longest_edge is not supported`);
        }
        return { shortest_edge: o.shortest_edge as number };
      }
      const given = Object.keys(o).join(", ") || "nothing";
      throw new HfConfigError(`${this.where(key)}: expected shortest_edge or height and width, found ${given}`);
    }
    throw new HfConfigError(
      `${this.where(key)}: expected an integer or { "height", "width" } / { "shortest_edge" }, got ${JSON.stringify(v)}`,
    );
  }

  triple(key: string, fallback: Triple, positive: boolean): Triple {
    const v = this.o[key];
    if (v === undefined || v === null) {
      this.notes.push(`${this.file} has no ${key}: transformers' default [${fallback.join(", ")}]`);
      return fallback;
    }
    const list = typeof v === "number" ? [v, v, v] : v;
    if (!Array.isArray(list) || list.length !== 3 || !list.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new HfConfigError(
        `${this.where(key)}: expected three numbers (one per RGB channel), got ${JSON.stringify(v)}`,
      );
    }
    if (positive && list.some((x) => x <= 0)) throw new HfConfigError(`${this.where(key)}: values must be positive`);
    return list as Triple;
  }
}

/** The vision part of config.json (the whole file, or `vision_config` of a dual encoder). */
export function visionConfig(config: unknown, notes: string[] = []): HfVisionConfig {
  const top = object(config, CONFIG_FILE);
  const type = top.model_type;
  if (typeof type !== "string" || !type) {
    throw new HfConfigError(`${CONFIG_FILE}: model_type: missing; supported: ${HF_MODEL_TYPES.join(", ")}`);
  }
  if (!HF_MODEL_TYPES.includes(type as HfModelType)) {
    throw new HfConfigError(
      `${CONFIG_FILE}: model_type "${type}" is not supported; supported: ${HF_MODEL_TYPES.join(", ")}`,
    );
  }
  const modelType = type as HfModelType;
  const d = MODELS[modelType];
  let o = top;
  let file = CONFIG_FILE;
  if (d.nested) {
    if (top.vision_config === undefined || top.vision_config === null) {
      throw new HfConfigError(
        `${CONFIG_FILE}: vision_config: missing (a ${modelType} config keeps its image encoder there)`,
      );
    }
    o = object(top.vision_config, `${CONFIG_FILE}: vision_config`);
    file = `${CONFIG_FILE} vision_config`;
  }
  const k = new Keys(o, file, notes);
  const channels = k.nonNegativeInt("num_channels", 3);
  if (channels !== 3)
    throw new HfConfigError(`${file}: num_channels: ${channels}; only RGB (3) encoders are supported`);
  const vision: HfVisionConfig = {
    model_type: modelType,
    patch_size: k.positiveInt("patch_size", d.patch_size),
    image_size: k.positiveInt("image_size", d.image_size),
    hidden_size: k.positiveInt("hidden_size", d.hidden_size),
    num_register_tokens:
      modelType === "dinov2_with_registers" ? k.nonNegativeInt("num_register_tokens", d.num_register_tokens) : 0,
  };
  if (modelType === "clip") {
    const tk = new Keys(top, CONFIG_FILE, notes);
    vision.projection_dim = tk.positiveInt("projection_dim", 512);
  }
  return vision;
}

function processorName(pre: Json, modelType: HfModelType): ProcessorName {
  const declared = pre.image_processor_type ?? pre.feature_extractor_type;
  if (declared === undefined || declared === null) return MODELS[modelType].processor;
  const name = String(declared)
    .replace(/FeatureExtractor$/, "ImageProcessor")
    .replace(/Fast$/, "");
  if (!PROCESSORS.includes(name as ProcessorName)) {
    const key = pre.image_processor_type !== undefined ? "image_processor_type" : "feature_extractor_type";
    throw new HfConfigError(
      `${PREPROCESSOR_FILE}: ${key}: "${String(declared)}" is not supported; supported: ${PROCESSORS.join(", ")}`,
    );
  }
  return name as ProcessorName;
}

/** The image processor's steps from preprocessor_config.json, with the class's defaults for missing keys. */
export function preprocessFrom(
  preprocessor: unknown,
  modelType: HfModelType,
  notes: string[] = [],
): { processor: ProcessorName; preprocess: Preprocess; normalize?: EncoderSpec["normalize"] } {
  const pre = object(preprocessor, PREPROCESSOR_FILE);
  const processor = processorName(pre, modelType);
  const d = PROCESSOR_DEFAULTS[processor];
  const k = new Keys(pre, PREPROCESSOR_FILE, notes);
  const resampleId = pre.resample ?? d.resample;
  if (
    !Number.isInteger(resampleId) ||
    (resampleId as number) < 0 ||
    (resampleId as number) >= RESAMPLE_FILTERS.length
  ) {
    throw new HfConfigError(
      `${PREPROCESSOR_FILE}: resample: expected a Pillow filter id 0–5 (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming), got ${JSON.stringify(pre.resample)}`,
    );
  }
  const preprocess: Preprocess = { resample: RESAMPLE_FILTERS[resampleId as number] };
  if (k.flag("do_resize", true)) preprocess.resize = k.size("size", d.intSize, d.size);
  if (processor === "ViTImageProcessor" || processor === "SiglipImageProcessor") {
    if (preprocess.resize && "shortest_edge" in preprocess.resize) {
      throw new HfConfigError(
        `${PREPROCESSOR_FILE}: size: ${processor} resizes to { "height", "width" }, not shortest_edge`,
      );
    }
    if (pre.do_center_crop === true)
      notes.push(`${PREPROCESSOR_FILE}: do_center_crop is ignored: ${processor} has no center crop`);
  } else if (k.flag("do_center_crop", true)) {
    const crop = k.size("crop_size", "square", { height: d.crop ?? 224, width: d.crop ?? 224 });
    if ("shortest_edge" in crop)
      throw new HfConfigError(`${PREPROCESSOR_FILE}: crop_size: expected { "height", "width" }`);
    preprocess.crop = crop;
  }
  if (k.flag("do_rescale", true)) {
    const f = pre.rescale_factor ?? 1 / 255;
    if (typeof f !== "number" || !Number.isFinite(f) || f <= 0) {
      throw new HfConfigError(
        `${PREPROCESSOR_FILE}: rescale_factor: expected a positive number, got ${JSON.stringify(pre.rescale_factor)}`,
      );
    }
    preprocess.rescale_factor = f;
  }
  if (pre.do_convert_rgb === false) {
    notes.push(`${PREPROCESSOR_FILE}: do_convert_rgb is false; images are still converted to RGB (alpha dropped)`);
  } else k.flag("do_convert_rgb", true);
  const normalize = k.flag("do_normalize", true)
    ? { mean: k.triple("image_mean", d.mean, false), std: k.triple("image_std", d.std, true) }
    : undefined;
  return { processor, preprocess, ...(normalize ? { normalize } : {}) };
}

/** Derives the encoder spec of a model folder from its two config files (already parsed). */
export function deriveHfEncoder(config: unknown, preprocessor: unknown): HfDerivation {
  if (preprocessor === undefined) {
    throw new HfConfigError(
      `${PREPROCESSOR_FILE}: missing; the folder needs the image processor's settings beside ${CONFIG_FILE}`,
    );
  }
  const notes: string[] = [];
  const vision = visionConfig(config, notes);
  const d = MODELS[vision.model_type];
  const { processor, preprocess, normalize } = preprocessFrom(preprocessor, vision.model_type, notes);
  let side: number;
  try {
    side = preprocessSide(preprocess, PREPROCESSOR_FILE);
  } catch (e) {
    throw new HfConfigError((e as Error).message);
  }
  if (side % vision.patch_size !== 0) {
    throw new HfConfigError(
      `${PREPROCESSOR_FILE} feeds ${side}×${side} pixels, not a multiple of ${CONFIG_FILE} patch_size ${vision.patch_size}`,
    );
  }
  if (!d.interpolates && side !== vision.image_size) {
    throw new HfConfigError(
      `${PREPROCESSOR_FILE} feeds ${side}×${side} pixels but ${CONFIG_FILE} image_size is ${vision.image_size}: ` +
        `a ${vision.model_type} model's position embeddings are for ${vision.image_size}×${vision.image_size}`,
    );
  }
  const g = side / vision.patch_size;
  const skip = d.family === "siglip" ? 0 : 1 + vision.num_register_tokens;
  const spec: EncoderSpec = {
    input: "pixel_values",
    output: "last_hidden_state",
    image_size: side,
    range: [0, 255 * (preprocess.rescale_factor ?? 1)],
    grid: [g, g],
    dim: vision.hidden_size,
    skip_tokens: skip,
    output_layout: "BTD",
    ...(normalize ? { normalize } : {}),
    preprocess,
  };
  return {
    modelType: vision.model_type,
    family: d.family,
    processor,
    vision,
    spec,
    embeddingCandidates: d.family === "dino" ? [] : ["image_embeds", "pooler_output"],
    notes,
  };
}

/** Parses and derives from the two files' texts (errors name the file and key). */
export function deriveHfEncoderFromText(configText: string, preprocessorText: string | undefined): HfDerivation {
  const config = parseConfigText(configText, CONFIG_FILE);
  return deriveHfEncoder(
    config,
    preprocessorText === undefined ? undefined : parseConfigText(preprocessorText, PREPROCESSOR_FILE),
  );
}

const FLOAT_TYPES = ["float32", "float16"];

function shapeText(v: ValueInfo): string {
  return v.shape?.length ? `[${v.shape.join(", ")}]` : "[?]";
}

const isStatic = (d: number | string | undefined): d is number => typeof d === "number" && d >= 0;

export interface HfBinding {
  spec: EncoderSpec;
  /** The dtype the model takes its pixels in. */
  inputType: "float32" | "float16";
  notes: string[];
}

/**
 * Checks the ONNX model's own inputs and outputs against the derived spec and binds the names:
 * the pixel input (`pixel_values`, or the model's only input), `last_hidden_state` with
 * 1 + registers + grid² tokens (SigLIP: grid²) of `hidden_size` when its shape is static, and the
 * global embedding output when the family has one. Throws naming `file` and the model's names.
 */
export function bindHfModel(d: HfDerivation, sig: SessionSignature, file: string): HfBinding {
  const notes: string[] = [];
  const inMeta = new Map((sig.inputMetadata ?? []).map((v) => [v.name, v]));
  const outMeta = new Map((sig.outputMetadata ?? []).map((v) => [v.name, v]));
  let input = d.spec.input;
  if (!sig.inputNames.includes(input)) {
    if (sig.inputNames.length !== 1) {
      throw new HfConfigError(`${file}: no input "${input}"; the model's inputs are [${sig.inputNames.join(", ")}]`);
    }
    input = sig.inputNames[0];
    notes.push(`${file}: the pixel input is "${input}" (not "pixel_values")`);
  }
  if (sig.inputNames.length > 1) {
    throw new HfConfigError(
      `${file}: takes [${sig.inputNames.join(", ")}]; an image encoder takes only "${input}" (for CLIP use onnx/vision_model.onnx)`,
    );
  }
  const side = d.spec.image_size;
  const im = inMeta.get(input);
  let inputType: HfBinding["inputType"] = "float32";
  if (im) {
    if (!im.isTensor || (im.type !== undefined && !FLOAT_TYPES.includes(im.type))) {
      throw new HfConfigError(
        `${file}: input "${input}" is ${im.type ?? "not a tensor"}; expected float32 or float16 pixels`,
      );
    }
    if (im.type === "float16") inputType = "float16";
    const s = im.shape ?? [];
    const want = [undefined, 3, side, side];
    if (s.length && (s.length !== 4 || s.some((x, i) => i > 0 && isStatic(x) && x !== want[i]))) {
      throw new HfConfigError(
        `${file}: input "${input}" is ${shapeText(im)}; ${PREPROCESSOR_FILE} feeds [batch, 3, ${side}, ${side}]`,
      );
    }
  }
  const output = d.spec.output;
  if (!sig.outputNames.includes(output)) {
    throw new HfConfigError(`${file}: no output "${output}"; the model's outputs are [${sig.outputNames.join(", ")}]`);
  }
  const om = outMeta.get(output);
  const [gh, gw] = d.spec.grid;
  const tokens = d.spec.skip_tokens + gh * gw;
  if (om) {
    if (!om.isTensor || (om.type !== undefined && !FLOAT_TYPES.includes(om.type))) {
      throw new HfConfigError(
        `${file}: output "${output}" is ${om.type ?? "not a tensor"}; expected float32 or float16`,
      );
    }
    const s = om.shape ?? [];
    if (s.length && s.length !== 3)
      throw new HfConfigError(
        `${file}: output "${output}" is ${shapeText(om)}; expected [batch, tokens, ${d.vision.hidden_size}]`,
      );
    if (isStatic(s[1]) && s[1] !== tokens) {
      const parts =
        d.family === "siglip"
          ? `${gh}×${gw} patches (SigLIP has no CLS token)`
          : `1 CLS + ${d.vision.num_register_tokens} registers + ${gh}×${gw} patches = ${tokens}`;
      throw new HfConfigError(
        `${file}: output "${output}" has ${s[1]} tokens; ${CONFIG_FILE} (patch_size ${d.vision.patch_size}) and the ${side}×${side} input give ${parts}`,
      );
    }
    if (isStatic(s[2]) && s[2] !== d.vision.hidden_size) {
      throw new HfConfigError(
        `${file}: output "${output}" has dim ${s[2]}; ${CONFIG_FILE} hidden_size is ${d.vision.hidden_size}`,
      );
    }
  }
  const spec: EncoderSpec = { ...d.spec, input };
  const embedding = d.embeddingCandidates.find((n) => sig.outputNames.includes(n));
  if (embedding) {
    const em = outMeta.get(embedding);
    const s = em?.shape ?? [];
    if (s.length && s.length !== 2)
      throw new HfConfigError(`${file}: output "${embedding}" is ${em ? shapeText(em) : "?"}; expected [batch, dim]`);
    const want = embedding === "image_embeds" ? d.vision.projection_dim : d.vision.hidden_size;
    if (want !== undefined && isStatic(s[1]) && s[1] !== want) {
      throw new HfConfigError(`${file}: output "${embedding}" has dim ${s[1]}; ${CONFIG_FILE} gives ${want}`);
    }
    spec.embedding_output = embedding;
    if (d.family === "clip" && embedding !== "image_embeds") {
      notes.push(`${file} has no image_embeds: CLIP-I uses pooler_output, before CLIP's visual projection`);
    }
  } else if (d.family !== "dino") {
    notes.push(`${file} has no ${d.embeddingCandidates.join(" or ")}: global similarity uses the mean patch token`);
  }
  return { spec, inputType, notes };
}

/**
 * The spec a global-similarity slot uses: DINO-style takes the CLS token (or the mean patch for
 * models without one), never a projection; CLIP-I takes the image embedding output when there is one.
 */
export function globalSlotSpec<T extends EncoderSpec>(spec: T, slot: "dino" | "clip_i"): T {
  if (slot === "clip_i" || !spec.embedding_output) return spec;
  const { embedding_output: _, ...rest } = spec;
  return rest as T;
}
