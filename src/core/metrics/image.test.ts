import { describe, expect, it } from "vitest";
import type { TensorData } from "../generate";
import type { EncoderSpec } from "../quality/encoder-spec";
import { evaluatorSources, evaluatorSuite, ImageEvaluator, missingEvaluatorNote, patchQualityOf } from "./image";
import { cosine, encodeImage, type ImageEncoder } from "./image-encoder";

const spec = (o: Partial<EncoderSpec>): EncoderSpec => ({
  input: "image",
  output: "features",
  image_size: 2,
  range: [0, 1],
  grid: [1, 2],
  dim: 2,
  skip_tokens: 0,
  output_layout: "BHWD",
  ...o,
});

/**
 * A 2×2 "encoder" whose output is a fixed function of the top row's red values, for hand
 * computation; with an embedding output, that output is `embedding`.
 */
const encoder = (s: EncoderSpec, f: (x: Float32Array) => number[], embedding = [0, 0]): ImageEncoder => ({
  spec: s,
  background: [255, 255, 255],
  run: async (t: TensorData) => {
    const data = Float32Array.from(f(t.data as Float32Array));
    const dims = s.output_layout === "BTD" ? [1, s.skip_tokens + 2, s.dim] : [1, 1, 2, s.dim];
    const features: TensorData = { dtype: "float32", data, dims };
    if (!s.embedding_output) return { [s.output]: features };
    return {
      [s.output]: features,
      [s.embedding_output]: { dtype: "float32", data: Float32Array.from(embedding), dims: [1, 2] },
    };
  },
});

const image = (r0: number, r1: number) => ({
  width: 2,
  height: 2,
  data: new Uint8ClampedArray([r0, 0, 0, 255, r1, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]),
});

describe("per-image metrics", () => {
  it("cosine by hand", () => {
    expect(cosine([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosine([0, 0], [1, 1])).toBe(0);
  });

  it("mean patch quality: best cosine to any reference patch, averaged over generated patches", () => {
    // gen patches (1,0), (0,1); ref patches (1,1), (1,0): best cosines 1 and 1/√2 → mean 0.853553
    const q = patchQualityOf(Float32Array.of(1, 0, 0, 1), Float32Array.of(1, 1, 1, 0), 2);
    expect(q.map[0]).toBeCloseTo(1, 6);
    expect(q.map[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(q.mean).toBeCloseTo((1 + Math.SQRT1_2) / 2, 6);
  });

  it("pools the CLS token of token encoders and the mean patch of feature maps", async () => {
    const btd = spec({ output_layout: "BTD", skip_tokens: 1 });
    const e = await encodeImage(
      encoder(btd, () => [9, 8, 1, 0, 0, 1]),
      image(0, 0),
      "x",
    );
    expect([...e.pooled]).toEqual([9, 8]);
    expect([...e.patches]).toEqual([1, 0, 0, 1]);
    const map = await encodeImage(
      encoder(spec({}), () => [1, 0, 0, 1]),
      image(0, 0),
      "x",
    );
    expect([...map.pooled]).toEqual([0.5, 0.5]);
  });

  it("takes the embedding output as the global embedding when the spec names one", async () => {
    const e = await encodeImage(
      encoder(spec({ embedding_output: "embedding" }), () => [1, 0, 0, 1], [3, 4]),
      image(0, 0),
      "x",
    );
    expect([...e.pooled]).toEqual([3, 4]);
    expect([...e.patches]).toEqual([1, 0, 0, 1]);
  });

  it("evaluates an image with patch and global encoders, encoding each reference once", async () => {
    let calls = 0;
    // feature map: patch k = (red_k, 1 − red_k) with red in [0,1]
    const patch = encoder(spec({}), (x) => {
      calls++;
      return [x[0], 1 - x[0], x[1], 1 - x[1]];
    });
    const ev = new ImageEvaluator({ patch: { patch_quality: patch }, global: { dino: patch } });
    const ref = image(255, 0); // patches (1,0), (0,1)
    const a = await ev.evaluate("s", {}, ref, image(255, 255)); // gen patches (1,0), (1,0)
    expect(a.metrics.patch_quality).toBeCloseTo(1, 6);
    // pooled gen (1,0), pooled ref (0.5,0.5) → 1/√2
    expect(a.metrics.dino).toBeCloseTo(Math.SQRT1_2, 6);
    expect(Object.keys(a.maps)).toEqual(["patch_quality"]);
    await ev.evaluate("s", {}, ref, image(0, 0));
    // One encoder behind both metrics: 1 reference + 2 generated images, each encoded once
    expect(calls).toBe(3);
    expect(ev.keys(true)).toEqual(["patch_quality", "dino"]);
  });

  it("gives each pack evaluator's metrics, global similarity only with an embedding output", () => {
    const independent = encoder(spec({ embedding_output: "embedding" }), () => [1, 0, 0, 1]);
    const random = encoder(spec({}), () => [1, 0, 0, 1]);
    const both = evaluatorSuite({ independent, patch_encoder_random: random });
    expect(both.patch).toEqual({ patch_quality_independent: independent, patch_quality_random: random });
    expect(both.global).toEqual({ global_sim_independent: independent });
    expect(evaluatorSources(both)).toEqual({
      patch_quality_independent: "evaluators.independent",
      patch_quality_random: "evaluators.patch_encoder_random",
      global_sim_independent: "evaluators.independent",
    });
    const noEmbedding = evaluatorSuite({ independent: random });
    expect(Object.keys(noEmbedding.patch)).toEqual(["patch_quality_independent"]);
    expect(noEmbedding.global).toEqual({});
    expect(missingEvaluatorNote("independent")).toBe(
      "the pack has no evaluators.independent: no patch_quality_independent, global_sim_independent",
    );
  });
});
