/** Layer norm forward and backward (layernorm.wgsl); the CPU counterpart is `layerNorm` in core/engine/ops. */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { dispatchThreads, loadKernels, params } from "./dispatch.ts";
import code from "./layernorm.wgsl?raw";

export interface LayerNormShape {
  rows: number;
  c: number;
  eps: number;
}

// Without AFFINE the shader still declares γ/β (override branches count as uses): x stands in.
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

export async function layerNormKernels(ctx: GpuContext): Promise<LayerNormKernels> {
  const k = await loadKernels(ctx, code, {
    plain: { entryPoint: "forward" },
    affine: { entryPoint: "forward", constants: { AFFINE: 1 } },
    backPlain: { entryPoint: "backward" },
    backAffine: { entryPoint: "backward", constants: { AFFINE: 1 } },
    backParams: { entryPoint: "backward_params" },
  });
  const u = (b: CommandBatch, s: LayerNormShape, accumulate = false) =>
    params(b, [s.rows, s.c, Number(accumulate)], [s.eps]);
  return {
    forward(b, s, x, y, stats, affine) {
      const pipeline = affine ? k.affine : k.plain;
      dispatchThreads(b, pipeline, [u(b, s), x, affine?.gamma ?? x, affine?.beta ?? x, y, stats], s.rows);
    },
    backward(b, s, t, dx, accumulate) {
      const pipeline = t.gamma ? k.backAffine : k.backPlain;
      dispatchThreads(b, pipeline, [u(b, s, accumulate), t.x, t.gamma ?? t.x, null, null, t.stats, t.dy, dx], s.rows);
    },
    backwardParams(b, s, t, d, accumulate) {
      const bindings = [u(b, s, accumulate), t.x, null, null, null, t.stats, t.dy, null, d.dgamma, d.dbeta];
      dispatchThreads(b, k.backParams, bindings, s.c);
    },
  };
}
