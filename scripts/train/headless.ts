/**
 * The training loop outside the browser: dataset construction with the pack's ONNX models on
 * onnxruntime-web's WASM backend in Node, training with the CPU engine or the WGSL engine on the
 * `webgpu` package (Dawn), and held-out evaluation as mean patch quality of fresh generations.
 * Used by `npm run train -- config.json` and the `training` benchmark.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createServer } from "vite";
import { nodeRunner } from "../../node/ort";
import { baseAdapter, packDenoiser, packPath, readManifest } from "../../node/packs";
import { decodePng } from "../../node/png";
import { type BuildReference, buildDataset } from "../../src/core/dataset/build";
import { meanQuality, type PreferenceDataset } from "../../src/core/dataset/types";
import type { DenoiserArch } from "../../src/core/engine/arch";
import { CpuTrainer } from "../../src/core/engine/trainer";
import type { AdapterTensors, GenerateSettings, PromptChoice } from "../../src/core/generate";
import { imageToTensor } from "../../src/core/generate/image";
import type { Manifest } from "../../src/core/pack/manifest";
import { alphasCumprod } from "../../src/core/sampling";
import {
  type Checkpoint,
  DEFAULT_TRAIN_CONFIG,
  NonFiniteError,
  type StepReport,
  StepSource,
  type TrainConfig,
  TrainingLoop,
} from "../../src/core/training/loop";
import type { TrainerChoice } from "../../src/gpu/trainer";

export interface HeadlessConfig {
  pack: string;
  /** Gallery split or subject ids for the training data. */
  subjects: "train" | "heldout" | string[];
  prompts: PromptChoice[];
  seeds: number[];
  sampler: Omit<GenerateSettings, "prompt" | "seed" | "batch">;
  train: Partial<TrainConfig>;
  backend: "cpu" | "webgpu";
}

export const DEFAULT_HEADLESS: HeadlessConfig = {
  pack: "tiny",
  subjects: "train",
  prompts: [{ background: "green" }],
  seeds: [1],
  sampler: { steps: 10, sampler: "ddim", guidanceImage: 3, guidancePrompt: 2, ipScale: 1 },
  train: {},
  backend: "cpu",
};

export interface Pack {
  /** Its folder, absolute. */
  dir: string;
  manifest: Manifest;
  run: ReturnType<typeof nodeRunner>;
  base: AdapterTensors;
  arch: DenoiserArch;
  weights: Map<string, Float32Array>;
}

/** A pack by id (public/models/<id>) or by folder path (one with a slash). */
export function openPack(id: string): Pack {
  const { arch, weights } = packDenoiser(id);
  const dir = resolve(packPath(id));
  return { dir, manifest: readManifest(id), arch, run: nodeRunner(id), base: baseAdapter(id), weights };
}

function references(pack: Pack, subjects: HeadlessConfig["subjects"]): BuildReference[] {
  const { manifest } = pack;
  const all = [...(manifest.gallery?.train ?? []), ...(manifest.gallery?.heldout ?? [])];
  const picked =
    typeof subjects === "string" ? (manifest.gallery?.[subjects] ?? []) : all.filter((e) => subjects.includes(e.id));
  if (!picked.length) throw new Error(`pack ${manifest.id}: no gallery subjects for ${JSON.stringify(subjects)}`);
  return picked.map((e) => {
    const png = decodePng(readFileSync(`${pack.dir}/${e.file}`), e.file);
    return { id: e.id, tensor: imageToTensor(png, manifest.image, e.file) };
  });
}

export function dataset(
  pack: Pack,
  c: HeadlessConfig,
  adapter: AdapterTensors = pack.base,
): Promise<PreferenceDataset> {
  return buildDataset({
    run: pack.run,
    manifest: pack.manifest,
    adapter,
    references: references(pack, c.subjects),
    prompts: c.prompts,
    seeds: c.seeds,
    sampler: c.sampler,
  });
}

/** Mean patch quality of images generated with `adapter` from the subjects, prompts and seeds of `c`. */
export async function meanPatchQuality(pack: Pack, c: HeadlessConfig, adapter: AdapterTensors): Promise<number> {
  const ds = await dataset(pack, c, adapter);
  return ds.samples.reduce((s, x) => s + meanQuality(x), 0) / ds.samples.length;
}

/**
 * The trainer for `backend`. The WGSL engine imports its kernels as `?raw` modules, which only
 * Vite resolves, so it is loaded through a Vite SSR server; the CPU engine is plain TypeScript.
 */
async function trainerFor(pack: Pack, backend: HeadlessConfig["backend"]): Promise<TrainerChoice> {
  if (backend === "cpu") return { trainer: new CpuTrainer(pack.arch, pack.weights), backend: "cpu", ctx: null };
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals);
  const server = await createServer({ logLevel: "warn", server: { middlewareMode: true, hmr: false } });
  try {
    const mod = (await server.ssrLoadModule("/src/gpu/trainer.ts")) as typeof import("../../src/gpu/trainer");
    return await mod.createTrainer(create([]), pack.arch, pack.weights);
  } finally {
    await server.close();
  }
}

export interface TrainResult {
  adapter: Map<string, Float32Array>;
  reports: StepReport[];
  backend: "webgpu" | "cpu";
  /** Set when the run stopped on a non-finite value; the adapter is then the last good checkpoint's. */
  stopped?: string;
}

/** Trains on `ds`; `engine` (default: `c.backend`'s) is destroyed, with its context, at the end. */
export async function train(
  pack: Pack,
  ds: PreferenceDataset,
  c: HeadlessConfig,
  onStep: (r: StepReport) => void = () => {},
  engine?: TrainerChoice,
): Promise<TrainResult> {
  const config = { ...DEFAULT_TRAIN_CONFIG, ...c.train, loss: { ...DEFAULT_TRAIN_CONFIG.loss, ...c.train.loss } };
  const { manifest } = pack;
  const choice = engine ?? (await trainerFor(pack, c.backend));
  const latent = { channels: manifest.latent.channels, height: manifest.latent.height, width: manifest.latent.width };
  const loop = new TrainingLoop(choice.trainer, new StepSource(ds, config, latent, alphasCumprod(manifest.scheduler)));
  const reports: StepReport[] = [];
  let good: Checkpoint = await loop.checkpoint();
  let stopped: string | undefined;
  try {
    while (!loop.done) {
      for (const r of await loop.next(loop.stepsToReadback(reports.at(-1)?.ms ?? 0, config.checkpointEvery))) {
        reports.push(r);
        onStep(r);
      }
      if (loop.step % config.checkpointEvery === 0 || loop.done) good = await loop.checkpoint();
    }
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    stopped = `${e.message}; restored the checkpoint of step ${good.step}`;
  } finally {
    choice.trainer.destroy();
    choice.ctx?.destroy();
  }
  return { adapter: good.adapter, reports, backend: choice.backend, stopped };
}
