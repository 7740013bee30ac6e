/**
 * The CPU engine's matmul, as a WebAssembly SIMD kernel: `C[M,N] += A[M,K]·B[K,N]`, row-major
 * float32, with M a multiple of 4 and N a multiple of 8 (callers pad). Each step of the inner
 * loop loads one 8-wide row slice of B and broadcasts four values of A into 4×8 accumulators in
 * eight v128 registers, so B is read once per four rows of C. Sums run in float32, as in PyTorch.
 */
import type { MatmulShape } from "../ops";
import { tensor } from "../scratch";
import { type Bytes, I32, op, V128, wasmModule } from "./binary";

// Parameters (byte addresses and sizes), then locals.
const [A, B, C, M, N, K] = [0, 1, 2, 3, 4, 5];
const [ROW, COL, PA, PA_END, PB, PC, ROW_A, ROW_B, ROW_A2, ROW_A3, ROW_B2, ROW_B3] = [
  6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
];
const ACC = 18; // 8 accumulators: row r, half h at ACC + 2r + h
const [B0, B1, AV] = [26, 27, 28];

const set = (local: number, ...value: Bytes[]): Bytes => [...value.flat(), ...op.set(local)];
const add = (x: Bytes, y: Bytes): Bytes => [...x, ...y, ...op.i32Add];
/** `base + r·stride`, with strides 2× and 3× kept in locals. */
const rowAddress = (base: number, r: number, strides: number[]): Bytes =>
  r === 0 ? op.get(base) : add(op.get(base), op.get(strides[r - 1]));
/** `for (; a < b; ) { body }` */
const whileBelow = (a: Bytes, b: Bytes, body: Bytes[]): Bytes[] => [
  op.block,
  op.loop,
  [...a, ...b, ...op.i32GeU, ...op.brIf(1)],
  ...body,
  op.br(0),
  op.end,
  op.end,
];

const innerProduct: Bytes[] = whileBelow(op.get(PA), op.get(PA_END), [
  set(B0, op.get(PB), op.v128Load(0)),
  set(B1, op.get(PB), op.v128Load(16)),
  ...[0, 1, 2, 3].flatMap((r) => [
    set(AV, rowAddress(PA, r, [ROW_A, ROW_A2, ROW_A3]), op.v128Load32Splat()),
    ...[B0, B1].map((b, h) =>
      set(ACC + 2 * r + h, op.get(ACC + 2 * r + h), op.get(AV), op.get(b), op.f32x4Mul, op.f32x4Add),
    ),
  ]),
  set(PA, add(op.get(PA), op.i32(4))),
  set(PB, add(op.get(PB), op.get(ROW_B))),
]);

const accumulateTile: Bytes[] = [0, 1, 2, 3].flatMap((r) =>
  [0, 1].map((h) => {
    const address = rowAddress(PC, r, [ROW_B, ROW_B2, ROW_B3]);
    return [
      ...address,
      ...address,
      ...op.v128Load(16 * h),
      ...op.get(ACC + 2 * r + h),
      ...op.f32x4Add,
      ...op.v128Store(16 * h),
    ];
  }),
);

const tileColumns: Bytes[] = whileBelow(op.get(COL), op.get(N), [
  ...Array.from({ length: 8 }, (_, i) => set(ACC + i, op.v128Zero)),
  set(PA, add(op.get(A), [...op.get(ROW), ...op.get(ROW_A), ...op.i32Mul])),
  set(PA_END, add(op.get(PA), op.get(ROW_A))),
  set(PB, add(op.get(B), [...op.get(COL), ...op.i32(2), ...op.i32Shl])),
  ...innerProduct,
  set(
    PC,
    add(add(op.get(C), [...op.get(ROW), ...op.get(ROW_B), ...op.i32Mul]), [...op.get(COL), ...op.i32(2), ...op.i32Shl]),
  ),
  ...accumulateTile,
  set(COL, add(op.get(COL), op.i32(8))),
]);

const gemmBody: Bytes[] = [
  set(ROW_A, op.get(K), op.i32(2), op.i32Shl),
  set(ROW_B, op.get(N), op.i32(2), op.i32Shl),
  set(ROW_A2, add(op.get(ROW_A), op.get(ROW_A))),
  set(ROW_A3, add(op.get(ROW_A2), op.get(ROW_A))),
  set(ROW_B2, add(op.get(ROW_B), op.get(ROW_B))),
  set(ROW_B3, add(op.get(ROW_B2), op.get(ROW_B))),
  ...whileBelow(op.get(ROW), op.get(M), [set(COL, op.i32(0)), ...tileColumns, set(ROW, add(op.get(ROW), op.i32(4)))]),
];

export const gemmModuleBytes = wasmModule([
  {
    name: "gemm",
    params: 6,
    locals: [
      { type: I32, count: 12 },
      { type: V128, count: 11 },
    ],
    body: gemmBody,
  },
]);

interface GemmKernel {
  memory: WebAssembly.Memory;
  gemm: (a: number, b: number, c: number, m: number, n: number, k: number) => void;
}

let kernel: GemmKernel | null | undefined;

/** The compiled kernel, or null where WebAssembly SIMD is missing (the scalar loops run instead). */
export function simdGemm(): GemmKernel | null {
  if (kernel !== undefined) return kernel;
  try {
    // Synchronous compile: the module is a few hundred bytes, far under browsers' main-thread limit.
    const instance = new WebAssembly.Instance(new WebAssembly.Module(gemmModuleBytes));
    kernel = instance.exports as unknown as GemmKernel;
  } catch {
    kernel = null;
  }
  return kernel;
}

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/**
 * `dst[at + c·stride + r] = src[base + r·cols + c]` for a `[rows, cols]` source, eight source rows
 * at a time so that both sides move through memory in short contiguous runs.
 */
function transposeInto(
  dst: Float32Array,
  at: number,
  src: Float32Array,
  base: number,
  rows: number,
  cols: number,
  stride: number,
): void {
  for (let r0 = 0; r0 < rows; r0 += 8) {
    const r1 = Math.min(rows, r0 + 8);
    for (let c = 0; c < cols; c++) {
      const row = at + c * stride;
      for (let r = r0; r < r1; r++) dst[row + r] = src[base + r * cols + c];
    }
  }
}

/**
 * `C[z] = op(A[z])·op(B[z]) (+ bias)` on the SIMD kernel, or null without WebAssembly SIMD.
 * Operands are copied into the kernel's memory as row-major A `[M′,K]` and B `[K,N′]` (transposed
 * there when stored transposed), M′ and N′ rounded up to the kernel's tile; the padding's rows and
 * columns of C are computed and dropped.
 */
export function simdMatmul(a: Float32Array, b: Float32Array, s: MatmulShape, bias?: Float32Array): Float32Array | null {
  const gemm = simdGemm();
  if (!gemm) return null;
  const { batch, m, n, k } = s;
  const [mp, np] = [roundUp(m, 4), roundUp(n, 8)];
  const [aAt, bAt, cAt] = [0, mp * k, mp * k + k * np];
  const bytes = 4 * (cAt + mp * np);
  const pages = Math.ceil(bytes / 65536) - gemm.memory.buffer.byteLength / 65536;
  if (pages > 0) gemm.memory.grow(pages);
  const mem = new Float32Array(gemm.memory.buffer);
  const out = tensor(batch * m * n);
  for (let z = 0; z < batch; z++) {
    if (z === 0 || !s.broadcastA) {
      const base = s.broadcastA ? 0 : z * m * k;
      if (!s.transA) mem.set(a.subarray(base, base + m * k), aAt);
      else transposeInto(mem, aAt, a, base, k, m, k);
    }
    if (z === 0 || !s.broadcastB) {
      const base = s.broadcastB ? 0 : z * k * n;
      if (!s.transB && np === n) mem.set(b.subarray(base, base + k * n), bAt);
      else if (!s.transB)
        for (let t = 0; t < k; t++) mem.set(b.subarray(base + t * n, base + (t + 1) * n), bAt + t * np);
      else transposeInto(mem, bAt, b, base, n, k, np);
    }
    const c = mem.subarray(cAt, cAt + mp * np);
    // The kernel accumulates into C: start it at the bias (rows of padding included), or at 0.
    if (!bias) c.fill(0);
    else for (let i = 0; i < mp; i++) c.set(bias.subarray(0, n), i * np);
    gemm.gemm(4 * aAt, 4 * bAt, 4 * cAt, mp, np, k);
    if (np === n) out.set(c.subarray(0, m * n), z * m * n);
    else for (let i = 0; i < m; i++) out.set(c.subarray(i * np, i * np + n), (z * m + i) * n);
  }
  return out;
}
