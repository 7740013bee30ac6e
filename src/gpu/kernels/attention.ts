/**
 * Multi-head softmax attention forward and backward; the CPU counterpart is
 * `attention`/`attentionBackward` in core/engine/ops. Heads are copied to head-major layout
 * (attention.wgsl) so every product is one batched matmul over (item, head):
 *   forward:  S = Q·Kᵀ, P = softmax(S/√d), O = P·V, out (+)= alpha·O
 *   backward: dO' = alpha·dO, dP = dO'·Vᵀ, dS = P ⊙ (dP − Σ_j P·dP)/√d,
 *             dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dO'
 * Operands may be column blocks of a wider tensor (e.g. q, k, v of one fused qkv projection),
 * given by row stride and offset; gradients are written at their operand's layout.
 */
import type { AttentionShape } from "../../core/engine/ops.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { storageUsage } from "../transfer.ts";
import code from "./attention.wgsl?raw";
import { declareKernels, loadKernels } from "./dispatch.ts";
import { matmulKernel } from "./matmul.ts";

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

const ATTENTION = declareKernels({
  name: "attention",
  code,
  params: {
    batch: "u32",
    rows: "u32",
    heads: "u32",
    d: "u32",
    stride: "u32",
    off: "u32",
    m: "u32",
    accumulate: "u32",
    scale: "f32",
    alpha: "f32",
  },
  entries: { split_heads: ["src", "dst"], merge_heads: ["src", "dst"], softmax: ["dst"], softmax_back: ["src", "dst"] },
});

export async function attentionKernels(ctx: GpuContext): Promise<AttentionKernels> {
  const [k, mm] = await Promise.all([
    loadKernels(ctx, ATTENTION, {
      split: { entryPoint: "split_heads" },
      merge: { entryPoint: "merge_heads" },
      softmax: { entryPoint: "softmax" },
      softmaxBack: { entryPoint: "softmax_back" },
    }),
    matmulKernel(ctx),
  ]);
  const temp = (b: CommandBatch, floats: number) => b.temp(floats * 4, storageUsage());
  /** Uniform values of a copy between layout `o` and head-major order, and `o`'s extent in values. */
  const layout = (s: AttentionShape, o: AttnOperand, rows: number) => {
    const stride = o.stride ?? s.heads * s.d;
    const off = o.offset ?? 0;
    const params = { batch: s.batch, rows, heads: s.heads, d: s.d, stride, off };
    return { params, extent: (s.batch * rows - 1) * stride + off + s.heads * s.d };
  };
  /** Copies (alpha·) operand `o` of `rows` rows per item into a fresh head-major buffer. */
  const split = (b: CommandBatch, s: AttentionShape, o: AttnOperand, rows: number, alpha = 1): GPUBuffer => {
    const n = s.batch * s.heads * rows * s.d;
    const y = temp(b, n);
    const { params, extent } = layout(s, o, rows);
    k.split.dispatchThreads(b, { ...params, alpha }, { src: [o.buf, extent], dst: [y, n] }, n);
    return y;
  };
  /** Writes (or adds alpha·) head-major `y` into operand layout `o`. */
  const merge = (
    b: CommandBatch,
    s: AttentionShape,
    y: GPUBuffer,
    o: AttnOperand,
    rows: number,
    accumulate: boolean,
    alpha = 1,
  ) => {
    const n = s.batch * s.heads * rows * s.d;
    const { params, extent } = layout(s, o, rows);
    k.merge.dispatchThreads(b, { ...params, accumulate, alpha }, { src: [y, n], dst: [o.buf, extent] }, n);
  };
  /** Uniform values of the softmax kernels: one row per (item, head, query). */
  const softmaxRows = (s: AttentionShape) => ({ rows: s.batch * s.heads * s.n, m: s.m, scale: 1 / Math.sqrt(s.d) });
  return {
    forward(b, s, t, probs, out, opts = {}) {
      const z = s.batch * s.heads;
      const [q, kk, v] = [split(b, s, t.q, s.n), split(b, s, t.k, s.m), split(b, s, t.v, s.m)];
      mm(b, { batch: z, m: s.n, n: s.m, k: s.d, transB: true }, { a: q, b: kk, c: probs });
      k.softmax.dispatchThreads(b, softmaxRows(s), { dst: [probs, z * s.n * s.m] }, z * s.n);
      const o = temp(b, z * s.n * s.d);
      mm(b, { batch: z, m: s.n, n: s.d, k: s.m }, { a: probs, b: v, c: o });
      merge(b, s, o, { buf: out }, s.n, !!opts.accumulate, opts.alpha ?? 1);
    },
    backward(b, s, t, grads, alpha = 1) {
      const z = s.batch * s.heads;
      const dO = split(b, s, { buf: t.dout }, s.n, alpha);
      const v = split(b, s, t.v, s.m);
      const dS = temp(b, z * s.n * s.m);
      mm(b, { batch: z, m: s.n, n: s.m, k: s.d, transB: true }, { a: dO, b: v, c: dS });
      const scores = z * s.n * s.m;
      k.softmaxBack.dispatchThreads(b, softmaxRows(s), { src: [t.probs, scores], dst: [dS, scores] }, z * s.n);
      if (grads.dq) {
        const dq = temp(b, z * s.n * s.d);
        mm(b, { batch: z, m: s.n, n: s.d, k: s.m }, { a: dS, b: split(b, s, t.k, s.m), c: dq });
        merge(b, s, dq, { ...t.q, buf: grads.dq.buf }, s.n, !!grads.dq.accumulate);
      }
      if (grads.dk) {
        const dk = temp(b, z * s.m * s.d);
        mm(b, { batch: z, m: s.m, n: s.d, k: s.n, transA: true }, { a: dS, b: split(b, s, t.q, s.n), c: dk });
        merge(b, s, dk, { ...t.k, buf: grads.dk.buf }, s.m, !!grads.dk.accumulate);
      }
      if (grads.dv) {
        const dv = temp(b, z * s.m * s.d);
        mm(b, { batch: z, m: s.m, n: s.d, k: s.n, transA: true }, { a: t.probs, b: dO, c: dv });
        merge(b, s, dv, { ...t.v, buf: grads.dv.buf }, s.m, !!grads.dv.accumulate);
      }
    },
  };
}
