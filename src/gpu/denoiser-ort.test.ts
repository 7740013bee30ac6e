import { existsSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession } from "../../node/ort.ts";
import { packDenoiser } from "../../node/packs.ts";
import { adapterNames } from "../core/engine/arch.ts";
import { CpuDenoiser, type DenoiserInputs } from "../core/engine/denoiser.ts";
import { relError } from "../core/engine/testing/tiny.ts";
import { gaussian } from "../core/sampling/rng.ts";
import type { GpuContext } from "./context.ts";
import { GpuDenoiser } from "./denoiser.ts";
import { createNodeContext, skipWebGpu } from "./testing/node-gpu.ts";

/**
 * Both engines' forward against onnxruntime-web (WASM) running the pack's exported denoiser, on
 * random inputs with the adapter tensors fed as ORT inputs. Every pack present is checked (the
 * built-in emoji64 once the foundry has exported it). Tolerance: max |Δ| ≤ 1e-5·max |ε_ort|.
 */
const packs = ["tiny", "emoji64"].filter((p) => existsSync(`public/models/${p}/denoiser.onnx`));

describe.each(packs)("denoiser forward vs onnxruntime-web: %s", (pack) => {
  const { arch, weights } = packDenoiser(pack);
  const B = 2;
  const S = arch.latentSize;
  const inputs: DenoiserInputs = {
    latent: gaussian(1, B * arch.latentChannels * S * S),
    timestep: new Float32Array([999, 321]),
    promptIds: Int32Array.from({ length: B * arch.promptLength }, (_, i) => (i * 7) % arch.promptVocab),
    imageTokens: gaussian(2, B * arch.imageTokens * arch.imageDim),
    ipScale: 0.8,
  };
  let want: Float32Array;
  let ctx: GpuContext | undefined;

  beforeAll(async () => {
    const session = await createSession(pack, "denoiser");
    const feeds: Record<string, ort.Tensor> = {
      latent: new ort.Tensor("float32", inputs.latent, [B, arch.latentChannels, S, S]),
      timestep: new ort.Tensor("float32", Float32Array.from(inputs.timestep), [B]),
      prompt_ids: new ort.Tensor("int64", BigInt64Array.from(inputs.promptIds, BigInt), [B, arch.promptLength]),
      image_tokens: new ort.Tensor("float32", inputs.imageTokens, [B, arch.imageTokens, arch.imageDim]),
      ip_scale: new ort.Tensor("float32", new Float32Array([inputs.ipScale]), [1]),
    };
    for (const n of adapterNames(arch)) {
      feeds[n] = new ort.Tensor("float32", weights.get(n) as Float32Array, [arch.width, arch.imageDim]);
    }
    want = (await session.run(feeds)).eps.data as Float32Array;
  }, 60_000);
  afterAll(() => ctx?.destroy());

  it("CPU backend", () => {
    expect(relError(new CpuDenoiser(arch, weights).forward(inputs).eps, want)).toBeLessThan(1e-5);
  });

  it.skipIf(skipWebGpu)(
    "WGSL engine",
    async () => {
      ctx = await createNodeContext();
      const den = await GpuDenoiser.create(ctx, arch, weights);
      expect(relError(await den.forward(inputs), want)).toBeLessThan(1e-5);
      den.destroy();
    },
    60_000,
  );
});
