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
 *   npm run bench -- paper [--pack tiny|DIR] [--standard | --full] [--validation] [--subjects N]
 *                          [--prompts N] [--seeds N] [--sampler-steps N] [--train-subjects N]
 *                          [--methods ID,ID] [--steps N] [--lr X] [--beta X]
 *                          [--weight-norm clamp|minmax] [--threshold X|none] [--temperature X]
 *                          [--reference-term on|off] [--threads N] [--dataset-cache DIR]
 *                          [--dino DIR] [--clip-i DIR] [--out report.json]
 *
 * The default is a reduced budget sized for 2 shared CPU cores; `--full` runs every held-out subject
 * and eval prompt with 4 seeds and 200 training steps; both generate and train with the studio's
 * engines. `--standard` (≥ 256 training subjects × 4 prompts, 1,000 steps per method, 64 held-out
 * subjects × 2 prompts × 4 seeds) generates and trains with the foundry's PyTorch sampler and
 * trainer (paper-engines.ts), on `--threads` cores (default: all). The output says which budget ran.
 *
 * `--validation` evaluates on the validation subjects (`gallery.train` entries marked `validation`,
 * never trained on) with seeded prompts (`validationPrompts`) instead of the held-out subjects, so
 * that recipes are tuned off the held-out table; `--methods` and the loss flags are the knobs a
 * sweep turns (bench/sweep.ts), recorded in `settings.overrides`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";
import { openHfFolder } from "../../node/hf-encoder";
import { DEFAULT_HEADLESS, type HeadlessConfig, openPack } from "../../scripts/train/headless";
import { datasetReference } from "../../src/core/dataset/build";
import { globalSlotSpec } from "../../src/core/encoders/hf";
import { imageToTensor, type PromptChoice, type RgbaImage } from "../../src/core/generate";
import { type CompareSampler, gridCells, promptKey } from "../../src/core/metrics/grid";
import {
  evaluatorSources,
  evaluatorSuite,
  type GlobalMetric,
  ImageEvaluator,
  type MetricSuite,
  missingEvaluatorNote,
} from "../../src/core/metrics/image";
import { encodeImage, type ImageEncoder, imageEncoder } from "../../src/core/metrics/image-encoder";
import {
  buildReport,
  markdownTable,
  metricsOf,
  pairedMarkdown,
  type ReportMethod,
} from "../../src/core/metrics/report";
import type { Manifest } from "../../src/core/pack/manifest";
import { patchQualityCpu } from "../../src/core/quality/cpu";
import { patchQualityMaps } from "../../src/core/quality/maps";
import { uint32Stream } from "../../src/core/sampling";
import type { SceneRenderer } from "../../src/core/scene/render";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../../src/core/training/loop";
import type { LossOptions } from "../../src/core/training/steps";
import type { WeightOptions } from "../../src/core/training/weights";
import type { Scenario } from "../harness";
import { type BuiltDataset, cachedDataset, type DatasetRecipe, datasetKey } from "./paper-dataset";
import {
  type EngineSetup,
  galleryReferences,
  type MethodAdapter,
  naturalReferences,
  type PaperEngine,
  studioEngine,
  type TorchSetup,
  type TrainRun,
  torchEngine,
} from "./paper-engines";
import { multiOptions, runPaperMulti } from "./paper-multi";
import { log, packEvaluator, patchEncoderOf, sceneRenderer, stageTimer, trainingSubjects } from "./paper-setup";

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
    lr: 3e-6, // chosen by the validation sweep (docs/paper-emoji64.md §4); 1e-4 over-trains every method
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

/** Which subjects the table is measured on: the held-out ones (the final table) or the validation split. */
export type EvalSplit = "heldout" | "validation";

/** A loss setting applied to every trained method of a run. */
export interface LossOverrides {
  beta?: number;
  /** Merged over each method's weights and the defaults (both trainers replace `weights` whole). */
  weights?: Partial<WeightOptions>;
  useReference?: boolean;
}

/** The recipe knobs a sweep turns; the report records them as `settings.overrides`. */
export interface Overrides {
  /** Ids of METHODS to train; the base is always evaluated. */
  methods?: string[];
  lr?: number;
  trainSteps?: number;
  loss?: LossOverrides;
}

export interface PaperOptions {
  pack: string;
  budget: PaperBudget;
  out: string;
  /** Cores the torch engine uses (default: all). */
  threads?: number;
  /** Default: held out. */
  split?: EvalSplit;
  overrides?: Overrides;
  /** A folder of built datasets to reuse (paper-dataset.ts); without one every run builds its own. */
  datasetCache?: string;
  /**
   * Hugging Face / transformers.js model folders (`--dino DIR`, `--clip-i DIR`) scoring the
   * DINO-style and CLIP-I-style global similarities (node/hf-encoder.ts).
   */
  globalEncoders?: Partial<Record<GlobalMetric, string>>;
  /** The command line the report records. */
  command?: string;
}

/** `ids` as METHODS ids in report order, the base first; an unknown id throws. */
export function methodIds(ids: string[]): string[] {
  const known = METHODS.map((m) => m.id);
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length) throw new Error(`unknown paper method ${unknown.join(", ")}; known: ${known.join(", ")}`);
  return known.filter((id) => id === "base" || ids.includes(id));
}

const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** The budget with the overrides' methods, lr and steps; unchanged without any. */
export function withOverrides(b: PaperBudget, o: Overrides = {}): PaperBudget {
  const changed = defined({ methods: o.methods && methodIds(o.methods), lr: o.lr, trainSteps: o.trainSteps });
  return Object.keys(changed).length ? { ...b, ...changed, name: "custom" } : b;
}

/** Every flag `paperOptions` reads (without the dashes), so that a sweep can refuse a misspelt one. */
export const PAPER_FLAGS = [
  ...["pack", "standard", "full", "validation", "out", "threads", "dataset-cache"],
  ...["subjects", "prompts", "seeds", "sampler-steps", "train-subjects"],
  ...["methods", "lr", "steps", "beta", "weight-norm", "threshold", "temperature", "reference-term"],
  ...["dino", "clip-i"],
];

/** Typed reads of `--name value` flags; a malformed value throws naming the flag. */
function flagReader(argv: string[]) {
  const flag = (name: string) => {
    if (!PAPER_FLAGS.includes(name)) throw new Error(`paperOptions reads --${name}, which PAPER_FLAGS lacks`);
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const number = (name: string, ok: (n: number) => boolean, what: string) => {
    const v = flag(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!v.trim() || !Number.isFinite(n) || !ok(n))
      throw new Error(`--${name} expects ${what}, got ${JSON.stringify(v)}`);
    return n;
  };
  const choice = <T extends string>(name: string, values: readonly T[]): T | undefined => {
    const v = flag(name);
    if (v !== undefined && !values.includes(v as T))
      throw new Error(`--${name} expects one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
    return v as T | undefined;
  };
  return {
    flag,
    choice,
    positive: (name: string) => number(name, (n) => n > 0, "a positive number"),
    nonNegative: (name: string) => number(name, (n) => n >= 0, "a number ≥ 0"),
    /** A number, or `none` for null. */
    nullable: (name: string) => (flag(name) === "none" ? null : number(name, () => true, "a number or none")),
    list: (name: string) => flag(name)?.split(",").filter(Boolean),
  };
}

type Flags = ReturnType<typeof flagReader>;

function lossOverrides(f: Flags): LossOverrides | undefined {
  const weights = defined({
    normalize: f.choice("weight-norm", ["clamp", "minmax"] as const),
    threshold: f.nullable("threshold"),
    temperature: f.nonNegative("temperature"),
  });
  const reference = f.choice("reference-term", ["on", "off"] as const);
  const loss = defined({
    beta: f.positive("beta"),
    weights: Object.keys(weights).length ? weights : undefined,
    useReference: reference === undefined ? undefined : reference === "on",
  });
  return Object.keys(loss).length ? loss : undefined;
}

function overridesOf(f: Flags): Overrides | undefined {
  const o = defined({
    methods: f.list("methods"),
    lr: f.positive("lr"),
    trainSteps: f.positive("steps"),
    loss: lossOverrides(f),
  });
  return Object.keys(o).length ? o : undefined;
}

/** `--pack`, `--standard`/`--full`, `--validation` and per-field overrides from the command line (after the scenario names). */
export function paperOptions(argv: string[]): PaperOptions {
  const f = flagReader(argv);
  const pack = f.flag("pack") ?? "emoji64";
  const named = (["standard", "full"] as const).filter((n) => argv.includes(`--${n}`));
  if (named.length > 1) throw new Error("--standard and --full are two budgets: choose one");
  let budget: PaperBudget = BUDGETS[named[0] ?? "reduced"];
  const seeds = f.positive("seeds");
  const samplerSteps = f.positive("sampler-steps");
  const sizes = defined({
    subjects: f.positive("subjects"),
    promptsPerSubject: f.positive("prompts"),
    seeds: seeds ? Array.from({ length: seeds }, (_, i) => 101 + i) : undefined,
    trainSubjects: f.positive("train-subjects"),
    sampler: samplerSteps ? { ...budget.sampler, steps: samplerSteps } : undefined,
  });
  if (Object.keys(sizes).length) budget = { ...budget, ...sizes, name: "custom" };
  const overrides = overridesOf(f);
  const globalEncoders = defined({ dino: f.flag("dino"), clip_i: f.flag("clip-i") });
  const split: EvalSplit = argv.includes("--validation") ? "validation" : "heldout";
  const stem = `bench/out/paper-${basename(pack)}${split === "validation" ? "-validation" : ""}`;
  const first = argv.findIndex((a) => a.startsWith("--"));
  const options = first < 0 ? [] : argv.slice(first);
  return {
    pack,
    budget: withOverrides(budget, overrides),
    out: f.flag("out") ?? `${stem}.json`,
    threads: f.positive("threads"),
    split,
    ...(overrides ? { overrides } : {}),
    ...(f.flag("dataset-cache") ? { datasetCache: f.flag("dataset-cache") } : {}),
    ...(Object.keys(globalEncoders).length ? { globalEncoders } : {}),
    command: ["npm run bench -- paper", ...options].join(" "),
  };
}

/**
 * Model folders (config.json, preprocessor_config.json, onnx/) as the DINO-style / CLIP-I
 * evaluators: DINO-style takes the CLS token, CLIP-I the image embedding (src/core/encoders/hf.ts).
 */
async function globalEncoders(folders: Partial<Record<GlobalMetric, string>>) {
  const encoders: MetricSuite["global"] = {};
  const sources: Record<string, unknown> = {};
  for (const [slot, dir] of Object.entries(folders) as [GlobalMetric, string][]) {
    const opened = await openHfFolder(dir);
    const spec = globalSlotSpec(opened.binding.spec, slot);
    encoders[slot] = imageEncoder(spec, [255, 255, 255], opened.run);
    const embedding = spec.embedding_output ?? (spec.skip_tokens ? "CLS token" : "mean patch token");
    sources[slot] = { folder: dir, model_type: opened.staged.derivation.modelType, file: opened.model.file, embedding };
    log(`${slot}: ${dir} (${opened.staged.derivation.modelType}, ${opened.model.file}, ${embedding})`);
  }
  return { encoders, sources };
}

/**
 * The same generated images with their quality maps recomputed by `enc` against `refs` (one image
 * per dataset reference): the ablations change the maps, not the images.
 */
async function remapDataset(d: BuiltDataset, refs: RgbaImage[], enc: ImageEncoder): Promise<BuiltDataset> {
  const { ds } = d;
  const encoded = [];
  for (const [i, r] of refs.entries()) encoded.push(await encodeImage(enc, r, ds.references[i].id));
  const samples = [];
  for (const [i, sample] of ds.samples.entries()) {
    const gen = await encodeImage(enc, d.samples[i], `sample ${i}`);
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
  return { ds: { ...ds, samples }, references: refs, samples: d.samples };
}

/** Prompts per validation subject when the budget asks for every eval prompt (`--full`), as the eval kit has. */
const VALIDATION_PROMPTS = 2;

/** FNV-1a (32 bit) of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * `n` distinct fully specified prompts for a validation subject: each slot's value drawn uniformly
 * from `manifest.prompt.slots` by `uint32Stream(fnv1a("validation " + subject))`, a repeat of an
 * earlier prompt drawn again. The same on every run, and a subject's prompts do not depend on
 * which other subjects are evaluated.
 */
export function validationPrompts(spec: Manifest["prompt"], subject: string, n: number): PromptChoice[] {
  const next = uint32Stream(fnv1a(`validation ${subject}`));
  const distinct = spec.slots.reduce((k, slot) => k * slot.values.length, 1);
  const out = new Map<string, PromptChoice>();
  while (out.size < Math.min(n, distinct)) {
    const p = Object.fromEntries(spec.slots.map((slot) => [slot.name, slot.values[next() % slot.values.length].text]));
    out.set(promptKey(p), p);
  }
  return [...out.values()];
}

interface EvalSet {
  subjects: string[];
  prompts: (subject: string) => PromptChoice[];
  /** How the prompts were chosen, for the report. */
  prompted: string;
}

/** The validation subjects to evaluate; a pack without them, or without their ground truth, throws. */
function validationSubjects(manifest: Manifest, scene: SceneRenderer | undefined, limit: number): string[] {
  const marked = (manifest.gallery?.train ?? []).filter((e) => e.validation).slice(0, limit);
  if (!marked.length)
    throw new Error(
      `pack ${manifest.id} has no validation subjects (gallery.train entries marked "validation": true): --validation needs a pack exported with a validation split`,
    );
  const unseen = marked.filter((e) => scene && !scene.has(e.id)).map((e) => e.id);
  if (unseen.length)
    throw new Error(
      `pack ${manifest.id}: scenes.subjects lacks validation subjects ${unseen.join(", ")}, so they have no ground truth; re-export the pack`,
    );
  return marked.map((e) => e.id);
}

/** The subjects of `split` and each one's prompts. */
function evaluationSet(
  manifest: Manifest,
  scene: SceneRenderer | undefined,
  split: EvalSplit,
  b: PaperBudget,
): EvalSet {
  if (split === "validation") {
    const n = Number.isFinite(b.promptsPerSubject) ? b.promptsPerSubject : VALIDATION_PROMPTS;
    return {
      subjects: validationSubjects(manifest, scene, b.subjects),
      prompts: (s) => validationPrompts(manifest.prompt, s, n),
      prompted: `${n} per subject, each slot drawn from manifest.prompt.slots, seeded by the subject id (validationPrompts)`,
    };
  }
  const subjects = (manifest.gallery?.heldout ?? []).slice(0, b.subjects).map((e) => e.id);
  if (!scene) return { subjects, prompts: () => b.trainPrompts, prompted: "the training prompts (no scene kit)" };
  return {
    subjects,
    prompts: (s) =>
      scene.kit.eval_prompts
        .filter((p) => p.subject === s)
        .slice(0, b.promptsPerSubject)
        .map((p) => p.prompt),
    prompted: "scenes.eval_prompts, first promptsPerSubject per subject",
  };
}

/** Whether `out` is one of the committed held-out reports (docs/paper-*.json), which validation runs must not overwrite. */
function isCommittedReport(out: string): boolean {
  const path = resolve(out);
  return path.startsWith(resolve("docs") + sep) && basename(path).startsWith("paper-");
}

/** A trained method's loss with the run's overrides; an override that contradicts what defines the method throws. */
function methodLoss(m: PaperMethod, o: LossOverrides = {}): Partial<LossOptions> {
  const own = m.loss ?? {};
  for (const key of ["beta", "useReference"] as const)
    if (o[key] !== undefined && own[key] !== undefined && o[key] !== own[key])
      throw new Error(`${m.id} is defined by ${key} = ${own[key]}; the override ${key} = ${o[key]} contradicts it`);
  const { weights, ...rest } = o;
  const merged =
    own.weights || weights ? { weights: { ...DEFAULT_TRAIN_CONFIG.loss.weights, ...own.weights, ...weights } } : {};
  return { ...own, ...rest, ...merged };
}

/** The scene-kit background each natural reference is rendered over: the kit's backgrounds in turn. */
function naturalBackgrounds(manifest: Manifest, n: number): string[] {
  const names = Object.keys(manifest.scenes?.backgrounds ?? {});
  if (!names.length) throw new Error(`pack ${manifest.id} has no scene kit: no natural-scene references`);
  return Array.from({ length: n }, (_, i) => names[i % names.length]);
}

/**
 * The pack dataset and each variant a chosen method trains on: the same generated images with maps
 * of the random-weight encoder, or with every reference replaced by its subject over a scene-kit
 * background (latent, tokens and maps recomputed against it).
 */
async function datasetVariants(
  c: { torch: TorchSetup; random: ImageEncoder },
  need: Set<DataVariant>,
  d: BuiltDataset,
): Promise<Record<DataVariant, BuiltDataset>> {
  const { pack } = c.torch;
  const { manifest } = pack;
  const variants: Partial<Record<DataVariant, BuiltDataset>> = { pack: d };
  if (need.has("random_encoder")) variants.random_encoder = await remapDataset(d, d.references, c.random);
  if (need.has("natural_references")) {
    const ids = d.ds.references.map((r) => r.id);
    const natural = await naturalReferences(c.torch, ids, naturalBackgrounds(manifest, ids.length));
    const references = [];
    for (const [i, img] of natural.entries()) {
      references.push(
        await datasetReference(pack.run, manifest, { id: ids[i], tensor: imageToTensor(img, manifest.image) }),
      );
    }
    const withNatural = { ...d, ds: { ...d.ds, references } };
    variants.natural_references = await remapDataset(withNatural, natural, patchEncoderOf(pack));
  }
  return variants as Record<DataVariant, BuiltDataset>;
}

export async function runPaper(o: PaperOptions) {
  const started = performance.now();
  const b = withOverrides(o.budget, o.overrides);
  const split = o.split ?? "heldout";
  if (split === "validation" && isCommittedReport(o.out))
    throw new Error(`${o.out} is a committed held-out report: write a validation run elsewhere (--out)`);
  const pack = openPack(o.pack);
  const { manifest } = pack;
  const scene = await sceneRenderer(pack);
  const evalSet = evaluationSet(manifest, scene, split, b);
  const methods = methodIds(b.methods).map((id) => METHODS.find((m) => m.id === id) as PaperMethod);
  // Each trained method's loss with the run's overrides (throws before any work on a contradiction).
  const losses = new Map(methods.map((m) => [m.id, m.loss && methodLoss(m, o.overrides?.loss)]));
  const random = await packEvaluator(pack, "patch_encoder_random");
  const independent = manifest.evaluators?.independent ? await packEvaluator(pack, "independent") : undefined;
  const notes = independent ? [] : [missingEvaluatorNote("independent")];
  const userGlobal = await globalEncoders(o.globalEncoders ?? {});
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
    `budget ${b.name} (${b.engine} engine): dataset ${train_subjects.length} subjects × ${b.trainPrompts.length} prompts × ${b.trainSeeds.length} seeds; evaluated on ${split}`,
  );
  try {
    const refs = galleryReferences(pack, train_subjects);
    const recipe: DatasetRecipe = {
      prompts: b.trainPrompts,
      seeds: b.trainSeeds,
      sampler: b.sampler,
      engine: b.engine,
    };
    const cache = o.datasetCache;
    const built = await time("dataset", () =>
      cache
        ? cachedDataset({ dir: cache, key: datasetKey(pack, recipe, refs), pack, recipe, log }, () =>
            engine.dataset(refs),
          )
        : engine.dataset(refs),
    );
    const variants = await time("dataset_variants", () =>
      datasetVariants({ torch, random }, new Set(methods.map((m) => m.data)), built),
    );
    const runs: TrainRun[] = methods
      .filter((m) => m.loss)
      .map((m) => ({
        id: m.id,
        data: variants[m.data],
        // Both trainers merge a partial loss over their defaults.
        config: { ...base, train: { ...base.train, loss: losses.get(m.id) as TrainConfig["loss"] } },
      }));
    const trained = await time("train", () => engine.train(runs));
    const adapters: MethodAdapter[] = methods.map(
      (m) => trained.find((t) => t.id === m.id) ?? { id: m.id, tensors: pack.base },
    );

    const fromEvaluators = evaluatorSuite({ independent, patch_encoder_random: random });
    const suite: MetricSuite = {
      patch: { patch_quality: patchEncoderOf(pack), ...fromEvaluators.patch },
      global: { ...fromEvaluators.global, ...userGlobal.encoders },
      scene,
    };
    const evaluator = new ImageEvaluator(suite);
    const { subjects } = evalSet;
    const cells = gridCells(subjects, evalSet.prompts, b.seeds);
    const records = await time("eval", () => engine.evaluate(adapters, { subjects, cells, evaluator }));
    const report = buildReport({
      createdAt: new Date().toISOString(),
      packId: manifest.id,
      settings: {
        budget: b,
        evaluated_on: split,
        [`${split}_subjects`]: subjects,
        prompts: evalSet.prompted,
        ...(o.overrides ? { overrides: o.overrides } : {}),
        training: {
          ...base.train,
          dataset: {
            subjects: train_subjects,
            prompts: b.trainPrompts,
            seeds: b.trainSeeds,
            ...("cached" in built ? { file: built.file, cached: built.cached } : {}),
          },
        },
        evaluators: {
          patch_quality: "roles.patch_encoder",
          ...evaluatorSources(fromEvaluators),
          ...userGlobal.sources,
          scene: !!scene,
        },
        ...(notes.length ? { notes } : {}),
        engine: b.engine === "studio" ? "cpu" : "torch",
        ...(b.engine === "torch"
          ? {
              engines: { sampling: "python3 -m foundry sample", training: "python3 -m foundry train-adapter", threads },
            }
          : {}),
        command:
          o.command ??
          `npm run bench -- paper --pack ${o.pack}${b.name === "custom" || b.name === "reduced" ? "" : ` --${b.name}`}`,
      },
      methods: methods.map(({ id, label, source }) => ({ id, label, source: { ...source, ...losses.get(id) } })),
      metrics: metricsOf(records, evaluator.keys(true)),
      baseline: "base",
      pairedAgainst: ["base", "dpo"],
      records,
    });
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, JSON.stringify(report, null, 1));
    const cellsPerSubject = cells.length / subjects.length;
    console.error(
      `\nPaper table, pack ${o.pack}, budget ${b.name} (${subjects.length} ${split} subjects × ${cellsPerSubject} cells, ${b.trainSteps} training steps per method):\n`,
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
  description:
    "EmojiBench reproduction: base / DPO / PatchDPO (+ ablations) on held-out (or, --validation, validation) subjects with intervals",
  async run() {
    if (process.argv.includes("--multi")) {
      const m = multiOptions(process.argv.slice(2));
      const { report, timing } = await runPaperMulti(m);
      return {
        metrics: {
          table: meanAndInterval(report.table),
          pack: m.pack,
          images: report.records.length,
          report: m.out,
          ...timing,
        },
        env: { backend: "cpu", adapter: "none", cores: availableParallelism() },
      };
    }
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
        evaluated_on: o.split ?? "heldout",
        ...(o.overrides ? { overrides: o.overrides } : {}),
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
