/**
 * `paper`: the EmojiBench reproduction of PatchDPO's table (DESIGN.md §2, §7), headless on the CPU:
 * the pack's base adapter → a preference dataset from the training subjects → image-level
 * Diffusion-DPO and PatchDPO adapters with equal budgets (same steps, lr, seed, data) → every
 * adapter evaluated on held-out subjects with the scene kit's eval prompts and fixed seeds, the same
 * initial noise per cell (core/metrics/grid.ts) → the table (mean [95% t-interval over seeds]) and
 * the ablations: PatchDPO without the reference-image term, and PatchDPO trained on quality maps of
 * the random-weight patch encoder instead of the trained one. Besides the pack encoder's patch
 * quality, every image is scored by the pack's independent evaluator (`patch_quality_independent`,
 * `global_sim_independent`) and, as an ablation, the random-weight encoder (`patch_quality_random`).
 *
 *   npm run bench -- paper [--pack tiny] [--full] [--subjects N] [--prompts N] [--seeds N]
 *                          [--steps N] [--lr X] [--out report.json]
 *
 * The default is a reduced budget sized for 2 shared CPU cores; `--full` runs every held-out subject
 * and eval prompt with 4 seeds and 200 training steps. The output says which budget ran.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import * as ort from "onnxruntime-web";
import { DEFAULT_HEADLESS, type HeadlessConfig, openPack, type Pack, train } from "../../scripts/train/headless";
import { decodePng } from "../../scripts/train/png";
import { buildDataset } from "../../src/core/dataset/build";
import type { PreferenceDataset } from "../../src/core/dataset/types";
import {
  encodeReference,
  imageToTensor,
  type PromptChoice,
  type RunRole,
  tensorToImage,
} from "../../src/core/generate";
import type { ImageRecord } from "../../src/core/metrics/aggregate";
import { encodeImage, type ImageEncoder } from "../../src/core/metrics/encoders";
import { type CompareSampler, evaluateCell, gridCells } from "../../src/core/metrics/grid";
import {
  evaluatorSources,
  evaluatorSuite,
  ImageEvaluator,
  type MetricSuite,
  missingEvaluatorNote,
} from "../../src/core/metrics/image";
import { buildReport, markdownTable, metricsOf, type ReportMethod } from "../../src/core/metrics/report";
import type { EvaluatorName, Manifest } from "../../src/core/pack/manifest";
import { patchQualityCpu } from "../../src/core/quality/cpu";
import { evaluatorEncoderSpec, packEncoderSpec } from "../../src/core/quality/encoder";
import { patchQualityMaps } from "../../src/core/quality/maps";
import { loadSceneAssets, SceneRenderer } from "../../src/core/scene/render";
import type { TrainConfig } from "../../src/core/training/loop";
import type { Scenario } from "../harness";

export interface PaperBudget {
  name: "reduced" | "full" | "custom";
  subjects: number;
  promptsPerSubject: number;
  seeds: number[];
  trainSteps: number;
  lr: number;
  /** Dataset: training subjects, prompts and seeds. */
  trainSubjects: number;
  trainPrompts: HeadlessConfig["prompts"];
  trainSeeds: number[];
  sampler: CompareSampler;
}

// Varied backgrounds and layouts: a dataset of one background teaches the image path that
// background, and every adapter then loses the prompt's background on held-out scenes.
const TRAIN_PROMPTS: PromptChoice[] = [
  { background: "green", position: "left" },
  { background: "blue", position: "top-right", size: "large" },
  { background: "stripes", position: "center" },
  { background: "orange", position: "bottom", size: "small" },
];

export const BUDGETS: Record<"reduced" | "full", PaperBudget> = {
  // On the 2 build cores: about 3 minutes with the machine otherwise quiet, 11 beside a foundry
  // run and browser tests.
  reduced: {
    name: "reduced",
    subjects: 16,
    promptsPerSubject: 2,
    seeds: [101, 102],
    trainSteps: 24,
    lr: 1e-4,
    trainSubjects: 16,
    trainPrompts: TRAIN_PROMPTS,
    trainSeeds: [1],
    sampler: { steps: 10, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
  },
  full: {
    name: "full",
    subjects: Number.POSITIVE_INFINITY,
    promptsPerSubject: Number.POSITIVE_INFINITY,
    seeds: [101, 102, 103, 104],
    trainSteps: 200,
    lr: 1e-4,
    trainSubjects: Number.POSITIVE_INFINITY,
    trainPrompts: TRAIN_PROMPTS,
    trainSeeds: [1],
    sampler: { steps: 25, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
  },
};

export interface PaperOptions {
  pack: string;
  budget: PaperBudget;
  out: string;
}

/** `--pack`, `--full` and per-field overrides from the command line (after the scenario names). */
export function paperOptions(argv: string[]): PaperOptions {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string) => {
    const v = flag(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} expects a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  const pack = flag("pack") ?? "emoji64";
  let budget: PaperBudget = argv.includes("--full") ? BUDGETS.full : BUDGETS.reduced;
  const overrides: Partial<PaperBudget> = {};
  if (num("subjects")) overrides.subjects = num("subjects");
  if (num("prompts")) overrides.promptsPerSubject = num("prompts");
  if (num("seeds")) overrides.seeds = Array.from({ length: num("seeds") as number }, (_, i) => 101 + i);
  if (num("steps")) overrides.trainSteps = num("steps");
  if (num("lr")) overrides.lr = num("lr");
  if (Object.keys(overrides).length) budget = { ...budget, ...overrides, name: "custom" };
  return { pack, budget, out: flag("out") ?? `bench/out/paper-${pack}.json` };
}

const dir = (pack: string) => `public/models/${pack}`;

function ortSession(path: string): Promise<ort.InferenceSession> {
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  return ort.InferenceSession.create(readFileSync(path), { executionProviders: ["wasm"] });
}

/** One of the pack's evaluators as a metric encoder on its own session; throws when the pack lacks it. */
async function evaluatorEncoder(manifest: Manifest, name: EvaluatorName): Promise<ImageEncoder> {
  const spec = evaluatorEncoderSpec(manifest, name);
  const session = await ortSession(`${dir(manifest.id)}/${manifest.evaluators?.[name]?.file}`);
  return {
    spec,
    background: manifest.image.background,
    run: async (input) => {
      const out = await session.run({ [spec.input]: new ort.Tensor(input.dtype, input.data, input.dims) });
      return Object.fromEntries(
        Object.entries(out).map(([k, t]) => [
          k,
          { dtype: "float32" as const, dims: [...t.dims], data: t.data as Float32Array },
        ]),
      );
    },
  };
}

/**
 * The same dataset (same generated images) with its quality maps from another patch encoder: the
 * random-encoder ablation trains on the random encoder's weights, not on different images.
 */
async function remapDataset(pack: Pack, ds: PreferenceDataset, images: Float32Array[], enc: ImageEncoder) {
  const { manifest } = pack;
  const { size, range } = manifest.image;
  const refs = await Promise.all(
    (
      await references(
        pack,
        ds.references.map((r) => r.id),
      )
    ).map((t, i) => encodeImage(enc, tensorToImage(t, 0, size, range), ds.references[i].id)),
  );
  const samples = [];
  for (const [i, sample] of ds.samples.entries()) {
    const gen = await encodeImage(enc, tensorToImage(images[i], 0, size, range), `sample ${i}`);
    const ref = refs[sample.ref];
    const shape = {
      batch: 1,
      genPatches: gen.patches.length / enc.spec.dim,
      refPatches: ref.patches.length / enc.spec.dim,
      dim: enc.spec.dim,
    };
    const maps = patchQualityMaps(patchQualityCpu(gen.patches, ref.patches, shape), 0, ds.grid, ds.grid);
    samples.push({ ...sample, mGen: maps.gen, mRef: maps.ref });
  }
  return { ...ds, samples };
}

/** Gallery subjects as `[3, S, S]` model inputs. */
async function references(pack: Pack, ids: string[]): Promise<Float32Array[]> {
  const { manifest } = pack;
  const all = [...(manifest.gallery?.train ?? []), ...(manifest.gallery?.heldout ?? [])];
  return ids.map((id) => {
    const e = all.find((x) => x.id === id);
    if (!e) throw new Error(`pack ${manifest.id} has no gallery subject ${id}`);
    return imageToTensor(decodePng(readFileSync(`${dir(manifest.id)}/${e.file}`), e.file), manifest.image, e.file);
  });
}

/** The pack's patch encoder (the training signal) as a metric encoder. */
function packPatchEncoder(manifest: Manifest, run: RunRole): ImageEncoder {
  const spec = packEncoderSpec(manifest);
  return {
    spec,
    background: manifest.image.background,
    run: (input) => run("patch_encoder", { [spec.input]: input }),
  };
}

async function sceneRenderer(manifest: Manifest): Promise<SceneRenderer | undefined> {
  const kit = manifest.scenes;
  if (!kit) return undefined;
  const assets = await loadSceneAssets(kit, async (f) => decodePng(readFileSync(`${dir(manifest.id)}/${f}`), f));
  return new SceneRenderer(kit, assets);
}

const log = (msg: string) => console.error(`[paper] ${msg}`);

export async function runPaper(o: PaperOptions) {
  const started = performance.now();
  const { budget: b } = o;
  const pack = openPack(o.pack);
  const { manifest } = pack;
  const random = await evaluatorEncoder(manifest, "patch_encoder_random");
  const independent = manifest.evaluators?.independent ? await evaluatorEncoder(manifest, "independent") : undefined;
  const notes = independent ? [] : [missingEvaluatorNote("independent")];
  for (const note of notes) log(note);
  const scene = await sceneRenderer(manifest);
  const train_subjects = (manifest.gallery?.train ?? []).slice(0, b.trainSubjects).map((e) => e.id);
  const base: HeadlessConfig = {
    ...DEFAULT_HEADLESS,
    pack: o.pack,
    subjects: train_subjects,
    prompts: b.trainPrompts,
    seeds: b.trainSeeds,
    sampler: b.sampler,
    train: { steps: b.trainSteps, lr: b.lr, monitorEvery: 0, checkpointEvery: b.trainSteps, seed: 0 },
  };
  log(
    `budget ${b.name}: dataset ${train_subjects.length} subjects × ${b.trainPrompts.length} prompts × ${b.trainSeeds.length} seeds`,
  );
  const tData = performance.now();
  const images: Float32Array[] = [];
  const ds = await buildDataset({
    run: pack.run,
    manifest,
    adapter: pack.base,
    references: (await references(pack, train_subjects)).map((tensor, i) => ({ id: train_subjects[i], tensor })),
    prompts: b.trainPrompts,
    seeds: b.trainSeeds,
    sampler: b.sampler,
    onSample: (_d, _t, _s, image) => images.push(image),
  });
  const dsRandom = await remapDataset(pack, ds, images, random);
  const datasetMs = performance.now() - tData;

  const trainOne = async (data: typeof ds, loss: Partial<TrainConfig["loss"]>) => {
    const cfg = {
      ...base,
      train: { ...base.train, loss: { ...(base.train.loss ?? {}), ...loss } as TrainConfig["loss"] },
    };
    const t0 = performance.now();
    const r = await train(pack, data, cfg);
    if (r.stopped) throw new Error(`${loss.method}: ${r.stopped}`);
    log(
      `trained ${JSON.stringify(loss)}: ${b.trainSteps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s, last loss ${r.reports.at(-1)?.loss.toExponential(3)}`,
    );
    return r.adapter;
  };
  const methods: (ReportMethod & { tensors: Pack["base"] })[] = [
    { id: "base", label: "base", source: { kind: "base" }, tensors: pack.base },
    {
      id: "dpo",
      label: "DPO (image-level)",
      source: { method: "dpo", pairing: "reference" },
      tensors: await trainOne(ds, { method: "dpo" }),
    },
    {
      id: "patchdpo",
      label: "PatchDPO",
      source: { method: "patchdpo" },
      tensors: await trainOne(ds, { method: "patchdpo" }),
    },
    {
      id: "patchdpo_no_ref",
      label: "PatchDPO − reference term",
      source: { method: "patchdpo", useReference: false },
      tensors: await trainOne(ds, { method: "patchdpo", useReference: false }),
    },
    {
      id: "patchdpo_random_encoder",
      label: "PatchDPO, random-encoder weights",
      source: { method: "patchdpo", qualityMaps: "evaluators.patch_encoder_random" },
      tensors: await trainOne(dsRandom, { method: "patchdpo" }),
    },
  ];
  const trainMs = performance.now() - tData - datasetMs;

  const fromEvaluators = evaluatorSuite({ independent, patch_encoder_random: random });
  const suite: MetricSuite = {
    patch: { patch_quality: packPatchEncoder(manifest, pack.run), ...fromEvaluators.patch },
    global: { ...fromEvaluators.global },
    scene,
  };
  const evaluator = new ImageEvaluator(suite);
  const heldout = manifest.gallery?.heldout ?? [];
  const subjects = heldout.slice(0, b.subjects).map((e) => e.id);
  const evalPrompts = (s: string) =>
    (scene?.kit.eval_prompts ?? [])
      .filter((p) => p.subject === s)
      .slice(0, b.promptsPerSubject)
      .map((p) => p.prompt);
  const cells = gridCells(subjects, (s) => (scene ? evalPrompts(s) : b.trainPrompts), b.seeds);
  const records: ImageRecord[] = [];
  const tEval = performance.now();
  for (const subject of subjects) {
    const [tensor] = await references(pack, [subject]);
    const reference = tensorToImage(tensor, 0, manifest.image.size, manifest.image.range);
    const imageTokens = await encodeReference(pack.run, manifest, tensor);
    for (const cell of cells.filter((c) => c.subject === subject)) {
      const r = await evaluateCell({
        run: pack.run,
        manifest,
        imageTokens,
        reference,
        adapters: methods.map((m) => ({ id: m.id, tensors: m.tensors })),
        cell,
        sampler: b.sampler,
        evaluator,
      });
      records.push(...r.records);
    }
    log(`evaluated ${subject} (${records.length / methods.length}/${cells.length} cells)`);
  }
  const evalMs = performance.now() - tEval;
  const report = buildReport({
    createdAt: new Date().toISOString(),
    packId: o.pack,
    settings: {
      budget: b,
      heldout_subjects: subjects,
      prompts: "scenes.eval_prompts, first promptsPerSubject per subject",
      training: { ...base.train, dataset: { subjects: train_subjects, prompts: b.trainPrompts, seeds: b.trainSeeds } },
      evaluators: { patch_quality: "roles.patch_encoder", ...evaluatorSources(fromEvaluators), scene: !!scene },
      ...(notes.length ? { notes } : {}),
      engine: "cpu",
      command: `npm run bench -- paper --pack ${o.pack}${b.name === "full" ? " --full" : ""}`,
    },
    methods: methods.map(({ tensors: _t, ...m }) => m),
    metrics: metricsOf(records, evaluator.keys(true)),
    baseline: "base",
    records,
  });
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify(report, null, 1));
  console.error(
    `\nPaper table, pack ${o.pack}, budget ${b.name} (${subjects.length} held-out subjects × ${cells.length / subjects.length} cells, ${b.trainSteps} training steps per method):\n`,
  );
  console.error(markdownTable(report));
  console.error(`\nreport: ${o.out}`);
  return {
    report,
    timing: { dataset_ms: datasetMs, train_ms: trainMs, eval_ms: evalMs, total_ms: performance.now() - started },
  };
}

export const paper: Scenario = {
  description: "EmojiBench reproduction: base / DPO / PatchDPO (+ ablations) on held-out subjects with intervals",
  async run() {
    const o = paperOptions(process.argv.slice(2));
    const { report, timing } = await runPaper(o);
    const table = Object.fromEntries(
      Object.entries(report.table).map(([m, row]) => [
        m,
        Object.fromEntries(Object.entries(row).map(([k, s]) => [k, { mean: s.mean, ci95: s.ci95 }])),
      ]),
    );
    return {
      metrics: {
        table,
        budget: o.budget.name === "full" ? "full" : "reduced",
        budget_detail: o.budget,
        pack: o.pack,
        images: report.records.length,
        report: o.out,
        ...timing,
      },
      env: { backend: "cpu", adapter: "none", cores: availableParallelism() },
    };
  },
};
