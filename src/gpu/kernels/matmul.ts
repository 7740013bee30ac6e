/**
 * Batched matmul with transposes, broadcast and bias (matmul.wgsl). `prepareMatmul` compiles the
 * specialization once; the returned recorder adds the dispatch to an open batch synchronously.
 * Backward passes use the same kernel: for C = A·B, dA = dC·Bᵀ and dB = Aᵀ·dC.
 */
import type { MatmulShape } from "../../core/engine/ops.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { declareKernels, loadKernel, unread } from "./dispatch.ts";
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

function checkShape({ batch, m, n, k }: MatmulShape): void {
  for (const [name, v] of Object.entries({ batch, m, n, k })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`matmul: ${name} must be a positive integer, got ${v}`);
  }
}

/** Records a matmul of any shape into an open batch; the kernel variants are compiled up front. */
export type MatmulKernel = (batch: CommandBatch, shape: MatmulShape, operands: MatmulOperands) => void;

const MATMUL = declareKernels({
  name: "matmul",
  code,
  params: { m: "u32", n: "u32", k: "u32", stride_a: "u32", stride_b: "u32" },
  entries: { main: ["a", "b", "c", "bias"] },
});

export async function matmulKernel(ctx: GpuContext): Promise<MatmulKernel> {
  const variants = await Promise.all(
    Array.from({ length: 8 }, (_, v) =>
      loadKernel(ctx, MATMUL, "main", { TRANS_A: v & 1, TRANS_B: (v >> 1) & 1, HAS_BIAS: (v >> 2) & 1 }),
    ),
  );
  return (batch, shape, { a, b, c, bias }) => {
    checkShape(shape);
    const { batch: items, m, n, k } = shape;
    if (!!shape.bias !== !!bias) throw new Error(`matmul shape says ${shape.bias ? "with" : "without"} a bias binding`);
    const kernel = variants[Number(!!shape.transA) | (Number(!!shape.transB) << 1) | (Number(!!shape.bias) << 2)];
    const [strideA, strideB] = [shape.broadcastA ? 0 : m * k, shape.broadcastB ? 0 : k * n];
    kernel.dispatch(
      batch,
      { m, n, k, stride_a: strideA, stride_b: strideB },
      {
        a: [a, (items - 1) * strideA + m * k],
        b: [b, (items - 1) * strideB + k * n],
        c: [c, items * m * n],
        bias: bias ? [bias, n] : unread(a),
      },
      [Math.ceil(n / TILE), Math.ceil(m / TILE), items],
    );
  };
}

/** A recorder for one shape (validated now). */
export async function prepareMatmul(ctx: GpuContext, shape: MatmulShape): Promise<MatmulRecorder> {
  checkShape(shape);
  const record = await matmulKernel(ctx);
  return (batch, operands) => record(batch, shape, operands);
}
