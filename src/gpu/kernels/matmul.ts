/**
 * Batched matmul with transposes, broadcast and bias, in two variants with the same operands:
 * - "register" (matmul.wgsl): 8×8 threads, a 4×4 register tile each, straight from global memory;
 *   what CPU-emulated adapters (SwiftShader) run fastest, where workgroup memory is plain memory.
 * - "shared" (matmul-shared.wgsl): 64×64 tiles staged through workgroup memory, vec4 reads, as
 *   the tfjs and ORT WebGPU matmuls do for real GPUs.
 * `ctx.tuning.matmul` says which one a context uses; `timeMatmulVariants` measures them on its
 * adapter (the caller keeps the choice per adapter). `prepareMatmul` compiles the specialization
 * once; the returned recorder adds the dispatch to an open batch synchronously. Backward passes
 * use the same kernel: for C = A·B, dA = dC·Bᵀ and dB = Aᵀ·dC.
 */
import type { MatmulShape } from "../../core/engine/ops.ts";
import { medianMs } from "../../core/timing.ts";
import type { Binding, CommandBatch } from "../batch.ts";
import type { GpuContext } from "../context.ts";
import { storageUsage } from "../transfer.ts";
import { declareKernels, type KernelModule, loadKernel, unread } from "./dispatch.ts";
import code from "./matmul.wgsl?raw";
import operands from "./matmul-operands.wgsl?raw";
import sharedCode from "./matmul-shared.wgsl?raw";

export type { MatmulShape };

export interface MatmulOperands {
  a: Binding;
  b: Binding;
  /** Output, `[batch, M, N]`. */
  c: Binding;
  bias?: Binding;
}

export type MatmulRecorder = (batch: CommandBatch, operands: MatmulOperands) => void;

export const MATMUL_VARIANTS = ["register", "shared"] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

/** Output tile of one workgroup: 8×8 threads × 4×4 outputs, or the shared variant's 64×64. */
const TILE: Record<MatmulVariant, number> = { register: 8 * 4, shared: 64 };

function checkShape({ batch, m, n, k }: MatmulShape): void {
  for (const [name, v] of Object.entries({ batch, m, n, k })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`matmul: ${name} must be a positive integer, got ${v}`);
  }
}

/** Records a matmul of any shape into an open batch; the kernel variants are compiled up front. */
export type MatmulKernel = (batch: CommandBatch, shape: MatmulShape, operands: MatmulOperands) => void;

const OPERANDS = {
  params: { m: "u32", n: "u32", k: "u32", stride_a: "u32", stride_b: "u32" },
  entries: { main: ["a", "b", "c", "bias"] },
} as const;

const MODULES: Record<MatmulVariant, KernelModule<typeof OPERANDS & { name: string; code: string }>> = {
  register: declareKernels({ name: "matmul", code: operands + code, ...OPERANDS }),
  shared: declareKernels({ name: "matmul-shared", code: operands + sharedCode, ...OPERANDS }),
};

/** The matmul of `variant` (by default the one `ctx.tuning` names, else "register"). */
export async function matmulKernel(
  ctx: GpuContext,
  variant: MatmulVariant = ctx.tuning.matmul ?? "register",
): Promise<MatmulKernel> {
  const tile = TILE[variant];
  const variants = await Promise.all(
    Array.from({ length: 8 }, (_, v) =>
      loadKernel(ctx, MODULES[variant], "main", { TRANS_A: v & 1, TRANS_B: (v >> 1) & 1, HAS_BIAS: (v >> 2) & 1 }),
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
      [Math.ceil(n / tile), Math.ceil(m / tile), items],
    );
  };
}

/** A recorder for one shape (validated now). */
export async function prepareMatmul(
  ctx: GpuContext,
  shape: MatmulShape,
  variant?: MatmulVariant,
): Promise<MatmulRecorder> {
  checkShape(shape);
  const record = await matmulKernel(ctx, variant);
  return (batch, operands) => record(batch, shape, operands);
}

/**
 * The engine's matmul shapes at emoji64's width and batch 8: token projections, the MLP, and the
 * per-head attention products (z = item × head).
 */
export const TUNING_SHAPES: readonly MatmulShape[] = [
  { batch: 1, m: 512, n: 128, k: 128, transB: true, bias: true },
  { batch: 1, m: 512, n: 512, k: 128, transB: true, bias: true },
  { batch: 1, m: 128, n: 512, k: 512, transA: true },
  { batch: 32, m: 64, n: 64, k: 32, transB: true },
];

/**
 * Median ms of each variant over `shapes`, each shape `repeat` times in one submission, waited
 * for (no transfers: the operands stay on the device, as in training).
 */
export async function timeMatmulVariants(
  ctx: GpuContext,
  shapes: readonly MatmulShape[] = TUNING_SHAPES,
  repeat = 4,
): Promise<Record<MatmulVariant, number>> {
  const size = (s: MatmulShape, rows: number, cols: number, broadcast?: boolean) =>
    4 * (broadcast ? 1 : s.batch) * rows * cols;
  const operands = shapes.map((s) => ({
    a: ctx.pool.acquire(size(s, s.m, s.k, s.broadcastA), storageUsage(), "tune.a"),
    b: ctx.pool.acquire(size(s, s.k, s.n, s.broadcastB), storageUsage(), "tune.b"),
    c: ctx.pool.acquire(size(s, s.m, s.n), storageUsage(), "tune.c"),
    bias: s.bias ? ctx.pool.acquire(4 * s.n, storageUsage(), "tune.bias") : undefined,
  }));
  try {
    const ms = {} as Record<MatmulVariant, number>;
    for (const variant of MATMUL_VARIANTS) {
      const kernel = await matmulKernel(ctx, variant);
      ms[variant] = await medianMs(
        async () => {
          ctx.submit(`tune.matmul.${variant}`, (batch) => {
            for (let r = 0; r < repeat; r++) for (const [i, s] of shapes.entries()) kernel(batch, s, operands[i]);
          });
          await ctx.sync();
        },
        1,
        3,
      );
    }
    return ms;
  } finally {
    for (const o of operands) for (const buf of [o.a, o.b, o.c, o.bias]) if (buf) ctx.pool.release(buf);
  }
}
