/**
 * Hugging Face / transformers.js model folders as encoders, against the foundry's replicas
 * (`python3 -m foundry hf-fixtures` → tests/fixtures/hf/, README there): the spec derived from
 * config.json + preprocessor_config.json, the pixel values of src/core/encoders/preprocess.ts
 * against transformers' processors (bit for bit), and onnxruntime-web's outputs on those pixels
 * against PyTorch's for every ONNX export (≤ 1e-4); then the specific errors for broken folders.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { folderFiles, openHfFolder } from "../node/hf-encoder";
import { decodePng } from "../node/png";
import { bindHfModel, deriveHfEncoder, globalSlotSpec, HF_MODEL_TYPES } from "../src/core/encoders/hf";
import { chooseModelFile } from "../src/core/encoders/hf-folder";
import { encoderInput, processorImage } from "../src/core/encoders/preprocess";
import { stageHfFolder } from "../src/core/encoders/registry";
import { sessionSignature } from "../src/core/encoders/session";
import { parseSafetensors, type Tensor } from "../src/core/safetensors";

const ROOT = "tests/fixtures/hf";
const run = promisify(execFile);
const WASM = { provider: "wasm", shaderF16: false } as const;

interface Reference {
  images: string[];
  files: Record<string, { inputs: Record<string, string[]>; outputs: Record<string, string[]> }>;
}

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const reference = (folder: string): Reference => json(join(ROOT, folder, "reference.json"));
const tensors = (folder: string) => parseSafetensors(readFileSync(join(ROOT, folder, "reference.safetensors"))).tensors;
const image = (path: string) => decodePng(readFileSync(path), path);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** What each folder's configs must give (README table: grid = input side / patch, skip = CLS + registers). */
const EXPECTED = {
  "dinov2-registers": {
    modelType: "dinov2_with_registers",
    side: 112,
    grid: 8,
    dim: 48,
    skip: 5,
    embedding: undefined,
  },
  dinov2: { modelType: "dinov2", side: 112, grid: 8, dim: 32, skip: 1, embedding: undefined },
  "dino-vits16": { modelType: "vit", side: 128, grid: 8, dim: 48, skip: 1, embedding: undefined },
  "clip-vision": { modelType: "clip_vision_model", side: 112, grid: 7, dim: 32, skip: 1, embedding: "image_embeds" },
  clip: { modelType: "clip", side: 128, grid: 4, dim: 32, skip: 1, embedding: "image_embeds" },
  "siglip-vision": {
    modelType: "siglip_vision_model",
    side: 96,
    grid: 6,
    dim: 32,
    skip: 0,
    embedding: "pooler_output",
  },
} as const;

const FOLDERS = Object.keys(EXPECTED) as (keyof typeof EXPECTED)[];

describe.each(FOLDERS)("tests/fixtures/hf/%s", (folder) => {
  const dir = join(ROOT, folder);
  const want = EXPECTED[folder];
  const ref = reference(folder);
  const t = tensors(folder);

  it("derives the spec from config.json and preprocessor_config.json", async () => {
    const d = deriveHfEncoder(json(join(dir, "config.json")), json(join(dir, "preprocessor_config.json")));
    expect(d.modelType).toBe(want.modelType);
    expect(d.spec).toMatchObject({
      input: "pixel_values",
      output: "last_hidden_state",
      image_size: want.side,
      grid: [want.grid, want.grid],
      dim: want.dim,
      skip_tokens: want.skip,
      output_layout: "BTD",
      range: [0, 1],
    });
    expect(d.notes).toEqual([]);
    const first = Object.keys(ref.files)[0];
    expect(t.get(`last_hidden_state/0`)?.shape).toEqual([1, want.skip + want.grid ** 2, want.dim]);
    const staged = await stageHfFolder(folderFiles(dir), WASM);
    expect(staged.models.map((m) => m.file)).toEqual(expect.arrayContaining([first]));
  });

  it("gives transformers' pixel_values for the reference images, bit for bit", () => {
    const d = deriveHfEncoder(json(join(dir, "config.json")), json(join(dir, "preprocessor_config.json")));
    for (const [i, path] of ref.images.entries()) {
      const expected = t.get(`pixel_values/${i}`) as Tensor;
      expect(expected.shape).toEqual([1, 3, want.side, want.side]);
      const got = encoderInput(d.spec, image(path), [255, 255, 255], path);
      expect(maxAbsDiff(got, expected.data as Float32Array)).toBe(0);
    }
  });

  it.each(Object.keys(ref.files))("%s on onnxruntime-web matches PyTorch within 1e-4", async (file) => {
    const opened = await openHfFolder(dir, { file });
    try {
      expect(opened.binding.spec.embedding_output).toBe(want.embedding);
      const outputs = ref.files[file].outputs;
      for (const [i, path] of ref.images.entries()) {
        const pixels = encoderInput(opened.binding.spec, image(path), [255, 255, 255], path);
        const s = opened.binding.spec.image_size;
        const out = await opened.run({ pixel_values: { dtype: "float32", dims: [1, 3, s, s], data: pixels } });
        for (const [name, keys] of Object.entries(outputs)) {
          const expected = t.get(keys[i]) as Tensor;
          expect(out[name].dims).toEqual(expected.shape);
          expect(maxAbsDiff(out[name].data as Float32Array, expected.data as Float32Array)).toBeLessThan(1e-4);
        }
        // Patch rows and the pooled embedding as the metrics take them.
        const enc = await opened.encode(image(path), path);
        expect(enc.patches.length).toBe(want.grid ** 2 * want.dim);
        const pooledFrom = want.embedding ? (t.get(outputs[want.embedding][i]) as Tensor).data : undefined;
        const last = (t.get(outputs.last_hidden_state[i]) as Tensor).data as Float32Array;
        const pooled = pooledFrom ?? last.subarray(0, want.dim);
        expect(maxAbsDiff(enc.pooled, pooled as Float32Array)).toBeLessThan(1e-4);
      }
    } finally {
      await opened.session.release();
    }
  });
});

describe("tests/fixtures/hf/preprocess: a non-square RGBA image", () => {
  const ref = json(join(ROOT, "preprocess/reference.json"));
  const t = tensors("preprocess");
  const rgba = image(ref.image);

  it.each(Object.keys(ref.cases))("%s: resize, crop and pixel_values as transformers gives them", (folder) => {
    const c = ref.cases[folder];
    const d = deriveHfEncoder(json(join(ROOT, folder, "config.json")), json(c.preprocessor_config));
    const { crop: _, ...resizeOnly } = d.spec.preprocess ?? { resample: "bicubic" as const };
    const resized = processorImage(rgba, resizeOnly);
    const want = t.get(c.resized) as Tensor;
    expect([resized.height, resized.width]).toEqual(c.resized_height_width);
    expect(want.shape).toEqual([...c.resized_height_width, 3]);
    expect(maxAbsDiff(resized.data, want.data as Uint8Array)).toBe(0);
    const pixels = encoderInput(d.spec, rgba, [255, 255, 255], ref.image);
    expect(maxAbsDiff(pixels, (t.get(c.pixel_values) as Tensor).data as Float32Array)).toBe(0);
  });
});

describe("model choice and slots", () => {
  it("picks fp16 on WebGPU with shader-f16, int8 on WASM, fp32 otherwise", async () => {
    const staged = await stageHfFolder(folderFiles(join(ROOT, "dinov2-registers")), WASM);
    const pick = (provider: "webgpu" | "wasm", shaderF16: boolean) =>
      chooseModelFile(staged.models, { provider, shaderF16 }).file;
    expect(pick("webgpu", true)).toBe("onnx/model_fp16.onnx");
    expect(pick("wasm", false)).toBe("onnx/model_quantized.onnx");
    expect(pick("webgpu", false)).toBe("onnx/model.onnx");
    const fp32Only = staged.models.filter((m) => m.variant === "fp32");
    expect(chooseModelFile(fp32Only, { provider: "wasm", shaderF16: false }).file).toBe("onnx/model.onnx");
    expect(staged.models.find((m) => m.variant === "fp32")?.externalData).toEqual([
      { location: "model.onnx_data", file: "onnx/model.onnx_data" },
    ]);
  });

  it("DINO-style slots use the CLS token, CLIP-I the image embedding", async () => {
    const opened = await openHfFolder(join(ROOT, "clip-vision"));
    await opened.session.release();
    expect(globalSlotSpec(opened.binding.spec, "clip_i").embedding_output).toBe("image_embeds");
    expect(globalSlotSpec(opened.binding.spec, "dino").embedding_output).toBeUndefined();
  });
});

describe("an export with float16 inputs and outputs", () => {
  /** dinov2-registers' fp32 model with a Cast to float32 after a float16 pixel_values and Casts to float16 before each output. */
  const SCRIPT = `
import sys, onnx
from onnx import helper, TensorProto
m = onnx.load(sys.argv[1])
g = m.graph
old_in = g.input[0]
for n in g.node:
    n.input[:] = ["px32" if x == old_in.name else x for x in n.input]
shape = [d.dim_param or d.dim_value for d in old_in.type.tensor_type.shape.dim]
g.input.remove(old_in)
g.input.append(helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT16, shape))
g.node.insert(0, helper.make_node("Cast", ["pixel_values"], ["px32"], to=TensorProto.FLOAT))
outs = list(g.output)
for o in outs:
    for n in g.node:
        n.output[:] = [o.name + "_32" if x == o.name else x for x in n.output]
        n.input[:] = [o.name + "_32" if x == o.name else x for x in n.input]
    g.node.append(helper.make_node("Cast", [o.name + "_32"], [o.name], to=TensorProto.FLOAT16))
    o.type.tensor_type.elem_type = TensorProto.FLOAT16
onnx.save(m, sys.argv[2])
`;

  it("is fed float16 pixels and read back as float32", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hf-f16-"));
    try {
      mkdirSync(join(dir, "onnx"));
      for (const f of ["config.json", "preprocessor_config.json"])
        copyFileSync(join(ROOT, "dinov2-registers", f), join(dir, f));
      await run("/usr/bin/python3", [
        "-c",
        SCRIPT,
        join(ROOT, "dinov2-registers/onnx/model.onnx"),
        join(dir, "onnx/model.onnx"),
      ]);
      const opened = await openHfFolder(dir);
      try {
        expect(opened.binding.inputType).toBe("float16");
        const t = tensors("dinov2-registers");
        const path = reference("dinov2-registers").images[0];
        const enc = await opened.encode(image(path), path);
        const want = (t.get("last_hidden_state/0") as Tensor).data as Float32Array;
        // float16 pixels and outputs: within float16 precision of the float32 references.
        expect(maxAbsDiff(enc.pooled, want.subarray(0, 48))).toBeLessThan(2e-2);
        expect(maxAbsDiff(enc.patches, want.subarray(5 * 48))).toBeLessThan(2e-2);
      } finally {
        await opened.session.release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("a folder URL", () => {
  /** A static server over the fixture folders: 404 for what is not there. */
  const fetchFixtures: typeof fetch = async (input) => {
    const url = new URL(String(input));
    const path = join(ROOT, decodeURIComponent(url.pathname.replace(/^\/models\//, "")));
    try {
      return new Response(readFileSync(path));
    } catch {
      return new Response("not found", { status: 404 });
    }
  };

  it("fetches the configs, then the backend's first existing export and its external data", async () => {
    const requested: string[] = [];
    const fetchFn: typeof fetch = (input, init) => {
      requested.push(new URL(String(input)).pathname);
      return fetchFixtures(input, init);
    };
    const url = (folder: string) => ({
      kind: "url" as const,
      url: `https://hf.test/models/${folder}/`,
      fetch: fetchFn,
    });
    const webgpu = await stageHfFolder(url("dinov2-registers"), { provider: "webgpu", shaderF16: false });
    expect(webgpu.chosen).toEqual({
      file: "onnx/model.onnx",
      variant: "fp32",
      externalData: [{ location: "model.onnx_data", file: "onnx/model.onnx_data" }],
    });
    expect(webgpu.title).toBe("dinov2-registers");
    expect([...webgpu.bytes.keys()].sort()).toEqual([
      "config.json",
      "onnx/model.onnx",
      "onnx/model.onnx_data",
      "preprocessor_config.json",
    ]);
    requested.length = 0;
    const clip = await stageHfFolder(url("clip"), WASM);
    expect(clip.chosen.file).toBe("onnx/vision_model.onnx");
    // int8 first on WASM, the vision tower's name first for CLIP: two misses, then the export.
    expect(requested.slice(2)).toEqual([
      "/models/clip/onnx/vision_model_quantized.onnx",
      "/models/clip/onnx/model_quantized.onnx",
      "/models/clip/onnx/vision_model.onnx",
    ]);
    await expect(stageHfFolder(url("nothing-here"), WASM)).rejects.toThrow(
      "config.json: missing at https://hf.test/models/nothing-here/ (HTTP 404)",
    );
  });
});

describe("broken folders get specific errors", () => {
  const dir = join(ROOT, "dinov2-registers");
  const withFiles = (patch: Record<string, string | undefined>) => {
    const source = folderFiles(dir);
    const files = new Map(source.files);
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) files.delete(k);
      else files.set(k, new Blob([v]));
    }
    return stageHfFolder({ ...source, files }, WASM);
  };
  const pre = json(join(dir, "preprocessor_config.json"));
  const config = json(join(dir, "config.json"));
  const text = (o: unknown) => JSON.stringify(o);

  it.each([
    [{ "preprocessor_config.json": undefined }, /preprocessor_config\.json: missing/],
    [{ "preprocessor_config.json": "{ not json" }, /preprocessor_config\.json: not valid JSON/],
    [
      { "preprocessor_config.json": text({ ...pre, crop_size: { height: 113, width: 113 } }) },
      /113×113 pixels, not a multiple of config\.json patch_size 14/,
    ],
    [
      { "preprocessor_config.json": text({ ...pre, crop_size: { height: 112, width: 140 } }) },
      /112×140 inputs; only square/,
    ],
    [
      { "preprocessor_config.json": text({ ...pre, do_center_crop: false }) },
      /without a center crop, a resize to shortest_edge/,
    ],
    [
      { "preprocessor_config.json": text({ ...pre, size: { longest_edge: 128 } }) },
      /preprocessor_config\.json: size: expected shortest_edge or height and width, found longest_edge/,
    ],
    [
      { "preprocessor_config.json": text({ ...pre, resample: 9 }) },
      /preprocessor_config\.json: resample: expected a Pillow filter id/,
    ],
    [
      { "preprocessor_config.json": text({ ...pre, image_std: [0.2, 0, 0.2] }) },
      /preprocessor_config\.json: image_std: values must be positive/,
    ],
    [
      { "preprocessor_config.json": text({ ...pre, image_mean: [0.5, 0.5] }) },
      /preprocessor_config\.json: image_mean: expected three numbers/,
    ],
    [
      { "preprocessor_config.json": text({ ...pre, image_processor_type: "LayoutLMv3ImageProcessor" }) },
      /image_processor_type: "LayoutLMv3ImageProcessor" is not supported; supported: BitImageProcessor/,
    ],
    [
      { "config.json": text({ ...config, model_type: "bert" }) },
      /config\.json: model_type "bert" is not supported; supported: dinov2, dinov2_with_registers, vit/,
    ],
    [{ "config.json": text({ ...config, patch_size: "14" }) }, /config\.json: patch_size: expected a positive integer/],
    [{ "config.json": undefined }, /config\.json: missing/],
    [
      { "onnx/model.onnx_data": undefined },
      /onnx\/model\.onnx keeps its weights in external data "model\.onnx_data", which is not in the folder/,
    ],
    [
      { "onnx/model.onnx": undefined, "onnx/model_fp16.onnx": undefined, "onnx/model_quantized.onnx": undefined },
      /no ONNX model in onnx\/: expected onnx\/model\.onnx/,
    ],
  ])("%o", async (patch, message) => {
    await expect(withFiles(patch)).rejects.toThrow(message);
  });

  it("names the model's outputs when last_hidden_state is not one of them", async () => {
    const opened = await openHfFolder(dir, { file: "onnx/model.onnx" });
    const sig = sessionSignature(opened.session);
    await opened.session.release();
    const renamed = { ...sig, outputNames: ["features", "pooler_output"] };
    expect(() => bindHfModel(opened.staged.derivation, renamed, "onnx/model.onnx")).toThrow(
      'onnx/model.onnx: no output "last_hidden_state"; the model\'s outputs are [features, pooler_output]',
    );
    // A config whose registers disagree with the model's static token count.
    const three = deriveHfEncoder({ ...config, num_register_tokens: 3 }, pre);
    expect(() => bindHfModel(three, sig, "onnx/model.onnx")).toThrow(
      /has 69 tokens; config\.json \(patch_size 14\) and the 112×112 input give 1 CLS \+ 3 registers \+ 8×8 patches = 68/,
    );
    expect(HF_MODEL_TYPES).toContain("siglip");
  });
});
