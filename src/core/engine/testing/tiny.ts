/** Test helpers: the foundry's golden engine fixtures and the relative error the engine tests bound. */
import { loadSafetensors, packDenoiser } from "../../../../node/packs";
import type { DenoiserArch } from "../arch";
import type { DenoiserInputs } from "../denoiser";

export interface EngineFixture {
  inputs: DenoiserInputs;
  eps: Float32Array;
  target: Float32Array;
  weight: Float32Array;
  loss: number;
  grads: Map<string, Float32Array>;
}

/** `engine-tiny` (the tiny pack's denoiser) or `engine-tiny-multi` (grown for two references). */
export function engineFixture(name = "engine-tiny"): EngineFixture {
  const { tensors } = loadSafetensors(`tests/fixtures/${name}.safetensors`);
  const f = (n: string) => {
    const v = tensors.get(n)?.data;
    if (!(v instanceof Float32Array)) throw new Error(`fixture: missing f32 tensor ${n}`);
    return v;
  };
  const ids = tensors.get("input.prompt_ids")?.data as BigInt64Array;
  return {
    inputs: {
      latent: f("input.latent"),
      timestep: f("input.timestep"),
      promptIds: Int32Array.from(ids, Number),
      imageTokens: f("input.image_tokens"),
      ipScale: f("input.ip_scale")[0],
    },
    eps: f("output.eps"),
    target: f("loss.target"),
    weight: f("loss.weight"),
    loss: f("loss.value")[0],
    grads: new Map([...tensors.keys()].filter((k) => k.startsWith("grad.")).map((k) => [k.slice(5), f(k)])),
  };
}

/**
 * The denoiser of `engine-tiny-multi` (foundry config tiny-multi): the tiny pack's sizes grown for
 * two references (`ref_embed`, four layout ids), its weights from the fixture.
 */
export function multiDenoiser(): { arch: DenoiserArch; weights: Map<string, Float32Array> } {
  const { tensors } = loadSafetensors("tests/fixtures/engine-tiny-multi.safetensors");
  const weights = new Map(
    [...tensors].filter(([k]) => k.startsWith("weight.")).map(([k, t]) => [k.slice(7), t.data as Float32Array]),
  );
  const vocab = (weights.get("prompt_map")?.length ?? 0) / 64;
  return { arch: { ...packDenoiser("tiny").arch, promptVocab: vocab, maxReferences: 2 }, weights };
}

export { relError } from "./rel-error";
