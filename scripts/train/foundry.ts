/**
 * The foundry's PyTorch commands from Node, for the budgets too large for the studio's engines on
 * the build cores: `python3 -m foundry sample` (the generation pipeline, batched) and
 * `python3 -m foundry train-adapter` (the training loop). Both are tested against the studio's
 * engines: tests/sampler-torch-parity.test.ts and tests/adapter-trainer-parity.test.ts.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { packPath } from "../../node/packs";
import type { RgbaImage } from "../../src/core/generate";
import type { CompareSampler } from "../../src/core/metrics/grid";
import { parseSafetensors, type Tensor } from "../../src/core/safetensors";
import type { StepReport } from "../../src/core/training/loop";
import type { HeadlessConfig } from "./headless";

/** Debian's Python, which sees Debian's PyTorch (DESIGN.md §6). */
const PYTHON = "/usr/bin/python3";

/** A pack id (public/models/<id>) or folder, as an absolute path. */
export const packFolder = (pack: string) => resolve(packPath(pack));

/**
 * Runs `python3 -m foundry <args>` in foundry/ and resolves with its stdout; each stderr line goes
 * to `onLine`. A failure rejects with the command's last stderr lines.
 */
export function runFoundry(args: string[], onLine: (line: string) => void = () => {}): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(PYTHON, ["-m", "foundry", ...args], { cwd: resolve("foundry") });
    let stdout = "";
    let pending = "";
    const tail: string[] = [];
    child.stdout.on("data", (b: Buffer) => {
      stdout += b;
    });
    child.stderr.on("data", (b: Buffer) => {
      const lines = (pending + b).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        onLine(line);
      }
    });
    child.on("error", fail);
    child.on("close", (code) => {
      if (code === 0) done(stdout);
      else fail(new Error(`python3 -m foundry ${args[0]} exited with ${code}:\n${[...tail, pending].join("\n")}`));
    });
  });
}

/** A gallery subject, or with `background` the subject rendered over that scene-kit background. */
export interface SampleReference {
  id: string;
  background?: string;
}

export interface SampleJob {
  /**
   * Indices into the references, in the denoiser's order: one, or two subjects' under a
   * two-subject prompt (referenceOrder), whose tokens are concatenated.
   */
  references: number[];
  promptIds: number[];
  seed: number;
  sampler: CompareSampler;
}

export interface SampleResult {
  /** [adapter][job], as `tensorToImage` gives the studio's decoded image. */
  images: RgbaImage[][];
  /** [adapter][job]: the sampler's final latent `[C, H, W]` (scaled space). */
  latents: Float32Array[][];
  /** Each reference as the image encoder saw it. */
  references: RgbaImage[];
}

function need(tensors: ReadonlyMap<string, Tensor>, name: string, source: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`${source}: no tensor ${name}`);
  return t;
}

/** The rows of a tensor's leading axes `[...lead, ...item]`, each item's values as its own array. */
function items<T extends Uint8Array | Float32Array>(t: Tensor, lead: number): T[] {
  const n = t.shape.slice(0, lead).reduce((a, b) => a * b, 1);
  const size = t.shape.slice(lead).reduce((a, b) => a * b, 1);
  const data = t.data as T;
  return Array.from({ length: n }, (_, i) => data.slice(i * size, (i + 1) * size) as T);
}

/** uint8 `[S, S, 3]` → an opaque RGBA image. */
function rgbaOf(rgb: Uint8Array, size: number): RgbaImage {
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  for (let p = 0; p < size * size; p++) data.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
  return { width: size, height: size, data };
}

/** `[A·N]` items → A rows of N. */
const byAdapter = <T>(flat: T[], adapters: number): T[][] =>
  Array.from({ length: adapters }, (_, a) =>
    flat.slice((a * flat.length) / adapters, ((a + 1) * flat.length) / adapters),
  );

export interface SampleOptions {
  pack: string;
  references: SampleReference[];
  jobs: SampleJob[];
  /** The studio's adapter files, or "base" for the pack's own; every job runs with each (default: the base). */
  adapters?: string[];
  /** Folder for the jobs and output files; `name` tells this call's apart. */
  dir: string;
  name: string;
  threads: number;
  /** Jobs per sampler batch (the foundry's default without one). */
  batch?: number;
  onLine?: (line: string) => void;
}

export async function foundrySample(o: SampleOptions): Promise<SampleResult> {
  // Absolute paths: the foundry runs in foundry/, not in the caller's directory.
  const jobs = resolve(o.dir, `${o.name}.jobs.json`);
  const out = resolve(o.dir, `${o.name}.images.safetensors`);
  const adapters = (o.adapters ?? ["base"]).map((a) => (a === "base" ? a : resolve(a)));
  writeFileSync(jobs, JSON.stringify({ references: o.references, jobs: o.jobs }));
  const args = ["sample", "--pack", packFolder(o.pack), "--jobs", jobs, "--out", out, "--threads", String(o.threads)];
  for (const a of adapters) args.push("--adapter", a);
  if (o.batch) args.push("--batch", String(o.batch));
  await runFoundry(args, o.onLine);
  const bytes = readFileSync(out);
  const { tensors } = parseSafetensors(bytes, out);
  const images = need(tensors, "images", out);
  const size = images.shape[2];
  return {
    images: byAdapter(
      items<Uint8Array>(images, 2).map((rgb) => rgbaOf(rgb, size)),
      adapters.length,
    ),
    latents: byAdapter(items<Float32Array>(need(tensors, "latents", out), 2), adapters.length),
    references: items<Uint8Array>(need(tensors, "references", out), 1).map((rgb) => rgbaOf(rgb, size)),
  };
}

export interface TrainOptions {
  pack: string;
  /** A studio dataset zip (core/dataset/format.ts). */
  dataset: string;
  config: HeadlessConfig;
  /** The adapter file to write; its run configuration and log.jsonl go beside it. */
  out: string;
  threads: number;
}

/** Trains one adapter; resolves with its per-step log. A run stopped by a non-finite value rejects. */
export async function foundryTrain(o: TrainOptions): Promise<StepReport[]> {
  // Absolute paths: the foundry runs in foundry/, not in the caller's directory.
  const out = resolve(o.out);
  const config = out.replace(/\.safetensors$/, ".run.json");
  const log = out.replace(/\.safetensors$/, ".log.jsonl");
  writeFileSync(config, JSON.stringify(o.config));
  const args = ["train-adapter", "--pack", packFolder(o.pack), "--dataset", resolve(o.dataset), "--config", config];
  await runFoundry([...args, "--out", out, "--log", log, "--threads", String(o.threads)]);
  return readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as StepReport);
}
