/**
 * The CPU training engine's extra threads: one module worker per further core (up to
 * MAX_CPU_THREADS in all), each holding a copy of the frozen weights (src/core/engine/sharded.ts).
 */
import * as Comlink from "comlink";
import type { DenoiserArch } from "../src/core/engine/arch";
import type { ShardWorker } from "../src/core/engine/sharded";
import type { LoraTensors } from "../src/core/engine/trainer";
import type { CpuShardApi } from "./cpu-shard.worker";

/** Beyond a few threads the emoji64 batch has too few items per shard to gain. */
export const MAX_CPU_THREADS = 4;

/** Threads the CPU engine uses here: every core, up to MAX_CPU_THREADS. */
export function cpuThreads(): number {
  return Math.max(1, Math.min(MAX_CPU_THREADS, globalThis.navigator?.hardwareConcurrency ?? 1));
}

/** `count` started shard workers for this denoiser (by default, one per further core). */
export async function cpuShardWorkers(
  arch: DenoiserArch,
  weights: ReadonlyMap<string, Float32Array>,
  lora?: LoraTensors,
  count = cpuThreads() - 1,
): Promise<ShardWorker[]> {
  const workers = Array.from(
    { length: count },
    () => new Worker(new URL("./cpu-shard.worker.ts", import.meta.url), { type: "module", name: "cpu-shard" }),
  );
  try {
    const shards = workers.map((worker, i): ShardWorker & { ready: Promise<void> } => {
      const remote = Comlink.wrap<CpuShardApi>(worker);
      // Comlink never settles a call whose worker died (e.g. out of memory): race every call with that.
      const died = new Promise<never>((_, reject) =>
        worker.addEventListener("error", (e) =>
          reject(new Error(`CPU engine thread ${i + 2} stopped: ${e.message || "worker error"}`)),
        ),
      );
      died.catch(() => undefined);
      const call = <T>(p: Promise<T>) => Promise.race([p, died]);
      return {
        ready: call(remote.init(arch, weights, lora)),
        lossAndGrads: (batch, objective, adapter) => call(remote.lossAndGrads(batch, objective, adapter)),
        writeReference: (tensors) => call(remote.writeReference(tensors)),
        destroy: () => worker.terminate(),
      };
    });
    await Promise.all(shards.map((s) => s.ready));
    return shards;
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }
}
