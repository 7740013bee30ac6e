import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSafetensors, packPath, readManifest } from "../../node/packs.ts";
import { decodePng } from "../../node/png.ts";
import { relError } from "../core/engine/testing/tiny.ts";
import { CpuVit, vitArch } from "../core/engine/vit.ts";
import { CpuEncoderTrainer, type EnhanceScope } from "../core/enhance/trainer.ts";
import { pairSet, proceduralBackgrounds, spriteOf } from "../core/enhance/views.ts";
import { requireRole } from "../core/pack/roles.ts";
import { uniformStream } from "../core/sampling/rng.ts";
import type { GpuContext } from "./context.ts";
import { GpuEncoderTrainer } from "./encoder-trainer.ts";
import { createNodeContext, skipWebGpu } from "./testing/node-gpu.ts";

const packs = ["tiny", "emoji64"].filter((p) => existsSync(`public/models/${p}/patch_encoder.safetensors`));

function setup(pack: string) {
  const manifest = readManifest(pack);
  const { tensors } = loadSafetensors(`${packPath(pack)}/${requireRole(manifest, "patch_encoder").weights?.file}`);
  const arch = vitArch(manifest);
  const sprites = (manifest.gallery?.train ?? [])
    .slice(0, 3)
    .map((e) => spriteOf(decodePng(readFileSync(`${packPath(pack)}/${e.file}`), e.file)));
  const views = { size: arch.image, grid: arch.image / arch.patch };
  const pairs = pairSet(sprites, proceduralBackgrounds(4, arch.image, uniformStream(3)), 3, 7, views);
  return { arch, weights: new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array])), pairs };
}

/**
 * Weights after the steps (the gradients themselves match to 1e-4, vit.test.ts). AdamW divides
 * each update by its gradient's scale, so elements whose gradient is near rounding noise move by
 * up to lr either way: 1e-3 of the weights' norm. The key bias is left out: softmax is
 * shift-invariant per query, so its true gradient is 0 and its update is the sign of that noise.
 */
function expectSameWeights(got: Map<string, Float32Array>, want: Map<string, Float32Array>, width: number) {
  for (const [n, t] of want) {
    const key = n.endsWith("qkv.bias")
      ? (x: Float32Array) => [...x.subarray(0, width), ...x.subarray(2 * width)]
      : null;
    const [g, w] = key ? [key(got.get(n) as Float32Array), key(t)] : [got.get(n) as Float32Array, t];
    expect(relError(Float32Array.from(g), Float32Array.from(w)), n).toBeLessThan(1e-3);
  }
}

const OPTIONS = { lr: 2e-3, weightDecay: 0.01, maxNorm: 0.5, temperature: 0.1 };

/** The WGSL encoder trainer against the CPU engine's, step by step (clipping active: maxNorm below the norms). */
describe.skipIf(skipWebGpu).each(packs)("encoder enhancement on WebGPU vs the CPU engine: %s", (pack) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await createNodeContext();
  });
  afterAll(() => ctx?.destroy());

  it.each(["all", "last"] as EnhanceScope[])("three %s steps give the same scores and weights", async (scope) => {
    const { arch, weights, pairs } = setup(pack);
    const cpu = new CpuEncoderTrainer(new CpuVit(arch, weights), scope);
    const gpu = await GpuEncoderTrainer.create(ctx, arch, weights, scope);
    try {
      for (let s = 0; s < 3; s++) {
        const [want, got] = [await cpu.step(pairs, OPTIONS), await gpu.step(pairs, OPTIONS)];
        expect(Math.abs(got.loss - want.loss), `loss at step ${s}`).toBeLessThan(1e-4 * want.loss);
      }
      expectSameWeights(await gpu.weights(), await cpu.weights(), arch.width);
      if (scope === "last")
        expect((await gpu.weights()).get("patch_embed.weight")).toEqual(weights.get("patch_embed.weight"));
    } finally {
      gpu.destroy();
    }
  });

  it("a GPU checkpoint resumes on the CPU engine where the GPU run would have gone", async () => {
    const { arch, weights, pairs } = setup(pack);
    const gpu = await GpuEncoderTrainer.create(ctx, arch, weights, "all");
    try {
      await gpu.step(pairs, OPTIONS);
      const cpu = new CpuEncoderTrainer(new CpuVit(arch, weights), "all");
      cpu.importState(await gpu.exportState());
      await Promise.all([gpu.step(pairs, OPTIONS), cpu.step(pairs, OPTIONS)]);
      expectSameWeights(await gpu.weights(), await cpu.weights(), arch.width);
    } finally {
      gpu.destroy();
    }
  });
});
