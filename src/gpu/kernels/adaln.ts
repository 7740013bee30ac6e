/**
 * adaLN modulation and gated residuals (adaln.wgsl); CPU counterparts `modulate`, `addGated`
 * and their backwards in core/engine/ops. Shift, scale and gate are column blocks of the ada
 * projection output `mod` `[batch, stride]` at the given column offsets.
 */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import code from "./adaln.wgsl?raw";
import { declareKernels, loadKernels, type Operand } from "./dispatch.ts";

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

const ADALN = declareKernels({
  name: "adaln",
  code,
  params: { batch: "u32", tokens: "u32", c: "u32", mod_stride: "u32", a_off: "u32", b_off: "u32", accumulate: "u32" },
  entries: {
    modulate: ["x", "mods", "y"],
    modulate_back: ["mods", "y", "dy"],
    modulate_params: ["x", "y", "dy"],
    gate_add: ["x", "mods", "y"],
    gate_back: ["mods", "y", "dy"],
    gate_param: ["x", "y", "dy"],
  },
});

export async function adaLnKernels(ctx: GpuContext): Promise<AdaLnKernels> {
  const k = await loadKernels(ctx, ADALN, {
    modulate: { entryPoint: "modulate" },
    modulateBack: { entryPoint: "modulate_back" },
    modulateParams: { entryPoint: "modulate_params" },
    gateAdd: { entryPoint: "gate_add" },
    gateBack: { entryPoint: "gate_back" },
    gateParam: { entryPoint: "gate_param" },
  });
  const u = (s: AdaShape, a_off: number, b_off: number, accumulate?: boolean) => ({
    batch: s.batch,
    tokens: s.tokens,
    c: s.c,
    mod_stride: s.stride,
    a_off,
    b_off,
    accumulate,
  });
  /** A `[batch, tokens, c]` tensor. */
  const all = (s: AdaShape, t: Binding): Operand => [t, s.batch * s.tokens * s.c];
  /** `mod`, read (or written) up to the last item's column blocks at `offsets`. */
  const mod = (s: AdaShape, t: Binding, ...offsets: number[]): Operand => [
    t,
    (s.batch - 1) * s.stride + Math.max(...offsets) + s.c,
  ];
  return {
    modulate(b, s, x, m, cols, y) {
      const operands = { x: all(s, x), mods: mod(s, m, cols.shift, cols.scale), y: all(s, y) };
      k.modulate.dispatchThreads(b, u(s, cols.shift, cols.scale), operands, s.batch * s.tokens * s.c);
    },
    modulateBack(b, s, dy, m, scale, dx, accumulate) {
      const operands = { mods: mod(s, m, scale), y: all(s, dx), dy: all(s, dy) };
      k.modulateBack.dispatchThreads(b, u(s, 0, scale, accumulate), operands, s.batch * s.tokens * s.c);
    },
    modulateParams(b, s, dy, x, cols, dmod, accumulate) {
      const operands = { x: all(s, x), y: mod(s, dmod, cols.shift, cols.scale), dy: all(s, dy) };
      k.modulateParams.dispatchThreads(b, u(s, cols.shift, cols.scale, accumulate), operands, s.batch * s.c);
    },
    gateAdd(b, s, x, m, gate, h) {
      const operands = { x: all(s, h), mods: mod(s, m, gate), y: all(s, x) };
      k.gateAdd.dispatchThreads(b, u(s, gate, 0), operands, s.batch * s.tokens * s.c);
    },
    gateBack(b, s, dx, m, gate, dh, accumulate) {
      const operands = { mods: mod(s, m, gate), y: all(s, dh), dy: all(s, dx) };
      k.gateBack.dispatchThreads(b, u(s, gate, 0, accumulate), operands, s.batch * s.tokens * s.c);
    },
    gateParam(b, s, dx, h, gate, dmod, accumulate) {
      const operands = { x: all(s, h), y: mod(s, dmod, gate), dy: all(s, dx) };
      k.gateParam.dispatchThreads(b, u(s, gate, 0, accumulate), operands, s.batch * s.c);
    },
  };
}
