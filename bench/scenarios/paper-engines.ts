/**
 * Where the `paper` benchmark generates images and trains adapters:
 * - `studio`: the studio's own path, as the Dataset, Train and Compare tabs run it — the generation
 *   pipeline on onnxruntime-web (WASM) and the CPU training engine;
 * - `torch`: the foundry's PyTorch sampler and trainer (`python3 -m foundry sample`,
 *   `python3 -m foundry train-adapter`; scripts/train/foundry.ts), whose parity with the studio's
 *   engines is tested (tests/sampler-torch-parity.test.ts, tests/adapter-trainer-parity.test.ts),
 *   for budgets the studio's engines cannot finish on the build cores.
 * Either way every quality map and every metric is computed by the studio's TypeScript code, and
 * each cell's initial noise is the Compare tab's (core/metrics/grid.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodePng } from "../../node/png";
import { foundrySample, foundryTrain, type SampleJob, type SampleReference } from "../../scripts/train/foundry";
import { type HeadlessConfig, type Pack, train } from "../../scripts/train/headless";
import { type BuildOptions, type BuildReference, buildDataset } from "../../src/core/dataset/build";
import { concatReferences } from "../../src/core/engine/references";
import {
  type AdapterTensors,
  decodeLatents,
  encodePrompt,
  encodeReference,
  imageToTensor,
  type PromptChoice,
  type RgbaImage,
  referenceOrder,
  tensorToImage,
} from "../../src/core/generate";
import type { ImageRecord } from "../../src/core/metrics/aggregate";
import {
  type CompareSampler,
  cellReferenceOrder,
  cellSubjects,
  evaluateCell,
  type GridCell,
  promptKey,
  scoreImage,
} from "../../src/core/metrics/grid";
import type { ImageEvaluator } from "../../src/core/metrics/image";
import { importAdapter } from "../../src/core/training/adapter-file";
import { type BuiltDataset, datasetZip } from "./paper-dataset";

/** Gallery subjects as `[3, S, S]` model inputs. */
export function galleryReferences(pack: Pack, ids: string[]): BuildReference[] {
  const { manifest } = pack;
  const all = [...(manifest.gallery?.train ?? []), ...(manifest.gallery?.heldout ?? [])];
  return ids.map((id) => {
    const e = all.find((x) => x.id === id);
    if (!e) throw new Error(`pack ${manifest.id} has no gallery subject ${id}`);
    const png = decodePng(readFileSync(`${pack.dir}/${e.file}`), e.file);
    return { id, tensor: imageToTensor(png, manifest.image, e.file) };
  });
}

/** A model input `[3, S, S]` as the 8-bit image metrics and PNGs take. */
export const tensorImage = (pack: Pack, t: Float32Array): RgbaImage =>
  tensorToImage(t, 0, pack.manifest.image.size, pack.manifest.image.range);

export interface EngineSetup {
  pack: Pack;
  /** The dataset's prompts and seeds per training subject, and the sampler of every image. */
  prompts: PromptChoice[];
  seeds: number[];
  sampler: CompareSampler;
  log: (msg: string) => void;
}

/** A trained (or the base) adapter; the torch engine's also as the studio's adapter file. */
export interface MethodAdapter {
  id: string;
  tensors: AdapterTensors;
  file?: string;
}

export interface TrainRun {
  id: string;
  /** With its images, for the zip the torch trainer reads. */
  data: BuiltDataset;
  config: HeadlessConfig;
}

export interface EvalGrid {
  /** Every subject a cell names, subject B of a pair included. */
  subjects: string[];
  cells: GridCell[];
  evaluator: ImageEvaluator;
}

/** Gallery subjects by id, as model inputs and as the 8-bit images the metrics read. */
function referenceImages(pack: Pack, ids: string[]): Map<string, { tensor: Float32Array; image: RgbaImage }> {
  return new Map(
    galleryReferences(pack, ids).map((r) => [r.id, { tensor: r.tensor, image: tensorImage(pack, r.tensor) }]),
  );
}

/** The subjects that lead a cell (subject A of a pair), whose cells are evaluated together. */
const leads = (grid: EvalGrid) => grid.subjects.filter((id) => grid.cells.some((c) => c.subject === id));

export interface PaperEngine {
  /**
   * The base adapter's preference dataset of the training references, with its images: one
   * subject per image, or with `pairs` (indices into `refs`) two (BuildOptions.pairs).
   */
  dataset(refs: BuildReference[], pairs?: [number, number][]): Promise<BuiltDataset>;
  train(runs: TrainRun[]): Promise<MethodAdapter[]>;
  /**
   * One record per cell and adapter, cell by cell (subject-major), adapters in order. A cell with
   * a `second` subject is generated from both references (`subjects` lists both).
   */
  evaluate(adapters: MethodAdapter[], grid: EvalGrid): Promise<ImageRecord[]>;
}

const lastLoss = (loss: number | undefined) => loss?.toExponential(3);

/** `buildDataset` with the base adapter, keeping every image as the metrics see it. */
async function baseDataset(
  s: EngineSetup,
  refs: BuildReference[],
  pairs: [number, number][] | undefined,
  generateImage?: BuildOptions["generateImage"],
): Promise<BuiltDataset> {
  const { pack } = s;
  const samples: RgbaImage[] = [];
  const ds = await buildDataset({
    run: pack.run,
    pairs,
    prompts: s.prompts,
    seeds: s.seeds,
    sampler: s.sampler,
    manifest: pack.manifest,
    adapter: pack.base,
    references: refs,
    generateImage,
    onSample: (_d, _t, _s, image) => samples.push(tensorImage(pack, image)),
  });
  return { ds, references: refs.map((r) => tensorImage(pack, r.tensor)), samples };
}

/** The studio's generation pipeline (ORT WASM) and CPU training engine. */
export function studioEngine(s: EngineSetup): PaperEngine {
  const { pack, log } = s;
  const { manifest } = pack;
  return {
    dataset: (refs, pairs) => baseDataset(s, refs, pairs),
    async train(runs) {
      const out: MethodAdapter[] = [];
      for (const r of runs) {
        const t0 = performance.now();
        const result = await train(pack, r.data.ds, r.config);
        if (result.stopped) throw new Error(`${r.id}: ${result.stopped}`);
        const seconds = ((performance.now() - t0) / 1000).toFixed(0);
        log(
          `trained ${r.id}: ${r.config.train.steps} steps in ${seconds} s, last loss ${lastLoss(result.reports.at(-1)?.loss)}`,
        );
        out.push({ id: r.id, tensors: result.adapter });
      }
      return out;
    },
    async evaluate(adapters, grid) {
      const records: ImageRecord[] = [];
      const refs = referenceImages(pack, grid.subjects);
      const tokens = new Map<string, Float32Array>();
      for (const [id, r] of refs) tokens.set(id, await encodeReference(pack.run, manifest, r.tensor));
      for (const subject of leads(grid)) {
        for (const cell of grid.cells.filter((c) => c.subject === subject)) {
          const r = await evaluateCell({
            run: pack.run,
            manifest,
            imageTokens: concatReferences(
              cellSubjects(cell).map((id) => tokens.get(id) as Float32Array),
              cellReferenceOrder(manifest.prompt, cell),
            ),
            reference: refs.get(cell.subject)?.image as RgbaImage,
            secondReference: cell.second === undefined ? undefined : refs.get(cell.second)?.image,
            adapters,
            cell,
            sampler: s.sampler,
            evaluator: grid.evaluator,
          });
          records.push(...r.records);
        }
        log(`evaluated ${subject} (${records.length / adapters.length}/${grid.cells.length} cells)`);
      }
      return records;
    },
  };
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results in item order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface TorchSetup extends EngineSetup {
  /** Cores to use: this many one-thread PyTorch processes run at a time. */
  threads: number;
  /** Scratch folder (jobs, images, dataset zips) and where the trained adapter files are kept. */
  work: string;
  adapterDir: string;
}

/** The subject rendered over a scene-kit background instead of white, by the foundry (it has the sprites). */
export async function naturalReferences(s: TorchSetup, ids: string[], backgrounds: string[]): Promise<RgbaImage[]> {
  const references = ids.map((id, i) => ({ id, background: backgrounds[i] }));
  const r = await foundrySample({ pack: s.pack.dir, references, jobs: [], dir: s.work, name: "natural", threads: 1 });
  return r.references;
}

/** The foundry's PyTorch sampler and trainer. */
export function torchEngine(s: TorchSetup): PaperEngine {
  const { pack, log } = s;
  const { manifest } = pack;
  const folder = pack.dir; // the foundry reads the pack from its folder
  mkdirSync(s.adapterDir, { recursive: true });
  /** A cell's subjects (indices into the references) in the order the denoiser takes them under `prompt`. */
  const denoiserOrder = (subjects: number[], prompt: PromptChoice) =>
    subjects.length === 1 ? subjects : referenceOrder(manifest.prompt, prompt).map((k) => subjects[k]);
  const jobsOf = (cells: { references: number[]; prompt: PromptChoice; seed: number }[]): SampleJob[] =>
    cells.map(({ references, prompt, seed }) => ({
      references,
      promptIds: encodePrompt(manifest.prompt, prompt).map(Number),
      seed,
      sampler: s.sampler,
    }));
  /** Every job with every adapter, on `threads` one-thread processes that each take a contiguous share of the jobs. */
  const sample = async (references: SampleReference[], jobs: SampleJob[], adapters: string[], name: string) => {
    const processes = Math.max(1, Math.min(s.threads, jobs.length));
    const share = Math.ceil(jobs.length / processes);
    const parts = await Promise.all(
      Array.from({ length: processes }, (_, k) =>
        foundrySample({
          pack: folder,
          references,
          jobs: jobs.slice(k * share, (k + 1) * share),
          adapters,
          threads: 1,
          dir: s.work,
          name: `${name}-${k}`,
          onLine: (l) => log(`${name} ${k}: ${l}`),
        }),
      ),
    );
    return {
      images: adapters.map((_, a) => parts.flatMap((p) => p.images[a])),
      latents: adapters.map((_, a) => parts.flatMap((p) => p.latents[a])),
    };
  };
  const zips = new Map<BuiltDataset, string>();
  /** The dataset's zip: the cached one, or written once per dataset. */
  const zipOf = (r: TrainRun): string => {
    const known = r.data.file ?? zips.get(r.data);
    if (known) return known;
    const path = join(s.work, `dataset-${zips.size}.zip`);
    writeFileSync(path, datasetZip(manifest, { ...s, engine: "torch" }, r.data, r.id));
    zips.set(r.data, path);
    return path;
  };
  return {
    async dataset(refs, pairs) {
      const items: number[][] = pairs ?? refs.map((_, k) => [k]);
      const cells = items.flatMap((subjects) =>
        s.prompts.flatMap((prompt) =>
          s.seeds.map((seed) => ({ subjects, references: denoiserOrder(subjects, prompt), prompt, seed })),
        ),
      );
      const sampled = await sample(
        refs.map(({ id }) => ({ id })),
        jobsOf(cells),
        ["base"],
        "dataset",
      );
      const key = (ids: string[], prompt: PromptChoice, seed: number) =>
        `${ids.join("+")} ${promptKey(prompt)} ${seed}`;
      const idsOf = (subjects: number[]) => subjects.map((i) => refs[i].id);
      const latents = new Map(cells.map((c, k) => [key(idsOf(c.subjects), c.prompt, c.seed), sampled.latents[0][k]]));
      // The sampler's latents, decoded by the studio's VAE decoder as `generate` does.
      return baseDataset(s, refs, pairs, async (ref, _tokens, settings, second) => {
        const k = key(second ? [ref.id, second.id] : [ref.id], settings.prompt, settings.seed);
        const z = latents.get(k);
        if (!z) throw new Error(`no sampled latent for ${k}`);
        return { latents: z, images: await decodeLatents(pack.run, manifest, z, 1) };
      });
    },
    async train(runs) {
      return mapLimit(runs, s.threads, async (r) => {
        const t0 = performance.now();
        const out = join(s.adapterDir, `${r.id}.safetensors`);
        const reports = await foundryTrain({ pack: folder, dataset: zipOf(r), config: r.config, out, threads: 1 });
        const seconds = ((performance.now() - t0) / 1000).toFixed(0);
        log(`trained ${r.id}: ${reports.length} steps in ${seconds} s, last loss ${lastLoss(reports.at(-1)?.loss)}`);
        const { tensors } = importAdapter(manifest, readFileSync(out), out);
        return { id: r.id, tensors, file: out };
      });
    },
    async evaluate(adapters, grid) {
      const references = grid.subjects.map((id) => ({ id }));
      const cells = grid.cells.map((c) => {
        const subjects = cellSubjects(c);
        const references = cellReferenceOrder(manifest.prompt, c).map((k) => grid.subjects.indexOf(subjects[k]));
        return { ...c, references };
      });
      const sampled = await sample(
        references,
        jobsOf(cells),
        adapters.map((a) => a.file ?? "base"),
        "eval",
      );
      const records: ImageRecord[] = [];
      const refs = referenceImages(pack, grid.subjects);
      for (const subject of leads(grid)) {
        const reference = refs.get(subject)?.image as RgbaImage;
        for (const [k, cell] of grid.cells.entries()) {
          if (cell.subject !== subject) continue;
          const secondReference = cell.second === undefined ? undefined : refs.get(cell.second)?.image;
          for (const [m, a] of adapters.entries()) {
            const image = sampled.images[m][k];
            const o = { cell, reference, secondReference, evaluator: grid.evaluator, manifest };
            records.push((await scoreImage(o, a.id, image)).record);
          }
        }
        log(`scored ${subject} (${records.length / adapters.length}/${grid.cells.length} cells)`);
      }
      return records;
    },
  };
}
