/**
 * Layout and element-wise ops (tensor.wgsl): broadcast adds, patchify/unpatchify and embedding
 * gather with its backward; CPU counterparts in core/engine/ops.
 */
import type { PatchShape } from "../../core/engine/ops.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { declareKernels, loadKernels } from "./dispatch.ts";
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
  /** y[r, :] = table[ids[r], :] for `rows` u32 ids into a `[vocab, c]` table. */
  gather(b: CommandBatch, rows: number, vocab: number, c: number, ids: Binding, table: Binding, y: Binding): void;
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

const TENSOR = declareKernels({
  name: "tensor",
  code,
  params: {
    n: "u32",
    period: "u32",
    c: "u32",
    channels: "u32",
    size: "u32",
    pt: "u32",
    accumulate: "u32",
    alpha: "f32",
  },
  entries: {
    add_bcast: ["a", "y"],
    patchify: ["a", "y"],
    unpatchify: ["a", "y"],
    gather: ["a", "y", "ids"],
    gather_back: ["a", "y", "ids"],
  },
});

export async function tensorKernels(ctx: GpuContext): Promise<TensorKernels> {
  const k = await loadKernels(ctx, TENSOR, {
    addBroadcast: { entryPoint: "add_bcast" },
    patchify: { entryPoint: "patchify" },
    unpatchify: { entryPoint: "unpatchify" },
    gather: { entryPoint: "gather" },
    gatherBack: { entryPoint: "gather_back" },
  });
  /** Permutes `a` into `y`, both `[B, C, H, W]` values. */
  const permute = (b: CommandBatch, kernel: typeof k.patchify, s: PatchShape, a: Binding, y: Binding) => {
    const n = s.batch * s.channels * s.size * s.size;
    const params = { n, channels: s.channels, size: s.size, pt: s.patch };
    kernel.dispatchThreads(b, params, { a: [a, n], y: [y, n] }, n);
  };
  return {
    addBroadcast(b, n, a, period, y, opts = {}) {
      const params = { n, period, accumulate: opts.accumulate, alpha: opts.alpha ?? 1 };
      k.addBroadcast.dispatchThreads(b, params, { a: [a, period], y: [y, n] }, n);
    },
    patchify(b, s, latent, tokens) {
      permute(b, k.patchify, s, latent, tokens);
    },
    unpatchify(b, s, tokens, latent) {
      permute(b, k.unpatchify, s, tokens, latent);
    },
    gather(b, rows, vocab, c, ids, table, y) {
      const operands = { a: [table, vocab * c], y: [y, rows * c], ids: [ids, rows] } as const;
      k.gather.dispatchThreads(b, { n: rows * c, c }, operands, rows * c);
    },
    gatherBack(b, rows, vocab, c, ids, dy, dtable, accumulate) {
      const operands = { a: [dy, rows * c], y: [dtable, vocab * c], ids: [ids, rows] } as const;
      k.gatherBack.dispatchThreads(b, { n: vocab * c, period: rows, c, accumulate }, operands, vocab * c);
    },
  };
}
