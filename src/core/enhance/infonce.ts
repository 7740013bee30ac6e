/**
 * Patch InfoNCE (foundry/foundry/train.py `infonce`) with its gradient, and S_patch, the
 * correspondence accuracy it trains. Per pair p, features are L2-normalised per patch
 * (n = f/‖f‖), logits ℓ_ij = ⟨n^B_i, n^A_j⟩/τ, and every B patch i with a target t_i ≥ 0 is a
 * softmax classification of t_i among A's patches:
 *   L = mean_valid −log softmax(ℓ_i)[t_i],   ∂L/∂ℓ_ij = (softmax(ℓ_i)_j − [j = t_i]) / N_valid,
 *   ∂L/∂n^B_i = Σ_j ∂ℓ_ij·n^A_j/τ,  ∂L/∂n^A_j = Σ_i ∂ℓ_ij·n^B_i/τ,  ∂L/∂f = (∂n − n⟨n, ∂n⟩)/‖f‖.
 */

export interface PatchPairs {
  /** `[pairs, tokens, dim]` features of views A and B. */
  a: Float32Array;
  b: Float32Array;
  /** `[pairs, tokens]`: per B patch, its A patch or −1. */
  target: Int32Array;
  tokens: number;
  dim: number;
}

export interface InfoNceResult {
  loss: number;
  /** Share of valid B patches whose best A match (top-5: among the 5 best) is their target. */
  top1: number;
  top5: number;
  valid: number;
  /** ∂L/∂ features, shaped as `a` and `b`. */
  dA: Float32Array;
  dB: Float32Array;
}

function normalizeRows(x: Float32Array, rows: number, dim: number): { n: Float32Array; norm: Float64Array } {
  const n = new Float32Array(x.length);
  const norm = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let d = 0; d < dim; d++) sq += x[r * dim + d] ** 2;
    norm[r] = Math.max(Math.sqrt(sq), 1e-12); // F.normalize's ε
    for (let d = 0; d < dim; d++) n[r * dim + d] = x[r * dim + d] / norm[r];
  }
  return { n, norm };
}

/** dx = (dn − n⟨n, dn⟩)/‖x‖, row by row. */
function normalizeBackward(dn: Float64Array, n: Float32Array, norm: Float64Array, dim: number): Float32Array {
  const dx = new Float32Array(n.length);
  for (let r = 0; r < norm.length; r++) {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += n[r * dim + d] * dn[r * dim + d];
    for (let d = 0; d < dim; d++) dx[r * dim + d] = (dn[r * dim + d] - n[r * dim + d] * dot) / norm[r];
  }
  return dx;
}

export function infoNce(p: PatchPairs, temperature: number): InfoNceResult {
  const { tokens: T, dim } = p;
  const pairs = p.target.length / T;
  const A = normalizeRows(p.a, pairs * T, dim);
  const B = normalizeRows(p.b, pairs * T, dim);
  const valid = p.target.reduce((s, t) => s + (t >= 0 ? 1 : 0), 0);
  const dnA = new Float64Array(p.a.length);
  const dnB = new Float64Array(p.b.length);
  let loss = 0;
  let top1 = 0;
  let top5 = 0;
  const logits = new Float64Array(T);
  for (let q = 0; q < pairs; q++)
    for (let i = 0; i < T; i++) {
      const t = p.target[q * T + i];
      if (t < 0) continue;
      const bi = (q * T + i) * dim;
      let max = -Infinity;
      for (let j = 0; j < T; j++) {
        const aj = (q * T + j) * dim;
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += B.n[bi + d] * A.n[aj + d];
        logits[j] = dot / temperature;
        max = Math.max(max, logits[j]);
      }
      let sum = 0;
      for (let j = 0; j < T; j++) sum += Math.exp(logits[j] - max);
      loss += Math.log(sum) + max - logits[t];
      const better = logits.reduce((c, l, j) => c + (j !== t && l > logits[t] ? 1 : 0), 0);
      if (better === 0) top1++;
      if (better < 5) top5++;
      for (let j = 0; j < T; j++) {
        const g = (Math.exp(logits[j] - max) / sum - (j === t ? 1 : 0)) / valid / temperature;
        const aj = (q * T + j) * dim;
        for (let d = 0; d < dim; d++) {
          dnB[bi + d] += g * A.n[aj + d];
          dnA[aj + d] += g * B.n[bi + d];
        }
      }
    }
  return {
    loss: valid ? loss / valid : 0,
    top1: valid ? top1 / valid : 0,
    top5: valid ? top5 / valid : 0,
    valid,
    dA: normalizeBackward(dnA, A.n, A.norm, dim),
    dB: normalizeBackward(dnB, B.n, B.norm, dim),
  };
}

/** Per B patch of one pair, the A patch its feature is most similar to (cosine), as S_patch counts it. */
export function bestMatches(a: Float32Array, b: Float32Array, tokens: number, dim: number): Int32Array {
  const A = normalizeRows(a, tokens, dim);
  const B = normalizeRows(b, tokens, dim);
  return Int32Array.from({ length: tokens }, (_, i) => {
    let best = 0;
    let bestDot = -Infinity;
    for (let j = 0; j < tokens; j++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += B.n[i * dim + d] * A.n[j * dim + d];
      if (dot > bestDot) [best, bestDot] = [j, dot];
    }
    return best;
  });
}
