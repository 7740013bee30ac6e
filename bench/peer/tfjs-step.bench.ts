/**
 * Page module of the `engine` scenario's TensorFlow.js comparison (issue 17), loaded unbundled
 * from the Vite dev server: one PatchDPO adapter training step (forward, loss, backward, clipped
 * AdamW) on the same batch in tfjs-webgpu vs our WGSL engine and in tfjs-wasm vs our CPU engine.
 * Parity against the CPU engine is checked on every tfjs backend first (loss and adapter
 * gradients, and the adapter's change over one step); above `PARITY_LIMIT` it throws, so no
 * timing of a different computation is reported.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { denoiserArch } from "../../src/core/engine/arch";
import { ShardedTrainer } from "../../src/core/engine/sharded";
import { type AdapterTrainer, CpuTrainer } from "../../src/core/engine/trainer";
import type { Manifest } from "../../src/core/pack/manifest";
import { requireRole } from "../../src/core/pack/roles";
import { parseSafetensors } from "../../src/core/safetensors";
import { medianMs } from "../../src/core/timing";
import type { GpuContext } from "../../src/gpu/context";
import { GpuDenoiser } from "../../src/gpu/denoiser";
import { cpuShardWorkers, cpuThreads } from "../../workers/cpu-shards";
import { peerStep } from "./batch";
import { gradParity, PARITY_LIMIT, stepParity } from "./parity";
import { TfjsDenoiser } from "./tfjs-denoiser";

export interface PeerBenchOptions {
  readPackFile: (name: string) => Promise<Uint8Array>;
  /** URL folder of tfjs-backend-wasm's .wasm files, ending in "/". */
  wasmPaths: string;
  /** Draws per step; PatchDPO with the reference term makes two batch items of each. */
  draws?: number;
  warmup?: number;
  runs?: number;
  /** Timed steps of our CPU engine (seconds each on the emoji64 pack). */
  cpuRuns?: number;
}

export interface PeerBenchResult {
  train_step_vs_tfjs_webgpu: number;
  train_step_vs_tfjs_wasm: number;
  /** The same with our CPU engine on one thread, as tfjs-wasm ran here (`tfjs_wasm_threads`). */
  train_step_vs_tfjs_wasm_one_thread: number;
  tfjs_parity_rel_err: number;
  tfjs_parity: Record<string, number>;
  /** The same for the adapter's change over one clipped AdamW step. */
  tfjs_step_parity_rel_err: number;
  tfjs_step_parity: Record<string, number>;
  wgsl_parity_rel_err: number;
  wgsl_step_parity_rel_err: number;
  peer_step_ms: { wgsl: number; tfjs_webgpu: number; cpu: number; cpu_one_thread: number; tfjs_wasm: number };
  peer_batch: number;
  tfjs_wasm_threads: number;
  cpu_engine_threads: number;
  cross_origin_isolated: boolean;
}

export async function benchTfjsPeer(
  ctx: GpuContext,
  { readPackFile, wasmPaths, draws = 4, warmup = 1, runs = 3, cpuRuns = 3 }: PeerBenchOptions,
): Promise<PeerBenchResult> {
  const manifest = JSON.parse(new TextDecoder().decode(await readPackFile("manifest.json"))) as Manifest;
  const arch = denoiserArch(manifest);
  const { tensors } = parseSafetensors(await readPackFile(requireRole(manifest, "denoiser").weights.file));
  const weights = new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
  const { batch, objective } = peerStep(arch, manifest.scheduler, draws);
  const options = { lr: 3e-5, weightDecay: 0.01, maxNorm: 1 };
  setWasmPaths(wasmPaths);
  // Every core for XNNPACK too (threads need the page's cross-origin isolation), as our CPU engine has.
  setThreadsCount(navigator.hardwareConcurrency);
  const backends = ["webgpu", "wasm"] as const;

  // Parity first, from the unchanged base adapter, against the CPU engine (the oracle of both
  // engines): loss and gradients, then one clipped AdamW step at a larger lr (see `stepParity`).
  const checkStep = { ...options, lr: 1e-2 };
  const cpu = new CpuTrainer(arch, weights);
  const oracle = await cpu.lossAndGrads(batch, objective);
  const before = await cpu.readAdapter();
  const stepped = async (t: Pick<AdapterTrainer, "trainStep" | "readAdapter" | "readOptimizer">) => {
    t.trainStep(batch, checkStep, objective);
    return { before, after: await t.readAdapter(), optimizer: await t.readOptimizer() };
  };
  const oracleStep = (await stepped(cpu)).optimizer;
  const gpu = await GpuDenoiser.create(ctx, arch, weights);
  const wgsl_parity_rel_err = gradParity(await gpu.lossAndGrads(batch, objective), oracle);
  const wgsl_step_parity_rel_err = stepParity(await stepped(gpu), oracleStep, checkStep);
  const tfjs_parity: Record<string, number> = {};
  const tfjs_step_parity: Record<string, number> = {};
  for (const b of backends) {
    if (!(await tf.setBackend(b))) throw new Error(`tfjs: the ${b} backend did not initialise`);
    const peer = new TfjsDenoiser(arch, weights);
    try {
      tfjs_parity[b] = gradParity(await peer.lossAndGrads(batch, objective), oracle);
      tfjs_step_parity[b] = stepParity(await stepped(peer), oracleStep, checkStep);
    } finally {
      peer.dispose();
    }
  }
  const tfjs_parity_rel_err = Math.max(...Object.values(tfjs_parity));
  const tfjs_step_parity_rel_err = Math.max(...Object.values(tfjs_step_parity));
  if (!(tfjs_parity_rel_err <= PARITY_LIMIT && tfjs_step_parity_rel_err <= PARITY_LIMIT)) {
    gpu.destroy();
    throw new Error(
      `tfjs peer disagrees with the CPU engine beyond ${PARITY_LIMIT} (loss/gradients ${JSON.stringify(tfjs_parity)}, one step ${JSON.stringify(tfjs_step_parity)}); not timing it`,
    );
  }

  // Timings: each a median of steps after warm-up, every one waited for.
  const wgsl = await medianMs(
    async () => {
      gpu.trainStep(batch, options, objective);
      await ctx.sync();
    },
    warmup,
    runs,
  );
  gpu.destroy();
  // The CPU engine on this thread alone (the parity step above was its warm-up), then as the
  // studio trains with it: on every core (up to its thread cap).
  const cpuOneMs = await medianMs(() => cpu.trainStep(batch, options, objective), 0, cpuRuns);
  const threads = new ShardedTrainer(new CpuTrainer(arch, weights), await cpuShardWorkers(arch, weights));
  const cpuMs = await medianMs(
    async () => {
      threads.trainStep(batch, options, objective);
      await threads.readLoss();
    },
    1,
    cpuRuns,
  );
  threads.destroy();
  const peerMs: Record<string, number> = {};
  for (const b of backends) {
    await tf.setBackend(b);
    const peer = new TfjsDenoiser(arch, weights);
    try {
      peerMs[b] = await medianMs(
        async () => {
          peer.trainStep(batch, options, objective);
          await peer.readLoss();
        },
        warmup,
        runs,
      );
    } finally {
      peer.dispose();
    }
  }

  return {
    train_step_vs_tfjs_webgpu: peerMs.webgpu / wgsl,
    train_step_vs_tfjs_wasm: peerMs.wasm / cpuMs,
    train_step_vs_tfjs_wasm_one_thread: peerMs.wasm / cpuOneMs,
    tfjs_parity_rel_err,
    tfjs_parity,
    tfjs_step_parity_rel_err,
    tfjs_step_parity,
    wgsl_parity_rel_err,
    wgsl_step_parity_rel_err,
    peer_step_ms: { wgsl, tfjs_webgpu: peerMs.webgpu, cpu: cpuMs, cpu_one_thread: cpuOneMs, tfjs_wasm: peerMs.wasm },
    peer_batch: batch.inputs.timestep.length,
    tfjs_wasm_threads: getThreadsCount(),
    cpu_engine_threads: cpuThreads(),
    cross_origin_isolated: globalThis.crossOriginIsolated,
  };
}
