import { existsSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { createSession } from "../../../node/ort";
import { loadSafetensors, packPath, readManifest } from "../../../node/packs";
import { requireRole } from "../pack/roles";
import { gaussian } from "../sampling/rng";
import { expectGradient } from "./testing/fd";
import { relError } from "./testing/tiny";
import { CpuVit, vitArch } from "./vit";

function packVit(pack: string): CpuVit {
  const manifest = readManifest(pack);
  const file = requireRole(manifest, "patch_encoder").weights?.file;
  const { tensors } = loadSafetensors(`${packPath(pack)}/${file}`);
  return new CpuVit(vitArch(manifest), new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array])));
}

function fixture() {
  const { tensors } = loadSafetensors("tests/fixtures/vit-tiny.safetensors");
  const f = (n: string) => tensors.get(n)?.data as Float32Array;
  const grads = new Map(
    [...tensors.keys()].filter((k) => k.startsWith("grad.")).map((k) => [k.slice(5), f(k)] as const),
  );
  return { images: f("input.images"), features: f("output.features"), weight: f("loss.weight"), grads };
}

/**
 * The CPU ViT against the foundry's PyTorch network (golden fixture vit-tiny: features, and the
 * gradients of L = mean(w ⊙ features) with respect to every parameter).
 */
describe("CPU patch encoder (ViT) vs the foundry's golden fixture (tiny pack)", () => {
  const vit = packVit("tiny");
  const fx = fixture();
  const { features, tape } = vit.forward(fx.images);
  const dF = fx.weight.map((w) => w / fx.weight.length);
  const grads = vit.backward(tape, dF);

  it("architecture from the manifest; weights that do not fit it are refused by name", () => {
    expect(vit.arch).toMatchObject({ image: 64, patch: 8, width: 16, depth: 1, heads: 2, mlpRatio: 2, dim: 8 });
    const weights = new Map(vit.params);
    weights.set("layers.0.fc1.bias", new Float32Array(5));
    expect(() => new CpuVit(vit.arch, weights)).toThrow("layers.0.fc1.bias has 5 values, the architecture 32");
    weights.set("layers.0.fc1.bias", vit.params.get("layers.0.fc1.bias") as Float32Array);
    weights.delete("head.bias");
    expect(() => new CpuVit(vit.arch, weights)).toThrow("missing tensor head.bias");
  });

  it("features", () => {
    expect(relError(features, fx.features)).toBeLessThan(1e-5);
  });

  it("gradients of every parameter", () => {
    expect([...grads.keys()].sort()).toEqual([...fx.grads.keys()].sort());
    for (const [name, g] of grads) expect(relError(g, fx.grads.get(name) as Float32Array), name).toBeLessThan(1e-5);
  });

  it("gradients agree with central differences", () => {
    const loss = () => vit.forward(fx.images).features.reduce((s, f, i) => s + f * dF[i], 0);
    for (const [name, i] of [
      ["layers.0.qkv.weight", 5],
      ["layers.0.norm1.weight", 3],
      ["patch_embed.weight", 100],
      ["pos_embed", 17],
      ["head.bias", 2],
    ] as const) {
      const p = vit.params.get(name) as Float32Array;
      const g = (grads.get(name) as Float32Array)[i];
      expectGradient(loss, p.subarray(i, i + 1), [g], { tol: 2e-5, label: name });
    }
  });
});

const packs = ["tiny", "emoji64"].filter((p) => existsSync(`public/models/${p}/patch_encoder.onnx`));

describe.each(packs)("CPU patch encoder vs onnxruntime-web: %s", (pack) => {
  it("features of two random images agree (rel 1e-5)", async () => {
    const vit = packVit(pack);
    const S = vit.arch.image;
    const images = gaussian(9, 2 * 3 * S * S).map((v) => Math.tanh(v));
    const session = await createSession(pack, "patch_encoder");
    try {
      const input = session.inputNames[0];
      const out = await session.run({ [input]: new ort.Tensor("float32", images, [2, 3, S, S]) });
      const want = out[session.outputNames[0]].data as Float32Array;
      expect(relError(vit.forward(images).features, want)).toBeLessThan(1e-5);
    } finally {
      await session.release();
    }
  });
});
