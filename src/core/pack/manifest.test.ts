import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evaluatorOutputs, ManifestError, packFiles, parseManifest, validateManifest } from "./manifest";
import { unitPack } from "./testing/fixtures";

function issuesOf(json: unknown): string[] {
  try {
    validateManifest(json);
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return (e as ManifestError).issues;
  }
  throw new Error("expected the manifest to be rejected");
}

// biome-ignore lint/suspicious/noExplicitAny: tests mutate the JSON freely
type Json = any;
async function manifest(): Promise<Json> {
  return structuredClone((await unitPack()).manifest);
}
const packJson = (id: string): Json =>
  JSON.parse(readFileSync(new URL(`../../../public/models/${id}/manifest.json`, import.meta.url), "utf8"));

describe("validateManifest", () => {
  it("accepts a complete schema-v1 manifest", async () => {
    const m = validateManifest(await manifest());
    expect(m.id).toBe("unit");
    expect(packFiles(m).map((f) => `${f.role}:${f.kind}:${f.file}`)).toEqual([
      "vae_encoder:onnx:vae_encoder.onnx",
      "denoiser:onnx:denoiser.onnx",
      "denoiser:weights:denoiser.safetensors",
    ]);
  });

  it("accepts the foundry's tiny pack manifest", () => {
    const text = readFileSync(new URL("../../../public/models/tiny/manifest.json", import.meta.url), "utf8");
    expect(parseManifest(text).id).toBe("tiny");
  });

  it("names file and path of a missing top-level field", async () => {
    const m = await manifest();
    delete m.latent;
    expect(issuesOf(m)).toEqual(["manifest.json: latent: missing required field"]);
  });

  it("names the nested path of a wrong type", async () => {
    const m = await manifest();
    m.roles.denoiser.inputs[2].shape = "batch,2";
    expect(issuesOf(m)).toEqual(["manifest.json: roles.denoiser.inputs[2].shape: expected an array"]);
  });

  it("refuses tensor shapes no browser can allocate, naming the tensor and its size", async () => {
    const m = await manifest();
    m.roles.denoiser.inputs[0].shape = ["batch", 4, 65536, 65536];
    m.latent.height = 100000;
    m.latent.width = 100000;
    const issues = issuesOf(m);
    expect(issues).toContain(
      "manifest.json: latent: [4, 100000, 100000] takes 149 GiB per item; one tensor must fit in 2 GiB",
    );
    expect(issues).toContain(
      "manifest.json: roles.denoiser.inputs[0].shape: [1, 4, 65536, 65536] takes 64.0 GiB per item; one tensor must fit in 2 GiB",
    );
  });

  it("names a missing field inside a role", async () => {
    const m = await manifest();
    delete m.roles.vae_encoder.sha256;
    expect(issuesOf(m)).toEqual(["manifest.json: roles.vae_encoder.sha256: missing required field"]);
  });

  it("refuses schema versions it does not know", async () => {
    const m = await manifest();
    m.schema_version = 2;
    expect(issuesOf(m)[0]).toMatch(/^manifest\.json: schema_version: unsupported version 2/);
  });

  it("reports every problem at once", async () => {
    const m = await manifest();
    m.id = "Has Spaces";
    m.roles.bogus = {};
    m.roles.denoiser.outputs[0].dtype = "float16";
    m.roles.vae_encoder.inputs[0].shape[1] = 0;
    m.roles.denoiser.inputs.push({ name: "latent", dtype: "float32", shape: [1] });
    m.prompt.slots.pop();
    expect(issuesOf(m)).toEqual([
      "manifest.json: id: must match /^[a-z0-9_-]+$/",
      "manifest.json: prompt.slots: has 1 slots but prompt.length is 2",
      'manifest.json: roles.vae_encoder.inputs[0].shape[1]: expected a positive integer, "batch" or "image_tokens"',
      'manifest.json: roles.denoiser.inputs[7].name: duplicate tensor name "latent"',
      'manifest.json: roles.denoiser.outputs[0].dtype: expected one of "float32", "int64"',
      "manifest.json: roles.bogus: unknown role; expected one of vae_encoder, vae_decoder, image_encoder, denoiser, patch_encoder",
    ]);
  });

  it("rejects file paths that leave the pack folder", async () => {
    for (const file of ["../x.onnx", "/abs.onnx", "https://evil.example/x.onnx", "a/../../x.onnx"]) {
      const m = await manifest();
      m.roles.vae_encoder.file = file;
      expect(issuesOf(m)[0]).toMatch(/^manifest\.json: roles\.vae_encoder\.file: must match/);
    }
  });

  it("checks hashes, sizes and weights references", async () => {
    const m = await manifest();
    m.roles.vae_encoder.sha256 = "ABC";
    m.roles.vae_encoder.bytes = 1.5;
    delete m.roles.denoiser.weights.bytes;
    expect(issuesOf(m)).toEqual([
      "manifest.json: roles.vae_encoder.bytes: expected an integer",
      "manifest.json: roles.vae_encoder.sha256: must match /^[0-9a-f]{64}$/",
      "manifest.json: roles.denoiser.weights.bytes: missing required field",
    ]);
  });

  it("reports invalid JSON against the file", () => {
    expect(() => parseManifest("{ not json")).toThrow(/^manifest\.json: not valid JSON/);
  });

  it("rejects a non-object root", () => {
    expect(issuesOf([])).toEqual(["manifest.json: (root): expected an object"]);
  });

  describe("scenes and evaluators", () => {
    it("accepts both packs' scene kits and random encoders, typed", () => {
      for (const id of ["tiny", "emoji64"]) {
        const m = validateManifest(packJson(id));
        // the kit renders the held-out subjects, then the validation subjects (for tuning off held-out)
        const validation = m.gallery?.train.filter((e) => e.validation).map((e) => e.id) ?? [];
        expect(m.scenes?.subjects).toEqual([...(m.gallery?.heldout.map((e) => e.id) ?? []), ...validation]);
        expect(m.scenes?.sprites.small.px).toBe(20);
        expect(m.scenes?.positions.center).toEqual([32, 32]);
        expect(m.evaluators?.patch_encoder_random?.grid).toEqual([8, 8]);
      }
    });

    it("names bad scene fields, unknown prompt values and unknown subjects", () => {
      const m = packJson("tiny");
      m.scenes.positions.left = [1];
      m.scenes.sprites.small.px = 0;
      m.scenes.eval_prompts[0].subject = "nope";
      m.scenes.eval_prompts[1].prompt.background = "plaid";
      delete m.scenes.eval_prompts[2].prompt.size;
      m.scenes.backgrounds.mauve = "scenes/bg-mauve.png";
      expect(issuesOf(m)).toEqual([
        "manifest.json: scenes.positions.left: expected 2 numbers",
        "manifest.json: scenes.sprites.small.px: must be >= 1",
        'manifest.json: scenes.eval_prompts[0].subject: "nope" is not in scenes.subjects',
        'manifest.json: scenes.eval_prompts[1].prompt.background: "plaid" has no entry in the scene kit',
        "manifest.json: scenes.eval_prompts[2].prompt.size: missing required field",
        'manifest.json: scenes: background "mauve" is not a prompt value',
      ]);
    });

    it("a denoiser for two references takes a dynamic image_tokens dimension, and only then", () => {
      const m = packJson("tiny");
      const den = m.roles.denoiser;
      expect(validateManifest(m).roles.denoiser?.inputs[3].shape).toEqual(["batch", "image_tokens", 16]);
      const tokens = den.inputs.find((t: { name: string }) => t.name === "image_tokens");
      tokens.shape = ["batch", 64, 16];
      expect(issuesOf(m)).toEqual([
        "manifest.json: roles.denoiser.inputs[3].shape: expected [batch, image_tokens, 16]",
      ]);
      delete den.architecture.max_references;
      expect(validateManifest(m).roles.denoiser?.inputs[3].shape).toEqual(["batch", 64, 16]);
      tokens.shape = ["batch", "image_tokens", 16];
      expect(issuesOf(m)).toEqual(["manifest.json: roles.denoiser.inputs[3].shape: expected [batch, 64, 16]"]);
    });

    it("names a prompt layout slot that is not a slot", () => {
      const m = packJson("tiny");
      m.prompt.layouts = { slot: "place", values: [{ id: 29, text: "A left, B right", first: "A" }] };
      expect(issuesOf(m)).toEqual(['manifest.json: prompt.layouts.slot: "place" is not a prompt slot']);
      m.prompt.layouts.slot = "position";
      expect(validateManifest(m).prompt.layouts?.values[0].id).toBe(29);
    });

    it("needs each layout's first subject, A or B", () => {
      const m = packJson("tiny");
      delete m.prompt.layouts.values[1].first;
      m.prompt.layouts.values[2].first = "C";
      expect(issuesOf(m)).toEqual([
        "manifest.json: prompt.layouts.values[1].first: missing required field",
        'manifest.json: prompt.layouts.values[2].first: must be "A" or "B" (the subject whose reference comes first), got "C"',
      ]);
    });

    it("names bad two-subject layouts, pair subjects and pair prompt values", () => {
      const m = packJson("tiny");
      expect(validateManifest(packJson("tiny")).scenes?.pairs?.layouts["A left, B right"]).toEqual(["left", "right"]);
      m.scenes.pairs.layouts["A left, B right"] = ["left", "middle"];
      m.scenes.pairs.eval[0].b = "nope";
      m.scenes.pairs.eval[1].prompt.layout = "A inside B";
      expect(issuesOf(m)).toEqual([
        'manifest.json: scenes.pairs.layouts.A left, B right: expected two position names of the kit, got ["left","middle"]',
        'manifest.json: scenes.pairs.eval[0].b: "nope" is not in scenes.subjects',
        'manifest.json: scenes.pairs.eval[1].prompt.layout: "A inside B" has no entry in the scene kit',
      ]);
    });

    it("names bad evaluator fields", () => {
      const m = packJson("tiny");
      m.evaluators.patch_encoder_random.grid = [8];
      m.evaluators.patch_encoder_random.output_layout = "NCHW";
      delete m.evaluators.patch_encoder_random.sha256;
      m.evaluators.clip = {};
      expect(issuesOf(m)).toEqual([
        "manifest.json: evaluators.patch_encoder_random.sha256: missing required field",
        "manifest.json: evaluators.patch_encoder_random.grid: expected [height, width], positive integers",
        'manifest.json: evaluators.patch_encoder_random.output_layout: expected one of "BHWD", "BDHW", "BTD"',
        'manifest.json: evaluators.clip: unknown evaluator; expected one of "independent", "patch_encoder_random"',
      ]);
    });

    it("accepts the independent evaluator and tells its feature output from its embedding output", () => {
      const m = validateManifest(packJson("emoji64"));
      const independent = m.evaluators?.independent;
      expect(independent?.embedding_output).toBe("embedding");
      expect(independent && evaluatorOutputs(independent)).toEqual({ features: "features", embedding: "embedding" });
      const random = m.evaluators?.patch_encoder_random;
      expect(random && evaluatorOutputs(random)).toEqual({ features: "features" });
    });

    it("refuses an embedding_output that names no output, and outputs that leave the features ambiguous", () => {
      const m = packJson("emoji64");
      m.evaluators.independent.embedding_output = "cls";
      m.evaluators.patch_encoder_random.outputs.push({ name: "extra", dtype: "float32", shape: ["batch", 64] });
      expect(issuesOf(m)).toEqual([
        "manifest.json: evaluators.patch_encoder_random.outputs: expected one output (the patch features), or two with embedding_output; found 2",
        'manifest.json: evaluators.independent.embedding_output: "cls" is not one of the outputs ("features", "embedding")',
      ]);
    });
  });

  describe("role contracts", () => {
    it("refuses adapter tensors that disagree with the architecture, naming the field", () => {
      const renamed = packJson("tiny");
      renamed.roles.denoiser.adapter.tensors[1].name = "blocks.0.attn_ip.to_q_ip.weight";
      expect(issuesOf(renamed)).toEqual([
        'manifest.json: roles.denoiser.adapter.tensors[1].name: expected "blocks.0.attn_ip.to_v_ip.weight", the architecture\'s adapter tensor 1',
      ]);
      const reshaped = packJson("emoji64");
      reshaped.roles.denoiser.adapter.tensors[0].shape = [128, 64];
      expect(issuesOf(reshaped)).toEqual([
        "manifest.json: roles.denoiser.adapter.tensors[0].shape: expected [128, 128], [architecture.width, architecture.image_dim]",
      ]);
      const short = packJson("tiny");
      short.roles.denoiser.adapter.tensors.pop();
      expect(issuesOf(short)).toEqual([
        "manifest.json: roles.denoiser.adapter.tensors: expected 4 tensors (to_k_ip and to_v_ip of each of architecture.depth = 2 blocks), found 3",
      ]);
    });

    it("checks a patch encoder's optional ViT architecture: sizes, heads, patches and weights", () => {
      const m = packJson("tiny");
      m.roles.patch_encoder.architecture.heads = 3;
      m.roles.patch_encoder.architecture.patch = 4;
      m.roles.patch_encoder.architecture.norm_eps = -1;
      expect(issuesOf(m)).toEqual([
        "manifest.json: roles.patch_encoder.architecture.norm_eps: expected a positive number",
        "manifest.json: roles.patch_encoder.architecture.heads: expected a divisor of architecture.width = 16",
        "manifest.json: roles.patch_encoder.architecture.patch: expected image.size / grid = 64 / 8",
      ]);
      const unweighted = packJson("tiny");
      delete unweighted.roles.patch_encoder.weights;
      expect(issuesOf(unweighted)).toEqual([
        "manifest.json: roles.patch_encoder.weights: required with an architecture: the engine builds the ViT from it",
      ]);
      const plain = packJson("tiny");
      delete plain.roles.patch_encoder.architecture;
      expect(validateManifest(plain).roles.patch_encoder?.architecture).toBeUndefined();
    });

    it("refuses a denoiser without a required architecture field, architecture or weights", () => {
      const m = packJson("tiny");
      delete m.roles.denoiser.architecture.spatial_prompt;
      m.roles.denoiser.architecture.norm_eps = 0;
      expect(issuesOf(m)).toEqual([
        "manifest.json: roles.denoiser.architecture.spatial_prompt: missing required field",
        "manifest.json: roles.denoiser.architecture.norm_eps: expected a positive number",
      ]);
      const bare = packJson("tiny");
      delete bare.roles.denoiser.architecture;
      delete bare.roles.denoiser.weights;
      expect(issuesOf(bare)).toEqual([
        "manifest.json: roles.denoiser.weights: missing required field",
        "manifest.json: roles.denoiser.architecture: missing required field",
      ]);
    });

    it("refuses a role that lacks a tensor its contract names, or lists one it does not take", () => {
      const m = packJson("tiny");
      m.roles.vae_decoder.outputs[0].name = "pixels";
      m.roles.denoiser.inputs = m.roles.denoiser.inputs.filter(
        (t: Json) => t.name !== "timestep" && t.name !== "ip_scale",
      );
      expect(issuesOf(m)).toEqual([
        'manifest.json: roles.vae_decoder.outputs[0].name: unexpected tensor "pixels"; the role gives "image"',
        'manifest.json: roles.vae_decoder.outputs: missing the tensor "image"',
        'manifest.json: roles.denoiser.inputs: missing the tensor "timestep"',
        'manifest.json: roles.denoiser.inputs: missing the tensor "ip_scale"',
      ]);
    });

    it("checks the contract tensors' dtypes and shapes against the manifest, and the timestep input", () => {
      const m = packJson("tiny");
      m.scheduler.timestep_input = "int";
      m.roles.denoiser.inputs[2].shape = ["batch", 4];
      m.roles.vae_encoder.outputs[0].dtype = "int64";
      expect(issuesOf(m)).toEqual([
        'manifest.json: scheduler.timestep_input: expected one of "float"',
        'manifest.json: roles.vae_encoder.outputs[0].dtype: expected "float32"',
        "manifest.json: roles.denoiser.inputs[2].shape: expected [batch, 3]",
      ]);
    });
  });
});
