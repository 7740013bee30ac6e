/**
 * Batched matmul with transposes, broadcast and bias (matmul.wgsl). `prepareMatmul` compiles the
 * specialization once; the returned recorder adds the dispatch to an open batch synchronously.
 * Backward passes use the same kernel: for C = A·B, dA = dC·Bᵀ and dB = Aᵀ·dC.
 */
import type { MatmulShape } from "../../core/engine/ops.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import code from "./matmul.wgsl?raw";

export type { MatmulShape };

export interface MatmulOperands {
  a: Binding;
  b: Binding;
  /** Output, `[batch, M, N]`. */
  c: Binding;
  bias?: Binding;
}

export type MatmulRecorder = (batch: CommandBatch, operands: MatmulOperands) => void;

const TILE = 8 * 4; // 8×8 threads, 4×4 outputs each

export async function prepareMatmul(ctx: GpuContext, shape: MatmulShape): Promise<MatmulRecorder> {
  const { batch: items, m, n, k } = shape;
  for (const [name, v] of Object.entries({ batch: items, m, n, k })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`matmul: ${name} must be a positive integer, got ${v}`);
  }
  const pipeline = await ctx.pipelines.get({
    code,
    entryPoint: "main",
    constants: { TRANS_A: Number(!!shape.transA), TRANS_B: Number(!!shape.transB), HAS_BIAS: Number(!!shape.bias) },
    label: "matmul",
  });
  const params = new Uint32Array([m, n, k, shape.broadcastA ? 0 : m * k, shape.broadcastB ? 0 : k * n]);
  return (batch, { a, b, c, bias }) => {
    if (!!shape.bias !== !!bias) throw new Error(`matmul prepared ${shape.bias ? "with" : "without"} a bias binding`);
    batch.dispatch(
      pipeline,
      [a, b, c, batch.uniform(params), bias ?? a],
      [Math.ceil(n / TILE), Math.ceil(m / TILE), items],
    );
  };
}
