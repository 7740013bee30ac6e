import { describe, expect, it } from "vitest";
import type { PromptChoice, PromptSpec } from "../generate/prompt";
import { serializeSafetensors, type Tensor } from "../safetensors";
import { toLatent } from "../training/weights";
import type { DatasetShapes, StoredDataset } from "./format";
import { fromOfficialLayout, parsePromptFileName, promptFileName, toOfficialLayout } from "./official-layout";
import { type LatentMaps, writeMapsPickle } from "./official-layout-maps";
import { NdArray, type PickleDict, readPickle } from "./pickle";

const spec: PromptSpec = {
  length: 3,
  null_id: 0,
  slots: [
    {
      name: "background",
      any_id: 1,
      values: [
        { id: 2, text: "red" },
        { id: 3, text: "blue" },
      ],
    },
    { name: "position", any_id: 4, values: [{ id: 5, text: "top-left" }] },
    { name: "size", any_id: 6, values: [{ id: 7, text: "small" }] },
  ],
};
const grid = { height: 8, width: 8 };
const shapes: DatasetShapes = { packId: "t", latent: [4, 16, 16], tokens: [4, 2], grid, promptLength: 3 };
const latent = { channels: 1, height: 16, width: 16 };
const fakePng = (n: number) => Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, n);
const map = (seed: number) => Float32Array.from({ length: 64 }, (_, i) => Math.fround(Math.cos(seed * 7 + i)));

const RED = "background red, position any, size any";
const BLUE = "background blue, position top-left, size small";

/** Reference 0 with two red samples and one blue, reference 1 with one red: three folders. */
function stored(): StoredDataset {
  const samples = (
    [
      { ref: 0, prompt: { background: "red" }, seed: 1 },
      { ref: 0, prompt: { background: "red" }, seed: 2 },
      { ref: 0, prompt: { background: "blue", position: "top-left", size: "small" }, seed: 1 },
      { ref: 1, prompt: { background: "red", position: "any", size: "any" }, seed: 3 },
    ] as { ref: number; prompt: PromptChoice; seed: number }[]
  ).map((s, j) => ({ ...s, promptIds: [0, 0, 0], latent: new Float32Array(1024), mGen: map(j), mRef: map(j + 10) }));
  const reference = (id: string) => ({
    id,
    latent: new Float32Array(1024),
    imageTokens: new Float32Array(8),
    promptIds: [0, 0, 0],
  });
  return {
    id: "d",
    name: "d",
    createdAt: "",
    settings: {} as StoredDataset["settings"],
    dataset: { packId: "t", grid, references: [reference("1f004"), reference("1f600")], samples },
    referenceImages: [fakePng(100), fakePng(101)],
    sampleImages: samples.map((_, j) => fakePng(j)),
  };
}

const maps = (files: Map<string, Uint8Array>) => readPickle(files.get("patch_quality.pkl") as Uint8Array) as PickleDict;
const entry = (files: Map<string, Uint8Array>, k: number, i: number) =>
  (maps(files).get(k) as PickleDict).get(i) as PickleDict;
const read = (files: Map<string, Uint8Array>) => fromOfficialLayout(files, shapes, spec, "layout.zip");
const without = (files: Map<string, Uint8Array>, path: string) => new Map([...files].filter(([p]) => p !== path));
const withMaps = (files: Map<string, Uint8Array>, edit: (m: LatentMaps[][]) => void) => {
  const m: LatentMaps[][] = [0, 1, 2].map((k) =>
    [...(maps(files).get(k) as PickleDict).values()].map((e) => {
      const d = e as PickleDict;
      return { targetMap: d.get("target_map") as NdArray, geneMap: d.get("gene_map") as NdArray };
    }),
  );
  edit(m);
  return new Map([...files, ["patch_quality.pkl", writeMapsPickle(m)]]);
};

describe("prompt file names", () => {
  it("are the studio's prompt text, underscore-free, and parse back to the full prompt", () => {
    expect(promptFileName(spec, { background: "red" })).toBe(RED);
    const all = ["any", "red", "blue"].flatMap((background) =>
      ["any", "top-left"].flatMap((position) => ["any", "small"].map((size) => ({ background, position, size }))),
    );
    const names = all.map((p) => promptFileName(spec, p));
    expect(new Set(names).size).toBe(all.length);
    for (const [i, n] of names.entries()) {
      expect(n).not.toMatch(/[_/]/);
      expect(parsePromptFileName(spec, n)).toEqual(all[i]);
    }
  });

  it("refuse other text and vocabularies that would be ambiguous", () => {
    expect(() => parsePromptFileName(spec, "a dog on the beach")).toThrow(
      /not a prompt of this pack in the file-name form "background <value>, position <value>, size <value>"/,
    );
    expect(() => parsePromptFileName(spec, "background green, position any, size any")).toThrow(
      /"green" is not a background/,
    );
    const bad = { ...spec, slots: [{ name: "bg", any_id: 1, values: [{ id: 2, text: "sky_blue" }] }] };
    expect(() => promptFileName(bad, { bg: "sky_blue" })).toThrow(/cannot be written in a file name/);
  });
});

describe("toOfficialLayout", () => {
  it("writes one folder per (reference, prompt) with the entity image, the generated images and the maps pickle", () => {
    const d = stored();
    const files = toOfficialLayout(d, shapes, spec);
    expect([...files.keys()].sort()).toEqual(
      [
        "patch_quality.pkl",
        `sample0/${RED}_entity_0.png`,
        `sample0/${RED}_gen_0.png`,
        `sample0/${RED}_gen_1.png`,
        `sample1/${BLUE}_entity_0.png`,
        `sample1/${BLUE}_gen_0.png`,
        `sample2/${RED}_entity_0.png`,
        `sample2/${RED}_gen_0.png`,
      ].sort(),
    );
    expect(files.get(`sample2/${RED}_entity_0.png`)).toBe(d.referenceImages[1]);
    expect(files.get(`sample1/${BLUE}_gen_0.png`)).toBe(d.sampleImages[2]);
    // The official loader's rules: every non-.pkl entry is a folder, the prompt is the text before "_".
    const folders = new Set([...files.keys()].filter((p) => !p.endsWith(".pkl")).map((p) => p.split("/")[0]));
    expect(folders).toEqual(new Set(["sample0", "sample1", "sample2"]));
    const e = entry(files, 1, 0);
    expect(e.get("target_map")).toEqual(new NdArray([16, 16], toLatent(d.dataset.samples[2].mRef, grid, latent)));
    expect(e.get("gene_map")).toEqual(new NdArray([16, 16], toLatent(d.dataset.samples[2].mGen, grid, latent)));
    expect([e.get("seed"), e.get("reference")]).toEqual([1, "1f004"]);
  });
});

describe("fromOfficialLayout", () => {
  it("gives back every image, map, prompt, seed and reference of an export", () => {
    const d = stored();
    const parts = read(toOfficialLayout(d, shapes, spec));
    expect(parts.warnings).toEqual([]);
    expect(parts.references).toEqual([
      { id: "1f004", png: d.referenceImages[0] },
      { id: "1f600", png: d.referenceImages[1] },
    ]);
    expect(parts.samples.map((s) => [s.ref, s.seed, s.prompt.background])).toEqual([
      [0, 1, "red"],
      [0, 2, "red"],
      [0, 1, "blue"],
      [1, 3, "red"],
    ]);
    parts.samples.forEach((s, j) => {
      expect(s.png).toEqual(d.sampleImages[j]);
      expect(new Uint32Array(s.mGen.buffer)).toEqual(new Uint32Array(d.dataset.samples[j].mGen.buffer));
      expect(new Uint32Array(s.mRef.buffer)).toEqual(new Uint32Array(d.dataset.samples[j].mRef.buffer));
    });
  });

  it("sees a changed map value (the round trip is checked, not assumed)", () => {
    const files = withMaps(toOfficialLayout(stored(), shapes, spec), (m) => {
      for (let y = 2; y < 4; y++) for (let x = 4; x < 6; x++) m[0][1].targetMap.data[y * 16 + x] += 0.5;
    });
    const got = read(files).samples[1].mRef;
    const want = stored().dataset.samples[1].mRef;
    expect(got).not.toEqual(want);
    expect([...got].map((v, i) => (v === want[i] ? 0 : 1)).indexOf(1)).toBe(1 * 8 + 2);
  });

  it("average-pools a map that is not constant over each latent block, with a warning", () => {
    const files = withMaps(toOfficialLayout(stored(), shapes, spec), (m) => {
      m[2][0].geneMap.data.set([0, 1], 0);
      m[2][0].geneMap.data.set([1, 2], 16);
    });
    const parts = read(files);
    expect(parts.samples[3].mGen[0]).toBe(1);
    expect(parts.warnings).toEqual([
      expect.stringMatching(
        /1 map pair\(s\) .* averaged to the 8×8 patch grid \(first: patch_quality\.pkl \[2\]\[0\]\)/,
      ),
    ]);
  });

  it("reads maps from patch_quality.json or patch_quality.safetensors instead, and unwraps a data_root folder", () => {
    const files = toOfficialLayout(stored(), shapes, spec);
    const images = without(files, "patch_quality.pkl");
    const pickled = [0, 1, 2].map((k) => [...(maps(files).get(k) as PickleDict).values()] as PickleDict[]);
    const rows = (a: NdArray) => Array.from({ length: 16 }, (_, y) => [...a.data.subarray(y * 16, y * 16 + 16)]);
    const json = pickled.map((f) =>
      f.map((e) => ({
        target_map: rows(e.get("target_map") as NdArray),
        gene_map: rows(e.get("gene_map") as NdArray),
      })),
    );
    const tensors = new Map<string, Tensor>();
    for (const [k, f] of pickled.entries())
      for (const [i, e] of f.entries())
        for (const key of ["target_map", "gene_map"])
          tensors.set(`sample${k}/${i}/${key}`, { dtype: "F32", shape: [16, 16], data: (e.get(key) as NdArray).data });
    const want = read(files).samples.map((s) => [s.mGen, s.mRef]);
    const viaJson = new Map([...images, ["patch_quality.json", new TextEncoder().encode(JSON.stringify(json))]]);
    const viaSafetensors = new Map([
      ...images,
      ["patch_quality.safetensors", new Uint8Array(serializeSafetensors(tensors))],
    ]);
    const wrapped = new Map([...files].map(([p, b]) => [`data_root/${p}`, b]));
    for (const layout of [viaJson, viaSafetensors, wrapped])
      expect(read(layout).samples.map((s) => [s.mGen, s.mRef])).toEqual(want);
    expect(read(viaSafetensors).references.map((r) => r.id)).toEqual(["sample0", "sample2"]);
  });

  it("refuses what the official loader would misread, naming the file and the problem", () => {
    const files = toOfficialLayout(stored(), shapes, spec);
    const rename = (from: string, to: string) =>
      new Map([...without(files, from), [to, files.get(from) as Uint8Array]]);
    const cases: [Map<string, Uint8Array>, RegExp][] = [
      [without(files, "patch_quality.pkl"), /layout\.zip: missing patch_quality\.pkl, the quality maps/],
      [
        without(files, `sample1/${BLUE}_entity_0.png`),
        /sample1 has no background blue.*_entity_0\.png \(the reference image\)/,
      ],
      [
        rename(`sample0/${RED}_gen_1.png`, `sample0/${RED}_gen_2.png`),
        /without gaps; sample0\/background red.*_gen_1\.png is missing/,
      ],
      [rename(`sample2/${RED}_gen_0.png`, `sample2/${RED}_gen_0.jpg`), /sample2\/.*_gen_0\.jpg is neither/],
      [new Map([...files, [`sample1/${RED}_gen_1.png`, fakePng(0)]]), /sample1 holds files of 2 prompts/],
      [new Map([...files, ["notes.txt", fakePng(0)]]), /unexpected file "notes\.txt" in data_root/],
      [new Map([...files].map(([p, b]) => [p.replace("sample2/", "sample3/"), b])), /sample2 is missing/],
      [
        new Map([...files, [`sample0/${RED}_gen_0.png`, Uint8Array.of(1, 2, 3)]]),
        /sample0\/background red.*_gen_0\.png is not a PNG image/,
      ],
      [
        new Map([...files].map(([p, b]) => [p.replace(`sample1/${BLUE}`, "sample1/a dog"), b])),
        /sample1: "a dog" is not a prompt of this pack/,
      ],
      [
        withMaps(files, (m) => {
          m[1][0].geneMap = new NdArray([8, 8], new Float32Array(64));
        }),
        /patch_quality\.pkl \[1\]\[0\]\["gene_map"\] has shape \(8, 8\); the official layout stores maps on the latent grid \(16, 16\)/,
      ],
      [
        withMaps(files, (m) => {
          m[0][1].targetMap.data[17] = Number.NaN;
        }),
        /\[0\]\[1\]\["target_map"\] holds NaN or Inf at \(1, 1\)/,
      ],
      [
        withMaps(files, (m) => {
          m[0].pop();
        }),
        /has no maps for sample0\/background red.*_gen_1\.png \(entry \[0\]\[1\]\)/,
      ],
    ];
    for (const [layout, message] of cases) expect(() => read(layout)).toThrow(message);
  });
});
