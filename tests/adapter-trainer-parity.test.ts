/**
 * The foundry's PyTorch trainer (`python3 -m foundry train-adapter`, foundry/foundry/adapter/)
 * against the studio's CPU engine (`train` of scripts/train/headless.ts, what `npm run train`
 * runs): the same dataset zip and run configuration, 20 steps of each loss, give the same adapter
 * and the same per-step log, also over several draws per step (batchSize) and on the WGSL engine
 * (Dawn in Node), and on a two-subject dataset (each step one part of the loss, the generated
 * image on both references or the two references alone). A mutation (β or the weight normalization changed on the PyTorch side only) must
 * break the agreement, so the tolerance is shown to be tight enough to catch one. torchrun's
 * data-parallel runs against one process are foundry/tests/test_adapter_ddp.py.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_HEADLESS, type HeadlessConfig, openPack, train } from "../scripts/train/headless";
import { decodeDatasetZip, packShapes } from "../src/core/dataset/format";
import { relError } from "../src/core/engine/testing/tiny";
import { importAdapter } from "../src/core/training/adapter-file";
import { DEFAULT_TRAIN_CONFIG, type StepReport, type TrainConfig } from "../src/core/training/loop";
import { syntheticDatasetZip } from "../src/core/training/testing/dataset";
import { GpuDenoiser } from "../src/gpu/denoiser";
import { createNodeContext, skipWebGpu } from "../src/gpu/testing/node-gpu";

const run = promisify(execFile);
const pack = openPack("tiny");
const shapes = packShapes(pack.manifest, { height: 8, width: 8 });
const dir = mkdtempSync(join(tmpdir(), "adapter-parity-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Adapter = ReadonlyMap<string, Float32Array>;

interface Result {
  adapter: Adapter;
  reports: StepReport[];
}

/** Two references with two generated images each (of one subject, or of two), written as a studio dataset zip and read back. */
function datasetZip(pairs: boolean) {
  const zip = join(dir, pairs ? "pairs.zip" : "dataset.zip");
  writeFileSync(zip, syntheticDatasetZip(pack.manifest, pack.arch, { pairs }));
  return { zip, ds: decodeDatasetZip(readFileSync(zip), shapes).dataset };
}

const single = datasetZip(false);
const pairs = datasetZip(true);
type Data = typeof single;

/** lr 1e-3 moves the adapter by about 5 % of its largest value in 20 steps: an error of 1e-4 is 0.2 % of that. */
const BASE: Partial<TrainConfig> = { steps: 20, lr: 1e-3, seed: 3, monitorEvery: 5, checkpointEvery: 10 };
const loss = (patch: Partial<TrainConfig["loss"]>) => ({ ...DEFAULT_TRAIN_CONFIG.loss, ...patch });

/** The PyTorch trainer on the dataset zip, one thread; its adapter read back as the studio imports it. */
async function torchRun(label: string, c: HeadlessConfig, { zip }: Data = single): Promise<Result> {
  const config = join(dir, `${label}.json`);
  const out = join(dir, `${label}.safetensors`);
  const log = join(dir, `${label}.jsonl`);
  writeFileSync(config, JSON.stringify(c));
  const args = ["-m", "foundry", "train-adapter", "--pack", resolve("public/models/tiny"), "--dataset", zip];
  await run("/usr/bin/python3", [...args, "--config", config, "--out", out, "--log", log, "--threads", "1"], {
    cwd: "foundry",
  });
  const { tensors, metadata } = importAdapter(pack.manifest, readFileSync(out), out);
  expect(JSON.parse(metadata.config).loss.method).toBe(c.train.loss?.method);
  const lines = readFileSync(log, "utf8").trim().split("\n");
  return { adapter: tensors, reports: lines.map((l) => JSON.parse(l) as StepReport) };
}

/** Both trainers on one run configuration; the PyTorch side may get a mutated `train` part. */
async function both(label: string, trainPart: Partial<TrainConfig>, torchPart = trainPart, data = single) {
  const c: HeadlessConfig = { ...DEFAULT_HEADLESS, train: { ...BASE, ...trainPart } };
  const torch = torchRun(label, { ...c, train: { ...BASE, ...torchPart } }, data); // runs beside the engine
  const studio = await train(pack, data.ds, c);
  expect(studio.stopped).toBeUndefined();
  return { studio, torch: await torch };
}

/** The largest relError over the adapter tensors: max |got − want| / max |want|. */
function adapterError(got: Adapter, want: Adapter): number {
  return Math.max(...[...want].map(([name, w]) => relError(got.get(name) as Float32Array, w)));
}

const TOLERANCE = 1e-4;
/**
 * Per-step log tolerances (relative; the margin's absolute). The DPO-style losses compare float32 per-item errors e ≈ 1 whose
 * ulp is 1.2e-7; β·d turns a one-ulp difference between the engines into about 3e-4 of the loss
 * (β = 2500) and of the gradient's scale σ(β·d), so they get 1e-3 and the margin d 4 ulps.
 */
const LOG_TOLERANCE = { mse: 1e-5, dpo: 1e-3, margin: 5e-7 };
const isDpo = (t: Partial<TrainConfig>) => t.loss?.method === "dpo" || t.loss?.method === "patchdpo-bounded";

function expectSameLog(torch: StepReport[], studio: StepReport[], dpo: boolean): void {
  const tol = dpo ? LOG_TOLERANCE.dpo : LOG_TOLERANCE.mse;
  const close = (got: number | undefined, want: number, what: string, abs = tol * Math.abs(want)) => {
    expect(Math.abs((got as number) - want), what).toBeLessThanOrEqual(abs);
  };
  expect(torch.map((r) => Object.keys(r).sort())).toEqual(studio.map((r) => Object.keys(r).sort()));
  for (const [i, s] of studio.entries()) {
    const r = torch[i];
    const at = `step ${s.step}`;
    expect([r.step, r.lr, r.part]).toEqual([s.step, s.lr, s.part]);
    close(r.loss, s.loss, `${at} loss`);
    if (s.gradNorm !== undefined) close(r.gradNorm, s.gradNorm, `${at} gradNorm`);
    if (s.margin !== undefined) close(r.margin, s.margin, `${at} margin`, LOG_TOLERANCE.margin);
    for (const [k, e] of (s.itemErrors ?? []).entries()) close(r.itemErrors?.[k], e, `${at} itemErrors[${k}]`);
  }
}

/** Every loss and weight option: normalizations, soft and hard thresholds, with and without the reference term. */
const RUNS: [string, Partial<TrainConfig>][] = [
  ["patchdpo", { loss: loss({ method: "patchdpo" }) }],
  [
    "patchdpo, hard threshold, generated image only, clip at 0.02",
    {
      maxNorm: 0.02, // below most steps' gradient norm (about 0.03)
      loss: loss({
        method: "patchdpo",
        useReference: false,
        weights: { normalize: "clamp", threshold: 0.3, temperature: 0 },
      }),
    },
  ],
  [
    "patchdpo-bounded, minmax, soft threshold",
    { loss: loss({ method: "patchdpo-bounded", weights: { normalize: "minmax", threshold: 0.5, temperature: 0.1 } }) },
  ],
  ["patchdpo-bounded, generated image only", { loss: loss({ method: "patchdpo-bounded", useReference: false }) }],
  ["dpo, reference pairing", { loss: loss({ method: "dpo", pairing: "reference" }) }],
  [
    "dpo, quality pairing, β 500, ip scale 0.8",
    { loss: loss({ method: "dpo", pairing: "quality", beta: 500 }), ipScale: 0.8 },
  ],
  ["mse, no clipping, weight decay 0.1", { loss: loss({ method: "mse" }), maxNorm: 0, weightDecay: 0.1 }],
  ["patchdpo, 4 draws per step", { loss: loss({ method: "patchdpo" }), batchSize: 4 }],
  ["dpo, quality pairing, 3 draws per step", { loss: loss({ method: "dpo", pairing: "quality" }), batchSize: 3 }],
];

/** Two-subject samples: every loss that takes them, each part, and draws merged per step. */
const PAIR_RUNS: [string, Partial<TrainConfig>][] = [
  ["patchdpo", { loss: loss({ method: "patchdpo" }) }],
  ["patchdpo, generated image only", { loss: loss({ method: "patchdpo", useReference: false }) }],
  ["patchdpo-bounded, 2 draws per step", { loss: loss({ method: "patchdpo-bounded" }), batchSize: 2 }],
  ["dpo, quality pairing", { loss: loss({ method: "dpo", pairing: "quality" }) }],
  ["mse", { loss: loss({ method: "mse" }) }],
];

/** The PyTorch side trains with one setting changed: the adapters must then differ beyond the tolerance. */
const MUTATIONS: [string, Partial<TrainConfig>, Partial<TrainConfig>][] = [
  ["β 2500 → 2000", { loss: loss({ method: "dpo" }) }, { loss: loss({ method: "dpo", beta: 2000 }) }],
  [
    "weight normalization clamp → minmax",
    { loss: loss({ method: "patchdpo" }) },
    { loss: loss({ method: "patchdpo", weights: { ...DEFAULT_TRAIN_CONFIG.loss.weights, normalize: "minmax" } }) },
  ],
];

describe("PyTorch trainer vs the studio's CPU engine (tiny pack, 20 steps)", { timeout: 600_000 }, () => {
  it.each(RUNS)("%s: the same adapter and the same per-step log", async (label, trainPart) => {
    const { studio, torch } = await both(label.replace(/\W+/g, "-"), trainPart);
    expect(studio.reports).toHaveLength(20);
    expect(adapterError(torch.adapter, studio.adapter)).toBeLessThanOrEqual(TOLERANCE);
    // The run moved the adapter well beyond the tolerance: agreeing is not agreeing on the start.
    expect(adapterError(pack.base, studio.adapter)).toBeGreaterThan(100 * TOLERANCE);
    expectSameLog(torch.reports, studio.reports, isDpo(trainPart));
  });

  it.each(PAIR_RUNS)("two subjects, %s: the same adapter and the same per-step log", async (label, trainPart) => {
    const { studio, torch } = await both(`pairs-${label.replace(/\W+/g, "-")}`, trainPart, trainPart, pairs);
    expect(adapterError(torch.adapter, studio.adapter)).toBeLessThanOrEqual(TOLERANCE);
    expect(adapterError(pack.base, studio.adapter)).toBeGreaterThan(100 * TOLERANCE);
    expectSameLog(torch.reports, studio.reports, isDpo(trainPart));
  });

  it.skipIf(skipWebGpu)(
    "the WGSL engine follows the PyTorch trainer's trajectory (patchdpo, 2 draws per step)",
    async () => {
      const c: HeadlessConfig = {
        ...DEFAULT_HEADLESS,
        backend: "webgpu",
        train: { ...BASE, loss: loss({ method: "patchdpo" }), batchSize: 2 },
      };
      const torch = torchRun("wgsl-patchdpo", c);
      // The engine built here rather than by `train`, which loads it through a Vite server (for `?raw`).
      const ctx = await createNodeContext();
      const trainer = await GpuDenoiser.create(ctx, pack.arch, pack.weights);
      const gpu = await train(pack, single.ds, c, undefined, { trainer, backend: "webgpu", ctx });
      expect(gpu.backend).toBe("webgpu");
      expect(adapterError((await torch).adapter, gpu.adapter)).toBeLessThanOrEqual(TOLERANCE);
      expect(adapterError(pack.base, gpu.adapter)).toBeGreaterThan(100 * TOLERANCE);
    },
  );

  it.each(MUTATIONS)("mutation %s on the PyTorch side breaks parity", async (label, trainPart, mutated) => {
    const { studio, torch } = await both(`mutation-${label.replace(/\W+/g, "-")}`, trainPart, mutated);
    expect(adapterError(torch.adapter, studio.adapter)).toBeGreaterThan(10 * TOLERANCE);
  });
});
