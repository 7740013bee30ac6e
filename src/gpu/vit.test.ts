import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSafetensors, packPath, readManifest } from "../../node/packs.ts";
import { relError } from "../core/engine/testing/tiny.ts";
import { CpuVit, vitArch } from "../core/engine/vit.ts";
import { requireRole } from "../core/pack/roles.ts";
import { gaussian } from "../core/sampling/rng.ts";
import type { GpuContext } from "./context.ts";
import { createNodeContext, skipWebGpu } from "./testing/node-gpu.ts";
import { readFloat32, storageUsage } from "./transfer.ts";
import { GpuVit } from "./vit.ts";

const packs = ["tiny", "emoji64"].filter((p) => existsSync(`public/models/${p}/patch_encoder.safetensors`));

function packWeights(pack: string) {
  const manifest = readManifest(pack);
  const { tensors } = loadSafetensors(`${packPath(pack)}/${requireRole(manifest, "patch_encoder").weights?.file}`);
  return { arch: vitArch(manifest), weights: new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array])) };
}

/** The WGSL ViT forward and backward against the CPU engine (itself checked against PyTorch and ONNX Runtime). */
describe.skipIf(skipWebGpu).each(packs)("patch encoder (ViT) in WebGPU vs the CPU engine: %s", (pack) => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await createNodeContext();
  });
  afterAll(() => ctx?.destroy());

  it("features of three images agree (rel 1e-5); other weights written in place change them to theirs", async () => {
    const { arch, weights } = packWeights(pack);
    const images = gaussian(4, 3 * 3 * arch.image * arch.image).map((v) => Math.tanh(v));
    const vit = await GpuVit.create(ctx, arch, weights);
    try {
      expect(relError(await vit.features(images), new CpuVit(arch, weights).forward(images).features)).toBeLessThan(
        1e-5,
      );
      const other = new Map([...weights].map(([n, t]) => [n, t.map((v, i) => v * (1 + 0.1 * Math.sin(i)))]));
      vit.write(other);
      expect(relError(await vit.features(images), new CpuVit(arch, other).forward(images).features)).toBeLessThan(1e-5);
      const read = await vit.weights();
      for (const [n, t] of other) expect(read.get(n), n).toEqual(t);
    } finally {
      vit.destroy();
    }
  });

  it("gradients of every parameter agree with the CPU engine's (rel 1e-4)", async () => {
    const { arch, weights } = packWeights(pack);
    const images = gaussian(5, 2 * 3 * arch.image * arch.image).map((v) => Math.tanh(v));
    const cpu = new CpuVit(arch, weights);
    const { features, tape } = cpu.forward(images);
    const dF = gaussian(6, features.length);
    const want = cpu.backward(tape, dF);
    const vit = await GpuVit.create(ctx, arch, weights);
    const grads = ctx.pool.acquire(vit.layout.bytes, storageUsage(), "vit.grads");
    try {
      ctx.submit("vit.backward-test", (b) => {
        const t = vit.forward(b, b.upload(images, storageUsage()), 2);
        vit.backward(b, t, b.upload(dF, storageUsage()), grads);
      });
      const got = vit.layout.split(await readFloat32(ctx, grads, vit.layout.bytes / 4));
      for (const [name, g] of want) expect(relError(got.get(name) as Float32Array, g), name).toBeLessThan(1e-4);
    } finally {
      ctx.pool.release(grads);
      vit.destroy();
    }
  });

  it("refuses weights that do not fit the architecture, by name", async () => {
    const { arch, weights } = packWeights(pack);
    weights.delete("head.bias");
    await expect(GpuVit.create(ctx, arch, weights)).rejects.toThrow("head.bias is missing");
  });
});
