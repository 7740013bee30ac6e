/**
 * buildDataset (src/core/dataset/build.ts) on the tiny pack with real ORT-web WASM sessions in
 * Node: shapes, the generated latents equal to a direct generate() with the same seed, and both
 * quality maps as cosines on the patch grid.
 */
import { describe, expect, it } from "vitest";
import { nodeRunner } from "../node/ort";
import { baseAdapter, readManifest } from "../node/packs";
import { buildDataset } from "../src/core/dataset/build";
import { meanQuality } from "../src/core/dataset/types";
import { generate, imageToTensor } from "../src/core/generate";
import { layoutOwners } from "../src/core/quality/subjects";

const manifest = readManifest("tiny");
const run = nodeRunner("tiny");
const sampler = { steps: 2, sampler: "ddim" as const, guidanceImage: 3, guidancePrompt: 2, ipScale: 1 };

function disc(colour: [number, number, number, number] = [220, 40, 40, 255]): Float32Array {
  const data = new Uint8ClampedArray(64 * 64 * 4);
  for (let i = 0; i < 64 * 64; i++) {
    const [x, y] = [i % 64, Math.floor(i / 64)];
    data.set((x - 32) ** 2 + (y - 32) ** 2 < 300 ? colour : [255, 255, 255, 255], i * 4);
  }
  return imageToTensor({ width: 64, height: 64, data }, manifest.image, "disc");
}

describe("buildDataset (tiny pack, WASM in Node)", { timeout: 300_000 }, () => {
  it("generates one image per prompt and seed with its latent, both quality maps and the reference's latent and tokens", async () => {
    const tensor = disc();
    const adapter = baseAdapter("tiny");
    const seen: number[] = [];
    const ds = await buildDataset({
      run,
      manifest,
      adapter,
      references: [{ id: "disc", tensor }],
      prompts: [{ background: "green" }],
      seeds: [1, 2],
      sampler,
      onSample: (done) => seen.push(done),
    });
    expect(seen).toEqual([1, 2]);
    expect(ds.grid).toEqual({ height: 8, width: 8 });
    expect(ds.references).toHaveLength(1);
    expect(ds.references[0].latent).toHaveLength(4 * 16 * 16);
    expect(ds.references[0].imageTokens).toHaveLength(64 * 16);
    expect(ds.samples.map((s) => s.seed)).toEqual([1, 2]);
    const tokens = ds.references[0].imageTokens;
    const direct = await generate({
      run,
      manifest,
      imageTokens: tokens,
      adapter,
      settings: { ...sampler, prompt: { background: "green" }, seed: 2, batch: 1 },
    });
    expect(ds.samples[1].latent).toEqual(direct.latents);
    for (const s of ds.samples) {
      expect(s.mGen).toHaveLength(64);
      expect(s.mRef).toHaveLength(64);
      expect(s.promptIds).toHaveLength(3);
      for (const v of [...s.mGen, ...s.mRef]) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-6);
      expect(meanQuality(s)).not.toBe(0);
    }
  });

  it("generates each pair of references in one image, in the layout's order, with per-subject maps", async () => {
    const adapter = baseAdapter("tiny");
    const references = [
      { id: "red", tensor: disc() },
      { id: "blue", tensor: disc([40, 40, 220, 255]) },
    ];
    const prompt = { background: "green", position: "A right, B left", size: "large" };
    const ds = await buildDataset({
      run,
      manifest,
      adapter,
      references,
      pairs: [[0, 1]],
      prompts: [prompt],
      seeds: [3],
      sampler,
    });
    expect(ds.samples).toHaveLength(1);
    const [s] = ds.samples;
    expect(s.ref).toBe(0);
    expect(s.second?.ref).toBe(1);
    expect(s.second?.bFirst).toBe(true); // B is left, so the denoiser takes B's reference first
    const [a, b] = ds.references.map((r) => r.imageTokens);
    const direct = await generate({
      run,
      manifest,
      imageTokens: Float32Array.from([...b, ...a]),
      adapter,
      settings: { ...sampler, prompt, seed: 3, batch: 1 },
    });
    expect(s.latent).toEqual(direct.latents);
    const owners = layoutOwners(manifest, prompt, ds.grid);
    expect(owners.filter((o) => o === 0).length).toBeGreaterThan(0);
    expect(owners.filter((o) => o === 1).length).toBeGreaterThan(0);
    for (const m of [s.mGen, s.mRef, s.second?.mRef ?? new Float32Array()]) expect(m).toHaveLength(64);
    expect(s.second?.mRef).not.toEqual(s.mRef);
    await expect(
      buildDataset({
        run,
        manifest,
        adapter,
        references,
        pairs: [[0, 1]],
        prompts: [{ position: "left" }],
        seeds: [1],
        sampler,
      }),
    ).rejects.toThrow(/two subjects need a layout/);
  });
});
