/**
 * Grad-norm clipping + AdamW on one flat parameter buffer (optim.wgsl); the CPU counterparts are
 * `clipGradNorm` and `adamwStep` in core/engine/optim. The squared norm stays on the device
 * (`sq`, one float) so a step needs no readback.
 */
import { ADAMW_DEFAULTS, type AdamWOptions } from "../../core/engine/optim.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { dispatchThreads, loadKernels, params } from "./dispatch.ts";
import code from "./optim.wgsl?raw";

export interface FlatParams {
  param: Binding;
  grad: Binding;
  m: Binding;
  v: Binding;
  /** One float: receives Σ g² (the squared global norm before clipping). */
  sq: Binding;
}

export interface OptimKernels {
  /** One step number `t` (1-based) over n values; `maxNorm` ≤ 0 disables clipping. */
  step(b: CommandBatch, n: number, t: FlatParams, step: number, options: AdamWOptions & { maxNorm?: number }): void;
}

export async function optimKernels(ctx: GpuContext): Promise<OptimKernels> {
  const k = await loadKernels(ctx, code, { sumSquares: { entryPoint: "sum_squares" }, adamw: { entryPoint: "adamw" } });
  return {
    step(b, n, t, step, options) {
      const o = { ...ADAMW_DEFAULTS, ...options };
      b.dispatch(k.sumSquares, [params(b, [n]), t.grad, t.sq], [1]);
      const u = params(
        b,
        [n],
        [
          o.lr,
          o.beta1,
          o.beta2,
          o.eps,
          o.weightDecay,
          1 - o.beta1 ** step,
          Math.sqrt(1 - o.beta2 ** step),
          o.maxNorm ?? 0,
        ],
      );
      dispatchThreads(b, k.adamw, [u, t.grad, null, t.param, t.m, t.v, t.sq], n);
    },
  };
}
