/**
 * Layout and element-wise ops (tensor.wgsl): broadcast adds, patchify/unpatchify and embedding
 * gather with its backward; CPU counterparts in core/engine/ops.
 */
import type { PatchShape } from "../../core/engine/ops.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { dispatchThreads, loadKernels, params } from "./dispatch.ts";
import code from "./tensor.wgsl?raw";

export interface TensorKernels {
  /** y[i] (+)= alpha·a[i mod period] for i < n. */
  addBroadcast(
    b: CommandBatch,
    n: number,
    a: Binding,
    period: number,
    y: Binding,
    opts?: { alpha?: number; accumulate?: boolean },
  ): void;
  /** Latent `[B,C,H,W]` → tokens `[B, (H/p)(W/p), C·p²]`; the backward of `unpatchify`. */
  patchify(b: CommandBatch, s: PatchShape, latent: Binding, tokens: Binding): void;
  /** Tokens → latent; the backward of `patchify`. */
  unpatchify(b: CommandBatch, s: PatchShape, tokens: Binding, latent: Binding): void;
  /** y[r, :] = table[ids[r], :] for `rows` u32 ids. */
  gather(b: CommandBatch, rows: number, c: number, ids: Binding, table: Binding, y: Binding): void;
  /** dtable[v, :] (+)= Σ_{ids[r] = v} dy[r, :]. */
  gatherBack(
    b: CommandBatch,
    rows: number,
    vocab: number,
    c: number,
    ids: Binding,
    dy: Binding,
    dtable: Binding,
    accumulate?: boolean,
  ): void;
}

export async function tensorKernels(ctx: GpuContext): Promise<TensorKernels> {
  const k = await loadKernels(ctx, code, {
    addBroadcast: { entryPoint: "add_bcast" },
    patchify: { entryPoint: "patchify" },
    unpatchify: { entryPoint: "unpatchify" },
    gather: { entryPoint: "gather" },
    gatherBack: { entryPoint: "gather_back" },
  });
  const u = (
    b: CommandBatch,
    f: { n: number; period?: number; c?: number; s?: PatchShape; accumulate?: boolean; alpha?: number },
  ) =>
    params(
      b,
      [f.n, f.period ?? 1, f.c ?? 1, f.s?.channels ?? 1, f.s?.size ?? 1, f.s?.patch ?? 1, Number(!!f.accumulate)],
      [f.alpha ?? 1],
    );
  const count = (s: PatchShape) => s.batch * s.channels * s.size * s.size;
  return {
    addBroadcast(b, n, a, period, y, opts = {}) {
      dispatchThreads(b, k.addBroadcast, [u(b, { n, period, ...opts }), a, y], n);
    },
    patchify(b, s, latent, tokens) {
      dispatchThreads(b, k.patchify, [u(b, { n: count(s), s }), latent, tokens], count(s));
    },
    unpatchify(b, s, tokens, latent) {
      dispatchThreads(b, k.unpatchify, [u(b, { n: count(s), s }), tokens, latent], count(s));
    },
    gather(b, rows, c, ids, table, y) {
      dispatchThreads(b, k.gather, [u(b, { n: rows * c, c }), table, y, ids], rows * c);
    },
    gatherBack(b, rows, vocab, c, ids, dy, dtable, accumulate) {
      dispatchThreads(
        b,
        k.gatherBack,
        [u(b, { n: vocab * c, period: rows, c, accumulate }), dy, dtable, ids],
        vocab * c,
      );
    },
  };
}
