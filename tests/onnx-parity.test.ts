/**
 * The exported ONNX graphs, run by onnxruntime-web's WASM backend in Node, agree with the
 * foundry's PyTorch outputs (tests/fixtures/ort-<pack>.safetensors, written by
 * `python3 -m foundry fixtures`). Also checks that a trained adapter can be fed at run time.
 */
import { existsSync, readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { parseSafetensors, type Tensor } from "../src/core/safetensors";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const packs = ["tiny", "emoji64"].filter((p) => existsSync(`public/models/${p}/manifest.json`));

function load(path: string) {
  const b = readFileSync(path);
  return parseSafetensors(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), path).tensors;
}

function need(tensors: Map<string, Tensor>, name: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`fixture lacks tensor ${name}`);
  return t;
}

function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype === "I64" ? "int64" : "float32", t.data, t.shape);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

describe.each(packs)("ONNX parity: %s", (pack) => {
  const dir = `public/models/${pack}`;
  const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, "utf8"));
  const golden = load(`tests/fixtures/ort-${pack}.safetensors`);
  const session = (role: string) =>
    ort.InferenceSession.create(readFileSync(`${dir}/${manifest.roles[role].file}`), { executionProviders: ["wasm"] });
  // float32 graphs run in a different operation order; relative to the output's scale.
  const close = (got: ArrayLike<number>, want: ArrayLike<number>) =>
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4 * Math.max(1, maxAbs(want)));

  for (const [role, input, output] of [
    ["vae_encoder", "image", "latent"],
    ["vae_decoder", "latent", "image"],
    ["image_encoder", "image", "image_tokens"],
    ["patch_encoder", "image", "features"],
  ] as const) {
    it(`${role} matches PyTorch`, async () => {
      const s = await session(role);
      const want = need(golden, `${role}.${output}`);
      const out = await s.run({ [input]: toOrt(need(golden, `${role}.${input}`)) });
      expect(out[output].dims).toEqual(want.shape);
      close(out[output].data as Float32Array, want.data as Float32Array);
    });
  }

  it("denoiser matches PyTorch with base and with overridden adapter tensors", async () => {
    const s = await session("denoiser");
    const weights = load(`${dir}/${manifest.roles.denoiser.weights.file}`);
    const names: string[] = manifest.roles.denoiser.adapter.tensors.map((t: { name: string }) => t.name);
    const feeds: Record<string, ort.Tensor> = {};
    for (const n of ["latent", "timestep", "prompt_ids", "image_tokens"])
      feeds[n] = toOrt(need(golden, `denoiser.${n}`));
    feeds.ip_scale = new ort.Tensor("float32", new Float32Array([1]), [1]);
    for (const n of names) feeds[n] = toOrt(need(weights, n));
    const base = await s.run(feeds);
    close(base.eps.data as Float32Array, need(golden, "denoiser.eps").data as Float32Array);

    feeds.ip_scale = toOrt(need(golden, "denoiser_override.ip_scale"));
    for (const n of names) feeds[n] = toOrt(need(golden, `denoiser_override.${n}`));
    const over = await s.run(feeds);
    const want = need(golden, "denoiser_override.eps").data as Float32Array;
    close(over.eps.data as Float32Array, want);
    // The override must actually change the output, or this test could not fail.
    expect(maxAbsDiff(over.eps.data as Float32Array, base.eps.data as Float32Array)).toBeGreaterThan(1e-3);
  });
});

describe("safetensors", () => {
  it("rejects a truncated file with a specific message", () => {
    const b = readFileSync("tests/fixtures/ort-tiny.safetensors");
    const cut = b.buffer.slice(b.byteOffset, b.byteOffset + 100);
    expect(() => parseSafetensors(cut, "ort-tiny.safetensors")).toThrow(
      /ort-tiny.safetensors: header length \d+ exceeds file size/,
    );
  });
});
