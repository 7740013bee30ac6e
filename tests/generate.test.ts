/** The generation pipeline on the tiny pack in Node: reproducibility, batching, bad input. */
import { describe, expect, it } from "vitest";
import { nodeRunner } from "../node/ort";
import { baseAdapter, readManifest } from "../node/packs";
import {
  encodeReference,
  type GenerateSettings,
  generate,
  imageToTensor,
  type RgbaImage,
  tensorToImage,
} from "../src/core/generate";

const manifest = readManifest("tiny");
const run = nodeRunner("tiny");
const adapter = baseAdapter("tiny");

function checkerboard(w: number, h: number): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const on = ((i % w) + Math.floor(i / w)) % 2 === 0;
    data.set([on ? 255 : 0, 40, on ? 0 : 200, 255], i * 4);
  }
  return { width: w, height: h, data };
}

const settings: GenerateSettings = {
  prompt: { background: "blue", position: "left", size: "any" },
  seed: 11,
  batch: 2,
  steps: 3,
  sampler: "ddim",
  guidanceImage: 3,
  guidancePrompt: 2,
  ipScale: 1,
};

describe("generate (tiny pack, WASM)", () => {
  it("gives identical images for the same seed and settings, different for another seed", async () => {
    const tokens = await encodeReference(run, manifest, imageToTensor(checkerboard(40, 30), manifest.image));
    const a = await generate({ run, manifest, imageTokens: tokens, adapter, settings });
    const b = await generate({ run, manifest, imageTokens: tokens, adapter, settings });
    const c = await generate({ run, manifest, imageTokens: tokens, adapter, settings: { ...settings, seed: 12 } });
    expect(a.images).toEqual(b.images);
    expect(a.images).not.toEqual(c.images);
    expect(a.images.length).toBe(2 * 3 * 64 * 64);
  });

  it("image b of a batch equals a single run with seed + b", async () => {
    const tokens = await encodeReference(run, manifest, imageToTensor(checkerboard(64, 64), manifest.image));
    const batch = await generate({ run, manifest, imageTokens: tokens, adapter, settings });
    const single = await generate({
      run,
      manifest,
      imageTokens: tokens,
      adapter,
      settings: { ...settings, batch: 1, seed: 12 },
    });
    const n = single.latents.length;
    const diff = batch.latents.subarray(n).reduce((m, v, i) => Math.max(m, Math.abs(v - single.latents[i])), 0);
    expect(diff).toBeLessThan(1e-4);
  });

  it("reports progress per step and stops when cancelled", async () => {
    const tokens = await encodeReference(run, manifest, imageToTensor(checkerboard(8, 8), manifest.image));
    const controller = new AbortController();
    const seen: number[] = [];
    const pending = generate({
      run,
      manifest,
      imageTokens: tokens,
      adapter,
      settings: { ...settings, steps: 10 },
      signal: controller.signal,
      onStep: (i) => {
        seen.push(i);
        if (i === 2) controller.abort();
      },
    });
    await expect(pending).rejects.toThrow(/cancelled/);
    expect(seen).toEqual([1, 2]);
  });

  it("rejects prompts outside the vocabulary and bad settings with specific messages", async () => {
    const tokens = new Float32Array(64 * 16);
    await expect(
      generate({
        run,
        manifest,
        imageTokens: tokens,
        adapter,
        settings: { ...settings, prompt: { background: "plaid" } },
      }),
    ).rejects.toThrow('"plaid" is not a background in this pack\'s vocabulary');
    await expect(
      generate({ run, manifest, imageTokens: tokens, adapter, settings: { ...settings, prompt: { mood: "happy" } } }),
    ).rejects.toThrow('prompt slot "mood" is not in this pack\'s vocabulary');
    await expect(
      generate({ run, manifest, imageTokens: tokens, adapter, settings: { ...settings, batch: 0 } }),
    ).rejects.toThrow("batch must be 1–16");
  });

  it("detects NaN in an output and discards the result", async () => {
    const tokens = new Float32Array(64 * 16).fill(Number.NaN);
    await expect(
      generate({ run, manifest, imageTokens: tokens, adapter, settings: { ...settings, batch: 1 } }),
    ).rejects.toThrow(/contains NaN/);
  });
});

describe("image preprocessing", () => {
  const spec = { size: 4, range: [-1, 1] as [number, number], background: [255, 255, 255] as [number, number, number] };

  it("fits, centres and pads with the background, compositing alpha over it", () => {
    // 4×2 image: opaque black left half, fully transparent right half.
    const data = new Uint8ClampedArray(4 * 2 * 4);
    for (let i = 0; i < 8; i++) data.set(i % 4 < 2 ? [0, 0, 0, 255] : [0, 0, 0, 0], i * 4);
    const t = imageToTensor({ width: 4, height: 2, data }, spec);
    const red = Array.from(t.subarray(0, 16));
    // rows 0 and 3 are padding (white = 1); rows 1–2: black, black, white, white
    expect(red).toEqual([1, 1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, 1, 1, 1, 1]);
  });

  it("box-filters when shrinking", () => {
    const t = imageToTensor(checkerboard(8, 8), { ...spec, range: [0, 1] });
    expect(t[0]).toBeCloseTo(0.5, 5); // red alternates 255/0
  });

  it("round-trips pixels through the model range", () => {
    const t = imageToTensor(checkerboard(4, 4), spec);
    const back = tensorToImage(t, 0, 4, spec.range);
    expect(Array.from(back.data.subarray(0, 8))).toEqual([255, 40, 0, 255, 0, 40, 200, 255]);
  });

  it("refuses huge and empty images", () => {
    expect(() => imageToTensor({ width: 9000, height: 10, data: new Uint8ClampedArray(0) }, spec, "big.png")).toThrow(
      "big.png: image is 9000×10; the largest accepted side is 8192 px",
    );
    expect(() => imageToTensor({ width: 0, height: 0, data: new Uint8ClampedArray(0) }, spec, "e.png")).toThrow(
      "e.png: image has no pixels",
    );
  });
});
