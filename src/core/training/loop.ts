/**
 * The training loop shared by the training worker, the headless command and the benchmark: draws
 * each step's samples, noise and timesteps deterministically from (seed, step) — so a run resumed
 * from a checkpoint continues the same sequence — runs one engine step, reports progress, takes
 * checkpoints and refuses to continue from a non-finite loss or adapter.
 */
import { type DatasetSample, isTwoSubject, type PreferenceDataset } from "../dataset/types";
import { dpoLoss, perSampleMse } from "../engine/objectives";
import type { OptimizerState } from "../engine/optim";
import type { AdapterTrainer, Objective, TrainingBatch } from "../engine/trainer";
import { gaussian, uint32Stream } from "../sampling";
import { buildStep, type LossOptions, type LossPart, mergeSteps, type StepDraw } from "./steps";
import { DEFAULT_WEIGHTS, type LatentShape } from "./weights";

export interface TrainConfig {
  loss: LossOptions;
  steps: number;
  /**
   * Draws per step: the loss and gradient are the mean over this many (sample, noise, timestep)
   * draws. The PyTorch trainer splits them across torchrun's processes.
   */
  batchSize: number;
  /** AdamW learning rate; the official code uses 3e-5 (small packs learn visibly only with larger). */
  lr: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 disables. */
  maxNorm: number;
  seed: number;
  /** Take a checkpoint every this many steps. */
  checkpointEvery: number;
  /** How many of the newest checkpoints a stored run keeps (each its own entry; older ones are deleted). */
  keepCheckpoints: number;
  /** Measure the gradient norm and reward margin / weighted errors every this many steps (extra passes). */
  monitorEvery: number;
  ipScale: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  loss: { method: "patchdpo", beta: 2500, weights: DEFAULT_WEIGHTS, useReference: true, pairing: "reference" },
  steps: 200,
  batchSize: 1,
  lr: 3e-5,
  weightDecay: 0.01,
  maxNorm: 1,
  seed: 0,
  checkpointEvery: 10,
  keepCheckpoints: 2,
  monitorEvery: 5,
  ipScale: 1,
};

export interface Checkpoint {
  /** Steps completed. */
  step: number;
  adapter: Map<string, Float32Array>;
  optimizer: OptimizerState;
}

export interface StepReport {
  step: number;
  loss: number;
  lr: number;
  ms: number;
  /** On monitor steps: ‖∇L‖ before clipping. */
  gradNorm?: number;
  /** On monitor steps of DPO-style losses: the implicit reward margin −d (mean over pairs). */
  margin?: number;
  /** On monitor steps of MSE-style losses: each item's weighted error (reference first when present). */
  itemErrors?: number[];
  /** Two-subject runs: the part of the loss the step trained (core/training/steps.ts). */
  part?: LossPart;
}

export class NonFiniteError extends Error {
  constructor(
    readonly step: number,
    what: string,
  ) {
    super(`step ${step}: the ${what} became NaN or infinite (learning rate too large?)`);
  }
}

/** Which samples a DPO-by-quality step may pair with a sample: others of the same reference (or pair). */
function partners(ds: PreferenceDataset): number[][] {
  const same = (a: DatasetSample, b: DatasetSample) => a.ref === b.ref && a.second?.ref === b.second?.ref;
  return ds.samples.map((s, i) => ds.samples.flatMap((o, j) => (j !== i && same(o, s) ? [j] : [])));
}

/** Throws when the dataset cannot feed the configured loss, or the batch size is not a count. */
export function checkDataset(ds: PreferenceDataset, { loss, batchSize }: TrainConfig): void {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a whole number ≥ 1, got ${batchSize}`);
  if (ds.samples.length === 0) throw new Error("the dataset has no generated images");
  const two = isTwoSubject(ds);
  if (ds.samples.some((s) => (s.second !== undefined) !== two))
    throw new Error("the dataset mixes one- and two-subject samples; a dataset holds one kind");
  if (two && loss.method === "dpo" && loss.pairing === "reference")
    throw new Error(
      "image-level DPO with the reference as winner needs one reference per image; on a two-subject dataset pair by quality",
    );
  if (loss.method === "dpo" && loss.pairing === "quality" && partners(ds).some((p) => p.length === 0))
    throw new Error(
      `DPO by quality needs at least two generated images per ${two ? "pair of references" : "reference"}`,
    );
}

function finite(values: Iterable<Float32Array>): boolean {
  for (const t of values) for (const v of t) if (!Number.isFinite(v)) return false;
  return true;
}

/** What each step trains on: a pure function of (dataset, config, step), without an engine. */
export class StepSource {
  private readonly partners: number[][];

  constructor(
    private readonly ds: PreferenceDataset,
    readonly config: TrainConfig,
    private readonly latent: LatentShape,
    private readonly alphasCumprod: Float64Array,
  ) {
    checkDataset(ds, config);
    this.partners = partners(ds);
  }

  /**
   * Step `step`'s `batchSize` draws of sample, partner, noise and timestep: a pure function of
   * (seed, step), one stream read in order, so draw 0 is the same whatever the batch size.
   */
  draws(step: number): StepDraw[] {
    const next = uint32Stream((this.config.seed * 1_000_003 + step) >>> 0);
    const n = this.latent.channels * this.latent.height * this.latent.width;
    const part = this.partAt(step);
    return Array.from({ length: this.config.batchSize }, () => {
      const sample = next() % this.ds.samples.length;
      const p = this.partners[sample];
      return {
        sample,
        other: p.length ? p[next() % p.length] : undefined,
        timestep: next() % this.alphasCumprod.length,
        noise: gaussian(next(), n),
        ...(part ? { part } : {}),
      };
    });
  }

  /**
   * The part of the loss step `step` trains: two-subject losses with a reference term alternate
   * between the generated image and the references (steps.ts); other runs have no parts.
   */
  partAt(step: number): LossPart | undefined {
    const { loss } = this.config;
    if (!isTwoSubject(this.ds) || !loss.useReference || loss.method === "dpo") return undefined;
    return step % 2 === 0 ? "generated" : "references";
  }

  /** Step `step`'s batch (all its draws merged) and objective. */
  batchAt(step: number): { batch: TrainingBatch; objective: Objective } {
    const c = this.config;
    return mergeSteps(
      this.draws(step).map((d) => buildStep(this.ds, d, c.loss, this.latent, this.alphasCumprod, c.ipScale)),
    );
  }
}

/** Work between two loss readbacks of a training loop, and its step cap. */
export const READBACK_MS = 250;
export const MAX_STEPS_PER_READBACK = 16;

export class TrainingLoop {
  readonly config: TrainConfig;
  step: number;

  constructor(
    private readonly trainer: AdapterTrainer,
    readonly source: StepSource,
    start = 0,
  ) {
    this.config = source.config;
    this.step = start;
  }

  get done(): boolean {
    return this.step >= this.config.steps;
  }

  /**
   * How many steps the next `next()` should queue: about READBACK_MS of work at `msPerStep` (up
   * to MAX_STEPS_PER_READBACK, so pausing stays quick), never past a multiple of any of `every`
   * (checkpoints, previews) or the end.
   */
  stepsToReadback(msPerStep: number, ...every: number[]): number {
    let k = msPerStep > 0 ? Math.floor(READBACK_MS / msPerStep) : 1;
    k = Math.max(1, Math.min(MAX_STEPS_PER_READBACK, k, this.config.steps - this.step));
    for (const e of every) if (e > 0) k = Math.min(k, e - (this.step % e));
    return k;
  }

  /**
   * Up to `steps` optimizer steps queued back to back, their losses read in one go at the end (so
   * a GPU engine runs them without a host round trip); a monitored step still reads its gradient.
   * Throws NonFiniteError for the first non-finite step (the adapter since the last checkpoint is
   * the caller's to restore).
   */
  async next(steps = 1): Promise<StepReport[]> {
    const started = performance.now();
    const { config: c } = this;
    const reports: StepReport[] = [];
    for (; reports.length < steps && !this.done; this.step++) {
      const { batch, objective } = this.source.batchAt(this.step);
      const part = this.source.partAt(this.step);
      const report: StepReport = { step: this.step + 1, loss: Number.NaN, lr: c.lr, ms: 0, ...(part ? { part } : {}) };
      if (c.monitorEvery > 0 && this.step % c.monitorEvery === 0) await this.monitor(report, batch, objective);
      this.trainer.trainStep(batch, { lr: c.lr, weightDecay: c.weightDecay, maxNorm: c.maxNorm }, objective);
      reports.push(report);
    }
    const losses = await this.trainer.readLosses();
    const ms = (performance.now() - started) / Math.max(1, reports.length);
    reports.forEach((report, i) => {
      report.loss = losses[i];
      report.ms = ms;
      if (!Number.isFinite(report.loss) || (report.gradNorm !== undefined && !Number.isFinite(report.gradNorm)))
        throw new NonFiniteError(report.step, "loss");
    });
    return reports;
  }

  /** The gradient norm and the per-item errors (or the DPO margin) of a step, before it is taken. */
  private async monitor(report: StepReport, batch: TrainingBatch, objective: Objective): Promise<void> {
    const { adapter } = await this.trainer.lossAndGrads(batch, objective);
    let sq = 0;
    for (const g of adapter.values()) for (const v of g) sq += v * v;
    report.gradNorm = Math.sqrt(sq);
    const items = batch.inputs.timestep.length;
    const e = perSampleMse(await this.trainer.forward(batch.inputs), batch.target, items, batch.weight);
    if (objective.kind === "dpo") {
      const eRef = perSampleMse(await this.trainer.forward(batch.inputs, true), batch.target, items, batch.weight);
      const p = items / 2;
      const terms = {
        winner: e.subarray(0, p),
        loser: e.subarray(p),
        refWinner: eRef.subarray(0, p),
        refLoser: eRef.subarray(p),
      };
      report.margin = dpoLoss(terms, objective.beta).margin;
    } else {
      report.itemErrors = [...e];
    }
  }

  /** The current adapter and optimizer state; throws NonFiniteError rather than save a broken one. */
  async checkpoint(): Promise<Checkpoint> {
    const adapter = await this.trainer.readAdapter();
    const optimizer = await this.trainer.readOptimizer();
    if (!finite(adapter.values()) || !finite(optimizer.m.values()) || !finite(optimizer.v.values()))
      throw new NonFiniteError(this.step, "adapter");
    return { step: this.step, adapter, optimizer };
  }

  restore(cp: Checkpoint): void {
    this.trainer.writeAdapter(cp.adapter);
    this.trainer.writeOptimizer(cp.optimizer);
    this.step = cp.step;
  }
}
