/**
 * Data-parallel CPU training, as DDP does it across processes: a batch is split into shards, each
 * shard's loss and gradients are computed on its own thread (a `ShardWorker`), and the gradients
 * are averaged with the shard's share of the loss before one optimizer step on the combined
 * gradient. Both objectives are means over units (elements for MSE, winner/loser pairs for
 * Diffusion-DPO), so `L = Σ_s share_s·L_s` and the same for every gradient: exact, up to the
 * order of float sums. The first shard runs on the calling thread while the workers run theirs.
 */
import type { F32 } from "./ops";
import {
  type AdapterTrainer,
  type CpuTrainer,
  type LossAndGrads,
  MSE,
  type Objective,
  type TrainingBatch,
  type TrainOptions,
} from "./trainer";

/** A thread computing shards: told the policy adapter with each call, the reference when it changes. */
export interface ShardWorker {
  lossAndGrads(batch: TrainingBatch, objective: Objective, adapter: ReadonlyMap<string, F32>): Promise<LossAndGrads>;
  writeReference(tensors: ReadonlyMap<string, F32>): Promise<void>;
  destroy(): void;
}

/** The worker side of a shard: a CpuTrainer that takes the policy adapter with every call. */
export function shardOn(trainer: CpuTrainer): ShardWorker {
  return {
    async lossAndGrads(batch, objective, adapter) {
      trainer.writeAdapter(adapter);
      return trainer.lossAndGrads(batch, objective);
    },
    async writeReference(tensors) {
      trainer.writeAdapter(tensors, true);
    },
    destroy: () => trainer.destroy(),
  };
}

export interface Shard {
  /** Batch items of the shard, in the order its sub-batch holds them. */
  items: number[];
  /** Its share of the loss: its units over the batch's. */
  share: number;
}

/**
 * Splits `items` batch items into at most `count` shards of whole units: items for MSE, pairs
 * for DPO (the batch holds P winners then P losers; a shard holds its winners then its losers).
 */
export function shardBatch(items: number, objective: Objective, count: number): Shard[] {
  const pairs = objective.kind === "dpo";
  const units = pairs ? items / 2 : items;
  const shards: Shard[] = [];
  const size = Math.ceil(units / Math.max(1, Math.min(count, units)));
  for (let first = 0; first < units; first += size) {
    const unit = Array.from({ length: Math.min(size, units - first) }, (_, i) => first + i);
    shards.push({ items: pairs ? [...unit, ...unit.map((u) => u + units)] : unit, share: unit.length / units });
  }
  return shards;
}

/** Values of `x` (`items` equal rows) at the rows `rows`, in that order, into `out`. */
function gatherRows<T extends F32 | Int32Array>(x: ArrayLike<number>, items: number, rows: number[], out: T): T {
  const d = x.length / items;
  rows.forEach((r, i) => {
    for (let e = 0; e < d; e++) out[i * d + e] = x[r * d + e];
  });
  return out;
}

/** The sub-batch of a shard's items. */
export function gatherBatch(batch: TrainingBatch, rows: number[]): TrainingBatch {
  const { inputs } = batch;
  const items = inputs.timestep.length;
  const share = (x: ArrayLike<number>) => (x.length / items) * rows.length;
  const f32 = (x: ArrayLike<number>) => gatherRows(x, items, rows, new Float32Array(share(x)));
  return {
    inputs: {
      latent: f32(inputs.latent),
      timestep: f32(inputs.timestep),
      promptIds: gatherRows(inputs.promptIds, items, rows, new Int32Array(share(inputs.promptIds))),
      imageTokens: f32(inputs.imageTokens),
      ipScale: inputs.ipScale,
    },
    target: f32(batch.target),
    weight: batch.weight && f32(batch.weight),
  };
}

/** `Σ_s share_s·result_s`, input gradients scattered back to their items. */
export function combineShards(items: number, shards: Shard[], results: LossAndGrads[]): LossAndGrads {
  const [first] = results;
  const adapter = new Map([...first.adapter].map(([n, g]) => [n, new Float32Array(g.length)]));
  const latent = new Float32Array((first.latent.length / shards[0].items.length) * items);
  const imageTokens = new Float32Array((first.imageTokens.length / shards[0].items.length) * items);
  let loss = 0;
  shards.forEach(({ items: rows, share }, s) => {
    const r = results[s];
    loss += share * r.loss;
    for (const [n, g] of adapter) {
      const part = r.adapter.get(n);
      if (!part) throw new Error(`sharded training: shard ${s} has no gradient for ${n}`);
      for (let i = 0; i < g.length; i++) g[i] += share * part[i];
    }
    for (const [whole, part] of [
      [latent, r.latent],
      [imageTokens, r.imageTokens],
    ]) {
      const d = part.length / rows.length;
      rows.forEach((row, i) => {
        for (let e = 0; e < d; e++) whole[row * d + e] = share * part[i * d + e];
      });
    }
  });
  return { loss, adapter, latent, imageTokens };
}

/**
 * The CPU engine over several threads: `local` computes the first shard and owns the adapter and
 * optimizer; each worker computes one further shard. Steps are queued in order, as on the GPU.
 */
export class ShardedTrainer implements AdapterTrainer {
  private pending: Promise<unknown> = Promise.resolve();
  /** The error of a queued call nobody awaited (a step), thrown by the next call. */
  private failure: unknown;
  private lastLoss = Number.NaN;
  private stepLosses: number[] = [];

  constructor(
    private readonly local: CpuTrainer,
    private readonly workers: readonly ShardWorker[],
  ) {}

  /** Threads a step uses: the calling one and the workers. */
  get threads(): number {
    return this.workers.length + 1;
  }

  forward(inputs: TrainingBatch["inputs"], reference?: boolean): Promise<F32> {
    return this.after(() => this.local.forward(inputs, reference));
  }

  lossAndGrads(batch: TrainingBatch, objective: Objective = MSE): Promise<LossAndGrads> {
    return this.after(() => this.compute(batch, objective));
  }

  trainStep(batch: TrainingBatch, options: TrainOptions, objective: Objective = MSE): void {
    this.queue(async () => {
      const { loss, adapter } = await this.compute(batch, objective);
      this.local.applyGradients(adapter, options);
      this.stepLosses.push(loss);
    });
  }

  readLoss(): Promise<number> {
    return this.after(async () => this.lastLoss);
  }

  readLosses(): Promise<number[]> {
    return this.after(async () => this.stepLosses.splice(0));
  }

  readAdapter(reference?: boolean): Promise<Map<string, F32>> {
    return this.after(() => this.local.readAdapter(reference));
  }

  writeAdapter(tensors: ReadonlyMap<string, F32>, reference = false): void {
    this.queue(async () => {
      this.local.writeAdapter(tensors, reference);
      if (reference) await Promise.all(this.workers.map((w) => w.writeReference(tensors)));
    });
  }

  readOptimizer() {
    return this.after(() => this.local.readOptimizer());
  }

  writeOptimizer(state: Parameters<CpuTrainer["writeOptimizer"]>[0]): void {
    this.queue(async () => this.local.writeOptimizer(state));
  }

  destroy(): void {
    for (const w of this.workers) w.destroy();
    this.local.destroy();
  }

  /** Runs `work` after everything queued before it; an earlier queued call's failure fails it. */
  private after<T>(work: () => Promise<T>): Promise<T> {
    const next = this.pending.then(() => {
      const failure = this.failure;
      this.failure = undefined;
      if (failure !== undefined) throw failure;
      return work();
    });
    this.pending = next.catch(() => undefined);
    return next;
  }

  /** `after`, for calls that return nothing: their failure is kept for the next call. */
  private queue(work: () => Promise<void>): void {
    this.after(work).catch((e: unknown) => {
      this.failure = e;
    });
  }

  private async compute(batch: TrainingBatch, objective: Objective): Promise<LossAndGrads> {
    const items = batch.inputs.timestep.length;
    const shards = shardBatch(items, objective, this.threads);
    if (shards.length === 1) {
      const whole = await this.local.lossAndGrads(batch, objective);
      this.lastLoss = whole.loss;
      return whole;
    }
    const adapter = await this.local.readAdapter();
    // Post the workers' shards first: the local shard below holds this thread until it is done.
    const remote = shards
      .slice(1)
      .map((s, i) => this.workers[i].lossAndGrads(gatherBatch(batch, s.items), objective, adapter));
    const mine = await this.local.lossAndGrads(gatherBatch(batch, shards[0].items), objective);
    const combined = combineShards(items, shards, [mine, ...(await Promise.all(remote))]);
    this.lastLoss = combined.loss;
    return combined;
  }
}
