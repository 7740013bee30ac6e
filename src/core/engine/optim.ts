/**
 * Global gradient-norm clipping and AdamW, with PyTorch's semantics
 * (`torch.nn.utils.clip_grad_norm_`, `torch.optim.AdamW`), over named float32 parameters.
 */

import type { F32 } from "./ops";

/**
 * Scales every gradient by `min(1, maxNorm/(‖g‖ + 1e-6))`, ‖g‖ the L2 norm over all of them
 * together. Returns the norm before clipping.
 */
export function clipGradNorm(grads: Iterable<F32>, maxNorm: number): number {
  const list = [...grads];
  let sq = 0;
  for (const g of list) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of list) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

/**
 * One AdamW step at step number `t` (1-based), in place on `param`, `m`, `v`:
 *   p ← p·(1 − lr·λ)                       (decoupled weight decay)
 *   m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²
 *   p ← p − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
 */
export function adamwStep(param: F32, grad: F32, m: F32, v: F32, t: number, options: AdamWOptions): void {
  const { lr, beta1, beta2, eps, weightDecay } = { ...ADAMW_DEFAULTS, ...options };
  const stepSize = lr / (1 - beta1 ** t);
  const bc2 = Math.sqrt(1 - beta2 ** t);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    param[i] = param[i] * (1 - lr * weightDecay) - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2 + eps);
  }
}

/** AdamW's step count and first/second moments by parameter name (a checkpoint's optimizer part). */
export interface OptimizerState {
  step: number;
  m: Map<string, F32>;
  v: Map<string, F32>;
}

/** AdamW state for a set of named parameters. */
export class AdamW {
  private readonly state = new Map<string, { m: F32; v: F32 }>();
  private t = 0;

  get stepCount(): number {
    return this.t;
  }

  /** Copies of the step count and moments, for checkpoints. */
  exportState(): OptimizerState {
    const copy = (k: "m" | "v") => new Map([...this.state].map(([n, s]) => [n, s[k].slice()]));
    return { step: this.t, m: copy("m"), v: copy("v") };
  }

  /** Continues from a checkpoint's step count and moments. */
  importState(s: OptimizerState): void {
    this.t = s.step;
    this.state.clear();
    for (const [n, m] of s.m)
      this.state.set(n, { m: m.slice(), v: (s.v.get(n) ?? new Float32Array(m.length)).slice() });
  }

  /** Updates every parameter in `params` with the gradient of the same name (options may change per step, e.g. lr). */
  step(params: ReadonlyMap<string, F32>, grads: ReadonlyMap<string, F32>, options: AdamWOptions): void {
    this.t += 1;
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) throw new Error(`AdamW: no gradient for ${name}`);
      let s = this.state.get(name);
      if (!s) {
        s = { m: new Float32Array(p.length), v: new Float32Array(p.length) };
        this.state.set(name, s);
      }
      adamwStep(p, g, s.m, s.v, this.t, options);
    }
  }
}
