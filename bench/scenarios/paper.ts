/**
 * `paper`: the EmojiBench reproduction of PatchDPO's table (DESIGN.md §2, §7), headless on the CPU:
 * the pack's base adapter → a preference dataset from the training subjects (those of
 * `gallery.train` not marked `validation`) → adapters trained with equal budgets (same steps, lr,
 * seed, data) → every adapter evaluated on held-out subjects with the scene kit's eval prompts and
 * fixed seeds, the same initial noise per cell (core/metrics/grid.ts) → the table (mean [95%
 * t-interval over seeds]) and paired differences against the base and DPO (95% t-interval over
 * subjects). Methods: image-level Diffusion-DPO (reference = winner; with the standard budget also
 * the better of two generated images = winner), PatchDPO (the official loss; with the standard
 * budget also the bounded form), and the ablations: without the reference-image term, trained on
 * quality maps of the random-weight patch encoder (same images), and, with the standard budget,
 * references on natural scenes (each training reference replaced by its subject over a scene-kit
 * background, maps recomputed against it, same generated images). Besides the pack encoder's patch
 * quality, every image is scored by the pack's independent evaluator (`patch_quality_independent`,
 * `global_sim_independent`) and, as an ablation, the random-weight encoder (`patch_quality_random`).
 *
 *   npm run bench -- paper [--pack tiny] [--standard | --full] [--subjects N] [--prompts N]
 *                          [--seeds N] [--steps N] [--lr X] [--train-subjects N] [--threads N]
 *                          [--out report.json]
 *
 * The default is a reduced budget sized for 2 shared CPU cores; `--full` runs every held-out subject
 * and eval prompt with 4 seeds and 200 training steps; both generate and train with the studio's
 * engines. `--standard` (≥ 256 training subjects × 4 prompts, 1,000 steps per method, 64 held-out
 * subjects × 2 prompts × 4 seeds) generates and trains with the foundry's PyTorch sampler and
 * trainer (paper-engines.ts), on `--threads` cores (default: all). The output says which budget ran.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-web";
import { DEFAULT_HEADLESS, type HeadlessConfig, openPack, type Pack } from "../../scripts/train/headless";
import { decodePng } from "../../scripts/train/png";
import { datasetReference } from "../../src/core/dataset/build";
import type { PreferenceDataset } from "../../src/core/dataset/types";
import { imageToTensor, type PromptChoice, type RgbaImage, type RunRole } from "../../src/core/generate";
import { encodeImage, type ImageEncoder } from "../../src/core/metrics/encoders";
import { type CompareSampler, gridCells } from "../../src/core/metrics/grid";
import {
  evaluatorSources,
  evaluatorSuite,
  ImageEvaluator,
  type MetricSuite,
  missingEvaluatorNote,
} from "../../src/core/metrics/image";
import {
  buildReport,
  markdownTable,
  metricsOf,
  pairedMarkdown,
  type ReportMethod,
} from "../../src/core/metrics/report";
import type { EvaluatorName, GalleryEntry, Manifest } from "../../src/core/pack/manifest";
import { patchQualityCpu } from "../../src/core/quality/cpu";
import { evaluatorEncoderSpec, packEncoderSpec } from "../../src/core/quality/encoder";
import { patchQualityMaps } from "../../src/core/quality/maps";
import { loadSceneAssets, SceneRenderer } from "../../src/core/scene/render";
import type { TrainConfig } from "../../src/core/training/loop";
import type { LossOptions } from "../../src/core/training/losses";
import type { Scenario } from "../harness";
import {
  type EngineSetup,
  galleryReferences,
  type MethodAdapter,
  naturalReferences,
  type PaperEngine,
  packDir,
  studioEngine,
  type TorchSetup,
  type TrainRun,
  tensorImage,
  torchEngine,
} from "./paper-engines";

/** How a method's training data differs from the pack dataset's. */
type DataVariant = "pack" | "random_encoder" | "natural_references";

interface PaperMethod extends ReportMethod {
  /** Absent for the base, which is not trained. */
  loss?: Partial<LossOptions>;
  data: DataVariant;
}

const DATA_SOURCE: Record<DataVariant, Record<string, string>> = {
  pack: {},
  random_encoder: { qualityMaps: "evaluators.patch_encoder_random" },
  natural_references: { references: "the subject over a scene-kit background instead of white" },
};

const method = (id: string, label: string, loss: Partial<LossOptions>, data: DataVariant = "pack"): PaperMethod => ({
  id,
  label,
  source: { ...loss, ...DATA_SOURCE[data] },
  loss,
  data,
});

/** Every method the benchmark knows, in report order; a budget picks some. */
export const METHODS: PaperMethod[] = [
  { id: "base", label: "base", source: { kind: "base" }, data: "pack" },
  method("dpo", "DPO (image-level)", { method: "dpo", pairing: "reference" }),
  method("dpo_quality", "DPO (image-level, by quality)", { method: "dpo", pairing: "quality" }),
  method("patchdpo", "PatchDPO", { method: "patchdpo" }),
  method("patchdpo_bounded", "PatchDPO bounded", { method: "patchdpo-bounded" }),
  method("patchdpo_no_ref", "PatchDPO − reference term", { method: "patchdpo", useReference: false }),
  method("patchdpo_random_encoder", "PatchDPO, random-encoder weights", { method: "patchdpo" }, "random_encoder"),
  method("patchdpo_natural_ref", "PatchDPO, natural-scene references", { method: "patchdpo" }, "natural_references"),
];

export type BudgetName = "reduced" | "standard" | "full";

export interface PaperBudget {
  name: BudgetName | "custom";
  /** Where images are generated and adapters trained (paper-engines.ts). */
  engine: "studio" | "torch";
  /** Held-out evaluation: subjects, eval prompts per subject, seeds. */
  subjects: number;
  promptsPerSubject: number;
  seeds: number[];
  /** Optimizer steps per trained method. */
  trainSteps: number;
  lr: number;
  /** Dataset: training subjects, prompts and seeds. */
  trainSubjects: number;
  trainPrompts: PromptChoice[];
  trainSeeds: number[];
  sampler: CompareSampler;
  /** Ids of METHODS, in report order. */
  methods: string[];
}

// Varied backgrounds and layouts: a dataset of one background teaches the image path that
// background, and every adapter then loses the prompt's background on held-out scenes.
const TRAIN_PROMPTS: PromptChoice[] = [
  { background: "green", position: "left" },
  { background: "blue", position: "top-right", size: "large" },
  { background: "stripes", position: "center" },
  { background: "orange", position: "bottom", size: "small" },
];

/** The methods the studio-engine budgets have always run (the others need the foundry). */
const STUDIO_METHODS = ["base", "dpo", "patchdpo", "patchdpo_no_ref", "patchdpo_random_encoder"];

export const BUDGETS: Record<BudgetName, PaperBudget> = {
  // On the 2 build cores: about 3 minutes with the machine otherwise quiet, 11 beside a foundry
  // run and browser tests.
  reduced: {
    name: "reduced",
    engine: "studio",
    subjects: 16,
    promptsPerSubject: 2,
    seeds: [101, 102],
    trainSteps: 24,
    lr: 1e-4,
    trainSubjects: 16,
    trainPrompts: TRAIN_PROMPTS,
    trainSeeds: [1],
    sampler: { steps: 10, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
    methods: STUDIO_METHODS,
  },
  // Sized for ≤ 120 minutes on the 2 build cores, nothing else running (docs/paper-emoji64.md).
  standard: {
    name: "standard",
    engine: "torch",
    subjects: 64,
    promptsPerSubject: 2,
    seeds: [101, 102, 103, 104],
    trainSteps: 1000,
    lr: 1e-4,
    trainSubjects: 256,
    trainPrompts: TRAIN_PROMPTS,
    trainSeeds: [1],
    sampler: { steps: 25, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
    methods: METHODS.map((m) => m.id),
  },
  full: {
    name: "full",
    engine: "studio",
    subjects: Number.POSITIVE_INFINITY,
    promptsPerSubject: Number.POSITIVE_INFINITY,
    seeds: [101, 102, 103, 104],
    trainSteps: 200,
    lr: 1e-4,
    trainSubjects: Number.POSITIVE_INFINITY,
    trainPrompts: TRAIN_PROMPTS,
    trainSeeds: [1],
    sampler: { steps: 25, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
    methods: STUDIO_METHODS,
  },
};

/** The budget a run reports: a custom budget counts as the one its engine belongs to. */
export function budgetLabel(b: PaperBudget): BudgetName {
  if (b.name !== "custom") return b.name;
  return b.engine === "torch" ? "standard" : "reduced";
}

export interface PaperOptions {
  pack: string;
  budget: PaperBudget;
  out: string;
  /** Cores the torch engine uses (default: all). */
  threads?: number;
}

/** `--pack`, `--standard`/`--full` and per-field overrides from the command line (after the scenario names). */
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
  const named = (["standard", "full"] as const).filter((n) => argv.includes(`--${n}`));
  if (named.length > 1) throw new Error("--standard and --full are two budgets: choose one");
  let budget: PaperBudget = BUDGETS[named[0] ?? "reduced"];
  const overrides: Partial<PaperBudget> = {};
  if (num("subjects")) overrides.subjects = num("subjects");
  if (num("prompts")) overrides.promptsPerSubject = num("prompts");
  if (num("seeds")) overrides.seeds = Array.from({ length: num("seeds") as number }, (_, i) => 101 + i);
  if (num("steps")) overrides.trainSteps = num("steps");
  if (num("lr")) overrides.lr = num("lr");
  if (num("train-subjects")) overrides.trainSubjects = num("train-subjects");
  if (Object.keys(overrides).length) budget = { ...budget, ...overrides, name: "custom" };
  return { pack, budget, out: flag("out") ?? `bench/out/paper-${pack}.json`, threads: num("threads") };
}

function ortSession(path: string): Promise<ort.InferenceSession> {
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  return ort.InferenceSession.create(readFileSync(path), { executionProviders: ["wasm"] });
}

/** One of the pack's evaluators as a metric encoder on its own session; throws when the pack lacks it. */
async function evaluatorEncoder(manifest: Manifest, name: EvaluatorName): Promise<ImageEncoder> {
  const spec = evaluatorEncoderSpec(manifest, name);
  const session = await ortSession(`${packDir(manifest.id)}/${manifest.evaluators?.[name]?.file}`);
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
 * The same generated images with their quality maps recomputed by `enc` against `refs` (one image
 * per dataset reference): the ablations change the maps, not the images.
 */
async function remapDataset(
  pack: Pack,
  ds: PreferenceDataset,
  images: Float32Array[],
  refs: RgbaImage[],
  enc: ImageEncoder,
): Promise<PreferenceDataset> {
  const encoded = [];
  for (const [i, r] of refs.entries()) encoded.push(await encodeImage(enc, r, ds.references[i].id));
  const samples = [];
  for (const [i, sample] of ds.samples.entries()) {
    const gen = await encodeImage(enc, tensorImage(pack, images[i]), `sample ${i}`);
    const ref = encoded[sample.ref];
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
  const assets = await loadSceneAssets(kit, async (f) => decodePng(readFileSync(`${packDir(manifest.id)}/${f}`), f));
  return new SceneRenderer(kit, assets);
}

const log = (msg: string) => console.error(`[paper] ${msg}`);

/** CPU seconds of this process and of its children that have exited (Linux: /proc/self/stat cutime, cstime). */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux
  return (user + system) / 1e6 + (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

interface StageTime {
  wall_s: number;
  cpu_s: number;
}

/** Runs named stages, logging and keeping each one's wall-clock and CPU time. */
function stageTimer() {
  const stages: Record<string, StageTime> = {};
  const time = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const wall = performance.now();
    const cpu = cpuSeconds();
    const result = await fn();
    stages[name] = { wall_s: (performance.now() - wall) / 1000, cpu_s: cpuSeconds() - cpu };
    log(`stage ${name}: ${stages[name].wall_s.toFixed(1)} s wall, ${stages[name].cpu_s.toFixed(1)} s CPU`);
    return result;
  };
  return { stages, time };
}

/** Training subjects: `gallery.train` minus the validation split, which is kept for tuning recipes. */
function trainingSubjects(manifest: Manifest, limit: number): string[] {
  const train: (GalleryEntry & { validation?: boolean })[] = manifest.gallery?.train ?? [];
  return train
    .filter((e) => !e.validation)
    .slice(0, limit)
    .map((e) => e.id);
}

/** The scene-kit background each natural reference is rendered over: the kit's backgrounds in turn. */
function naturalBackgrounds(manifest: Manifest, n: number): string[] {
  const names = Object.keys(manifest.scenes?.backgrounds ?? {});
  if (!names.length) throw new Error(`pack ${manifest.id} has no scene kit: no natural-scene references`);
  return Array.from({ length: n }, (_, i) => names[i % names.length]);
}

interface DatasetVariant {
  ds: PreferenceDataset;
  /** Its reference images, one per reference. */
  refs: RgbaImage[];
}

/**
 * The pack dataset and each variant a chosen method trains on: the same generated images with maps
 * of the random-weight encoder, or with every reference replaced by its subject over a scene-kit
 * background (latent, tokens and maps recomputed against it).
 */
async function datasetVariants(
  c: { torch: TorchSetup; random: ImageEncoder },
  need: Set<DataVariant>,
  d: { ds: PreferenceDataset; images: Float32Array[]; refImages: RgbaImage[] },
): Promise<Record<DataVariant, DatasetVariant>> {
  const { pack } = c.torch;
  const { manifest } = pack;
  const variants: Partial<Record<DataVariant, DatasetVariant>> = { pack: { ds: d.ds, refs: d.refImages } };
  if (need.has("random_encoder")) {
    variants.random_encoder = {
      ds: await remapDataset(pack, d.ds, d.images, d.refImages, c.random),
      refs: d.refImages,
    };
  }
  if (need.has("natural_references")) {
    const ids = d.ds.references.map((r) => r.id);
    const natural = await naturalReferences(c.torch, ids, naturalBackgrounds(manifest, ids.length));
    const references = [];
    for (const [i, img] of natural.entries()) {
      references.push(
        await datasetReference(pack.run, manifest, { id: ids[i], tensor: imageToTensor(img, manifest.image) }),
      );
    }
    const ds = await remapDataset(
      pack,
      { ...d.ds, references },
      d.images,
      natural,
      packPatchEncoder(manifest, pack.run),
    );
    variants.natural_references = { ds, refs: natural };
  }
  return variants as Record<DataVariant, DatasetVariant>;
}

export async function runPaper(o: PaperOptions) {
  const started = performance.now();
  const { budget: b } = o;
  const pack = openPack(o.pack);
  const { manifest } = pack;
  const methods = b.methods.map((id) => {
    const m = METHODS.find((x) => x.id === id);
    if (!m) throw new Error(`unknown paper method ${id}`);
    return m;
  });
  const random = await evaluatorEncoder(manifest, "patch_encoder_random");
  const independent = manifest.evaluators?.independent ? await evaluatorEncoder(manifest, "independent") : undefined;
  const notes = independent ? [] : [missingEvaluatorNote("independent")];
  const scene = await sceneRenderer(manifest);
  const train_subjects = trainingSubjects(manifest, b.trainSubjects);
  if (Number.isFinite(b.trainSubjects) && train_subjects.length < b.trainSubjects)
    notes.push(`the pack has ${train_subjects.length} training subjects; the budget asks for ${b.trainSubjects}`);
  for (const note of notes) log(note);
  const base: HeadlessConfig = {
    ...DEFAULT_HEADLESS,
    pack: o.pack,
    subjects: train_subjects,
    prompts: b.trainPrompts,
    seeds: b.trainSeeds,
    sampler: b.sampler,
    train: { steps: b.trainSteps, lr: b.lr, monitorEvery: 0, checkpointEvery: b.trainSteps, seed: 0 },
  };
  const threads = o.threads ?? availableParallelism();
  const work = mkdtempSync(join(tmpdir(), "paper-"));
  const setup: EngineSetup = { pack, prompts: b.trainPrompts, seeds: b.trainSeeds, sampler: b.sampler, log };
  const torch: TorchSetup = { ...setup, threads, work, adapterDir: `${o.out.replace(/\.json$/, "")}.adapters` };
  const engine: PaperEngine = b.engine === "torch" ? torchEngine(torch) : studioEngine(setup);
  const { stages, time } = stageTimer();
  log(
    `budget ${b.name} (${b.engine} engine): dataset ${train_subjects.length} subjects × ${b.trainPrompts.length} prompts × ${b.trainSeeds.length} seeds`,
  );
  try {
    const refs = galleryReferences(pack, train_subjects);
    const { ds, images } = await time("dataset", () => engine.dataset(refs));
    const refImages = refs.map((r) => tensorImage(pack, r.tensor));
    const variants = await time("dataset_variants", () =>
      datasetVariants({ torch, random }, new Set(methods.map((m) => m.data)), { ds, images, refImages }),
    );
    const sampleImages = images.map((t) => tensorImage(pack, t));
    const runs: TrainRun[] = methods
      .filter((m) => m.loss)
      .map((m) => ({
        id: m.id,
        data: variants[m.data].ds,
        images: { references: variants[m.data].refs, samples: sampleImages },
        // Both trainers merge a partial loss over their defaults.
        config: { ...base, train: { ...base.train, loss: m.loss as TrainConfig["loss"] } },
      }));
    const trained = await time("train", () => engine.train(runs));
    const adapters: MethodAdapter[] = methods.map(
      (m) => trained.find((t) => t.id === m.id) ?? { id: m.id, tensors: pack.base },
    );

    const fromEvaluators = evaluatorSuite({ independent, patch_encoder_random: random });
    const suite: MetricSuite = {
      patch: { patch_quality: packPatchEncoder(manifest, pack.run), ...fromEvaluators.patch },
      global: { ...fromEvaluators.global },
      scene,
    };
    const evaluator = new ImageEvaluator(suite);
    const subjects = (manifest.gallery?.heldout ?? []).slice(0, b.subjects).map((e) => e.id);
    const evalPrompts = (s: string) =>
      (scene?.kit.eval_prompts ?? [])
        .filter((p) => p.subject === s)
        .slice(0, b.promptsPerSubject)
        .map((p) => p.prompt);
    const cells = gridCells(subjects, (s) => (scene ? evalPrompts(s) : b.trainPrompts), b.seeds);
    const records = await time("eval", () => engine.evaluate(adapters, { subjects, cells, evaluator }));
    const report = buildReport({
      createdAt: new Date().toISOString(),
      packId: o.pack,
      settings: {
        budget: b,
        heldout_subjects: subjects,
        prompts: "scenes.eval_prompts, first promptsPerSubject per subject",
        training: {
          ...base.train,
          dataset: { subjects: train_subjects, prompts: b.trainPrompts, seeds: b.trainSeeds },
        },
        evaluators: { patch_quality: "roles.patch_encoder", ...evaluatorSources(fromEvaluators), scene: !!scene },
        ...(notes.length ? { notes } : {}),
        engine: b.engine === "studio" ? "cpu" : "torch",
        ...(b.engine === "torch"
          ? {
              engines: { sampling: "python3 -m foundry sample", training: "python3 -m foundry train-adapter", threads },
            }
          : {}),
        command: `npm run bench -- paper --pack ${o.pack}${b.name === "custom" || b.name === "reduced" ? "" : ` --${b.name}`}`,
      },
      methods: methods.map(({ id, label, source }) => ({ id, label, source })),
      metrics: metricsOf(records, evaluator.keys(true)),
      baseline: "base",
      pairedAgainst: ["base", "dpo"],
      records,
    });
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, JSON.stringify(report, null, 1));
    const cellsPerSubject = cells.length / subjects.length;
    console.error(
      `\nPaper table, pack ${o.pack}, budget ${b.name} (${subjects.length} held-out subjects × ${cellsPerSubject} cells, ${b.trainSteps} training steps per method):\n`,
    );
    console.error(markdownTable(report));
    console.error("\nPaired differences over subjects (Δ [95% t-interval]):\n");
    console.error(pairedMarkdown(report));
    console.error(`\nreport: ${o.out}`);
    const ms = (s: string) => (stages[s]?.wall_s ?? 0) * 1000;
    return {
      report,
      timing: {
        dataset_ms: ms("dataset") + ms("dataset_variants"),
        train_ms: ms("train"),
        eval_ms: ms("eval"),
        total_ms: performance.now() - started,
        stages,
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** method → metric → {mean, ci95} of a summary table or of a paired one's rows. */
const meanAndInterval = (table: Record<string, Record<string, { mean: number; ci95: [number, number] | null }>>) =>
  Object.fromEntries(
    Object.entries(table).map(([m, row]) => [
      m,
      Object.fromEntries(Object.entries(row).map(([k, s]) => [k, { mean: s.mean, ci95: s.ci95 }])),
    ]),
  );

export const paper: Scenario = {
  description: "EmojiBench reproduction: base / DPO / PatchDPO (+ ablations) on held-out subjects with intervals",
  async run() {
    const o = paperOptions(process.argv.slice(2));
    const { report, timing } = await runPaper(o);
    const paired = Object.fromEntries(
      Object.entries(report.paired ?? {}).map(([m, against]) => [m, meanAndInterval(against)]),
    );
    return {
      metrics: {
        table: meanAndInterval(report.table),
        paired,
        budget: budgetLabel(o.budget),
        budget_detail: o.budget,
        pack: o.pack,
        images: report.records.length,
        report: o.out,
        ...timing,
      },
      env: {
        backend: o.budget.engine === "studio" ? "cpu" : "torch-cpu",
        adapter: "none",
        cores: availableParallelism(),
      },
    };
  },
};
