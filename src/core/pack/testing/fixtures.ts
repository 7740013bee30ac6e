/** Inline manifests and packs for the unit tests, written to schema v1 (docs/manifest.md). */
import { sha256Hex } from "../hash";
import type { Dim } from "../manifest";

export function tensor(name: string, dtype: "float32" | "int64", shape: Dim[]) {
  return { name, dtype, shape };
}

/** A complete, valid manifest; `files` gives each role's bytes so sizes and hashes are real. */
export async function validManifest(files: { encoder: Uint8Array; denoiser: Uint8Array; weights: Uint8Array }) {
  const adapter = ["to_k_ip", "to_v_ip"].map((n) => tensor(`blocks.0.attn_ip.${n}.weight`, "float32", [8, 8]));
  return {
    schema: "patchdpo-pack",
    schema_version: 1,
    id: "unit",
    title: "Unit test pack",
    description: "Two roles with made-up bytes",
    license: "MIT",
    attribution: "tests",
    image: { size: 64, channels: 3, layout: "NCHW", range: [-1, 1], background: [255, 255, 255] },
    latent: { channels: 4, height: 16, width: 16, scale_factor: 0.8 },
    scheduler: {
      type: "ddpm",
      num_train_timesteps: 1000,
      beta_schedule: "linear",
      beta_start: 0.0001,
      beta_end: 0.02,
      prediction_type: "epsilon",
      timestep_input: "float",
      defaults: { sampler: "ddim", steps: 25, eta: 0, guidance_image: 3, guidance_prompt: 2, ip_scale: 1 },
    },
    prompt: {
      length: 2,
      null_id: 0,
      slots: [
        { name: "background", any_id: 1, values: [{ id: 2, text: "red" }] },
        { name: "size", any_id: 3, values: [{ id: 4, text: "small" }] },
      ],
    },
    roles: {
      vae_encoder: {
        file: "vae_encoder.onnx",
        bytes: files.encoder.length,
        sha256: await sha256Hex(files.encoder),
        inputs: [tensor("image", "float32", ["batch", 3, 64, 64])],
        outputs: [tensor("latent", "float32", ["batch", 4, 16, 16])],
      },
      denoiser: {
        file: "denoiser.onnx",
        bytes: files.denoiser.length,
        sha256: await sha256Hex(files.denoiser),
        inputs: [
          tensor("latent", "float32", ["batch", 4, 16, 16]),
          tensor("timestep", "float32", ["batch"]),
          tensor("prompt_ids", "int64", ["batch", 2]),
          tensor("image_tokens", "float32", ["batch", 4, 8]),
          tensor("ip_scale", "float32", [1]),
          ...adapter,
        ],
        outputs: [tensor("eps", "float32", ["batch", 4, 16, 16])],
        weights: { file: "denoiser.safetensors", bytes: files.weights.length, sha256: await sha256Hex(files.weights) },
        architecture: {
          type: "dit",
          width: 8,
          depth: 1,
          heads: 2,
          mlp_ratio: 2,
          patch: 2,
          tokens: 64,
          prompt_vocab: 5,
          prompt_length: 2,
          image_tokens: 4,
          image_dim: 8,
          freq_dim: 8,
          activation: "gelu_tanh",
          norm_eps: 1e-6,
          modulation: "adaLN-zero",
          spatial_prompt: true,
        },
        adapter: { tensors: adapter, scale_input: "ip_scale" },
      },
    },
    gallery: { heldout: [{ id: "1f600", name: "grinning face", file: "gallery/heldout/1f600.png" }], train: [] },
  };
}

/** Deterministic bytes of a given length, different per seed. */
export function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export async function unitPack() {
  const files = {
    "vae_encoder.onnx": bytesOf(3000, 1),
    "denoiser.onnx": bytesOf(70_000, 2),
    "denoiser.safetensors": bytesOf(5000, 3),
  };
  const manifest = await validManifest({
    encoder: files["vae_encoder.onnx"],
    denoiser: files["denoiser.onnx"],
    weights: files["denoiser.safetensors"],
  });
  return { manifest, files };
}
