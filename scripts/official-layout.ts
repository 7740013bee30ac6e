/**
 * The official PatchDPO data layout (docs/official-layout.md) from and to studio dataset zips:
 *
 *   npm run official-layout -- export --dataset ds.zip --out DIR [--pack ID]
 *   npm run official-layout -- import --dir DIR --pack ID --out ds.zip [--name NAME]
 *
 * Export writes DIR as the official code's data_root (it must be new or empty); the pack defaults
 * to the one the zip names. Import encodes the images with the pack's ONNX models (onnxruntime-web
 * WASM in Node). Warnings go to stderr, a JSON summary to stdout.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { unzipSync } from "fflate";
import { nodeRunner } from "../node/ort";
import { readManifest } from "../node/packs";
import { decodePng } from "../node/png";
import { decodeDatasetZip, encodeDatasetZip, packShapes } from "../src/core/dataset/format";
import { fromOfficialLayout, toOfficialLayout } from "../src/core/dataset/official-layout";
import { encodeOfficialParts } from "../src/core/dataset/official-layout-encode";
import type { Manifest } from "../src/core/pack/manifest";
import { packEncoderSpec } from "../src/core/quality/encoder-spec";

const USAGE = `usage: npm run official-layout -- export --dataset ds.zip --out DIR [--pack ID]
       npm run official-layout -- import --dir DIR --pack ID --out ds.zip [--name NAME]`;

class UsageError extends Error {}

function flags(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!flag.startsWith("--") || value === undefined) throw new UsageError(`expected --flag value, got "${flag}"`);
    out.set(flag.slice(2), value);
  }
  return out;
}

const required = (f: Map<string, string>, name: string) => {
  const v = f.get(name);
  if (v === undefined) throw new UsageError(`missing --${name}`);
  return v;
};

function shapesOf(manifest: Manifest) {
  const [height, width] = packEncoderSpec(manifest).grid;
  return packShapes(manifest, { height, width });
}

/** Every file under `dir`, by its path relative to `dir` with `/` separators. */
function readTree(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path).split(sep).join("/"), readFileSync(path));
  }
  return files;
}

function exportLayout(f: Map<string, string>) {
  const zipPath = required(f, "dataset");
  const out = required(f, "out");
  const bytes = readFileSync(zipPath);
  const header = unzipSync(bytes, { filter: (file) => file.name === "dataset.json" })["dataset.json"];
  const pack = f.get("pack") ?? (header ? String(JSON.parse(new TextDecoder().decode(header)).packId) : "");
  if (!pack) throw new Error(`${zipPath}: no dataset.json to name its pack; pass --pack`);
  const manifest = readManifest(pack);
  const shapes = shapesOf(manifest);
  const stored = { id: zipPath, ...decodeDatasetZip(bytes, shapes, zipPath) };
  const files = toOfficialLayout(stored, shapes, manifest.prompt);
  if (existsSync(out) && readdirSync(out).length > 0)
    throw new Error(`${out} is not empty: the official loader counts every entry of data_root`);
  for (const [path, data] of files) {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), data);
  }
  const perFolder = [...files.keys()].filter((p) => p.includes("_gen_")).map((p) => p.split("/")[0]);
  const counts = [...new Set(perFolder)].map((k) => perFolder.filter((x) => x === k).length);
  const [min, max] = [Math.min(...counts), Math.max(...counts)];
  if (min !== max)
    console.error(
      `folders hold ${min}–${max} images; the official loader reads num_smaple_per_folder (≤ ${min}) from each`,
    );
  console.log(JSON.stringify({ out, folders: counts.length, images: perFolder.length, imagesPerFolder: [min, max] }));
}

async function importLayout(f: Map<string, string>) {
  const dir = required(f, "dir");
  const pack = required(f, "pack");
  const out = required(f, "out");
  const manifest = readManifest(pack);
  const shapes = shapesOf(manifest);
  const parts = fromOfficialLayout(readTree(dir), shapes, manifest.prompt, dir);
  for (const w of parts.warnings) console.error(`warning: ${w}`);
  const stored = await encodeOfficialParts(parts, {
    run: nodeRunner(pack),
    manifest,
    name: f.get("name") ?? `${pack} official layout import`,
    decode: decodePng,
  });
  writeFileSync(out, encodeDatasetZip({ id: out, ...stored }, shapes));
  console.log(JSON.stringify({ out, references: parts.references.length, samples: parts.samples.length }));
}

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  try {
    if (command === "export") exportLayout(flags(rest));
    else if (command === "import") await importLayout(flags(rest));
    else throw new UsageError(command ? `unknown command "${command}"` : "no command");
    return 0;
  } catch (e) {
    console.error(e instanceof UsageError ? `${e.message}\n${USAGE}` : (e as Error).message);
    return e instanceof UsageError ? 2 : 1;
  }
}

main().then((code) => process.exit(code));
