import { describe, expect, it } from "vitest";
import { parseUserEncoderSpec } from "../quality/encoder-spec";
import { draftDescription } from "./describe";
import { fromHalfBits, toFloat16, toHalfBits } from "./float16";
import { deriveHfEncoder, visionConfig } from "./hf";
import { chooseModelFile, externalDataPath, folderRoot, modelFiles, variantOrder } from "./hf-folder";
import { externalDataFiles } from "./onnx-proto";
import { centerCrop, shortestEdgeSize } from "./preprocess";
import { encoderBaseUrl } from "./registry";

describe("float16", () => {
  it("rounds to nearest even and keeps the specials", () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(65520)).toBe(0x7c00); // rounds up to Inf
    expect(toHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalfBits(Number.NaN) & 0x7c00).toBe(0x7c00);
    for (const v of [0.1, -3.75, 1e-3, 1000.5])
      expect(Math.abs(fromHalfBits(toHalfBits(v)) - v)).toBeLessThan(Math.abs(v) * 1e-3);
    expect(Array.from(toFloat16(Float32Array.from([0, 0.5])))).toEqual([0, 0x3800]);
  });
});

describe("transformers' geometry", () => {
  it("resizes the shortest edge with int() truncation", () => {
    expect(shortestEdgeSize(91, 60, 128)).toEqual([128, 194]);
    expect(shortestEdgeSize(60, 91, 112)).toEqual([169, 112]);
    expect(shortestEdgeSize(64, 64, 256)).toEqual([256, 256]);
  });

  it("center-crops with floor division and pads a too-small image with zeros", () => {
    const img = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i + 1) };
    expect(Array.from(centerCrop(img, 2, 1).data)).toEqual([4, 5, 6, 13, 14, 15]);
    const padded = centerCrop(img, 4, 3);
    expect([padded.width, padded.height]).toEqual([3, 4]);
    expect(Array.from(padded.data.subarray(0, 9))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(padded.data.subarray(9, 18))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe("config derivation", () => {
  const dinov2 = { model_type: "dinov2", hidden_size: 384, patch_size: 14, image_size: 518 };
  const bit = {
    image_processor_type: "BitImageProcessor",
    size: { shortest_edge: 256 },
    crop_size: { height: 224, width: 224 },
    do_center_crop: true,
    resample: 3,
    image_mean: [0.485, 0.456, 0.406],
    image_std: [0.229, 0.224, 0.225],
  };

  it("a DINOv2-small folder: 16×16 of 384 after the CLS token", () => {
    const d = deriveHfEncoder(dinov2, bit);
    expect(d.spec).toMatchObject({ image_size: 224, grid: [16, 16], dim: 384, skip_tokens: 1 });
    expect(d.spec.preprocess).toEqual({
      resample: "bicubic",
      resize: { shortest_edge: 256 },
      crop: { height: 224, width: 224 },
      rescale_factor: 1 / 255,
    });
    // Defaults taken for keys the file leaves out are listed.
    expect(d.notes).toEqual([]);
  });

  it("an old ViT feature-extractor config (facebook/dino-vits16) takes the class defaults", () => {
    const d = deriveHfEncoder(
      { model_type: "vit", hidden_size: 384, patch_size: 16, image_size: 224 },
      {
        feature_extractor_type: "ViTFeatureExtractor",
        size: 224,
        resample: 2,
        do_resize: true,
        do_normalize: true,
        image_mean: [0.485, 0.456, 0.406],
        image_std: [0.229, 0.224, 0.225],
      },
    );
    expect(d.processor).toBe("ViTImageProcessor");
    expect(d.spec.preprocess).toEqual({
      resample: "bilinear",
      resize: { height: 224, width: 224 },
      rescale_factor: 1 / 255,
    });
    expect(d.spec).toMatchObject({ grid: [14, 14], skip_tokens: 1 });
  });

  it("a CLIP config without vision defaults (saved as a diff) uses CLIPVisionConfig's", () => {
    const notes: string[] = [];
    const v = visionConfig({ model_type: "clip", vision_config: { hidden_size: 768 } }, notes);
    expect(v).toMatchObject({ patch_size: 32, image_size: 224, projection_dim: 512 });
    expect(notes.join("\n")).toMatch(/vision_config has no patch_size: transformers' default 32/);
  });

  it("refuses a ViT fed a size its position embeddings are not for", () => {
    expect(() =>
      deriveHfEncoder({ model_type: "vit", patch_size: 16, image_size: 224 }, { size: { height: 256, width: 256 } }),
    ).toThrow(/feeds 256×256 pixels but config\.json image_size is 224/);
  });

  it("needs vision_config for dual encoders", () => {
    expect(() => deriveHfEncoder({ model_type: "siglip" }, {})).toThrow(/config\.json: vision_config: missing/);
  });
});

describe("folders and exports", () => {
  it("finds the root beside config.json and the exports of the family's base name", () => {
    const paths = ["m/config.json", "m/preprocessor_config.json", "m/onnx/model.onnx", "m/onnx/vision_model.onnx"];
    const { root, files } = folderRoot(paths);
    expect(root).toBe("m/");
    expect(modelFiles(files, "dino").map((m) => m.file)).toEqual(["onnx/model.onnx"]);
    expect(modelFiles(files, "clip").map((m) => m.file)).toEqual(["onnx/vision_model.onnx"]);
    expect(() => modelFiles(["config.json", "weights.onnx"], "dino")).toThrow(
      /no ONNX model in onnx\/.*found only weights\.onnx/,
    );
  });

  it("orders exports per backend and falls back to what exists", () => {
    expect(variantOrder({ provider: "webgpu", shaderF16: true })[0]).toBe("fp16");
    expect(variantOrder({ provider: "webgpu", shaderF16: false })[0]).toBe("fp32");
    expect(variantOrder({ provider: "wasm", shaderF16: false })[0]).toBe("quantized");
    const onlyFp16 = [{ file: "onnx/model_fp16.onnx", variant: "fp16" as const }];
    expect(chooseModelFile(onlyFp16, { provider: "wasm", shaderF16: false }).file).toBe("onnx/model_fp16.onnx");
  });

  it("resolves external data beside the model and refuses paths outside the folder", () => {
    expect(externalDataPath("onnx/model.onnx", "model.onnx_data")).toBe("onnx/model.onnx_data");
    expect(externalDataPath("onnx/model.onnx", "./weights/a.bin")).toBe("onnx/weights/a.bin");
    expect(() => externalDataPath("model.onnx", "../x")).toThrow(/outside the folder/);
  });

  it("normalizes folder URLs", () => {
    expect(encoderBaseUrl("https://h.co/a/b/resolve/main/config.json")).toBe("https://h.co/a/b/resolve/main/");
    expect(encoderBaseUrl("https://h.co/a/b/resolve/main")).toBe("https://h.co/a/b/resolve/main/");
  });
});

describe("externalDataFiles", () => {
  /** Minimal protobuf writer: field tag + length-delimited payloads and varints. */
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 127) {
      out.push((n & 127) | 128);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  const field = (num: number, payload: number[]) => [...varint(num * 8 + 2), ...varint(payload.length), ...payload];
  const str = (s: string) => [...new TextEncoder().encode(s)];
  const tensor = (location?: string) => [
    ...field(8, str("w")),
    ...(location ? [...field(13, [...field(1, str("location")), ...field(2, str(location))]), 14 * 8, 1] : []),
    ...field(9, [1, 2, 3, 4]),
  ];

  it("lists the locations of external initializers, and none for embedded ones", () => {
    const graph = [
      ...field(5, tensor("model.onnx_data")),
      ...field(5, tensor()),
      ...field(5, tensor("model.onnx_data")),
    ];
    const model = Uint8Array.from([8, 7, ...field(7, graph)]);
    expect(externalDataFiles(model)).toEqual(["model.onnx_data"]);
    expect(externalDataFiles(Uint8Array.from([8, 7, ...field(7, field(5, tensor()))]))).toEqual([]);
    expect(() => externalDataFiles(Uint8Array.from([0x3a, 50, 1]))).toThrow(/not a readable ONNX model/);
  });
});

describe("hand-written descriptions", () => {
  it("accept a preprocess block, deriving image_size and range from it", () => {
    const s = parseUserEncoderSpec({
      file: "m.onnx",
      input: "x",
      output: "y",
      grid: [16, 16],
      dim: 8,
      output_layout: "BHWD",
      preprocess: {
        resize: { shortest_edge: 256 },
        resample: "bilinear",
        crop: { height: 224, width: 224 },
        rescale_factor: 1 / 255,
      },
      embedding_output: "pooled",
    });
    expect(s).toMatchObject({ image_size: 224, range: [0, 1], embedding_output: "pooled" });
    expect(() =>
      parseUserEncoderSpec({
        file: "m.onnx",
        input: "x",
        output: "y",
        grid: [1, 1],
        dim: 1,
        output_layout: "BHWD",
        preprocess: { resize: { shortest_edge: 9 } },
      }),
    ).toThrow(/without a center crop/);
    expect(() =>
      parseUserEncoderSpec({
        file: "m.onnx",
        input: "x",
        output: "y",
        grid: [1, 1],
        dim: 1,
        output_layout: "BHWD",
        preprocess: { resample: "cubic" },
      }),
    ).toThrow(/preprocess\.resample: expected one of nearest, lanczos/);
  });

  it("are drafted from a model's real names and shapes", () => {
    const draft = draftDescription(
      "enc.onnx",
      [{ name: "images", isTensor: true, type: "float32", shape: ["batch", 3, 224, 224] }],
      [
        { name: "tokens", isTensor: true, type: "float32", shape: ["batch", 261, 384] },
        { name: "pooled", isTensor: true, type: "float32", shape: ["batch", 384] },
      ],
    );
    expect(draft.description).toEqual({
      file: "enc.onnx",
      input: "images",
      image_size: 224,
      output: "tokens",
      range: [0, 1],
      output_layout: "BTD",
      dim: 384,
      grid: [16, 16],
      skip_tokens: 5,
      embedding_output: "pooled",
    });
    const map = draftDescription(
      "m.onnx",
      [{ name: "x", isTensor: true, shape: [1, 3, 64, 64] }],
      [{ name: "f", isTensor: true, shape: [1, 64, 8, 8] }],
    );
    expect(map.description).toMatchObject({ grid: [8, 8], dim: 64, output_layout: "BDHW" });
  });
});
