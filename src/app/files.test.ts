import { describe, expect, it } from "vitest";
import { rootRelative } from "./files";

const file = (name: string) => new File(["x"], name);

describe("rootRelative", () => {
  it("makes paths relative to the folder holding manifest.json", () => {
    const picked = rootRelative([
      ["packs/tiny/manifest.json", file("manifest.json")],
      ["packs/tiny/denoiser.onnx", file("denoiser.onnx")],
      ["packs/tiny/gallery/heldout/a.png", file("a.png")],
      ["packs/other.txt", file("other.txt")],
    ]);
    expect(Object.keys(picked.files).sort()).toEqual(["denoiser.onnx", "gallery/heldout/a.png", "manifest.json"]);
    expect(picked.label).toBe("folder packs/tiny");
  });

  it("keeps loose files as they are", () => {
    const picked = rootRelative([
      ["manifest.json", file("manifest.json")],
      ["x.onnx", file("x.onnx")],
    ]);
    expect(Object.keys(picked.files)).toEqual(["manifest.json", "x.onnx"]);
    expect(picked.label).toBe("2 selected files");
  });

  it("refuses two loose files of the same name, as a picker selection from two folders gives them", () => {
    const entries: [string, File][] = [
      ["manifest.json", file("manifest.json")],
      ["denoiser.onnx", file("denoiser.onnx")],
      ["denoiser.onnx", file("denoiser.onnx")],
    ];
    expect(() => rootRelative(entries)).toThrow('two selected files are both "denoiser.onnx"');
  });
});
