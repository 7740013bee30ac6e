/** Layer norm forward and backward (layernorm.wgsl); the CPU counterpart is `layerNorm` in core/engine/ops. */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { declareKernels, loadKernels, type Operand, unread } from "./dispatch.ts";
import code from "./layernorm.wgsl?raw";

export interface LayerNormShape {
  rows: number;
  c: number;
  eps: number;
}

export interface LayerNormKernels {
  /** y = LN(x) (·γ + β with `affine`); `stats` receives [rows, 2] mean and rstd for the backward. */
  forward(b: CommandBatch, s: LayerNormShape, x: Binding, y: Binding, stats: Binding, affine?: Affine): void;
  /** dx (+)= LN′ᵀ·dy, with γ when the forward had one. */
  backward(
    b: CommandBatch,
    s: LayerNormShape,
    t: { dy: Binding; x: Binding; stats: Binding; gamma?: Binding },
    dx: Binding,
    accumulate?: boolean,
  ): void;
  /** dγ (+)= Σ dy·x̂, dβ (+)= Σ dy. */
  backwardParams(
    b: CommandBatch,
    s: LayerNormShape,
    t: { dy: Binding; x: Binding; stats: Binding },
    d: { dgamma: Binding; dbeta: Binding },
    accumulate?: boolean,
  ): void;
}

export interface Affine {
  gamma: Binding;
  beta: Binding;
}

const LAYERNORM = declareKernels({
  name: "layernorm",
  code,
  params: { rows: "u32", c: "u32", accumulate: "u32", eps: "f32" },
  entries: {
    forward: ["x", "gamma", "beta", "y", "stats"],
    backward: ["x", "gamma", "stats", "dy", "dx"],
    backward_params: ["x", "stats", "dy", "dgamma", "dbeta"],
  },
});

export async function layerNormKernels(ctx: GpuContext): Promise<LayerNormKernels> {
  const k = await loadKernels(ctx, LAYERNORM, {
    plain: { entryPoint: "forward" },
    affine: { entryPoint: "forward", constants: { AFFINE: 1 } },
    backPlain: { entryPoint: "backward" },
    backAffine: { entryPoint: "backward", constants: { AFFINE: 1 } },
    backParams: { entryPoint: "backward_params" },
  });
  const u = (s: LayerNormShape, accumulate?: boolean) => ({ rows: s.rows, c: s.c, accumulate, eps: s.eps });
  // Without AFFINE the shader still declares γ/β: x stands in, unread.
  const vector = (s: LayerNormShape, v: Binding | undefined, x: Binding): Operand => (v ? [v, s.c] : unread(x));
  return {
    forward(b, s, x, y, stats, affine) {
      (affine ? k.affine : k.plain).dispatchThreads(
        b,
        u(s),
        {
          x: [x, s.rows * s.c],
          gamma: vector(s, affine?.gamma, x),
          beta: vector(s, affine?.beta, x),
          y: [y, s.rows * s.c],
          stats: [stats, 2 * s.rows],
        },
        s.rows,
      );
    },
    backward(b, s, t, dx, accumulate) {
      (t.gamma ? k.backAffine : k.backPlain).dispatchThreads(
        b,
        u(s, accumulate),
        {
          x: [t.x, s.rows * s.c],
          gamma: vector(s, t.gamma, t.x),
          stats: [t.stats, 2 * s.rows],
          dy: [t.dy, s.rows * s.c],
          dx: [dx, s.rows * s.c],
        },
        s.rows,
      );
    },
    backwardParams(b, s, t, d, accumulate) {
      k.backParams.dispatchThreads(
        b,
        u(s, accumulate),
        {
          x: [t.x, s.rows * s.c],
          stats: [t.stats, 2 * s.rows],
          dy: [t.dy, s.rows * s.c],
          dgamma: [d.dgamma, s.c],
          dbeta: [d.dbeta, s.c],
        },
        s.c,
      );
    },
  };
}
