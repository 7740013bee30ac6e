/**
 * Central finite differences for gradient tests. The probe loss is `Σ W ⊙ f(x)` for fixed
 * Gaussian W, so the analytic gradient is the op's backward with upstream gradient W.
 */
import { expect } from "vitest";

export function probeLoss(out: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * w[i];
  return s;
}

/**
 * Checks `analytic` against `(L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h` for every element i of x (perturbed
 * in place and restored). Passes when |Δ| ≤ tol·(1 + |fd|).
 */
export function expectGradient(
  loss: () => number,
  x: Float32Array,
  analytic: ArrayLike<number>,
  { h = 1e-2, tol = 2e-3, label = "gradient" } = {},
): void {
  expect(analytic.length).toBe(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + h;
    const up = loss();
    x[i] = v - h;
    const down = loss();
    x[i] = v;
    const fd = (up - down) / (2 * h);
    expect(Math.abs(analytic[i] - fd), `${label}[${i}]: analytic ${analytic[i]} vs fd ${fd}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(fd)),
    );
  }
}
