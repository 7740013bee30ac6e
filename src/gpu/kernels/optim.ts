/**
 * Grad-norm clipping + AdamW on one flat parameter buffer (optim.wgsl); the CPU counterparts are
 * `clipGradNorm` and `adamwStep` in core/engine/optim. The squared norm stays on the device
 * (`sq`, one float) so a step needs no readback.
 */
import { ADAMW_DEFAULTS, type AdamWOptions } from "../../core/engine/optim.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { declareKernels, loadKernels } from "./dispatch.ts";
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

const OPTIM = declareKernels({
  name: "optim",
  code,
  params: {
    n: "u32",
    lr: "f32",
    beta1: "f32",
    beta2: "f32",
    eps: "f32",
    wd: "f32",
    bc1: "f32",
    bc2_sqrt: "f32",
    max_norm: "f32",
  },
  entries: { sum_squares: ["grad", "sq"], adamw: ["grad", "param", "m", "v", "sq_in"] },
});

export async function optimKernels(ctx: GpuContext): Promise<OptimKernels> {
  const k = await loadKernels(ctx, OPTIM, {
    sumSquares: { entryPoint: "sum_squares" },
    adamw: { entryPoint: "adamw" },
  });
  return {
    step(b, n, t, step, options) {
      const o = { ...ADAMW_DEFAULTS, ...options };
      k.sumSquares.dispatch(b, { n }, { grad: [t.grad, n], sq: [t.sq, 1] }, [1]);
      const params = {
        n,
        lr: o.lr,
        beta1: o.beta1,
        beta2: o.beta2,
        eps: o.eps,
        wd: o.weightDecay,
        bc1: 1 - o.beta1 ** step,
        bc2_sqrt: Math.sqrt(1 - o.beta2 ** step),
        max_norm: o.maxNorm ?? 0,
      };
      const flat = { grad: [t.grad, n], param: [t.param, n], m: [t.m, n], v: [t.v, n], sq_in: [t.sq, 1] } as const;
      k.adamw.dispatchThreads(b, params, flat, n);
    },
  };
}
