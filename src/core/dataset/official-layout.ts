/**
 * The data layout of the official PatchDPO training code (hqhQAQ/PatchDPO, data/subject_dataset.py;
 * docs/official-layout.md):
 *
 *   patch_quality.pkl                 [k][i] = {target_map, gene_map} at latent resolution
 *   sample{k}/{prompt}_entity_0.png   the reference image
 *   sample{k}/{prompt}_gen_{i}.png    generated images 0…n−1
 *
 * One folder is one (reference, prompt) group of the studio's dataset, its samples in dataset
 * order. The official loader counts every top-level entry that is not a `.pkl` as a folder and
 * reads the prompt as a file name's text before the first `_`, so the export writes nothing else
 * and the import refuses what that loader would misread.
 */
import { describePrompt, encodePrompt, type PromptChoice, type PromptSpec } from "../generate/prompt";
import type { Grid } from "../quality/maps";
import { DatasetFormatError, type DatasetShapes, type StoredDataset } from "./format";
import { gridMap, type LatentMaps, latentMap, MAPS_FILES, readMaps, writeMapsPickle } from "./official-layout-maps";
import { isTwoSubject } from "./types";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export const entityPath = (k: number, prompt: string) => `sample${k}/${prompt}_entity_0.png`;
export const genPath = (k: number, prompt: string, i: number) => `sample${k}/${prompt}_gen_${i}.png`;

/**
 * A prompt as file names carry it: the studio's prompt text (`describePrompt`), every slot in the
 * pack's order, e.g. `background red, position any, size any`. Throws when the pack's vocabulary
 * would make it ambiguous (a `_`, `/` or `,` in a value, or a space in a slot name).
 */
export function promptFileName(spec: PromptSpec, prompt: PromptChoice): string {
  encodePrompt(spec, prompt);
  for (const slot of spec.slots) {
    if (!/^[^\s,_/]+$/.test(slot.name)) throw new Error(`prompt slot "${slot.name}" cannot be written in a file name`);
    const value = prompt[slot.name] ?? "any";
    if (!/^[^,_/]+$/.test(value) || value.trim() !== value)
      throw new Error(`the ${slot.name} "${value}" cannot be written in a file name (no "_", "/" or ",")`);
  }
  return describePrompt(spec, prompt);
}

/** The inverse of promptFileName: exactly `slot value` per slot, in the pack's order, joined by ", ". */
export function parsePromptFileName(spec: PromptSpec, text: string): PromptChoice {
  const form = spec.slots.map((s) => `${s.name} <value>`).join(", ");
  const parts = text.split(", ");
  const choice: PromptChoice = {};
  spec.slots.forEach((slot, i) => {
    const part = parts[i] ?? "";
    if (parts.length !== spec.slots.length || !part.startsWith(`${slot.name} `))
      throw new Error(`"${text}" is not a prompt of this pack in the file-name form "${form}"`);
    choice[slot.name] = part.slice(slot.name.length + 1);
  });
  encodePrompt(spec, choice);
  return choice;
}

/**
 * The official layout of a stored dataset as file paths → bytes. PNGs are the dataset's own bytes;
 * maps are the raw cosines (not loss weights), block-replicated to the latent grid.
 */
export function toOfficialLayout(
  stored: StoredDataset,
  shapes: DatasetShapes,
  spec: PromptSpec,
): Map<string, Uint8Array> {
  const { dataset: ds } = stored;
  if (isTwoSubject(ds))
    throw new Error(
      `dataset "${stored.name}" has two subjects per sample; the official PatchDPO layout holds one reference per image (export it in the studio's format)`,
    );
  const latent = { height: shapes.latent[1], width: shapes.latent[2] };
  const groups = new Map<string, { ref: number; prompt: string; samples: number[] }>();
  ds.samples.forEach((s, j) => {
    const prompt = promptFileName(spec, s.prompt);
    const key = `${s.ref}\n${prompt}`;
    const group = groups.get(key) ?? { ref: s.ref, prompt, samples: [] };
    group.samples.push(j);
    groups.set(key, group);
  });
  const files = new Map<string, Uint8Array>();
  const maps: LatentMaps[][] = [];
  [...groups.values()].forEach((g, k) => {
    files.set(entityPath(k, g.prompt), stored.referenceImages[g.ref]);
    maps.push(
      g.samples.map((j, i) => {
        const s = ds.samples[j];
        files.set(genPath(k, g.prompt, i), stored.sampleImages[j]);
        return {
          targetMap: latentMap(s.mRef, ds.grid, latent),
          geneMap: latentMap(s.mGen, ds.grid, latent),
          seed: s.seed,
          reference: ds.references[g.ref].id,
        };
      }),
    );
  });
  files.set(MAPS_FILES[0], writeMapsPickle(maps));
  return files;
}

export interface OfficialSample {
  /** Index into OfficialParts.references. */
  ref: number;
  prompt: PromptChoice;
  seed: number;
  png: Uint8Array;
  /** On the patch grid. */
  mGen: Float32Array;
  mRef: Float32Array;
}

/** What an official layout holds, before the pack's encoders turn it into a studio dataset. */
export interface OfficialParts {
  grid: Grid;
  /**
   * Distinct references: folders whose entity images are byte-identical (and, when the maps file
   * has the studio's reference ids, have the same id) share one; ids default to the first folder's name.
   */
  references: { id: string; png: Uint8Array }[];
  samples: OfficialSample[];
  /** Things the import did that the user should know (maps averaged to the grid, files ignored). */
  warnings: string[];
}

const FOLDER = /^sample(0|[1-9]\d*)$/;

/** Drops directory entries and one folder that wraps the whole tree (`zip -r data_root.zip data_root`). */
function rootFiles(files: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const entries = [...files].filter(([p]) => !p.endsWith("/"));
  const top = entries[0]?.[0].split("/")[0];
  const wrapped = top !== undefined && !FOLDER.test(top) && entries.every(([p]) => p.startsWith(`${top}/`));
  return new Map(wrapped ? entries.map(([p, b]) => [p.slice(top.length + 1), b]) : entries);
}

/**
 * Reads an official layout (paths relative to data_root) for the pack of `shapes` and `spec`;
 * throws DatasetFormatError naming the file and the problem.
 */
export function fromOfficialLayout(
  files: Map<string, Uint8Array>,
  shapes: DatasetShapes,
  spec: PromptSpec,
  source = "official layout",
): OfficialParts {
  const fail = (problem: string): never => {
    throw new DatasetFormatError(source, problem);
  };
  const warnings: string[] = [];
  const folders = new Map<number, Map<string, Uint8Array>>();
  const top = new Map<string, Uint8Array>();
  for (const [path, bytes] of rootFiles(files)) {
    const [dir, name, ...deeper] = path.split("/");
    if (name === undefined) {
      if (!path.endsWith(".pkl") && !(MAPS_FILES as readonly string[]).includes(path))
        fail(
          `unexpected file "${path}" in data_root: the official loader counts every entry but .pkl files as a folder`,
        );
      top.set(path, bytes);
    } else {
      const m = FOLDER.exec(dir);
      if (!m) fail(`unexpected folder "${dir}" in data_root: only sample0, sample1, … are allowed`);
      if (deeper.length) fail(`unexpected subfolder in ${path}: sample folders hold only PNG files`);
      const k = Number(m?.[1]);
      folders.set(k, (folders.get(k) ?? new Map()).set(name, bytes));
    }
  }
  if (folders.size === 0) fail("no sample folders (sample0, sample1, …)");
  for (let k = 0; k < folders.size; k++)
    if (!folders.has(k))
      fail(`sample folders must be numbered sample0…sample${folders.size - 1}; sample${k} is missing`);

  const mapsName = MAPS_FILES.find((f) => top.has(f));
  if (!mapsName)
    return fail(
      `missing ${MAPS_FILES[0]}, the quality maps (${MAPS_FILES.slice(1).join(" or ")} are accepted instead)`,
    );
  const ignored = [...top.keys()].filter((f) => f !== mapsName);
  if (ignored.length) warnings.push(`read the maps from ${mapsName}; ignored ${ignored.join(", ")}`);
  const lookup = readMaps(mapsName, top.get(mapsName) as Uint8Array);

  const latent = { height: shapes.latent[1], width: shapes.latent[2] };
  const references: OfficialParts["references"] = [];
  const samples: OfficialSample[] = [];
  const pooled: string[] = [];
  const png = (path: string, b: Uint8Array) => {
    if (b.length < 8 || PNG_SIGNATURE.some((v, i) => b[i] !== v)) fail(`${path} is not a PNG image`);
    return b;
  };
  for (let k = 0; k < folders.size; k++) {
    const { text, entity, gens } = folderFiles(k, folders.get(k) as Map<string, Uint8Array>, fail);
    let prompt: PromptChoice = {};
    try {
      prompt = parsePromptFileName(spec, text);
    } catch (e) {
      fail(`sample${k}: ${(e as Error).message}`);
    }
    const entityPng = png(entityPath(k, text), entity);
    let ref = -1;
    for (let i = 0; i < gens.length; i++) {
      const maps = lookup(k, i) ?? fail(`${mapsName} has no maps for ${genPath(k, text, i)} (entry [${k}][${i}])`);
      const where = `${mapsName} [${k}][${i}]`;
      const mRef = gridMap(maps.targetMap, shapes.grid, latent, `${where}["target_map"]`, fail);
      const mGen = gridMap(maps.geneMap, shapes.grid, latent, `${where}["gene_map"]`, fail);
      if (mRef.pooled || mGen.pooled) pooled.push(`[${k}][${i}]`);
      if (ref < 0) {
        // Without the studio's reference ids, identical entity images are one reference.
        const id = maps.reference;
        ref = references.findIndex((r) => (id === undefined || r.id === id) && sameBytes(r.png, entityPng));
        if (ref < 0) ref = references.push({ id: id ?? `sample${k}`, png: entityPng }) - 1;
      }
      const gen = png(genPath(k, text, i), gens[i]);
      samples.push({ ref, prompt, seed: maps.seed ?? i, png: gen, mGen: mGen.map, mRef: mRef.map });
    }
  }
  if (pooled.length)
    warnings.push(
      `${pooled.length} map pair(s) were not constant over each latent block of a patch and were averaged to the ` +
        `${shapes.grid.height}×${shapes.grid.width} patch grid (first: ${mapsName} ${pooled[0]})`,
    );
  return { grid: shapes.grid, references, samples, warnings };
}

/**
 * A folder's prompt text (the official loader's: a file name's text before the first "_"), its
 * entity image and its generated images by index, checked as that loader will read them.
 */
function folderFiles(k: number, names: Map<string, Uint8Array>, fail: (problem: string) => never) {
  const prompts = [...new Set([...names.keys()].map((n) => n.split("_")[0]))];
  if (prompts.length > 1)
    fail(
      `sample${k} holds files of ${prompts.length} prompts (${prompts.map((p) => `"${p}"`).join(", ")}); the official loader reads one`,
    );
  const [text] = prompts;
  const byIndex = new Map<number, Uint8Array>();
  let entity: Uint8Array | undefined;
  for (const [name, bytes] of names) {
    const m = /^_(entity_0|gen_(0|[1-9]\d*))\.png$/.exec(name.slice(text.length));
    if (!m) fail(`sample${k}/${name} is neither ${text}_entity_0.png nor ${text}_gen_<i>.png`);
    if (m?.[2] === undefined) entity = bytes;
    else byIndex.set(Number(m[2]), bytes);
  }
  if (!entity) return fail(`sample${k} has no ${text}_entity_0.png (the reference image)`);
  if (byIndex.size === 0) fail(`sample${k} has no generated images ${text}_gen_<i>.png`);
  const gens = [...byIndex.keys()].map((_, i) => byIndex.get(i));
  const gap = gens.indexOf(undefined);
  if (gap >= 0)
    fail(`sample${k}: generated images must be numbered from 0 without gaps; ${genPath(k, text, gap)} is missing`);
  return { text, entity, gens: gens as Uint8Array[] };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
