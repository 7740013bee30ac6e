/**
 * The official PatchDPO layout (core/dataset/official-layout.ts) end to end: pickles that Python's
 * `pickle.dump` writes of numpy arrays (protocols 2–5, and numpy 2's `numpy._core` names) read by
 * the TypeScript reader; and a real dataset of the tiny pack (ORT-web WASM in Node) exported and
 * imported again: every PNG byte-identical, every map bit-identical, the references' latents and
 * tokens recomputed equal. The reverse direction (a TypeScript-written pickle loaded by Python and
 * the official loader's listing rules) is foundry/tests/test_official_layout.py.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { nodeRunner } from "../node/ort";
import { baseAdapter, readManifest } from "../node/packs";
import { decodePng, encodePng } from "../node/png";
import { buildDataset } from "../src/core/dataset/build";
import { decodeDatasetZip, encodeDatasetZip, packShapes, type StoredDataset } from "../src/core/dataset/format";
import { fromOfficialLayout, toOfficialLayout } from "../src/core/dataset/official-layout";
import { encodeOfficialParts } from "../src/core/dataset/official-layout-encode";
import { NdArray, type PickleDict, readPickle } from "../src/core/dataset/pickle";
import { imageToTensor, type RgbaImage, tensorToImage } from "../src/core/generate";

const dir = mkdtempSync(join(tmpdir(), "official-layout-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `{0: {i: {"target_map": a, "gene_map": b}}}` pickles; numpy 2's reducers are imitated under their names. */
const PYTHON = `
import copyreg, pickle, sys, types
import numpy as np

def named(module, name, fn):
    m = sys.modules.setdefault(module, types.ModuleType(module))
    fn.__module__, fn.__qualname__, fn.__name__ = module, name, name
    setattr(m, name, fn)
    return fn

reconstruct = named("numpy._core.multiarray", "_reconstruct", lambda *a: None)
frombuffer = named("numpy._core.numeric", "_frombuffer", lambda *a: None)

maps = {0: {0: {"target_map": (np.arange(256, dtype=np.float32).reshape(16, 16) * 0.25 - 3),
                "gene_map": np.asfortranarray(np.arange(256).reshape(16, 16) / 3)},
            1: {"target_map": np.full((16, 16), -0.5, np.float32), "gene_map": np.eye(16, dtype=np.float32)}}}
out = sys.argv[1]
for protocol in (2, 3, 4, 5):
    with open(f"{out}/numpy1-p{protocol}.pkl", "wb") as f:
        pickle.dump(maps, f, protocol=protocol)

class Numpy2(pickle.Pickler):
    dispatch_table = copyreg.dispatch_table.copy()
for protocol in (2, 4, 5):
    def reduce(a, protocol=protocol):
        if protocol == 5:
            return frombuffer, (pickle.PickleBuffer(np.ascontiguousarray(a)), a.dtype, a.shape, "C")
        return reconstruct, (np.ndarray, (0,), b"b"), a.__reduce__()[2]
    Numpy2.dispatch_table[np.ndarray] = reduce
    with open(f"{out}/numpy2-p{protocol}.pkl", "wb") as f:
        Numpy2(f, protocol=protocol).dump(maps)
`;

describe("Python-written pickles", () => {
  it("read with the values numpy wrote, for numpy 1.x and 2.x at protocols 2 to 5", () => {
    execFileSync("/usr/bin/python3", ["-c", PYTHON, dir]);
    const names = ["numpy1-p2", "numpy1-p3", "numpy1-p4", "numpy1-p5", "numpy2-p2", "numpy2-p4", "numpy2-p5"];
    for (const name of names) {
      const bytes = readFileSync(join(dir, `${name}.pkl`));
      if (name.startsWith("numpy2")) expect(bytes.includes("numpy._core")).toBe(true);
      const folder = (readPickle(bytes, name) as PickleDict).get(0) as PickleDict;
      const sample = (i: number, key: string) => (folder.get(i) as PickleDict).get(key) as NdArray;
      const range = Float32Array.from({ length: 256 }, (_, i) => i);
      expect(sample(0, "target_map")).toEqual(
        new NdArray(
          [16, 16],
          range.map((v) => v * 0.25 - 3),
        ),
      );
      expect(sample(0, "gene_map")).toEqual(
        new NdArray(
          [16, 16],
          range.map((v) => Math.fround(v / 3)),
        ),
      );
      expect(sample(1, "target_map").data.every((v) => v === -0.5)).toBe(true);
      expect(sample(1, "gene_map").data.filter((v) => v === 1)).toHaveLength(16);
    }
  });
});

const manifest = readManifest("tiny");
const run = nodeRunner("tiny");
const shapes = packShapes(manifest, { height: 8, width: 8 });

/** An opaque 64×64 image: a disc of `colour` on white. */
function disc(colour: [number, number, number], radius: number): RgbaImage {
  const data = new Uint8ClampedArray(64 * 64 * 4);
  for (let i = 0; i < 64 * 64; i++) {
    const [x, y] = [i % 64, Math.floor(i / 64)];
    data.set((x - 32) ** 2 + (y - 30) ** 2 < radius ** 2 ? [...colour, 255] : [255, 255, 255, 255], i * 4);
  }
  return { width: 64, height: 64, data };
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe("export → import with the tiny pack (WASM in Node)", { timeout: 600_000 }, () => {
  it("keeps every image byte and map bit, and recomputes the references' latents and tokens equal", async () => {
    const refs = [
      { id: "red disc", image: disc([220, 40, 40], 18) },
      { id: "blue disc", image: disc([40, 60, 200], 12) },
    ];
    const sampleImages: Uint8Array[] = [];
    const ds = await buildDataset({
      run,
      manifest,
      adapter: baseAdapter("tiny"),
      references: refs.map((r) => ({ id: r.id, tensor: imageToTensor(r.image, manifest.image, r.id) })),
      prompts: [{ background: "green" }, { background: "red", position: "top-left", size: "small" }],
      seeds: [1, 2],
      sampler: { steps: 2, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
      onSample: (done, _total, _s, pixels) => {
        sampleImages[done - 1] = encodePng(tensorToImage(pixels, 0, manifest.image.size, manifest.image.range));
      },
    });
    const stored: StoredDataset = {
      id: "tiny",
      name: "tiny",
      createdAt: new Date().toISOString(),
      settings: {} as StoredDataset["settings"],
      dataset: ds,
      referenceImages: refs.map((r) => encodePng(r.image)),
      sampleImages,
    };
    const files = toOfficialLayout(stored, shapes, manifest.prompt);
    expect([...files.keys()].filter((p) => p.endsWith("_entity_0.png"))).toHaveLength(4);
    const parts = fromOfficialLayout(files, shapes, manifest.prompt);
    expect(parts.warnings).toEqual([]);
    const back = await encodeOfficialParts(parts, { run, manifest, name: "back", decode: decodePng });

    expect(back.referenceImages).toEqual(stored.referenceImages);
    expect(back.sampleImages).toEqual(stored.sampleImages);
    expect(back.dataset.references.map((r) => r.id)).toEqual(["red disc", "blue disc"]);
    back.dataset.references.forEach((r, i) => {
      expect(r.latent).toEqual(ds.references[i].latent);
      expect(r.imageTokens).toEqual(ds.references[i].imageTokens);
      expect(r.promptIds).toEqual(ds.references[i].promptIds);
    });
    expect(back.dataset.samples).toHaveLength(8);
    back.dataset.samples.forEach((s, j) => {
      const o = ds.samples[j];
      expect([s.ref, s.seed, s.promptIds]).toEqual([o.ref, o.seed, o.promptIds]);
      expect(bits(s.mGen)).toEqual(bits(o.mGen));
      expect(bits(s.mRef)).toEqual(bits(o.mRef));
      // Re-encoded from the 8-bit PNG, not the sampler's latent: same shape, finite.
      expect(s.latent).toHaveLength(o.latent.length);
      expect(s.latent.every(Number.isFinite)).toBe(true);
    });
    // The imported dataset is a valid studio dataset zip.
    const zip = encodeDatasetZip({ id: "back", ...back }, shapes);
    expect(decodeDatasetZip(zip, shapes).dataset.samples).toHaveLength(8);
  });
});
