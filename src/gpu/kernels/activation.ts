/** tanh-GELU and SiLU forward and backward (activation.wgsl); CPU counterparts `gelu`, `silu` in core/engine/ops. */
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import code from "./activation.wgsl?raw";
import { declareKernels, loadKernels } from "./dispatch.ts";

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

const ACTIVATION = declareKernels({
  name: "activation",
  code,
  params: { n: "u32", accumulate: "u32" },
  entries: { forward: ["x", "y"], backward: ["x", "y", "dy"] },
});

export async function activationKernels(ctx: GpuContext): Promise<ActivationKernels> {
  const k = await loadKernels(ctx, ACTIVATION, {
    gelu: { entryPoint: "forward", constants: { ACT: 0 } },
    silu: { entryPoint: "forward", constants: { ACT: 1 } },
    geluBack: { entryPoint: "backward", constants: { ACT: 0 } },
    siluBack: { entryPoint: "backward", constants: { ACT: 1 } },
  });
  return {
    forward(b, act, n, x, y) {
      k[act].dispatchThreads(b, { n }, { x: [x, n], y: [y, n] }, n);
    },
    backward(b, act, n, dy, x, dx, accumulate) {
      k[`${act}Back`].dispatchThreads(b, { n, accumulate }, { x: [x, n], y: [dx, n], dy: [dy, n] }, n);
    },
  };
}
