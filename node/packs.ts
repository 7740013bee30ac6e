/** A model pack's folder read in Node (tests, benchmarks, `npm run train`): its manifest and safetensors files. */
import { readFileSync } from "node:fs";
import { type DenoiserArch, denoiserArch } from "../src/core/engine/arch";
import type { AdapterTensors } from "../src/core/generate";
import { readBaseAdapter } from "../src/core/pack/base-adapter";
import { type Manifest, parseManifest, requireRole } from "../src/core/pack/manifest";
import { parseSafetensors, type SafeTensors, type Tensor } from "../src/core/safetensors";

/** A pack's folder: an id names one under public/models/, anything with a slash is a folder path. */
export const packPath = (pack: string): string => (pack.includes("/") ? pack : `public/models/${pack}`);

/** The pack's manifest, validated as the studio validates it at load. */
export function readManifest(pack: string): Manifest {
  const file = `${packPath(pack)}/manifest.json`;
  return parseManifest(readFileSync(file, "utf8"), file);
}

export function loadSafetensors(path: string): SafeTensors {
  return parseSafetensors(readFileSync(path), path);
}

export function need(tensors: ReadonlyMap<string, Tensor>, name: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`missing tensor ${name}`);
  return t;
}

/** The pack's denoiser architecture and its weights file's tensors. */
export function packDenoiser(pack: string): { arch: DenoiserArch; weights: Map<string, Float32Array> } {
  const manifest = readManifest(pack);
  const { tensors } = loadSafetensors(`${packPath(pack)}/${requireRole(manifest, "denoiser").weights.file}`);
  return { arch: denoiserArch(manifest), weights: new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array])) };
}

/** The pack's base adapter tensors from the denoiser weights file. */
export function baseAdapter(pack: string): AdapterTensors {
  const manifest = readManifest(pack);
  const { file } = requireRole(manifest, "denoiser").weights;
  return readBaseAdapter(manifest, new Map([[file, readFileSync(`${packPath(pack)}/${file}`)]]));
}
