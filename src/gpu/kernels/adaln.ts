/**
 * adaLN modulation and gated residuals (adaln.wgsl); CPU counterparts `modulate`, `addGated`
 * and their backwards in core/engine/ops. Shift, scale and gate are column blocks of the ada
 * projection output `mod` `[batch, stride]` at the given column offsets.
 */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import code from "./adaln.wgsl?raw";
import { dispatchThreads, loadKernels, params } from "./dispatch.ts";

export interface AdaShape {
  batch: number;
  tokens: number;
  c: number;
  /** Columns of the `mod` tensor, e.g. 6C. */
  stride: number;
}

export interface AdaLnKernels {
  /** y = x·(1 + mod[:, scale]) + mod[:, shift]. */
  modulate(
    b: CommandBatch,
    s: AdaShape,
    x: Binding,
    mod: Binding,
    cols: { shift: number; scale: number },
    y: Binding,
  ): void;
  /** dx (+)= dy·(1 + scale). */
  modulateBack(
    b: CommandBatch,
    s: AdaShape,
    dy: Binding,
    mod: Binding,
    scale: number,
    dx: Binding,
    accumulate?: boolean,
  ): void;
  /** dmod[:, shift] (+)= Σ_t dy, dmod[:, scale] (+)= Σ_t dy·x. */
  modulateParams(
    b: CommandBatch,
    s: AdaShape,
    dy: Binding,
    x: Binding,
    cols: { shift: number; scale: number },
    dmod: Binding,
    accumulate?: boolean,
  ): void;
  /** x += mod[:, gate]·h, in place. */
  gateAdd(b: CommandBatch, s: AdaShape, x: Binding, mod: Binding, gate: number, h: Binding): void;
  /** dh (+)= dx·gate. */
  gateBack(
    b: CommandBatch,
    s: AdaShape,
    dx: Binding,
    mod: Binding,
    gate: number,
    dh: Binding,
    accumulate?: boolean,
  ): void;
  /** dmod[:, gate] (+)= Σ_t dx·h. */
  gateParam(
    b: CommandBatch,
    s: AdaShape,
    dx: Binding,
    h: Binding,
    gate: number,
    dmod: Binding,
    accumulate?: boolean,
  ): void;
}

export async function adaLnKernels(ctx: GpuContext): Promise<AdaLnKernels> {
  const k = await loadKernels(ctx, code, {
    modulate: { entryPoint: "modulate" },
    modulateBack: { entryPoint: "modulate_back" },
    modulateParams: { entryPoint: "modulate_params" },
    gateAdd: { entryPoint: "gate_add" },
    gateBack: { entryPoint: "gate_back" },
    gateParam: { entryPoint: "gate_param" },
  });
  const u = (b: CommandBatch, s: AdaShape, a: number, c: number, accumulate = false) =>
    params(b, [s.batch, s.tokens, s.c, s.stride, a, c, Number(accumulate)]);
  const all = (s: AdaShape) => s.batch * s.tokens * s.c;
  return {
    modulate(b, s, x, mod, cols, y) {
      dispatchThreads(b, k.modulate, [u(b, s, cols.shift, cols.scale), x, mod, y], all(s));
    },
    modulateBack(b, s, dy, mod, scale, dx, accumulate) {
      dispatchThreads(b, k.modulateBack, [u(b, s, 0, scale, accumulate), null, mod, dx, dy], all(s));
    },
    modulateParams(b, s, dy, x, cols, dmod, accumulate) {
      dispatchThreads(
        b,
        k.modulateParams,
        [u(b, s, cols.shift, cols.scale, accumulate), x, null, dmod, dy],
        s.batch * s.c,
      );
    },
    gateAdd(b, s, x, mod, gate, h) {
      dispatchThreads(b, k.gateAdd, [u(b, s, gate, 0), h, mod, x], all(s));
    },
    gateBack(b, s, dx, mod, gate, dh, accumulate) {
      dispatchThreads(b, k.gateBack, [u(b, s, gate, 0, accumulate), null, mod, dh, dx], all(s));
    },
    gateParam(b, s, dx, h, gate, dmod, accumulate) {
      dispatchThreads(b, k.gateParam, [u(b, s, gate, 0, accumulate), h, null, dmod, dx], s.batch * s.c);
    },
  };
}
