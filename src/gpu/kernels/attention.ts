/**
 * Multi-head softmax attention forward and backward (attention.wgsl); the CPU counterpart is
 * `attention`/`attentionBackward` in core/engine/ops. Operands may be column blocks of a wider
 * tensor (e.g. q, k, v of one fused qkv projection), given by row stride and offset.
 */
import type { AttentionShape } from "../../core/engine/ops.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import code from "./attention.wgsl?raw";
import { dispatchThreads, loadKernels, params } from "./dispatch.ts";

/** Rows of `stride` floats; the operand's heads·d columns start at `offset`. Defaults: contiguous. */
export interface AttnOperand {
  buf: Binding;
  stride?: number;
  offset?: number;
}

export interface AttnGrad {
  /** Written at the layout of the matching operand. */
  buf: Binding;
  accumulate?: boolean;
}

export interface AttentionKernels {
  /** out (+)= alpha·softmax(q kᵀ/√d)·v; `probs` ([batch, heads, n, m]) keeps P for the backward. */
  forward(
    b: CommandBatch,
    s: AttentionShape,
    t: { q: AttnOperand; k: AttnOperand; v: AttnOperand },
    probs: Binding,
    out: Binding,
    opts?: { alpha?: number; accumulate?: boolean },
  ): void;
  /** Gradients of the forward with the same `alpha`, given the upstream gradient `dout`. */
  backward(
    b: CommandBatch,
    s: AttentionShape,
    t: { q: AttnOperand; k: AttnOperand; v: AttnOperand; probs: Binding; dout: Binding },
    grads: { dq?: AttnGrad; dk?: AttnGrad; dv?: AttnGrad },
    alpha?: number,
  ): void;
}

export async function attentionKernels(ctx: GpuContext): Promise<AttentionKernels> {
  const k = await loadKernels(ctx, code, {
    scores: { entryPoint: "scores" },
    softmax: { entryPoint: "softmax" },
    weightedSum: { entryPoint: "weighted_sum" },
    gradProbs: { entryPoint: "grad_probs" },
    softmaxBack: { entryPoint: "softmax_back" },
    gradQ: { entryPoint: "grad_q" },
    gradK: { entryPoint: "grad_k" },
    gradV: { entryPoint: "grad_v" },
  });
  const c = (s: AttentionShape) => s.heads * s.d;
  const u = (
    b: CommandBatch,
    s: AttentionShape,
    t: { q: AttnOperand; k: AttnOperand; v: AttnOperand },
    accumulate: boolean,
    alpha: number,
  ) =>
    params(
      b,
      [
        s.batch,
        s.n,
        s.m,
        s.heads,
        s.d,
        ...[t.q, t.k, t.v].flatMap((o) => [o.stride ?? c(s), o.offset ?? 0]),
        Number(accumulate),
      ],
      [1 / Math.sqrt(s.d), alpha],
    );
  return {
    forward(b, s, t, probs, out, opts = {}) {
      const rows = s.batch * s.heads * s.n;
      const p0 = u(b, s, t, false, 1);
      dispatchThreads(b, k.scores, [p0, t.q.buf, t.k.buf, null, probs], rows * s.m);
      dispatchThreads(b, k.softmax, [p0, null, null, null, probs], rows);
      const p1 = u(b, s, t, !!opts.accumulate, opts.alpha ?? 1);
      dispatchThreads(b, k.weightedSum, [p1, null, null, t.v.buf, null, out, null, probs], s.batch * s.n * c(s));
    },
    backward(b, s, t, grads, alpha = 1) {
      const rows = s.batch * s.heads * s.n;
      const dS = b.temp(rows * s.m * 4);
      const base = u(b, s, t, false, alpha);
      dispatchThreads(b, k.gradProbs, [base, null, null, t.v.buf, null, dS, null, null, t.dout], rows * s.m);
      dispatchThreads(b, k.softmaxBack, [base, null, null, null, null, dS, null, t.probs], rows);
      const grad = (g: AttnGrad | undefined) => (g ? u(b, s, t, !!g.accumulate, alpha) : null);
      const qp = grad(grads.dq);
      if (qp && grads.dq)
        dispatchThreads(b, k.gradQ, [qp, null, t.k.buf, null, null, grads.dq.buf, dS], s.batch * s.n * c(s));
      const kp = grad(grads.dk);
      if (kp && grads.dk)
        dispatchThreads(b, k.gradK, [kp, t.q.buf, null, null, null, grads.dk.buf, dS], s.batch * s.m * c(s));
      const vp = grad(grads.dv);
      if (vp && grads.dv) {
        dispatchThreads(
          b,
          k.gradV,
          [vp, null, null, null, null, grads.dv.buf, null, t.probs, t.dout],
          s.batch * s.m * c(s),
        );
      }
    },
  };
}
