/**
 * The foundry's PyTorch trainer (`python3 -m foundry train-adapter`, foundry/foundry/adapter/)
 * against the studio's CPU engine (`train` of scripts/train/headless.ts, what `npm run train`
 * runs): the same dataset zip and run configuration, 20 steps of each loss, give the same adapter
 * and the same per-step log. A mutation (β or the weight normalization changed on the PyTorch side
 * only) must break the agreement, so the tolerance is shown to be tight enough to catch one.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_HEADLESS, type HeadlessConfig, openPack, train } from "../scripts/train/headless";
import { decodeDatasetZip, encodeDatasetZip, packShapes, type StoredDataset } from "../src/core/dataset/format";
import { relError } from "../src/core/engine/testing/tiny";
import type { StepReport, TrainConfig } from "../src/core/training/loop";
import { DEFAULT_TRAIN_CONFIG } from "../src/core/training/loop";
import { syntheticDataset } from "../src/core/training/testing/dataset";
import { loadSafetensors } from "./ort-node";

const run = promisify(execFile);
const pack = openPack("tiny");
const dir = mkdtempSync(join(tmpdir(), "adapter-parity-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two references with two generated images each, written as a studio dataset zip and read back. */
function datasetZip(): string {
  const dataset = { ...syntheticDataset(pack.arch), packId: pack.manifest.id };
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const stored: StoredDataset = {
    id: "parity",
    name: "synthetic parity dataset",
    createdAt: "2026-01-01T00:00:00.000Z",
    settings: {
      references: dataset.references.map((r) => ({ id: r.id, label: r.id, source: "upload" })),
      prompts: [{}],
      seeds: dataset.samples.map((s) => s.seed),
      sampler: { steps: 1, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
      adapter: "base",
      refWeight: "coverage",
    },
    dataset,
    referenceImages: dataset.references.map(() => png),
    sampleImages: dataset.samples.map(() => png),
  };
  const path = join(dir, "dataset.zip");
  writeFileSync(path, encodeDatasetZip(stored, packShapes(pack.manifest, dataset.grid)));
  return path;
}

const zip = datasetZip();
const shapes = packShapes(pack.manifest, { height: 8, width: 8 });
const ds = decodeDatasetZip(readFileSync(zip), shapes).dataset;

/** lr 1e-3 moves the adapter by about 1e-2 in 20 steps, so an error of 1e-4 is 1 % of the update. */
const BASE: Partial<TrainConfig> = { steps: 20, lr: 1e-3, seed: 3, monitorEvery: 5, checkpointEvery: 10 };
const loss = (patch: Partial<TrainConfig["loss"]>) => ({ ...DEFAULT_TRAIN_CONFIG.loss, ...patch });

interface Result {
  adapter: Map<string, Float32Array>;
  reports: StepReport[];
}

/** The PyTorch trainer on the dataset zip, one thread. */
async function torchRun(label: string, c: HeadlessConfig): Promise<Result> {
  const config = join(dir, `${label}.json`);
  const out = join(dir, `${label}.safetensors`);
  const log = join(dir, `${label}.jsonl`);
  writeFileSync(config, JSON.stringify(c));
  const args = ["-m", "foundry", "train-adapter", "--pack", resolve("public/models/tiny"), "--dataset", zip];
  await run("/usr/bin/python3", [...args, "--config", config, "--out", out, "--log", log, "--threads", "1"], {
    cwd: "foundry",
  });
  const { tensors, metadata } = loadSafetensors(out);
  expect(metadata.pack).toBe("tiny");
  const lines = readFileSync(log, "utf8").trim().split("\n");
  return {
    adapter: new Map([...tensors].map(([n, t]) => [n, t.data as Float32Array])),
    reports: lines.map((l) => JSON.parse(l) as StepReport),
  };
}

/** Both trainers on one configuration; the PyTorch side may get a mutated `train` part. */
async function both(label: string, trainPart: Partial<TrainConfig>, torchPart = trainPart) {
  const c: HeadlessConfig = { ...DEFAULT_HEADLESS, train: { ...BASE, ...trainPart } };
  const torch = torchRun(label, { ...c, train: { ...BASE, ...torchPart } });
  const studio = await train(pack, ds, c);
  expect(studio.stopped).toBeUndefined();
  return { studio, torch: await torch };
}

/** max over tensors of relError(torch, studio): max |Δ| / max |studio|, and the same relative to the update. */
function adapterError(torch: Result, studio: Result): { error: number; ofUpdate: number } {
  let error = 0;
  let ofUpdate = 0;
  for (const [name, want] of studio.adapter) {
    const got = torch.adapter.get(name) as Float32Array;
    const base = pack.base.get(name) as Float32Array;
    error = Math.max(error, relError(got, want));
    const update = want.map((v, i) => v - base[i]);
    ofUpdate = Math.max(ofUpdate, relError(got.map((v, i) => v - base[i]), update));
  }
  return { error, ofUpdate };
}

const RUNS: [string, Partial<TrainConfig>][] = [
  ["patchdpo", { loss: loss({ method: "patchdpo" }) }],
  ["patchdpo-hard-threshold-gen-only", {
    loss: loss({ method: "patchdpo", useReference: false, weights: { normalize: "clamp", threshold: 0.3, temperature: 0 } }),
  }],
  ["patchdpo-bounded", {
    loss: loss({ method: "patchdpo-bounded", weights: { normalize: "minmax", threshold: 0.5, temperature: 0.1 } }),
  }],
  ["patchdpo-bounded-gen-only", { loss: loss({ method: "patchdpo-bounded", useReference: false }) }],
  ["dpo-reference", { loss: loss({ method: "dpo", pairing: "reference" }) }],
  ["dpo-quality", { loss: loss({ method: "dpo", pairing: "quality", beta: 500 }) }],
  ["mse", { loss: loss({ method: "mse" }), maxNorm: 0, weightDecay: 0.1 }],
];

describe("PyTorch trainer vs the studio's CPU engine (tiny pack, 20 steps)", { timeout: 600_000 }, () => {
  it.each(RUNS)("%s: the same adapter and the same per-step log", async (label, trainPart) => {
    const { studio, torch } = await both(label, trainPart);
    const { error, ofUpdate } = adapterError(torch, studio);
    console.log(label, { error, ofUpdate });
    expect(error).toBeLessThanOrEqual(1e-4);
    expect(torch.reports.map((r) => Object.keys(r).sort())).toEqual(studio.reports.map((r) => Object.keys(r).sort()));
    torch.reports.forEach((r, i) => {
      const s = studio.reports[i];
      expect(r.step).toBe(s.step);
      expect(Math.abs(r.loss - s.loss), `step ${s.step} loss`).toBeLessThanOrEqual(1e-4 * Math.abs(s.loss) + 1e-7);
      if (s.gradNorm !== undefined)
        expect(Math.abs((r.gradNorm as number) - s.gradNorm), `step ${s.step} ‖g‖`).toBeLessThanOrEqual(1e-4 * s.gradNorm);
    });
  });
});
