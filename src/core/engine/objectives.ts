/**
 * The CPU engine's training objectives over predicted noise (the WGSL counterparts are in
 * gpu/kernels/loss.ts), each with its gradient stated in closed form.
 *
 * - Weighted MSE (plain fine-tuning and the PatchDPO weighting of DESIGN.md §2):
 *   `L = mean(w ⊙ (ε̂ − ε)²)`, `∂L/∂ε̂ = 2·w ⊙ (ε̂ − ε)/N`.
 * - Per-sample errors `e_s = mean_i(w ⊙ (ε̂ − ε)²)` over each sample's D elements, the terms the
 *   Diffusion-DPO loss compares; `∂e_s/∂ε̂ = 2·w ⊙ (ε̂ − ε)/D`.
 * - Diffusion-DPO over P pairs (winner w, loser l, frozen reference `ref`):
 *   `d = (e_w − e_w^ref) − (e_l − e_l^ref)`, `L = mean_p −log σ(−β·d)`,
 *   `∂L/∂e_w = β·σ(β·d)/P = −∂L/∂e_l` (the reference errors are constants).
 */

import type { F32 } from "./ops";
import { tensor } from "./scratch";

export interface LossWithGrad {
  loss: number;
  /** Gradient with respect to the prediction. */
  grad: F32;
}

function checkSizes(pred: F32, target: F32, weight?: F32): void {
  if (target.length !== pred.length || (weight && weight.length !== pred.length)) {
    throw new RangeError(
      `loss: prediction has ${pred.length} values, target ${target.length}${weight ? `, weight ${weight.length}` : ""}`,
    );
  }
}

/** `mean(w ⊙ (pred − target)²)` (w = 1 when omitted) and its gradient. */
export function weightedMse(pred: F32, target: F32, weight?: F32): LossWithGrad {
  checkSizes(pred, target, weight);
  const n = pred.length;
  const grad = tensor(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = weight ? weight[i] : 1;
    const r = pred[i] - target[i];
    sum += w * r * r;
    grad[i] = (2 * w * r) / n;
  }
  return { loss: sum / n, grad };
}

/** Per-sample weighted mean squared errors `e[s]` of `samples` equal-sized samples. */
export function perSampleMse(pred: F32, target: F32, samples: number, weight?: F32): F32 {
  checkSizes(pred, target, weight);
  const d = pred.length / samples;
  const e = tensor(samples);
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let i = s * d; i < (s + 1) * d; i++) sum += (weight ? weight[i] : 1) * (pred[i] - target[i]) ** 2;
    e[s] = sum / d;
  }
  return e;
}

/** Chains per-sample error gradients `de[s]` back to the prediction: `2·de[s]·w ⊙ (pred − target)/D`. */
export function perSampleMseBackward(de: F32, pred: F32, target: F32, weight?: F32): F32 {
  const d = pred.length / de.length;
  const grad = tensor(pred.length);
  for (let i = 0; i < pred.length; i++) {
    grad[i] = (2 * de[Math.floor(i / d)] * (weight ? weight[i] : 1) * (pred[i] - target[i])) / d;
  }
  return grad;
}

export interface DpoTerms {
  /** Errors of the trained model on winners and losers, one per pair. */
  winner: F32;
  loser: F32;
  /** Errors of the frozen reference model on the same inputs. */
  refWinner: F32;
  refLoser: F32;
}

export interface DpoResult {
  loss: number;
  /** ∂L/∂e for the trained model's winner and loser errors. */
  dWinner: F32;
  dLoser: F32;
  /** Mean implicit reward margin −d, for monitoring. */
  margin: number;
}

/** `log(1 + eˣ)` without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Diffusion-DPO loss `mean −log σ(−β·[(e_w − e_w^ref) − (e_l − e_l^ref)])` and its gradients. */
export function dpoLoss(t: DpoTerms, beta: number): DpoResult {
  const p = t.winner.length;
  if ([t.loser, t.refWinner, t.refLoser].some((a) => a.length !== p)) throw new RangeError("dpo: term lengths differ");
  const dWinner = tensor(p);
  const dLoser = tensor(p);
  let loss = 0;
  let margin = 0;
  for (let i = 0; i < p; i++) {
    const d = t.winner[i] - t.refWinner[i] - (t.loser[i] - t.refLoser[i]);
    loss += softplus(beta * d); // −log σ(−βd) = log(1 + e^{βd})
    margin -= d;
    const g = beta / (1 + Math.exp(-beta * d)) / p; // β·σ(βd)/P
    dWinner[i] = g;
    dLoser[i] = -g;
  }
  return { loss: loss / p, dWinner, dLoser, margin: margin / p };
}
