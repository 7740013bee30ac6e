/**
 * Weighted MSE, per-sample errors and the Diffusion-DPO term on the GPU (loss.wgsl); CPU
 * counterparts in core/engine/objectives.ts. Values stay on the device; read them when the caller
 * wants them.
 */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { declareKernels, loadKernels, type Operand, unread } from "./dispatch.ts";
import code from "./loss.wgsl?raw";

export interface MseOperands {
  pred: Binding;
  target: Binding;
  weight?: Binding;
}

export interface LossKernels {
  /** out[s] = mean over sample s of w·(pred − target)², for `samples` equal samples of n values. */
  sampleErrors(b: CommandBatch, n: number, samples: number, t: MseOperands, out: Binding): void;
  /** grad = 2·coef[s]·w·(pred − target)/d: chains ∂L/∂e[s] (`coef`, one per sample) to the prediction. */
  errorGrad(b: CommandBatch, n: number, samples: number, t: MseOperands, coef: Binding, grad: Binding): void;
  /**
   * Diffusion-DPO over P pairs: `errors` and `refErrors` are [winners | losers] (2P); writes the
   * loss to out[0] and ∂L/∂errors to `dErrors`.
   */
  dpo(
    b: CommandBatch,
    pairs: number,
    beta: number,
    errors: Binding,
    refErrors: Binding,
    out: Binding,
    dErrors: Binding,
  ): void;
}

const LOSS = declareKernels({
  name: "loss",
  code,
  params: { n: "u32", segments: "u32", scale: "f32", beta: "f32" },
  entries: {
    sq_err: ["pred", "target_", "weight", "out"],
    reduce: ["out", "e_in"],
    mse_grad: ["pred", "target_", "weight", "coef", "grad"],
    dpo: ["out", "coef", "e_in", "grad"],
  },
});

export async function lossKernels(ctx: GpuContext): Promise<LossKernels> {
  const k = await loadKernels(ctx, LOSS, {
    sqErr: { entryPoint: "sq_err" },
    sqErrWeighted: { entryPoint: "sq_err", constants: { WEIGHTED: 1 } },
    reduce: { entryPoint: "reduce" },
    grad: { entryPoint: "mse_grad" },
    gradWeighted: { entryPoint: "mse_grad", constants: { WEIGHTED: 1 } },
    dpo: { entryPoint: "dpo" },
  });
  /** pred, target and weight over n values; without weights, pred stands in, unread. */
  const mse = (n: number, t: MseOperands): { pred: Operand; target_: Operand; weight: Operand } => ({
    pred: [t.pred, n],
    target_: [t.target, n],
    weight: t.weight ? [t.weight, n] : unread(t.pred),
  });
  return {
    sampleErrors(b, n, samples, t, out) {
      const e = b.temp(n * 4);
      const sq = t.weight ? k.sqErrWeighted : k.sqErr;
      sq.dispatchThreads(b, { n, segments: samples }, { ...mse(n, t), out: [e, n] }, n);
      const sums = { out: [out, samples], e_in: [e, n] } as const;
      k.reduce.dispatch(b, { n, segments: samples, scale: samples / n }, sums, [samples]);
    },
    errorGrad(b, n, samples, t, coef, grad) {
      const g = t.weight ? k.gradWeighted : k.grad;
      g.dispatchThreads(b, { n, segments: samples }, { ...mse(n, t), coef: [coef, samples], grad: [grad, n] }, n);
    },
    dpo(b, pairs, beta, errors, refErrors, out, dErrors) {
      const operands = {
        out: [out, 1],
        coef: [refErrors, 2 * pairs],
        e_in: [errors, 2 * pairs],
        grad: [dErrors, 2 * pairs],
      } as const;
      k.dpo.dispatch(b, { segments: pairs, beta }, operands, [1]);
    },
  };
}
