import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseManifest, requireRole } from "../pack/manifest";
import { adapterNames, denoiserArch, gridTokens } from "./arch";

describe("denoiser architecture from the manifest", () => {
  const manifest = parseManifest(readFileSync("public/models/tiny/manifest.json", "utf8"));
  const withArch = (change: Record<string, unknown>) => {
    const m = structuredClone(manifest);
    Object.assign(requireRole(m, "denoiser").architecture, change);
    return m;
  };

  it("reads the tiny pack", () => {
    const a = denoiserArch(manifest);
    expect([a.width, a.depth, a.heads, a.latentChannels, a.latentSize, gridTokens(a)]).toEqual([32, 2, 2, 4, 16, 64]);
    const spec = requireRole(manifest, "denoiser").adapter.tensors;
    expect(adapterNames(a)).toEqual(spec.map((t) => t.name));
  });

  it("names the offending field", () => {
    expect(() => denoiserArch(withArch({ heads: "2" }))).toThrow(
      "roles.denoiser.architecture.heads: expected a number",
    );
    expect(() => denoiserArch(withArch({ tokens: 63 }))).toThrow(/tokens does not match/);
    expect(() => denoiserArch(withArch({ heads: 3 }))).toThrow(/divisible by heads/);
    expect(() => denoiserArch(withArch({ activation: "relu" }))).toThrow(/gelu_tanh/);
    expect(() => denoiserArch(withArch({ max_references: 0 }))).toThrow(
      "roles.denoiser.architecture.max_references: expected a positive integer",
    );
  });

  it("reads max_references, one reference when absent", () => {
    expect(denoiserArch(manifest).maxReferences).toBe(2);
    expect(denoiserArch(withArch({ max_references: undefined })).maxReferences).toBe(1);
  });
});
