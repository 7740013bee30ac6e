/**
 * The engine's CPU backend: every op of the denoiser with its forward and backward, in plain
 * TypeScript over row-major float32 tensors. Matmuls run on a WebAssembly SIMD kernel with float32
 * sums (scalar double-precision loops where SIMD is missing); other sums run in double precision
 * and results round to float32. This is the oracle for the WGSL kernels and the fallback where
 * WebGPU is missing.
 *
 * Backward functions take the upstream gradient and what the forward saved, and ADD into the
 * gradient buffers they are given (so a tensor used twice accumulates both contributions);
 * a gradient that is not wanted is simply not passed.
 */

import { tensor } from "./scratch";
import { simdMatmul } from "./wasm/gemm";

export type F32 = Float32Array;

/** Shape of a batched matmul; the WGSL kernel (src/gpu/kernels/matmul.ts) takes the same. */
export interface MatmulShape {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** A is stored [K,M] instead of [M,K]. */
  transA?: boolean;
  /** B is stored [N,K] instead of [K,N]. */
  transB?: boolean;
  /** One A (or B) for the whole batch instead of one per item. */
  broadcastA?: boolean;
  broadcastB?: boolean;
  /** Adds a bias of length N to every row. */
  bias?: boolean;
}

/** C[z] = op(A[z])·op(B[z]) (+ bias), C `[batch, M, N]`. */
export function matmul(a: F32, b: F32, s: MatmulShape, bias?: F32): F32 {
  return simdMatmul(a, b, s, bias) ?? scalarMatmul(a, b, s, bias);
}

/** `matmul` in scalar loops, summing in double precision: the fallback, and the SIMD kernel's oracle. */
export function scalarMatmul(a: F32, b: F32, s: MatmulShape, bias?: F32): F32 {
  const { batch, m, n, k } = s;
  const out = tensor(batch * m * n);
  const [aRow, aCol] = s.transA ? [1, m] : [k, 1];
  const [bRow, bCol] = s.transB ? [1, k] : [n, 1];
  for (let z = 0; z < batch; z++) {
    const ba = s.broadcastA ? 0 : z * m * k;
    const bb = s.broadcastB ? 0 : z * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = bias ? bias[j] : 0;
        for (let t = 0; t < k; t++) acc += a[ba + i * aRow + t * aCol] * b[bb + t * bRow + j * bCol];
        out[(z * m + i) * n + j] = acc;
      }
    }
  }
  return out;
}

/** `y[r, o] = Σᵢ x[r, i]·W[o, i] + b[o]`, W stored `[out, in]` (PyTorch `Linear`). */
export function linear(x: F32, w: F32, bias: F32 | null, rows: number, inF: number, outF: number): F32 {
  return matmul(x, w, { batch: 1, m: rows, n: outF, k: inF, transB: true }, bias ?? undefined);
}

/** Backward of `linear`: dx += dy·W, dW += dyᵀ·x, db += Σ_r dy. */
export function linearBackward(
  dy: F32,
  x: F32,
  w: F32,
  rows: number,
  inF: number,
  outF: number,
  grads: { dx?: F32; dw?: F32; db?: F32 },
): void {
  if (grads.dx) addInto(grads.dx, matmul(dy, w, { batch: 1, m: rows, n: inF, k: outF }));
  if (grads.dw) addInto(grads.dw, matmul(dy, x, { batch: 1, m: outF, n: inF, k: rows, transA: true }));
  if (grads.db) {
    for (let r = 0; r < rows; r++) for (let o = 0; o < outF; o++) grads.db[o] += dy[r * outF + o];
  }
}

export function addInto(dst: F32, src: F32, scale = 1): void {
  for (let i = 0; i < dst.length; i++) dst[i] += scale * src[i];
}

/** What layer norm's backward needs: per-row mean and 1/√(var + ε). */
export interface LayerNormSaved {
  mean: F32;
  rstd: F32;
}

/** `y = (x − μ)/√(σ² + ε)·γ + β` over the last axis (biased variance); γ, β optional. */
export function layerNorm(
  x: F32,
  rows: number,
  c: number,
  eps: number,
  gamma?: F32,
  beta?: F32,
): { y: F32; saved: LayerNormSaved } {
  const y = tensor(rows * c);
  const mean = tensor(rows);
  const rstd = tensor(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    let mu = 0;
    for (let i = 0; i < c; i++) mu += x[o + i];
    mu /= c;
    let v = 0;
    for (let i = 0; i < c; i++) v += (x[o + i] - mu) ** 2;
    const rs = 1 / Math.sqrt(v / c + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let i = 0; i < c; i++) {
      const n = (x[o + i] - mu) * rs;
      y[o + i] = gamma ? n * gamma[i] + (beta ? beta[i] : 0) : n;
    }
  }
  return { y, saved: { mean, rstd } };
}

/**
 * Backward of `layerNorm`, with x̂ = (x − μ)·rstd and g = dy·γ:
 * dx += rstd·(g − mean(g) − x̂·mean(g·x̂)), dγ += Σ_r dy·x̂, dβ += Σ_r dy.
 */
export function layerNormBackward(
  dy: F32,
  x: F32,
  saved: LayerNormSaved,
  rows: number,
  c: number,
  grads: { dx?: F32; dgamma?: F32; dbeta?: F32 },
  gamma?: F32,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    const mu = saved.mean[r];
    const rs = saved.rstd[r];
    let meanG = 0;
    let meanGX = 0;
    for (let i = 0; i < c; i++) {
      const g = dy[o + i] * (gamma ? gamma[i] : 1);
      const xh = (x[o + i] - mu) * rs;
      meanG += g;
      meanGX += g * xh;
      if (grads.dgamma) grads.dgamma[i] += dy[o + i] * xh;
      if (grads.dbeta) grads.dbeta[i] += dy[o + i];
    }
    meanG /= c;
    meanGX /= c;
    if (!grads.dx) continue;
    for (let i = 0; i < c; i++) {
      const g = dy[o + i] * (gamma ? gamma[i] : 1);
      const xh = (x[o + i] - mu) * rs;
      grads.dx[o + i] += rs * (g - meanG - xh * meanGX);
    }
  }
}

const GELU_K = Math.sqrt(2 / Math.PI);

/**
 * tanh through one exp: V8's Math.tanh costs several times more, and GELU's tanh was a quarter of
 * a CPU training step. Exact to double rounding for f32 purposes; ±1 at overflow.
 */
function tanh(u: number): number {
  return 1 - 2 / (Math.exp(2 * u) + 1);
}

/** tanh-GELU: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`. */
export function gelu(x: F32): F32 {
  const y = tensor(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + tanh(GELU_K * (v + 0.044715 * v * v * v)));
  }
  return y;
}

/** dx += dy·gelu′(x), gelu′ = 0.5(1 + t) + 0.5·x·(1 − t²)·√(2/π)(1 + 3·0.044715·x²). */
export function geluBackward(dy: F32, x: F32, dx: F32): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const t = tanh(GELU_K * (v + 0.044715 * v * v * v));
    dx[i] += dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * 0.044715 * v * v));
  }
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** SiLU: `x·σ(x)`. */
export function silu(x: F32): F32 {
  const y = tensor(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] * sigmoid(x[i]);
  return y;
}

/** dx += dy·σ(x)·(1 + x·(1 − σ(x))). */
export function siluBackward(dy: F32, x: F32, dx: F32): void {
  for (let i = 0; i < x.length; i++) {
    const s = sigmoid(x[i]);
    dx[i] += dy[i] * s * (1 + x[i] * (1 - s));
  }
}

/** Attention sizes: queries `[batch, n, heads·d]`, keys and values `[batch, m, heads·d]`. */
export interface AttentionShape {
  batch: number;
  /** Query tokens. */
  n: number;
  /** Key/value tokens. */
  m: number;
  heads: number;
  /** Head dimension. */
  d: number;
}

/** `[batch, tokens, heads·d]` → `[batch·heads, tokens, d]`, so each head is one matmul operand. */
function splitHeads(x: F32, batch: number, tokens: number, heads: number, d: number): F32 {
  const out = tensor(x.length);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < tokens; t++) {
        const from = (b * tokens + t) * heads * d + h * d;
        out.set(x.subarray(from, from + d), ((b * heads + h) * tokens + t) * d);
      }
  return out;
}

/** Adds `[batch·heads, tokens, d]` back into `[batch, tokens, heads·d]`. */
function addMergedHeads(dst: F32, x: F32, batch: number, tokens: number, heads: number, d: number): void {
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < tokens; t++) {
        const [to, from] = [(b * tokens + t) * heads * d + h * d, ((b * heads + h) * tokens + t) * d];
        for (let e = 0; e < d; e++) dst[to + e] += x[from + e];
      }
}

/**
 * Multi-head softmax attention, heads concatenated: per head `P = softmax(q kᵀ/√d)`, `o = P v`.
 * Returns the output and P `[batch, heads, n, m]` for the backward.
 */
export function attention(q: F32, k: F32, v: F32, s: AttentionShape): { out: F32; probs: F32 } {
  const { batch, n, m, heads, d } = s;
  const bh = batch * heads;
  const [qh, kh, vh] = [
    splitHeads(q, batch, n, heads, d),
    splitHeads(k, batch, m, heads, d),
    splitHeads(v, batch, m, heads, d),
  ];
  const probs = matmul(qh, kh, { batch: bh, m: n, n: m, k: d, transB: true });
  const scale = 1 / Math.sqrt(d);
  for (let r = 0; r < bh * n; r++) {
    const row = probs.subarray(r * m, (r + 1) * m);
    let max = -Infinity;
    for (let j = 0; j < m; j++) max = Math.max(max, row[j] * scale);
    let sum = 0;
    for (let j = 0; j < m; j++) {
      row[j] = Math.exp(row[j] * scale - max);
      sum += row[j];
    }
    for (let j = 0; j < m; j++) row[j] /= sum;
  }
  const out = tensor(q.length);
  addMergedHeads(out, matmul(probs, vh, { batch: bh, m: n, n: d, k: m }), batch, n, heads, d);
  return { out, probs };
}

/**
 * Backward of `attention`: dv += Pᵀ·do, dP = do·vᵀ, dS = P ⊙ (dP − Σ_j P·dP),
 * dq += dS·k/√d, dk += dSᵀ·q/√d.
 */
export function attentionBackward(
  dout: F32,
  q: F32,
  k: F32,
  v: F32,
  probs: F32,
  s: AttentionShape,
  grads: { dq?: F32; dk?: F32; dv?: F32 },
): void {
  const { batch, n, m, heads, d } = s;
  const bh = batch * heads;
  const doh = splitHeads(dout, batch, n, heads, d);
  if (grads.dv)
    addMergedHeads(grads.dv, matmul(probs, doh, { batch: bh, m, n: d, k: n, transA: true }), batch, m, heads, d);
  if (!grads.dq && !grads.dk) return;
  const ds = matmul(doh, splitHeads(v, batch, m, heads, d), { batch: bh, m: n, n: m, k: d, transB: true });
  const scale = 1 / Math.sqrt(d);
  for (let r = 0; r < bh * n; r++) {
    let rowDot = 0;
    for (let j = r * m; j < (r + 1) * m; j++) rowDot += ds[j] * probs[j];
    for (let j = r * m; j < (r + 1) * m; j++) ds[j] = probs[j] * (ds[j] - rowDot) * scale;
  }
  if (grads.dq) {
    const dq = matmul(ds, splitHeads(k, batch, m, heads, d), { batch: bh, m: n, n: d, k: m });
    addMergedHeads(grads.dq, dq, batch, n, heads, d);
  }
  if (grads.dk) {
    const dk = matmul(ds, splitHeads(q, batch, n, heads, d), { batch: bh, m, n: d, k: n, transA: true });
    addMergedHeads(grads.dk, dk, batch, m, heads, d);
  }
}

/** adaLN modulation `y[b,t,:] = x[b,t,:]·(1 + scale[b,:]) + shift[b,:]`. */
export function modulate(x: F32, shift: F32, scale: F32, batch: number, tokens: number, c: number): F32 {
  const y = tensor(x.length);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < tokens; t++) {
      const o = (b * tokens + t) * c;
      for (let i = 0; i < c; i++) y[o + i] = x[o + i] * (1 + scale[b * c + i]) + shift[b * c + i];
    }
  }
  return y;
}

/** Backward of `modulate`: dx += dy·(1 + scale), dshift += Σ_t dy, dscale += Σ_t dy·x. */
export function modulateBackward(
  dy: F32,
  x: F32,
  scale: F32,
  batch: number,
  tokens: number,
  c: number,
  grads: { dx?: F32; dshift?: F32; dscale?: F32 },
): void {
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < tokens; t++) {
      const o = (b * tokens + t) * c;
      for (let i = 0; i < c; i++) {
        const g = dy[o + i];
        if (grads.dx) grads.dx[o + i] += g * (1 + scale[b * c + i]);
        if (grads.dshift) grads.dshift[b * c + i] += g;
        if (grads.dscale) grads.dscale[b * c + i] += g * x[o + i];
      }
    }
  }
}

/** Gated residual `x[b,t,:] += gate[b,:]·h[b,t,:]`, in place. */
export function addGated(x: F32, gate: F32, h: F32, batch: number, tokens: number, c: number): void {
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < tokens; t++) {
      const o = (b * tokens + t) * c;
      for (let i = 0; i < c; i++) x[o + i] += gate[b * c + i] * h[o + i];
    }
  }
}

/** Backward of `addGated` (the residual path passes dx through unchanged): dh += dx·gate, dgate += Σ_t dx·h. */
export function addGatedBackward(
  dx: F32,
  gate: F32,
  h: F32,
  batch: number,
  tokens: number,
  c: number,
  grads: { dh?: F32; dgate?: F32 },
): void {
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < tokens; t++) {
      const o = (b * tokens + t) * c;
      for (let i = 0; i < c; i++) {
        if (grads.dh) grads.dh[o + i] += dx[o + i] * gate[b * c + i];
        if (grads.dgate) grads.dgate[b * c + i] += dx[o + i] * h[o + i];
      }
    }
  }
}

/** Sizes of a latent grid cut into p×p patches. */
export interface PatchShape {
  batch: number;
  channels: number;
  size: number;
  patch: number;
}

/** Index map: token feature `x[b, gy·g+gx, c·p² + py·p + px] = latent[b, c, gy·p+py, gx·p+px]`. */
function patchIndex(s: PatchShape, visit: (tokenIndex: number, latentIndex: number) => void): void {
  const { batch, channels, size, patch: p } = s;
  const g = size / p;
  const f = channels * p * p;
  for (let b = 0; b < batch; b++)
    for (let c = 0; c < channels; c++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const tok = Math.floor(y / p) * g + Math.floor(x / p);
          const feat = c * p * p + (y % p) * p + (x % p);
          visit((b * g * g + tok) * f + feat, ((b * channels + c) * size + y) * size + x);
        }
}

/** `[B,C,H,W]` → `[B, (H/p)(W/p), C·p²]`. A permutation: its backward is `unpatchify`. */
export function patchify(latent: F32, s: PatchShape): F32 {
  const out = tensor(latent.length);
  patchIndex(s, (t, l) => {
    out[t] = latent[l];
  });
  return out;
}

/** Inverse of `patchify`; its backward is `patchify`. */
export function unpatchify(tokens: F32, s: PatchShape): F32 {
  const out = tensor(tokens.length);
  patchIndex(s, (t, l) => {
    out[l] = tokens[t];
  });
  return out;
}

/** Embedding lookup `y[r,:] = table[ids[r],:]`. */
export function embed(ids: ArrayLike<number>, table: F32, c: number): F32 {
  const out = tensor(ids.length * c);
  for (let r = 0; r < ids.length; r++) out.set(table.subarray(ids[r] * c, ids[r] * c + c), r * c);
  return out;
}

/** Backward of `embed`: dtable[ids[r],:] += dy[r,:]. */
export function embedBackward(dy: F32, ids: ArrayLike<number>, c: number, dtable: F32): void {
  for (let r = 0; r < ids.length; r++) for (let i = 0; i < c; i++) dtable[ids[r] * c + i] += dy[r * c + i];
}

/**
 * Sinusoidal timestep embedding `[cos(t·f), sin(t·f)]`, `f_k = exp(−ln(10000)·k/half)`, rounded
 * to float32 at the same steps as PyTorch (frequencies and t·f are float32 there). No backward:
 * the timestep is not differentiated.
 */
export function timestepEmbedding(t: ArrayLike<number>, dim: number): F32 {
  const half = dim / 2;
  const f = Math.fround;
  const lnBase = f(-Math.log(10000));
  const freqs = Array.from({ length: half }, (_, k) => f(Math.exp(f(f(lnBase * k) / half))));
  const out = tensor(t.length * dim);
  for (let b = 0; b < t.length; b++) {
    for (let k = 0; k < half; k++) {
      const arg = f(f(t[b]) * freqs[k]);
      out[b * dim + k] = Math.cos(arg);
      out[b * dim + half + k] = Math.sin(arg);
    }
  }
  return out;
}
