/** Test helpers: the tiny pack's denoiser and the foundry's golden engine fixture (Node only). */
import { readFileSync } from "node:fs";
import type { Manifest } from "../../pack/manifest";
import { parseSafetensors } from "../../safetensors";
import { type DenoiserArch, denoiserArch } from "../arch";
import type { DenoiserInputs } from "../denoiser";

function load(path: string): Map<string, Float32Array | BigInt64Array> {
  const b = readFileSync(path);
  const { tensors } = parseSafetensors(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), path);
  return new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array | BigInt64Array]));
}

/** A pack's folder: an id names one under public/models/, anything with a slash is a folder path. */
export const packPath = (pack: string): string => (pack.includes("/") ? pack : `public/models/${pack}`);

export function packDenoiser(pack: string): { arch: DenoiserArch; weights: Map<string, Float32Array> } {
  const dir = packPath(pack);
  const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, "utf8")) as Manifest;
  const weights = manifest.roles.denoiser?.weights as { file: string } | undefined;
  if (!weights) throw new Error(`${pack}: the manifest has no denoiser weights`);
  const file = weights.file;
  return { arch: denoiserArch(manifest), weights: load(`${dir}/${file}`) as Map<string, Float32Array> };
}

export interface EngineFixture {
  inputs: DenoiserInputs;
  eps: Float32Array;
  target: Float32Array;
  weight: Float32Array;
  loss: number;
  grads: Map<string, Float32Array>;
}

export function engineFixture(): EngineFixture {
  const t = load("tests/fixtures/engine-tiny.safetensors");
  const f = (n: string) => {
    const v = t.get(n);
    if (!(v instanceof Float32Array)) throw new Error(`fixture: missing f32 tensor ${n}`);
    return v;
  };
  const ids = t.get("input.prompt_ids") as BigInt64Array;
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
    grads: new Map([...t.keys()].filter((k) => k.startsWith("grad.")).map((k) => [k.slice(5), f(k)])),
  };
}

/** max |got − want| / max |want|: the relative error the engine tests bound. */
export function relError(got: Float32Array, want: Float32Array): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} ≠ ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return num / den;
}
