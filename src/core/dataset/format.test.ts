import { unzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { type DatasetShapes, decodeDatasetZip, encodeDatasetZip, type StoredDataset } from "./format";

const shapes: DatasetShapes = {
  packId: "tiny",
  latent: [4, 2, 2],
  tokens: [3, 2],
  grid: { height: 2, width: 2 },
  promptLength: 3,
};
const png = (k: number) => Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, k]);
const arr = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + k) * 1e3);

function stored(): StoredDataset {
  return {
    id: "d1",
    name: "two refs",
    createdAt: "2026-11-27T00:00:00.000Z",
    settings: {
      references: [
        { id: "a", label: "A", source: "gallery" },
        { id: "b.png", label: "b.png", source: "upload" },
      ],
      prompts: [{ color: "any" }],
      seeds: [1, 2],
      sampler: { steps: 4, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
      adapter: "base",
      refWeight: "coverage",
    },
    dataset: {
      packId: "tiny",
      grid: { height: 2, width: 2 },
      references: [0, 1].map((i) => ({
        id: ["a", "b.png"][i],
        latent: arr(16, i),
        imageTokens: arr(6, 10 + i),
        promptIds: [0, 0, 0],
      })),
      samples: [0, 1, 2].map((j) => ({
        ref: j >> 1,
        prompt: { color: "red" },
        promptIds: [1, 2, 3],
        seed: j,
        latent: arr(16, 20 + j),
        mGen: arr(4, 30 + j).map((v) => v / 1e3),
        mRef: arr(4, 40 + j).map((v) => v / 1e3),
      })),
    },
    referenceImages: [png(0), png(1)],
    sampleImages: [png(2), png(3), png(4)],
  };
}

const rezip = (zip: Uint8Array, edit: (files: Record<string, Uint8Array>) => void) => {
  const files = unzipSync(zip);
  edit(files);
  return zipSync(files);
};
const editJson = (zip: Uint8Array, edit: (h: Record<string, unknown>) => void) =>
  rezip(zip, (f) => {
    const h = JSON.parse(new TextDecoder().decode(f["dataset.json"]));
    edit(h);
    f["dataset.json"] = new TextEncoder().encode(JSON.stringify(h));
  });

describe("dataset zip", () => {
  it("round-trips every array bit-exactly, the images and the settings", () => {
    const d = stored();
    const back = decodeDatasetZip(encodeDatasetZip(d, shapes), shapes);
    const { id: _id, ...rest } = d;
    expect(back).toEqual(rest);
    expect(back.dataset.samples[2].latent).toBeInstanceOf(Float32Array);
  });

  it("stores arrays as little-endian float32 at the documented paths", () => {
    const files = unzipSync(encodeDatasetZip(stored(), shapes));
    expect(Object.keys(files).sort()).toContain("samples/2/m_ref.f32");
    const b = files["references/1/tokens.f32"];
    expect(new DataView(b.buffer, b.byteOffset).getFloat32(4, true)).toBe(Math.fround(Math.sin(12) * 1e3));
    expect(JSON.parse(new TextDecoder().decode(files["dataset.json"]))).toMatchObject({
      format: "patchdpo-dataset",
      version: 1,
      shapes: { latent: [4, 2, 2], tokens: [3, 2], grid: [2, 2] },
    });
  });

  it("refuses bad input with a specific message", () => {
    const zip = encodeDatasetZip(stored(), shapes);
    const bad = (bytes: Uint8Array) => () => decodeDatasetZip(bytes, shapes, "x.zip");
    expect(bad(new TextEncoder().encode("hello"))).toThrow(/x\.zip: not a zip file/);
    expect(bad(zipSync({ "a.txt": new Uint8Array(1) }))).toThrow(/not a PatchDPO dataset: it has no dataset.json/);
    expect(bad(editJson(zip, (h) => Object.assign(h, { packId: "emoji64" })))).toThrow(
      /built with pack "emoji64".*open pack is "tiny"/,
    );
    expect(bad(editJson(zip, (h) => Object.assign(h, { format: "other" })))).toThrow(/format "other"/);
    expect(bad(editJson(zip, (h) => Object.assign(h, { version: 9 })))).toThrow(/version 9 is not supported/);
    expect(
      bad(editJson(zip, (h) => Object.assign(h, { shapes: { latent: [4, 4, 4], tokens: [3, 2], grid: [2, 2] } }))),
    ).toThrow(/latent shape \[4,4,4\] does not match the pack's \[4,2,2\]/);
    expect(bad(rezip(zip, (f) => delete f["samples/1/m_gen.f32"]))).toThrow(/missing file samples\/1\/m_gen.f32/);
    expect(bad(rezip(zip, (f) => (f["samples/0/latent.f32"] = new Uint8Array(8))))).toThrow(
      /samples\/0\/latent.f32 has 8 bytes, expected 64/,
    );
    expect(bad(rezip(zip, (f) => (f["samples/0/image.png"] = new Uint8Array(20))))).toThrow(/is not a PNG image/);
    const nan = new Uint8Array(16);
    new DataView(nan.buffer).setFloat32(8, Number.NaN, true);
    expect(bad(rezip(zip, (f) => (f["samples/1/m_ref.f32"] = nan)))).toThrow(/NaN or infinite value at index 2/);
    expect(
      bad(
        editJson(zip, (h) => {
          (h.samples as { ref: number }[])[0].ref = 5;
        }),
      ),
    ).toThrow(/samples\[0\].ref 5 is not a reference index/);
  });

  it("round-trips two-subject samples and refuses a dataset that mixes one and two subjects", () => {
    const d = stored();
    d.settings.pairs = [[0, 1]];
    d.dataset.samples = d.dataset.samples.map((s, j) => ({
      ...s,
      ref: 0,
      second: { ref: 1, mRef: arr(4, 50 + j).map((v) => v / 1e3), bFirst: j === 1 },
    }));
    const zip = encodeDatasetZip(d, shapes);
    expect(Object.keys(unzipSync(zip))).toContain("samples/2/m_ref_b.f32");
    const { id: _id, ...rest } = d;
    expect(decodeDatasetZip(zip, shapes)).toEqual(rest);
    const bad = (bytes: Uint8Array) => () => decodeDatasetZip(bytes, shapes, "x.zip");
    expect(
      bad(
        editJson(zip, (h) => {
          delete (h.samples as { second?: unknown }[])[2].second;
        }),
      ),
    ).toThrow(/samples\[2\]: a dataset holds one- or two-subject samples, not both/);
    expect(bad(rezip(zip, (f) => delete f["samples/1/m_ref_b.f32"]))).toThrow(/missing file samples\/1\/m_ref_b.f32/);
    expect(
      bad(
        editJson(zip, (h) => {
          (h.samples as { second: { ref: number } }[])[0].second.ref = 0;
        }),
      ),
    ).toThrow(/subjects A and B are the same reference 0/);
  });
});
