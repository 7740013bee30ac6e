/**
 * The TypeScript sampler (src/core/sampling) driving the exported ONNX graphs through
 * onnxruntime-web (WASM, in Node) reproduces the foundry's PyTorch sampler on fixed initial noise
 * (tests/fixtures/sampler-<pack>.safetensors): DDIM and Euler, with image and prompt guidance.
 */
import { existsSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { createSession, nodeRunner } from "../node/ort";
import { baseAdapter, loadSafetensors, need, readManifest } from "../node/packs";
import { concatReferences } from "../src/core/engine/references";
import { relError } from "../src/core/engine/testing/tiny";
import { bindDenoiser, decodeLatents, referenceOrder } from "../src/core/generate";
import { pairChoice } from "../src/core/metrics/scene";
import type { PairPrompt } from "../src/core/pack/manifest";
import { sample } from "../src/core/sampling";

const packs = ["tiny", "emoji64"].filter((p) => existsSync(`tests/fixtures/sampler-${p}.safetensors`));

describe.each(packs)("sampler parity: %s", (pack) => {
  const manifest = readManifest(pack);
  const { tensors: fx, metadata } = loadSafetensors(`tests/fixtures/sampler-${pack}.safetensors`);
  const settings = JSON.parse(metadata.settings);
  const run = nodeRunner(pack);
  const noise = need(fx, "noise");
  const batch = noise.shape[0];

  async function sampleWith(sampler: "ddim" | "euler", pair = false): Promise<Float32Array> {
    const steps: number[] = [];
    const suffix = pair ? "_pair" : "";
    const z = await sample({
      denoise: bindDenoiser(run, manifest, baseAdapter(pack), settings.ip_scale),
      scheduler: manifest.scheduler,
      sampler,
      steps: settings.steps,
      guidanceImage: settings.guidance_image,
      guidancePrompt: settings.guidance_prompt,
      noise: noise.data as Float32Array,
      batch,
      promptIds: need(fx, `prompt_ids${suffix}`).data as BigInt64Array,
      nullId: manifest.prompt.null_id,
      imageTokens: need(fx, `image_tokens${suffix}`).data as Float32Array,
      onStep: (i) => steps.push(i),
    });
    expect(steps).toEqual(Array.from({ length: settings.steps }, (_, i) => i + 1));
    return z;
  }

  it("image encoder tokens match", async () => {
    const s = await createSession(pack, "image_encoder");
    const ref = need(fx, "reference");
    const out = await s.run({ image: new ort.Tensor("float32", ref.data as Float32Array, ref.shape) });
    expect(relError(out.image_tokens.data as Float32Array, need(fx, "image_tokens").data as Float32Array)).toBeLessThan(
      1e-4,
    );
  });

  it.skipIf(!fx.has("latent_pair"))("DDIM with two references (in the layout's order) matches", async () => {
    const z = await sampleWith("ddim", true);
    expect(relError(z, need(fx, "latent_pair").data as Float32Array)).toBeLessThan(2e-3);
    // The fixture's tokens are the references in the order the studio passes them.
    const [a, b] = [0, 1].map((k) => {
      const t = need(fx, "image_tokens").data as Float32Array;
      const n = t.length / batch;
      return t.subarray(k * n, (k + 1) * n);
    });
    const prompts = JSON.parse(metadata.pair_prompts) as PairPrompt[];
    const pairTokens = need(fx, "image_tokens_pair").data as Float32Array;
    prompts.forEach((p, i) => {
      const order = referenceOrder(manifest.prompt, pairChoice(manifest.prompt, p));
      const n = pairTokens.length / batch;
      expect(pairTokens.subarray(i * n, (i + 1) * n)).toEqual(concatReferences([a, b], order));
    });
  });

  it("DDIM latent and decoded image match", async () => {
    const z = await sampleWith("ddim");
    expect(relError(z, need(fx, "latent").data as Float32Array)).toBeLessThan(2e-3);
    const image = await decodeLatents(run, manifest, z, batch);
    expect(relError(image, need(fx, "image").data as Float32Array)).toBeLessThan(2e-3);
  });

  it("Euler latent matches", async () => {
    const z = await sampleWith("euler");
    expect(relError(z, need(fx, "latent_euler").data as Float32Array)).toBeLessThan(2e-3);
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
