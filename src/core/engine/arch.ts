/** The denoiser's architecture hyper-parameters, read from a pack manifest (docs/manifest.md). */
import type { Manifest } from "../pack/manifest";

export interface DenoiserArch {
  width: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  patch: number;
  promptVocab: number;
  promptLength: number;
  imageTokens: number;
  imageDim: number;
  freqDim: number;
  normEps: number;
  /** Whether prompt tokens add a rank-one spatial map to the latent tokens (`prompt_map`, `prompt_vec`). */
  spatialPrompt: boolean;
  latentChannels: number;
  latentSize: number;
  /** References whose image tokens it can attend over at once (`ref_embed` tells them apart when > 1). */
  maxReferences: number;
}

/** Tokens of the latent grid, `(size/patch)²`. */
export function gridTokens(a: DenoiserArch): number {
  return (a.latentSize / a.patch) ** 2;
}

/** Names of the trainable adapter tensors, two per block, in the manifest's order. */
export function adapterNames(a: DenoiserArch): string[] {
  return Array.from({ length: a.depth }, (_, i) =>
    ["to_k_ip", "to_v_ip"].map((n) => `blocks.${i}.attn_ip.${n}.weight`),
  ).flat();
}

/** `[out, in]` of every adapter tensor: the image-path key/value projections map image tokens to the width. */
export function adapterShape(a: DenoiserArch): [number, number] {
  return [a.width, a.imageDim];
}

const ARCH = "roles.denoiser.architecture";
/** The engine's one design; anything else would be silently built as it. */
const FIXED = { type: "dit", activation: "gelu_tanh", modulation: "adaLN-zero" } as const;

/**
 * Reads `roles.denoiser.architecture` against the latent it works on, passing each problem to
 * `fail` with its JSON path; undefined when there was any. The manifest validator runs it, so a
 * pack the engine cannot build is refused at load.
 */
export function readDenoiserArch(
  a: Readonly<Record<string, unknown>>,
  latent: { channels: number; height: number; width: number },
  fail: (path: string, problem: string) => void,
): DenoiserArch | undefined {
  let ok = true;
  const bad = (path: string, problem: string) => {
    ok = false;
    fail(path, problem);
  };
  const present = (key: string): boolean => {
    if (a[key] !== undefined) return true;
    bad(`${ARCH}.${key}`, "missing required field");
    return false;
  };
  const num = (key: string, integer = true): number => {
    const v = a[key];
    if (!present(key)) return Number.NaN;
    if (typeof v !== "number" || !Number.isFinite(v)) bad(`${ARCH}.${key}`, "expected a number");
    else if (v <= 0 || (integer && !Number.isInteger(v)))
      bad(`${ARCH}.${key}`, integer ? "expected a positive integer" : "expected a positive number");
    return v as number;
  };
  for (const [key, value] of Object.entries(FIXED)) {
    if (present(key) && a[key] !== value)
      bad(`${ARCH}.${key}`, `expected "${value}": the engine builds only dit / gelu_tanh / adaLN-zero`);
  }
  if (present("spatial_prompt") && typeof a.spatial_prompt !== "boolean")
    bad(`${ARCH}.spatial_prompt`, "expected true or false");
  if (latent.height !== latent.width) bad("latent", "the engine needs a square latent");
  const arch: DenoiserArch = {
    width: num("width"),
    depth: num("depth"),
    heads: num("heads"),
    mlpRatio: num("mlp_ratio"),
    patch: num("patch"),
    promptVocab: num("prompt_vocab"),
    promptLength: num("prompt_length"),
    imageTokens: num("image_tokens"),
    imageDim: num("image_dim"),
    freqDim: num("freq_dim"),
    normEps: num("norm_eps", false),
    spatialPrompt: a.spatial_prompt === true,
    latentChannels: latent.channels,
    latentSize: latent.height,
    maxReferences: a.max_references === undefined ? 1 : num("max_references"),
  };
  const tokens = num("tokens");
  if (!ok) return undefined;
  if (arch.width % arch.heads !== 0) bad(`${ARCH}.width`, `must be divisible by heads (${arch.heads})`);
  if (gridTokens(arch) !== tokens)
    bad(
      `${ARCH}.tokens`,
      `expected (${arch.latentSize} / patch ${arch.patch})² = ${gridTokens(arch)}: tokens does not match the latent grid`,
    );
  return ok ? arch : undefined;
}

/** The architecture of a validated manifest; raw JSON is read too, and refused naming every problem. */
export function denoiserArch(manifest: Manifest): DenoiserArch {
  const a = manifest.roles.denoiser?.architecture;
  if (!a) throw new Error("manifest.json: roles.denoiser.architecture is missing");
  const issues: string[] = [];
  const arch = readDenoiserArch(a, manifest.latent, (path, problem) =>
    issues.push(`manifest.json: ${path}: ${problem}`),
  );
  if (!arch) throw new Error(issues.join("\n"));
  return arch;
}

/** Block projections that can carry a LoRA adapter (the image-path `to_k_ip`/`to_v_ip` are trained in full). */
export const LORA_TARGETS = ["qkv", "proj", "attn_ip.to_q", "attn_ip.to_out", "fc1", "fc2"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/**
 * LoRA on block projections: `y = x·Wᵀ + b + (alpha/rank)·(x·Aᵀ)·Bᵀ`, A `[rank, in]`, B
 * `[out, rank]`, named `blocks.{i}.{target}.lora_A` / `.lora_B`.
 */
export interface LoraConfig {
  rank: number;
  alpha: number;
  targets: readonly LoraTarget[];
}

/** `[out, in]` of a LoRA target projection. */
export function projectionShape(a: DenoiserArch, target: LoraTarget): [number, number] {
  const C = a.width;
  const hidden = a.mlpRatio * C;
  if (target === "qkv") return [3 * C, C];
  if (target === "fc1") return [hidden, C];
  if (target === "fc2") return [C, hidden];
  return [C, C];
}

/** LoRA tensors for every block and target: A ~ N(0, 1/in) from `seed`, B = 0 (the model starts unchanged). */
export function initLora(
  a: DenoiserArch,
  config: LoraConfig,
  gaussian: (seed: number, n: number) => Float32Array,
  seed = 0,
): Map<string, Float32Array> {
  if (!Number.isInteger(config.rank) || config.rank < 1)
    throw new RangeError(`LoRA rank must be a positive integer, got ${config.rank}`);
  const out = new Map<string, Float32Array>();
  let s = seed;
  for (let i = 0; i < a.depth; i++) {
    for (const target of config.targets) {
      if (!LORA_TARGETS.includes(target))
        throw new RangeError(`LoRA target ${target} is not one of ${LORA_TARGETS.join(", ")}`);
      const [outF, inF] = projectionShape(a, target);
      out.set(
        `blocks.${i}.${target}.lora_A`,
        gaussian(s++, config.rank * inF).map((v) => v / Math.sqrt(inF)),
      );
      out.set(`blocks.${i}.${target}.lora_B`, new Float32Array(outF * config.rank));
    }
  }
  return out;
}
