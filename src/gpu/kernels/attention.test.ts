import { afterAll, beforeAll, describe, it } from "vitest";
import * as ops from "../../core/engine/ops.ts";
import { expectGradient, probeLoss } from "../../core/engine/testing/fd.ts";
import { gaussian } from "../../core/sampling/rng.ts";
import type { GpuContext } from "../context.ts";
import { skipWebGpu } from "../testing/node-gpu.ts";
import { closeKernels, expectNear, openKernels, type TestTensors } from "../testing/tensors.ts";
import { type AttentionKernels, attentionKernels } from "./attention.ts";

/**
 * Attention in WebGPU vs the CPU backend (|Δ| ≤ 1e-5·(1 + |ref|)) for self-attention on column
 * blocks of a fused qkv tensor and for cross-attention with alpha and accumulation; the GPU
 * gradients vs central differences of the CPU forward (h = 1e-2, 2e-3·(1 + |fd|)).
 */
describe.skipIf(skipWebGpu)("attention kernel", () => {
  let ctx: GpuContext, k: AttentionKernels, t: TestTensors;
  beforeAll(async () => ({ ctx, kernels: k, t } = await openKernels(attentionKernels)));
  afterAll(() => closeKernels(t, ctx));

  it("self-attention on a fused [rows, 3C] qkv: forward, dqkv", async () => {
    const s = { batch: 2, n: 5, m: 5, heads: 2, d: 3 };
    const C = 6;
    const rows = s.batch * s.n;
    const qkv = gaussian(1, rows * 3 * C);
    const dout = gaussian(2, rows * C);
    const split = (x: Float32Array) =>
      [0, 1, 2].map((j) =>
        Float32Array.from({ length: rows * C }, (_, i) => x[Math.floor(i / C) * 3 * C + j * C + (i % C)]),
      );
    const [bqkv, bprobs, bout, bdout, bd] = [
      t.up(qkv),
      t.zeros(s.batch * s.heads * s.n * s.m),
      t.zeros(rows * C),
      t.up(dout),
      t.zeros(rows * 3 * C),
    ];
    const op = (offset: number) => ({ buf: bqkv, stride: 3 * C, offset });
    const ops3 = { q: op(0), k: op(C), v: op(2 * C) };
    ctx.submit("attn-self", (b) => {
      k.forward(b, s, ops3, bprobs, bout);
      k.backward(
        b,
        s,
        { ...ops3, probs: bprobs, dout: bdout },
        {
          dq: { buf: { buffer: bd } },
          dk: { buf: bd },
          dv: { buf: bd },
        },
      );
    });
    // dq, dk, dv share bd, each written at its column block of the qkv layout.
    const [out, dqkv] = await t.read([bout, rows * C], [bd, rows * 3 * C]);
    const [q, kk, v] = split(qkv);
    expectNear(out, ops.attention(q, kk, v, s).out, 1e-5, "out");
    const probe = () => {
      const [a, bb, cc] = split(qkv);
      return probeLoss(ops.attention(a, bb, cc, s).out, dout);
    };
    expectGradient(probe, qkv, dqkv, { label: "dqkv" });
  });

  it("cross-attention with alpha, accumulating into existing output and dq", async () => {
    const s = { batch: 2, n: 4, m: 3, heads: 2, d: 2 };
    const C = 4;
    const alpha = 0.7;
    const q = gaussian(3, s.batch * s.n * C);
    const kk = gaussian(4, s.batch * s.m * C);
    const v = gaussian(5, s.batch * s.m * C);
    const dout = gaussian(6, q.length);
    const prior = gaussian(7, q.length);
    const [bq, bk, bv, bp, bout, bdout, bdq, bdk, bdv] = [
      t.up(q),
      t.up(kk),
      t.up(v),
      t.zeros(s.batch * s.heads * s.n * s.m),
      t.up(prior),
      t.up(dout),
      t.up(prior),
      t.zeros(kk.length),
      t.zeros(v.length),
    ];
    const operands = { q: { buf: bq }, k: { buf: bk }, v: { buf: bv } };
    ctx.submit("attn-cross", (b) => {
      k.forward(b, s, operands, bp, bout, { alpha, accumulate: true });
      k.backward(
        b,
        s,
        { ...operands, probs: bp, dout: bdout },
        { dq: { buf: bdq, accumulate: true }, dk: { buf: bdk }, dv: { buf: bdv } },
        alpha,
      );
    });
    const [out, dq, dk, dv] = await t.read([bout, q.length], [bdq, q.length], [bdk, kk.length], [bdv, v.length]);
    const ref = ops.attention(q, kk, v, s);
    expectNear(
      out,
      ref.out.map((x, i) => prior[i] + alpha * x),
      1e-5,
      "out",
    );
    const probe = () => alpha * probeLoss(ops.attention(q, kk, v, s).out, dout);
    expectGradient(
      probe,
      q,
      dq.map((x, i) => x - prior[i]),
      { label: "dq" },
    );
    expectGradient(probe, kk, dk, { label: "dk" });
    expectGradient(probe, v, dv, { label: "dv" });
  });
});
