/** tanh-GELU and SiLU forward and backward (activation.wgsl); CPU counterparts `gelu`, `silu` in core/engine/ops. */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import code from "./activation.wgsl?raw";
import { dispatchThreads, loadKernels, params } from "./dispatch.ts";

export type Activation = "gelu" | "silu";

export interface ActivationKernels {
  forward(b: CommandBatch, act: Activation, n: number, x: Binding, y: Binding): void;
  /** dx (+)= dy·f′(x). */
  backward(
    b: CommandBatch,
    act: Activation,
    n: number,
    dy: Binding,
    x: Binding,
    dx: Binding,
    accumulate?: boolean,
  ): void;
}

export async function activationKernels(ctx: GpuContext): Promise<ActivationKernels> {
  const k = await loadKernels(ctx, code, {
    gelu: { entryPoint: "forward", constants: { ACT: 0 } },
    silu: { entryPoint: "forward", constants: { ACT: 1 } },
    geluBack: { entryPoint: "backward", constants: { ACT: 0 } },
    siluBack: { entryPoint: "backward", constants: { ACT: 1 } },
  });
  return {
    forward(b, act, n, x, y) {
      dispatchThreads(b, k[act], [params(b, [n, 0]), x, y], n);
    },
    backward(b, act, n, dy, x, dx, accumulate) {
      dispatchThreads(b, k[`${act}Back`], [params(b, [n, Number(!!accumulate)]), x, dx, dy], n);
    },
  };
}
