/**
 * `paper --multi`: PatchDPO on two-subject scenes (multi-subject personalization, issue 19), headless
 * on the studio's engines (ORT WASM generation, the CPU training engine), or with `--standard` on
 * the foundry's PyTorch sampler and trainer at a larger budget (paper-engines.ts): the pack's base adapter
 * → a two-subject preference dataset of training-subject pairs (1 with 2, 3 with 4, … of the
 * training subjects, every pair with each pair prompt) → base, image-level DPO (two generated
 * images of a pair, the better by identity-aware quality as winner), PatchDPO (weights from the
 * identity-aware `m_gen`, each reference's own term) and its bounded form, trained with equal
 * budgets → every adapter evaluated on the scene kit's held-out pairs (`scenes.pairs.eval`) with
 * fixed seeds and the same initial noise per cell → per-subject region PSNR, identity leakage and
 * the independent evaluator's score per subject, with paired intervals over pairs (records name a
 * cell's subject `A+B`).
 *
 *   npm run bench -- paper --multi [--standard] [--pack DIR] [--validation | --training-pairs]
 *                                  [--pairs N] [--prompts N] [--seeds N] [--train-pairs N] [--steps N]
 *                                  [--lr X] [--sampler-steps N] [--threads N] [--dataset-cache DIR] [--out F]
 *
 * `--validation` evaluates on pairs of the validation subjects (never trained on) with seeded
 * prompts instead, so that the recipe is chosen off the held-out table. `--training-pairs`
 * evaluates on the dataset's own pairs (seeded prompts, the evaluation seeds): whether the methods
 * move identity leakage even where they trained.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DEFAULT_HEADLESS, type HeadlessConfig, openPack } from "../../scripts/train/headless";
import { consecutivePairs } from "../../src/core/dataset/build";
import type { PromptChoice } from "../../src/core/generate";
import { type CompareSampler, cellSubjects, type GridCell } from "../../src/core/metrics/grid";
import {
  evaluatorSources,
  evaluatorSuite,
  ImageEvaluator,
  type MetricSuite,
  pairMetricKeys,
} from "../../src/core/metrics/image";
import {
  buildReport,
  markdownTable,
  metricsOf,
  pairedMarkdown,
  type ReportMethod,
} from "../../src/core/metrics/report";
import { pairChoice } from "../../src/core/metrics/scene";
import type { Manifest } from "../../src/core/pack/manifest";
import { uint32Stream } from "../../src/core/sampling";
import type { LossOptions } from "../../src/core/training/steps";
import { cachedDataset, type DatasetRecipe, datasetKey } from "./paper-dataset";
import { type EngineSetup, galleryReferences, type PaperEngine, studioEngine, torchEngine } from "./paper-engines";
import { log, packEvaluator, patchEncoderOf, sceneRenderer, stageTimer, trainingSubjects } from "./paper-setup";

export interface MultiBudget {
  /** Where images are generated and adapters trained (paper-engines.ts). */
  engine: "studio" | "torch";
  /** Held-out (or validation) pairs, pair prompts per pair, seeds. */
  pairs: number;
  promptsPerPair: number;
  seeds: number[];
  /** Training pairs of the dataset and its pair prompts (one seed each). */
  trainPairs: number;
  trainPrompts: PromptChoice[];
  trainSteps: number;
  lr: number;
  sampler: CompareSampler;
}

// Every layout, and backgrounds and sizes in turn: the dataset must not teach one layout.
const TRAIN_PROMPTS: PromptChoice[] = [
  { background: "green", position: "A left, B right", size: "medium" },
  { background: "blue", position: "A top, B bottom", size: "small" },
  { background: "stripes", position: "A right, B left", size: "medium" },
  { background: "orange", position: "A bottom, B top", size: "small" },
];

export const MULTI_BUDGET: MultiBudget = {
  engine: "studio",
  pairs: 49,
  promptsPerPair: 2,
  seeds: [101, 102],
  trainPairs: 64,
  trainPrompts: TRAIN_PROMPTS,
  trainSteps: 400,
  lr: 2e-6, // chosen on validation pairs (lowest PatchDPO identity leakage of 1e-5, 2e-6, 5e-7; docs/paper-emoji64-multi.md)
  sampler: { steps: 25, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
};

/** `--standard`: the single-subject standard budget's scale, on the foundry's PyTorch sampler and trainer. */
export const MULTI_STANDARD: MultiBudget = {
  ...MULTI_BUDGET,
  engine: "torch",
  seeds: [101, 102, 103, 104],
  trainPairs: 128,
  trainSteps: 1000,
  lr: 5e-7, // chosen on validation pairs at this budget (lowest PatchDPO identity leakage of 5e-6, 2e-6, 5e-7, 2e-7; docs/paper-emoji64-multi.md)
};

interface MultiMethod extends ReportMethod {
  loss?: Partial<LossOptions>;
}

export const MULTI_METHODS: MultiMethod[] = [
  { id: "base", label: "base", source: { kind: "base" } },
  {
    id: "dpo",
    label: "DPO (image-level, by quality)",
    source: { method: "dpo", pairing: "quality" },
    loss: { method: "dpo", pairing: "quality" },
  },
  { id: "patchdpo", label: "PatchDPO", source: { method: "patchdpo" }, loss: { method: "patchdpo" } },
  // The signed form pushes patches that match the wrong subject below the frozen model, where the
  // official form only gives them less weight.
  {
    id: "patchdpo_bounded",
    label: "PatchDPO bounded",
    source: { method: "patchdpo-bounded" },
    loss: { method: "patchdpo-bounded" },
  },
];

export interface MultiOptions {
  pack: string;
  budget: MultiBudget;
  /** Held-out pairs (the kit's), pairs of validation subjects, or the dataset's own training pairs. */
  split: "heldout" | "validation" | "training";
  out: string;
  command: string;
  /** Cores for the torch engine (default: all). */
  threads?: number;
  datasetCache?: string;
}

/** `paper --multi` flags; a malformed number throws naming its flag. */
export function multiOptions(argv: string[]): MultiOptions {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const positive = (name: string) => {
    const v = flag(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n > 0)) throw new Error(`--${name} expects a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  const b = { ...(argv.includes("--standard") ? MULTI_STANDARD : MULTI_BUDGET) };
  const seeds = positive("seeds");
  const set = <K extends keyof MultiBudget>(k: K, v: MultiBudget[K] | undefined) => {
    if (v !== undefined) b[k] = v;
  };
  set("pairs", positive("pairs"));
  set("promptsPerPair", positive("prompts"));
  set("seeds", seeds ? Array.from({ length: seeds }, (_, i) => 101 + i) : undefined);
  set("trainPairs", positive("train-pairs"));
  set("trainSteps", positive("steps"));
  set("lr", positive("lr"));
  const samplerSteps = positive("sampler-steps");
  if (samplerSteps) b.sampler = { ...b.sampler, steps: samplerSteps };
  const pack = flag("pack") ?? "emoji64";
  if (argv.includes("--validation") && argv.includes("--training-pairs"))
    throw new Error("--validation and --training-pairs are two evaluation splits: choose one");
  const split = argv.includes("--validation")
    ? "validation"
    : argv.includes("--training-pairs")
      ? "training"
      : "heldout";
  const first = argv.findIndex((a) => a.startsWith("--"));
  return {
    pack,
    budget: b,
    split,
    out: flag("out") ?? `bench/out/paper-${pack.split("/").at(-1)}-multi${split === "heldout" ? "" : `-${split}`}.json`,
    command: ["npm run bench -- paper", ...(first < 0 ? [] : argv.slice(first))].join(" "),
    threads: positive("threads"),
    datasetCache: flag("dataset-cache"),
  };
}

/** FNV-1a (32 bit) of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The evaluation cells: the kit's held-out pairs and their prompts, or with seeded prompts the
 * validation subjects' pairs or the dataset's own training pairs (how far the methods move the
 * pairs they trained on; the seeded prompts and the seeds are not the dataset's).
 */
function evaluationCells(manifest: Manifest, o: MultiOptions): { cells: GridCell[]; pairs: [string, string][] } {
  const b = o.budget;
  const kit = manifest.scenes?.pairs;
  const layouts = manifest.prompt.layouts;
  if (!kit || !layouts)
    throw new Error(`pack ${manifest.id} has no two-subject scene kit (scenes.pairs, prompt.layouts)`);
  const items: { a: string; b: string; prompt: PromptChoice }[] = [];
  if (o.split === "heldout") {
    for (const e of kit.eval) items.push({ a: e.a, b: e.b, prompt: pairChoice(manifest.prompt, e.prompt) });
  } else {
    const ids =
      o.split === "validation"
        ? (manifest.gallery?.train ?? []).filter((e) => e.validation).map((e) => e.id)
        : trainingSubjects(manifest, 2 * b.trainPairs);
    const slot = (name: string) => manifest.prompt.slots.find((s) => s.name === name)?.values.map((v) => v.text) ?? [];
    for (const [i, j] of consecutivePairs(ids.length)) {
      const next = uint32Stream(fnv1a(`${o.split} pair ${ids[i]} ${ids[j]}`));
      for (let k = 0; k < b.promptsPerPair; k++) {
        const pick = (values: string[]) => values[next() % values.length];
        const prompt = { background: pick(slot("background")), size: pick(slot("size")) };
        items.push({
          a: ids[i],
          b: ids[j],
          prompt: { ...prompt, [layouts.slot]: pick(layouts.values.map((v) => v.text)) },
        });
      }
    }
  }
  const pairs: [string, string][] = [];
  for (const it of items) if (!pairs.some(([a, bb]) => a === it.a && bb === it.b)) pairs.push([it.a, it.b]);
  const chosen = pairs.slice(0, b.pairs);
  const cells = chosen.flatMap(([a, bb]) =>
    items
      .filter((it) => it.a === a && it.b === bb)
      .slice(0, b.promptsPerPair)
      .flatMap((it) => b.seeds.map((seed) => ({ subject: a, second: bb, prompt: it.prompt, seed }))),
  );
  return { cells, pairs: chosen };
}

export async function runPaperMulti(o: MultiOptions) {
  const started = performance.now();
  const b = o.budget;
  const pack = openPack(o.pack);
  const { manifest } = pack;
  const { cells, pairs } = evaluationCells(manifest, o);
  const scene = await sceneRenderer(pack);
  const independent = manifest.evaluators?.independent ? await packEvaluator(pack, "independent") : undefined;
  const fromEvaluators = evaluatorSuite({ independent });
  const suite: MetricSuite = {
    patch: { patch_quality: patchEncoderOf(pack), ...fromEvaluators.patch },
    global: {},
    scene,
  };
  const evaluator = new ImageEvaluator(suite);
  const subjects = trainingSubjects(manifest, 2 * b.trainPairs);
  const { stages, time } = stageTimer();
  const threads = o.threads ?? availableParallelism();
  const setup: EngineSetup = { pack, prompts: b.trainPrompts, seeds: [1], sampler: b.sampler, log };
  const engine: PaperEngine =
    b.engine === "torch"
      ? torchEngine({
          ...setup,
          threads,
          work: mkdtempSync(join(tmpdir(), "paper-multi-")),
          adapterDir: `${o.out.replace(/\.json$/, "")}.adapters`,
        })
      : studioEngine(setup);
  log(
    `two subjects (${b.engine} engine): dataset ${Math.floor(subjects.length / 2)} training pairs × ${b.trainPrompts.length} prompts; ${b.trainSteps} steps per method; evaluated on ${pairs.length} ${o.split} pairs (${cells.length} cells)`,
  );
  const refs = galleryReferences(pack, subjects);
  const trainPairs = consecutivePairs(subjects.length);
  const recipe: DatasetRecipe = {
    prompts: b.trainPrompts,
    seeds: [1],
    sampler: b.sampler,
    engine: b.engine,
    pairs: trainPairs,
  };
  const cache = o.datasetCache;
  const built = await time("dataset", () =>
    cache
      ? cachedDataset({ dir: cache, key: datasetKey(pack, recipe, refs), pack, recipe, log }, () =>
          engine.dataset(refs, trainPairs),
        )
      : engine.dataset(refs, trainPairs),
  );
  const config: HeadlessConfig = {
    ...DEFAULT_HEADLESS,
    pack: o.pack,
    subjects,
    prompts: b.trainPrompts,
    seeds: [1],
    sampler: b.sampler,
    train: { steps: b.trainSteps, lr: b.lr, monitorEvery: 0, checkpointEvery: b.trainSteps, seed: 0 },
  };
  const runs = MULTI_METHODS.flatMap((m) =>
    m.loss
      ? [{ id: m.id, data: built, config: { ...config, train: { ...config.train, loss: m.loss as LossOptions } } }]
      : [],
  );
  const trained = await time("train", () => engine.train(runs));
  const adapters = MULTI_METHODS.map((m) => trained.find((t) => t.id === m.id) ?? { id: m.id, tensors: pack.base });
  const evalSubjects = [...new Set(cells.flatMap(cellSubjects))];
  const records = await time("eval", () => engine.evaluate(adapters, { subjects: evalSubjects, cells, evaluator }));
  const report = buildReport({
    createdAt: new Date().toISOString(),
    packId: manifest.id,
    settings: {
      budget: { ...b, methods: MULTI_METHODS.map((m) => m.id) },
      two_subjects: true,
      evaluated_on: o.split,
      [`${o.split}_pairs`]: pairs.map(([a, bb]) => `${a}+${bb}`),
      prompts:
        o.split === "heldout" ? "scenes.pairs.eval, first promptsPerPair per pair" : `seeded per ${o.split} pair`,
      training: {
        ...config.train,
        dataset: { subjects, pairs: "consecutive (1 with 2, 3 with 4, …)", prompts: b.trainPrompts, seeds: [1] },
      },
      evaluators: { patch_quality: "roles.patch_encoder", ...evaluatorSources(fromEvaluators), scene: !!scene },
      engine: b.engine === "studio" ? "cpu" : "torch",
      ...(b.engine === "torch"
        ? { engines: { sampling: "python3 -m foundry sample", training: "python3 -m foundry train-adapter" } }
        : {}),
      threads,
      command: o.command,
    },
    methods: MULTI_METHODS.map(({ id, label, source }) => ({ id, label, source })),
    metrics: metricsOf(records, pairMetricKeys(suite, true)),
    baseline: "base",
    pairedAgainst: ["base", "dpo"],
    records,
  });
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify(report, null, 1));
  console.error(`\nTwo-subject table, pack ${o.pack} (${pairs.length} ${o.split} pairs, ${cells.length} cells):\n`);
  console.error(markdownTable(report));
  console.error("\nPaired differences over pairs (Δ [95% t-interval]):\n");
  console.error(pairedMarkdown(report));
  console.error(`\nreport: ${o.out}`);
  return { report, timing: { total_ms: performance.now() - started, stages } };
}
