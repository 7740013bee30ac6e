/** The tfjs peer's agreement checks, shared by the page module, the scenario and the parity test. */
import { ADAMW_DEFAULTS, type AdamWOptions, type OptimizerState } from "../../src/core/engine/optim";
import { relError } from "../../src/core/engine/testing/rel-error";

type Tensors = ReadonlyMap<string, Float32Array>;

/** Above this relative error the peer is computing something else, and its timings are not reported. */
export const PARITY_LIMIT = 1e-3;

/** Largest `relError` over the tensors of `want`, by name. */
export function worstRelError(got: Tensors, want: Tensors): number {
  let worst = 0;
  for (const [name, w] of want) {
    const g = got.get(name);
    worst = Math.max(worst, g ? relError(g, w) : Number.POSITIVE_INFINITY);
  }
  return worst;
}

/** Loss and adapter gradients: the largest relative error of either. */
export function gradParity(got: { loss: number; adapter: Tensors }, want: { loss: number; adapter: Tensors }): number {
  return Math.max(Math.abs(got.loss - want.loss) / Math.abs(want.loss), worstRelError(got.adapter, want.adapter));
}

/**
 * One clipped AdamW step from `before`, checked where it is well conditioned: the moments against
 * the reference engine's (they are linear and quadratic in the clipped gradient, so they catch
 * gradient and clipping errors), and the new adapter against AdamW's formula applied on the host
 * to the engine's own moments. Comparing two engines' adapter changes directly is not: the first
 * AdamW step is ≈ lr·sign(g), which flips for gradients near zero, and at a small lr the change is
 * near float32 rounding of the weights (`options.lr` should be well above it, e.g. 1e-2).
 */
export function stepParity(
  got: { before: Tensors; after: Tensors; optimizer: OptimizerState },
  want: OptimizerState,
  options: AdamWOptions,
): number {
  if (got.optimizer.step !== 1 || want.step !== 1) throw new Error("stepParity checks the first step only");
  const { lr, beta1, beta2, eps, weightDecay } = { ...ADAMW_DEFAULTS, ...options };
  const stepSize = lr / (1 - beta1);
  const bc2 = Math.sqrt(1 - beta2);
  let worst = Math.max(worstRelError(got.optimizer.m, want.m), worstRelError(got.optimizer.v, want.v));
  for (const [name, p] of got.before) {
    const m = got.optimizer.m.get(name);
    const v = got.optimizer.v.get(name);
    const after = got.after.get(name);
    if (!m || !v || !after) return Number.POSITIVE_INFINITY;
    const expected = p.map((x, i) => -x * lr * weightDecay - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2 + eps));
    worst = Math.max(
      worst,
      relError(
        after.map((x, i) => x - p[i]),
        expected,
      ),
    );
  }
  return worst;
}
