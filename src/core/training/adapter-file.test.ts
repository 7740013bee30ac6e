import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Manifest } from "../pack/manifest";
import { requireRole } from "../pack/roles";
import { serializeSafetensors, type Tensor } from "../safetensors";
import { exportAdapter, importAdapter } from "./adapter-file";

const manifest = JSON.parse(readFileSync("public/models/tiny/manifest.json", "utf8")) as Manifest;
const spec = requireRole(manifest, "denoiser").adapter.tensors;
const adapter = new Map(
  spec.map((t, k) => [
    t.name,
    Float32Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.01 + k),
  ]),
);

const data = (name: string) => adapter.get(name) ?? new Float32Array();

describe("adapter files", () => {
  it("round-trip under the manifest's names and shapes with the metadata", () => {
    expect(spec.length).toBeGreaterThan(0);
    const { tensors, metadata } = importAdapter(manifest, exportAdapter(manifest, adapter, { run: "r1" }));
    expect([...tensors.keys()]).toEqual(spec.map((t) => t.name));
    for (const [name, data] of adapter) expect(tensors.get(name)).toEqual(data);
    expect(metadata).toEqual({ pack: "tiny", run: "r1" });
  });

  it("refuses a file for another pack, a missing tensor, a wrong shape and a non-safetensors file", () => {
    const tensors = (drop?: string, reshape?: string): Map<string, Tensor> =>
      new Map(
        spec
          .filter((t) => t.name !== drop)
          .map((t) => [
            t.name,
            {
              dtype: "F32",
              shape: t.name === reshape ? [1, data(t.name).length] : t.shape,
              data: data(t.name),
            },
          ]),
      );
    const [first, second] = spec.map((t) => t.name);
    expect(() =>
      importAdapter(manifest, serializeSafetensors(tensors(), { pack: "emoji64" }), "a.safetensors"),
    ).toThrow('a.safetensors was trained for pack "emoji64", not "tiny"');
    expect(() => importAdapter(manifest, serializeSafetensors(tensors(first)), "b.safetensors")).toThrow(
      `b.safetensors: no tensor ${first}`,
    );
    expect(() => importAdapter(manifest, serializeSafetensors(tensors(undefined, second)), "c.safetensors")).toThrow(
      new RegExp(`c\\.safetensors: ${second.replaceAll(".", "\\.")} is F32 \\[1,\\d+\\], expected F32`),
    );
    expect(() => importAdapter(manifest, new TextEncoder().encode("hello").buffer, "d.safetensors")).toThrow(
      /d\.safetensors: file too short|d\.safetensors: header length/,
    );
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])(
    "refuses an adapter holding %s, naming the tensor and index",
    (bad) => {
      const broken = new Map(adapter);
      const [name] = broken.keys();
      broken.set(
        name,
        data(name).map((v, i) => (i === 3 ? bad : v)),
      );
      expect(() => importAdapter(manifest, exportAdapter(manifest, broken), "nan.safetensors")).toThrow(
        `nan.safetensors: ${name}[3] is ${bad}; an adapter must hold finite numbers`,
      );
    },
  );
});
