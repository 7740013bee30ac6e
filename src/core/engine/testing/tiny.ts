/** Test helpers: the foundry's golden engine fixture and the relative error the engine tests bound. */
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

export function engineFixture(): EngineFixture {
  const { tensors } = loadSafetensors("tests/fixtures/engine-tiny.safetensors");
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
 * max |got − want| / max |want| (the denominator at least 1e-6, for an all-zero golden): the
 * relative error the engine and parity tests bound.
 */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} ≠ ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return num / Math.max(den, 1e-6);
}
