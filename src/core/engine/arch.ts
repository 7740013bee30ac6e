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

export function denoiserArch(manifest: Manifest): DenoiserArch {
  const a = manifest.roles.denoiser?.architecture as Record<string, unknown> | undefined;
  if (!a) throw new Error("manifest.json: roles.denoiser.architecture is missing");
  const num = (key: string): number => {
    const v = a[key];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`manifest.json: roles.denoiser.architecture.${key}: expected a number`);
    }
    return v;
  };
  if (a.type !== "dit" || a.activation !== "gelu_tanh" || a.modulation !== "adaLN-zero") {
    throw new Error("manifest.json: roles.denoiser.architecture: the engine builds only dit / gelu_tanh / adaLN-zero");
  }
  if (manifest.latent.height !== manifest.latent.width)
    throw new Error("manifest.json: latent: the engine needs a square latent");
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
    normEps: num("norm_eps"),
    spatialPrompt: a.spatial_prompt === true,
    latentChannels: manifest.latent.channels,
    latentSize: manifest.latent.height,
  };
  if (arch.width % arch.heads !== 0) throw new Error("manifest.json: architecture.width must be divisible by heads");
  if (gridTokens(arch) !== num("tokens"))
    throw new Error("manifest.json: architecture.tokens does not match the latent grid");
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
