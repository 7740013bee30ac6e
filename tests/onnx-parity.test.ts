/**
 * The exported ONNX graphs, run by onnxruntime-web's WASM backend in Node, agree with the
 * foundry's PyTorch outputs (tests/fixtures/ort-<pack>.safetensors, written by
 * `python3 -m foundry fixtures`). Also checks that a trained adapter can be fed at run time.
 */
import { existsSync, readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { createSession, toOrt } from "../node/ort";
import { baseAdapter, loadSafetensors, need, readManifest } from "../node/packs";
import { parseSafetensors } from "../src/core/safetensors";

const packs = ["tiny", "emoji64"].filter((p) => existsSync(`tests/fixtures/ort-${p}.safetensors`));

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

// float32 graphs run in a different operation order: tolerance relative to the output's scale.
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(maxAbsDiff(got, want)).toBeLessThan(1e-4 * Math.max(1, maxAbs(want)));
}

describe.each(packs)("ONNX parity: %s", (pack) => {
  const golden = loadSafetensors(`tests/fixtures/ort-${pack}.safetensors`).tensors;

  for (const [role, input, output] of [
    ["vae_encoder", "image", "latent"],
    ["vae_decoder", "latent", "image"],
    ["image_encoder", "image", "image_tokens"],
    ["patch_encoder", "image", "features"],
  ] as const) {
    it(`${role} matches PyTorch`, async () => {
      const s = await createSession(pack, role);
      const want = need(golden, `${role}.${output}`);
      const out = await s.run({ [input]: toOrt(need(golden, `${role}.${input}`)) });
      expect(out[output].dims).toEqual(want.shape);
      expectClose(out[output].data as Float32Array, want.data as Float32Array);
    });
  }

  it("denoiser matches PyTorch with base and with overridden adapter tensors", async () => {
    const s = await createSession(pack, "denoiser");
    const feeds: Record<string, ort.Tensor> = {};
    for (const n of ["latent", "timestep", "prompt_ids", "image_tokens"])
      feeds[n] = toOrt(need(golden, `denoiser.${n}`));
    feeds.ip_scale = new ort.Tensor("float32", new Float32Array([1]), [1]);
    const base = baseAdapter(pack);
    const shapes = readManifest(pack).roles.denoiser?.inputs ?? [];
    const shapeOf = (n: string) => shapes.find((i) => i.name === n)?.shape as number[];
    for (const [n, v] of base) feeds[n] = new ort.Tensor("float32", v, shapeOf(n));
    const baseOut = await s.run(feeds);
    expectClose(baseOut.eps.data as Float32Array, need(golden, "denoiser.eps").data as Float32Array);

    feeds.ip_scale = toOrt(need(golden, "denoiser_override.ip_scale"));
    for (const n of base.keys()) feeds[n] = toOrt(need(golden, `denoiser_override.${n}`));
    const over = await s.run(feeds);
    expectClose(over.eps.data as Float32Array, need(golden, "denoiser_override.eps").data as Float32Array);
    // The override must actually change the output, or this test could not fail.
    expect(maxAbsDiff(over.eps.data as Float32Array, baseOut.eps.data as Float32Array)).toBeGreaterThan(1e-3);
  });

  it.skipIf(!golden.has("denoiser_pair.eps"))("denoiser matches PyTorch on two references' tokens", async () => {
    const s = await createSession(pack, "denoiser");
    const feeds: Record<string, ort.Tensor> = {};
    for (const n of ["latent", "timestep", "prompt_ids"]) feeds[n] = toOrt(need(golden, `denoiser.${n}`));
    feeds.image_tokens = toOrt(need(golden, "denoiser_pair.image_tokens"));
    feeds.ip_scale = new ort.Tensor("float32", new Float32Array([1]), [1]);
    const shapes = readManifest(pack).roles.denoiser?.inputs ?? [];
    for (const [n, v] of baseAdapter(pack))
      feeds[n] = new ort.Tensor("float32", v, shapes.find((i) => i.name === n)?.shape as number[]);
    const out = await s.run(feeds);
    expectClose(out.eps.data as Float32Array, need(golden, "denoiser_pair.eps").data as Float32Array);
    expect(maxAbsDiff(out.eps.data as Float32Array, need(golden, "denoiser.eps").data as Float32Array)).toBeGreaterThan(
      1e-4,
    );
  });
});

describe("safetensors", () => {
  it("rejects a truncated file with a specific message", () => {
    const b = readFileSync("tests/fixtures/ort-tiny.safetensors");
    const cut = b.subarray(0, 100);
    expect(() => parseSafetensors(cut, "ort-tiny.safetensors")).toThrow(
      /ort-tiny.safetensors: header length \d+ exceeds file size/,
    );
  });
});
