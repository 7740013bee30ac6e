/// <reference lib="webworker" />
/**
 * One extra thread of the CPU training engine (src/core/engine/sharded.ts): holds its own copy of
 * the frozen weights and computes the shards of each step it is sent.
 */
import * as Comlink from "comlink";
import type { DenoiserArch } from "../src/core/engine/arch";
import { type ShardWorker, shardOn } from "../src/core/engine/sharded";
import { CpuTrainer, type LoraTensors } from "../src/core/engine/trainer";

let shard: ShardWorker | undefined;

function started(): ShardWorker {
  if (!shard) throw new Error("cpu shard worker: init() was not called");
  return shard;
}

const api = {
  init(arch: DenoiserArch, weights: ReadonlyMap<string, Float32Array>, lora?: LoraTensors): void {
    shard = shardOn(new CpuTrainer(arch, weights, lora));
  },
  async lossAndGrads(...args: Parameters<ShardWorker["lossAndGrads"]>) {
    const result = await started().lossAndGrads(...args);
    const buffers = [result.latent, result.imageTokens, ...result.adapter.values()].map((a) => a.buffer);
    return Comlink.transfer(result, buffers);
  },
  writeReference: (tensors: ReadonlyMap<string, Float32Array>) => started().writeReference(tensors),
};

export type CpuShardApi = typeof api;

Comlink.expose(api);
