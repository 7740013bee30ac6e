/**
 * The TypeScript sampler (src/core/sampling) driving the exported ONNX graphs through
 * onnxruntime-web (WASM, in Node) reproduces the foundry's PyTorch sampler on fixed initial noise
 * (tests/fixtures/sampler-<pack>.safetensors): DDIM and Euler, with image and prompt guidance.
 */
import { existsSync, readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { parseSafetensors, type Tensor } from "../src/core/safetensors";
import { type DenoiseFn, sample } from "../src/core/sampling";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const packs = ["tiny", "emoji64"].filter((p) => existsSync(`tests/fixtures/sampler-${p}.safetensors`));

function load(path: string) {
  const b = readFileSync(path);
  return parseSafetensors(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), path);
}

function need(tensors: Map<string, Tensor>, name: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`missing tensor ${name}`);
  return t;
}

function relErr(got: Float32Array, want: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return num / Math.max(den, 1e-6);
}

describe.each(packs)("sampler parity: %s", (pack) => {
  const dir = `public/models/${pack}`;
  const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, "utf8"));
  const { tensors: fx, metadata } = load(`tests/fixtures/sampler-${pack}.safetensors`);
  const settings = JSON.parse(metadata.settings);
  const session = (role: string) =>
    ort.InferenceSession.create(readFileSync(`${dir}/${manifest.roles[role].file}`), { executionProviders: ["wasm"] });
  const weights = load(`${dir}/${manifest.roles.denoiser.weights.file}`).tensors;
  const noise = need(fx, "noise");
  const batch = noise.shape[0];

  async function run(sampler: "ddim" | "euler"): Promise<Float32Array> {
    const den = await session("denoiser");
    const adapterFeeds: Record<string, ort.Tensor> = {
      ip_scale: new ort.Tensor("float32", new Float32Array([settings.ip_scale]), [1]),
    };
    for (const t of manifest.roles.denoiser.adapter.tensors) {
      adapterFeeds[t.name] = new ort.Tensor("float32", need(weights, t.name).data as Float32Array, t.shape);
    }
    const tokensShape = need(fx, "image_tokens").shape;
    const denoise: DenoiseFn = async ({ latent, timestep, promptIds, imageTokens, batch: b }) => {
      const out = await den.run({
        latent: new ort.Tensor("float32", latent, [b, ...noise.shape.slice(1)]),
        timestep: new ort.Tensor("float32", timestep, [b]),
        prompt_ids: new ort.Tensor("int64", promptIds, [b, manifest.prompt.length]),
        image_tokens: new ort.Tensor("float32", imageTokens, [b, ...tokensShape.slice(1)]),
        ...adapterFeeds,
      });
      return out.eps.data as Float32Array;
    };
    const steps: number[] = [];
    const z = await sample({
      denoise,
      scheduler: manifest.scheduler,
      sampler,
      steps: settings.steps,
      guidanceImage: settings.guidance_image,
      guidancePrompt: settings.guidance_prompt,
      noise: noise.data as Float32Array,
      batch,
      promptIds: need(fx, "prompt_ids").data as BigInt64Array,
      nullId: manifest.prompt.null_id,
      imageTokens: need(fx, "image_tokens").data as Float32Array,
      onStep: (i) => steps.push(i),
    });
    expect(steps).toEqual(Array.from({ length: settings.steps }, (_, i) => i + 1));
    return z;
  }

  it("image encoder tokens match", async () => {
    const s = await session("image_encoder");
    const ref = need(fx, "reference");
    const out = await s.run({ image: new ort.Tensor("float32", ref.data as Float32Array, ref.shape) });
    expect(relErr(out.image_tokens.data as Float32Array, need(fx, "image_tokens").data as Float32Array)).toBeLessThan(
      1e-4,
    );
  });

  it("DDIM latent and decoded image match", async () => {
    const z = await run("ddim");
    expect(relErr(z, need(fx, "latent").data as Float32Array)).toBeLessThan(2e-3);
    const dec = await session("vae_decoder");
    const scaled = Float32Array.from(z, (v) => v / manifest.latent.scale_factor);
    const img = await dec.run({ latent: new ort.Tensor("float32", scaled, noise.shape) });
    expect(relErr(img.image.data as Float32Array, need(fx, "image").data as Float32Array)).toBeLessThan(2e-3);
  });

  it("Euler latent matches", async () => {
    const z = await run("euler");
    expect(relErr(z, need(fx, "latent_euler").data as Float32Array)).toBeLessThan(2e-3);
  });

  it("cancels between steps", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      sample({
        denoise: async () => new Float32Array(0),
        scheduler: manifest.scheduler,
        sampler: "ddim",
        steps: 3,
        guidanceImage: 1,
        guidancePrompt: 1,
        noise: noise.data as Float32Array,
        batch,
        promptIds: need(fx, "prompt_ids").data as BigInt64Array,
        nullId: 0,
        imageTokens: need(fx, "image_tokens").data as Float32Array,
        signal: controller.signal,
      }),
    ).rejects.toThrow("Generation cancelled");
  });
});
