/** Test helpers: the foundry's golden engine fixtures and the relative error the engine tests bound. */
import { loadSafetensors } from "../../../../node/packs";
import type { DenoiserInputs } from "../denoiser";

export interface EngineFixture {
  inputs: DenoiserInputs;
  eps: Float32Array;
  target: Float32Array;
  weight: Float32Array;
  loss: number;
  grads: Map<string, Float32Array>;
}

/** The tiny pack's denoiser on one reference's tokens (`engine-tiny`) or on two (`engine-tiny-pair`). */
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

export { relError } from "./rel-error";
