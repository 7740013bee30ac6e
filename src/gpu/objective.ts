/**
 * The training objectives (`Objective` of core/engine/trainer.ts) recorded on the GPU: the loss
 * goes to a one-float buffer that stays on the device until someone reads it, and ∂L/∂ε̂ to a
 * batch temporary that the graph's backward starts from.
 */
import type { Objective } from "../core/engine/trainer.ts";
import type { CommandBatch } from "./batch.ts";
import type { GpuContext } from "./context.ts";
import type { LossKernels } from "./kernels/loss.ts";
import { storageUsage, upload } from "./transfer.ts";

/** Prediction, noise target and optional per-element weights of `items` samples, `n` values in all. */
export interface ObjectiveOperands {
  items: number;
  n: number;
  /** ε̂ of the trained adapter. */
  eps: GPUBuffer;
  target: GPUBuffer;
  weight?: GPUBuffer;
}

export class ObjectiveRecorder {
  /** The latest recorded loss (one float). */
  readonly loss: GPUBuffer;
  /** ∂L/∂(mean error) of plain MSE. */
  private readonly one: GPUBuffer;

  constructor(
    private readonly ctx: GpuContext,
    private readonly k: LossKernels,
  ) {
    this.loss = upload(ctx, new Float32Array(1));
    this.one = upload(ctx, new Float32Array([1]));
  }

  /**
   * Records the loss into `loss` and returns ∂L/∂ε̂ (a batch temporary). `reference` records the
   * frozen base adapter's ε̂, called only by objectives that compare against it (DPO).
   */
  record(b: CommandBatch, objective: Objective, t: ObjectiveOperands, reference: () => GPUBuffer): GPUBuffer {
    const { items, n } = t;
    const mse = { pred: t.eps, target: t.target, weight: t.weight };
    const dEps = b.temp(n * 4, storageUsage());
    if (objective.kind === "mse") {
      this.k.sampleErrors(b, n, 1, mse, this.loss);
      this.k.errorGrad(b, n, 1, mse, this.one, dEps);
      return dEps;
    }
    if (items % 2 !== 0) throw new RangeError(`dpo: the batch must hold winners then losers, got ${items} items`);
    const refEps = reference();
    const [errors, refErrors, dErrors] = [b.temp(items * 4), b.temp(items * 4), b.temp(items * 4)];
    this.k.sampleErrors(b, n, items, mse, errors);
    this.k.sampleErrors(b, n, items, { ...mse, pred: refEps }, refErrors);
    this.k.dpo(b, items / 2, objective.beta, errors, refErrors, this.loss, dErrors);
    this.k.errorGrad(b, n, items, mse, dErrors, dEps);
    return dEps;
  }

  destroy(): void {
    this.ctx.pool.release(this.loss);
    this.ctx.pool.release(this.one);
  }
}
