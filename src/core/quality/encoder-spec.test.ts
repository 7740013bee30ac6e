import { describe, expect, it } from "vitest";
import type { Manifest } from "../pack/manifest.ts";
import {
  type EncoderSpec,
  EncoderSpecError,
  evaluatorEncoderSpec,
  normalizeChannels,
  packEncoderSpec,
  parseUserEncoderSpec,
  patchFeatures,
} from "./encoder-spec.ts";

const base: EncoderSpec = {
  input: "pixel_values",
  output: "last_hidden_state",
  image_size: 224,
  range: [0, 1],
  grid: [2, 3],
  dim: 2,
  skip_tokens: 0,
  output_layout: "BHWD",
};

describe("patchFeatures", () => {
  it("passes a BHWD map through unchanged", () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i);
    expect(patchFeatures(data, [1, 2, 3, 2], base)).toBe(data);
  });

  it("drops CLS and register tokens of every batch item (BTD)", () => {
    // Two items, 1 CLS + 2 registers + 6 patch tokens of dim 2; token t of item b holds (100b + t, -t).
    const s = { ...base, output_layout: "BTD" as const, skip_tokens: 3 };
    const data = new Float32Array(2 * 9 * 2);
    for (let b = 0; b < 2; b++) for (let t = 0; t < 9; t++) data.set([100 * b + t, -t], (b * 9 + t) * 2);
    const rows = patchFeatures(data, [2, 9, 2], s);
    expect(rows.length).toBe(2 * 6 * 2);
    expect(Array.from(rows.subarray(0, 4))).toEqual([3, -3, 4, -4]);
    expect(Array.from(rows.subarray(12, 16))).toEqual([103, -3, 104, -4]);
  });

  it("transposes a channels-first map (BDHW)", () => {
    // d0 = patch index, d1 = 10 × patch index.
    const data = Float32Array.from([0, 1, 2, 3, 4, 5, 0, 10, 20, 30, 40, 50]);
    const rows = patchFeatures(data, [1, 2, 2, 3], { ...base, output_layout: "BDHW" });
    expect(Array.from(rows)).toEqual([0, 0, 1, 10, 2, 20, 3, 30, 4, 40, 5, 50]);
  });

  it("names expected and actual dims on a mismatch", () => {
    const s = { ...base, output_layout: "BTD" as const, skip_tokens: 1 };
    expect(() => patchFeatures(new Float32Array(12), [1, 6, 2], s)).toThrow(/\[1, 6, 2\].*expects \[1, 7, 2\]/);
  });

  it.each([
    // A DINOv2-with-registers export described without its 5 leading tokens.
    [{ grid: [8, 8], dim: 384, skip_tokens: 0 }, [1, 69, 384], "69 tokens = 64 patches + 5 to skip: skip_tokens 5"],
    [
      { grid: [7, 7], dim: 384, skip_tokens: 1 },
      [1, 65, 384],
      "65 tokens = 8×8 patches + 1 to skip: grid [8, 8], or 65 tokens = 49 patches + 16 to skip: skip_tokens 16",
    ],
    [
      { grid: [16, 16], dim: 384, skip_tokens: 1 },
      [1, 65, 768],
      "dim 768 and 65 tokens = 8×8 patches + 1 to skip: grid [8, 8]",
    ],
  ] as const)("suggests the spec values that fit: %j, output %j", (patch, dims, hint) => {
    const s = { ...base, ...patch, grid: [...patch.grid] as [number, number], output_layout: "BTD" as const };
    expect(() => patchFeatures(new Float32Array(dims[1] * dims[2]), dims, s)).toThrow(`It fits ${hint}`);
  });
});

describe("parseUserEncoderSpec", () => {
  const json = { file: "dinov2.onnx", ...base, output_layout: "BTD", skip_tokens: 5 };

  it("accepts a DINOv2-style description", () => {
    expect(parseUserEncoderSpec(json)).toEqual(json);
  });

  it("accepts ImageNet normalization and applies it per channel", () => {
    const s = parseUserEncoderSpec({ ...json, image_size: 1, normalize: { mean: [0.5, 0, 1], std: [0.5, 2, 1] } });
    expect(Array.from(normalizeChannels(Float32Array.from([1, 1, 1]), s))).toEqual([1, 0.5, 0]);
    expect(Array.from(normalizeChannels(Float32Array.from([1, 1, 1]), base))).toEqual([1, 1, 1]);
  });

  it("defaults skip_tokens to 0", () => {
    const { skip_tokens: _, ...rest } = { ...json, output_layout: "BHWD" };
    expect(parseUserEncoderSpec(rest).skip_tokens).toBe(0);
  });

  it.each([
    [{ ...json, grid: [16] }, /grid: expected \[height, width\]/],
    [{ ...json, range: [1, 1] }, /range/],
    [{ ...json, output_layout: "NHWC" }, /output_layout: expected one of BHWD, BDHW, BTD/],
    [{ ...json, output_layout: "BHWD" }, /only a token output/],
    [{ ...json, dim: 0 }, /dim: expected a positive integer/],
    [{ ...json, file: "" }, /file: expected a non-empty string/],
    [[1, 2], /expected a JSON object/],
    [{ ...json, normalize: { mean: [0.5, 0.5] } }, /normalize: expected/],
    [{ ...json, normalize: { mean: [0, 0, 0], std: [1, 0, 1] } }, /normalize.std: values must be positive/],
  ])("rejects %j", (bad, message) => {
    expect(() => parseUserEncoderSpec(bad, "my.json")).toThrow(EncoderSpecError);
    expect(() => parseUserEncoderSpec(bad, "my.json")).toThrow(message);
  });
});

describe("packEncoderSpec", () => {
  it("reads names, grid and pixel range from the manifest", () => {
    const manifest = {
      id: "p",
      image: { size: 64, range: [-1, 1] },
      roles: {
        patch_encoder: {
          inputs: [{ name: "image" }],
          outputs: [{ name: "features" }],
          grid: [8, 8],
          dim: 64,
          skip_tokens: 0,
          output_layout: "BHWD",
        },
      },
    } as unknown as Manifest;
    expect(packEncoderSpec(manifest)).toEqual({
      input: "image",
      output: "features",
      image_size: 64,
      range: [-1, 1],
      grid: [8, 8],
      dim: 64,
      skip_tokens: 0,
      output_layout: "BHWD",
    });
    expect(() => packEncoderSpec({ ...manifest, roles: {} })).toThrow(/no patch_encoder/);
  });
});

describe("evaluatorEncoderSpec", () => {
  const evaluator = {
    inputs: [{ name: "image" }],
    // The embedding listed first: the features output is picked by name, not by position.
    outputs: [{ name: "embedding" }, { name: "features" }],
    embedding_output: "embedding",
    grid: [8, 8],
    dim: 64,
    skip_tokens: 0,
    output_layout: "BHWD",
  };
  const manifest = {
    id: "p",
    image: { size: 64, range: [-1, 1] },
    evaluators: { independent: evaluator },
  } as unknown as Manifest;

  it("reads the feature and embedding outputs and the pack's preprocessing", () => {
    expect(evaluatorEncoderSpec(manifest, "independent")).toEqual({
      input: "image",
      output: "features",
      embedding_output: "embedding",
      image_size: 64,
      range: [-1, 1],
      grid: [8, 8],
      dim: 64,
      skip_tokens: 0,
      output_layout: "BHWD",
    });
  });

  it("has no embedding output without embedding_output, and names a missing evaluator", () => {
    const { embedding_output: _, ...random } = evaluator;
    const m = {
      ...manifest,
      evaluators: { patch_encoder_random: { ...random, outputs: [{ name: "f" }] } },
    } as Manifest;
    const s = evaluatorEncoderSpec(m, "patch_encoder_random");
    expect(s.output).toBe("f");
    expect(s).not.toHaveProperty("embedding_output");
    expect(() => evaluatorEncoderSpec(m, "independent")).toThrow(/has no evaluators\.independent/);
  });
});
