/**
 * The paper benchmark's preference dataset on disk, as the studio exports it (core/dataset/format.ts):
 * the zip the torch trainer reads, and a cache of built datasets under a key of everything that
 * determines one (the pack's files, the engine, the references, prompts, seeds and sampler), so
 * that a sweep builds its dataset once and every grid point, and every later sweep on the same
 * pack, trains on the same images.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodePng, encodePng } from "../../node/png";
import type { Pack } from "../../scripts/train/headless";
import type { BuildReference } from "../../src/core/dataset/build";
import { decodeDatasetZip, encodeDatasetZip, packShapes } from "../../src/core/dataset/format";
import type { PreferenceDataset } from "../../src/core/dataset/types";
import type { PromptChoice, RgbaImage } from "../../src/core/generate";
import type { CompareSampler } from "../../src/core/metrics/grid";
import { packEncoderSpec } from "../../src/core/quality/encoder-spec";

/** A dataset with its images as 8-bit RGBA, which is all the metrics and the zips ever read. */
export interface BuiltDataset {
  ds: PreferenceDataset;
  /** One per reference. */
  references: RgbaImage[];
  /** One per sample. */
  samples: RgbaImage[];
  /** The zip it is stored in, when it is (the torch trainer then reads that). */
  file?: string;
}

/** How the dataset's images were made, beside its references. */
export interface DatasetRecipe {
  prompts: PromptChoice[];
  seeds: number[];
  sampler: CompareSampler;
  /** Label of the engine that sampled the images ("studio" or "torch"). */
  engine: string;
  /** Two-subject datasets: the pairs of references (BuildOptions.pairs). */
  pairs?: [number, number][];
}

export function datasetZip(manifest: Pack["manifest"], recipe: DatasetRecipe, d: BuiltDataset, name: string) {
  const stored = {
    id: name,
    name: `paper ${name}`,
    createdAt: new Date().toISOString(),
    settings: {
      references: d.ds.references.map(({ id }) => ({ id, label: id, source: "gallery" as const })),
      prompts: recipe.prompts,
      seeds: recipe.seeds,
      sampler: recipe.sampler,
      adapter: `base (${recipe.engine} engine)`,
      refWeight: "coverage" as const,
    },
    dataset: d.ds,
    referenceImages: d.references.map(encodePng),
    sampleImages: d.samples.map(encodePng),
  };
  return encodeDatasetZip(stored, packShapes(manifest, d.ds.grid));
}

export function readDatasetZip(manifest: Pack["manifest"], path: string): BuiltDataset {
  const [height, width] = packEncoderSpec(manifest).grid;
  const stored = decodeDatasetZip(readFileSync(path), packShapes(manifest, { height, width }), path);
  return {
    ds: stored.dataset,
    references: stored.referenceImages.map((png, i) => decodePng(png, `${path} reference ${i}`)),
    samples: stored.sampleImages.map((png, j) => decodePng(png, `${path} sample ${j}`)),
  };
}

/** The pack's manifest and every file its roles name: a re-exported pack gets new keys. */
function hashPack(h: ReturnType<typeof createHash>, pack: Pack): void {
  h.update(readFileSync(join(pack.dir, "manifest.json")));
  for (const role of Object.values(pack.manifest.roles)) {
    for (const file of [role?.file, role?.weights?.file]) if (file) h.update(readFileSync(join(pack.dir, file)));
  }
}

/** The cache key: a hash of everything the dataset depends on. */
export function datasetKey(pack: Pack, recipe: DatasetRecipe, refs: BuildReference[]): string {
  const h = createHash("sha256");
  hashPack(h, pack);
  h.update(JSON.stringify({ format: 1, recipe, references: refs.map((r) => r.id) }));
  for (const r of refs) h.update(new Uint8Array(r.tensor.buffer, r.tensor.byteOffset, r.tensor.byteLength));
  return h.digest("hex").slice(0, 16);
}

/**
 * The dataset stored under `dir` for `key`, or `build()`'s, stored there for the next run
 * (written to a temporary name and renamed, so a stopped run leaves no half file).
 */
export async function cachedDataset(
  c: { dir: string; key: string; pack: Pack; recipe: DatasetRecipe; log: (msg: string) => void },
  build: () => Promise<BuiltDataset>,
): Promise<BuiltDataset & { cached: boolean }> {
  const file = join(c.dir, `dataset-${c.pack.manifest.id}-${c.key}.zip`);
  if (existsSync(file)) {
    c.log(`dataset from the cache: ${file}`);
    return { ...readDatasetZip(c.pack.manifest, file), file, cached: true };
  }
  const built = await build();
  mkdirSync(c.dir, { recursive: true });
  writeFileSync(`${file}.part`, datasetZip(c.pack.manifest, c.recipe, built, c.key));
  renameSync(`${file}.part`, file);
  c.log(`dataset cached: ${file}`);
  return { ...built, file, cached: false };
}
