/**
 * The inference worker's Generator (workers/generation.ts) in Node on the tiny pack with real
 * ORT-web WASM sessions: token cache, supplied adapters, previews, cancellation, fixed noise,
 * and the base adapter read from the pack's weights file.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { nodeRunner } from "../node/ort";
import { baseAdapter, readManifest } from "../node/packs";
import { imageToTensor, type RgbaImage } from "../src/core/generate";
import { readBaseAdapter, requireRole } from "../src/core/pack";
import { latentNoise } from "../src/core/sampling";
import { type GenerationPack, Generator } from "../workers/generation";
import type { GenerationProgress, GenerationRequest } from "../workers/inference-api";

const manifest = readManifest("tiny");
const denoiser = requireRole(manifest, "denoiser");
const weightsFile = denoiser.weights.file;
const bytes = new Map([[weightsFile, new Uint8Array(readFileSync(`public/models/tiny/${weightsFile}`))]]);
const run = nodeRunner("tiny");

function generator(): Generator {
  const pack: GenerationPack = {
    manifest,
    baseAdapter: readBaseAdapter(manifest, bytes),
    galleryFile: async () => {
      throw new Error("no gallery in Node");
    },
  };
  const g = new Generator(() => async (role, feeds, onRunMs) => {
    const started = performance.now();
    const out = await run(role, feeds);
    onRunMs(performance.now() - started);
    return out;
  });
  g.register(pack);
  return g;
}

function stripes(): RgbaImage {
  const data = new Uint8ClampedArray(20 * 10 * 4);
  for (let i = 0; i < 200; i++) data.set(i % 20 < 10 ? [200, 30, 30, 255] : [0, 0, 0, 0], i * 4);
  return { width: 20, height: 10, data };
}

const request = (patch: Partial<GenerationRequest["settings"]> = {}): GenerationRequest => ({
  packId: "tiny",
  reference: { kind: "pixels", image: stripes(), label: "stripes" },
  adapter: { kind: "base" },
  settings: {
    prompt: { background: "green" },
    seed: 5,
    batch: 2,
    steps: 4,
    sampler: "ddim",
    guidanceImage: 3,
    guidancePrompt: 2,
    ipScale: 1,
    ...patch,
  },
});
const never = new AbortController().signal;

// Session creation on first use takes seconds on the shared 2-core machines.
describe("Generator (tiny pack, WASM in Node)", { timeout: 30_000 }, () => {
  it("reads the base adapter from the weights file: every manifest tensor, same values as the file", () => {
    const adapter = readBaseAdapter(manifest, bytes);
    const spec = denoiser.adapter;
    expect([...adapter.keys()]).toEqual(spec.tensors.map((t) => t.name));
    for (const [name, values] of baseAdapter("tiny")) expect(adapter.get(name)).toEqual(values);
    expect(readBaseAdapter(manifest, new Map()).size).toBe(0);
  });

  it("encodes a reference once, then re-runs give identical images from cached tokens", async () => {
    const g = generator();
    const a = await g.generate(request(), never, () => {});
    const b = await g.generate(request(), never, () => {});
    expect(a.timing.tokensCached).toBe(false);
    expect(b.timing.tokensCached).toBe(true);
    expect(b.timing.sessionRuns).toBe(a.timing.sessionRuns - 1);
    expect(a.timing.sessionMs).toBeGreaterThan(0);
    expect(a.timing.totalMs).toBeGreaterThanOrEqual(a.timing.sessionMs);
    expect(b.images).toEqual(a.images);
    expect(a.images).toHaveLength(2);
    expect(a.images[0].data).not.toEqual(a.images[1].data);
    // The reference as the encoder saw it: 20×10 fitted to 64×32, transparent half on white.
    expect([...a.reference.data.subarray((32 * 64 + 10) * 4, (32 * 64 + 10) * 4 + 4)]).toEqual([200, 30, 30, 255]);
    expect([...a.reference.data.subarray((32 * 64 + 50) * 4, (32 * 64 + 50) * 4 + 4)]).toEqual([255, 255, 255, 255]);
  });

  it("a pixels reference and the same image as a tensor give the same images", async () => {
    const g = generator();
    const a = await g.generate(request(), never, () => {});
    const tensor = imageToTensor(a.reference, manifest.image);
    const b = await g.generate({ ...request(), reference: { kind: "tensor", data: tensor } }, never, () => {});
    expect(b.timing.tokensCached).toBe(true);
    expect(b.decoded).toEqual(a.decoded);
  });

  it("uses a supplied adapter: zero k/v projections change the images unless ip_scale is 0", async () => {
    const g = generator();
    const zeros = new Map([...baseAdapter("tiny")].map(([k, v]) => [k, new Float32Array(v.length)]));
    const supplied = { kind: "tensors" as const, label: "zeros", tensors: zeros };
    const base = await g.generate(request(), never, () => {});
    const zero = await g.generate({ ...request(), adapter: supplied }, never, () => {});
    expect(zero.decoded).not.toEqual(base.decoded);
    const base0 = await g.generate(request({ ipScale: 0 }), never, () => {});
    const zero0 = await g.generate({ ...request({ ipScale: 0 }), adapter: supplied }, never, () => {});
    expect(zero0.decoded).toEqual(base0.decoded);
    const missing = { kind: "tensors" as const, label: "empty", tensors: new Map() };
    await expect(g.generate({ ...request(), adapter: missing }, never, () => {})).rejects.toThrow(
      /adapter tensor .* is missing/,
    );
  });

  it("reports every step, previews every k-th, and fixed noise equals the seed's noise", async () => {
    const g = generator();
    const seen: GenerationProgress[] = [];
    const a = await g.generate({ ...request({ steps: 6 }), previewEvery: 2 }, never, (p) => seen.push(p));
    expect(seen.map((p) => p.step).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.filter((p) => p.preview).map((p) => p.step)).toEqual([2, 4]);
    expect(seen.find((p) => p.preview)?.preview?.width).toBe(64);
    const noise = latentNoise(5, 2, 4 * 16 * 16);
    const b = await g.generate({ ...request({ steps: 6, seed: 99 }), noise }, never, () => {});
    expect(b.latents).toEqual(a.latents);
  });

  it("stops between steps when cancelled and stays usable", async () => {
    const g = generator();
    const controller = new AbortController();
    const steps: number[] = [];
    const pending = g.generate(request({ steps: 50 }), controller.signal, (p) => {
      steps.push(p.step);
      if (p.step === 3) controller.abort(new DOMException("Cancelled", "AbortError"));
    });
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    expect(steps).toEqual([1, 2, 3]);
    expect((await g.generate(request(), never, () => {})).images).toHaveLength(2);
  });

  it("names an unknown pack and forgets a pack's tokens when it is replaced", async () => {
    const g = generator();
    await expect(g.generate({ ...request(), packId: "nope" }, never, () => {})).rejects.toThrow(
      'pack "nope" is not loaded',
    );
    await g.generate(request(), never, () => {});
    g.register({ manifest, baseAdapter: readBaseAdapter(manifest, bytes), galleryFile: async () => new Blob() });
    expect((await g.generate(request(), never, () => {})).timing.tokensCached).toBe(false);
  });
});
