// The operands both matmul variants (matmul.wgsl, matmul-shared.wgsl) bind, prefixed to each by
// matmul.ts: C[b] = op(A[b]) · op(B[b]) (+ bias[N]); op(A) is M×K, stored [M,K] or, with TRANS_A,
// [K,M]; op(B) is K×N, stored [K,N] or, with TRANS_B, [N,K]. A batch stride of 0 broadcasts one
// operand (e.g. weights) over the batch. C is [batch,M,N].

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;

struct Params { m: u32, n: u32, k: u32, stride_a: u32, stride_b: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
// Bound to any read-only buffer when HAS_BIAS is false (it is never read then).
@group(0) @binding(4) var<storage, read> bias: array<f32>;
