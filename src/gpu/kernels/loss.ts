/**
 * Weighted MSE, per-sample errors and the Diffusion-DPO term on the GPU (loss.wgsl); CPU
 * counterparts in core/losses. Values stay on the device; read them when the caller wants them.
 */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { dispatchThreads, loadKernels, params } from "./dispatch.ts";
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

export async function lossKernels(ctx: GpuContext): Promise<LossKernels> {
  const k = await loadKernels(ctx, code, {
    sqErr: { entryPoint: "sq_err" },
    sqErrWeighted: { entryPoint: "sq_err", constants: { WEIGHTED: 1 } },
    reduce: { entryPoint: "reduce" },
    grad: { entryPoint: "mse_grad" },
    gradWeighted: { entryPoint: "mse_grad", constants: { WEIGHTED: 1 } },
    dpo: { entryPoint: "dpo" },
  });
  return {
    sampleErrors(b, n, samples, t, out) {
      const e = b.temp(n * 4);
      const sq = t.weight ? k.sqErrWeighted : k.sqErr;
      dispatchThreads(b, sq, [params(b, [n, samples]), t.pred, t.target, t.weight ?? t.pred, e], n);
      b.dispatch(k.reduce, [params(b, [n, samples], [samples / n]), null, null, null, out, null, e], [samples]);
    },
    errorGrad(b, n, samples, t, coef, grad) {
      const g = t.weight ? k.gradWeighted : k.grad;
      dispatchThreads(b, g, [params(b, [n, samples]), t.pred, t.target, t.weight ?? t.pred, null, coef, null, grad], n);
    },
    dpo(b, pairs, beta, errors, refErrors, out, dErrors) {
      b.dispatch(k.dpo, [params(b, [0, pairs], [0, beta]), null, null, null, out, refErrors, errors, dErrors], [1]);
    },
  };
}
