"""Gradient clipping and AdamW as the studio's engine applies them (src/core/engine/optim.ts):
PyTorch's semantics, but with the engine's arithmetic — double precision, rounded to float32
where it stores m, v and the parameter — so one step gives the same bits in both."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch


def global_norm(grads: list[torch.Tensor]) -> float:
    """‖g‖ over all gradients together, summed in double."""
    return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float) -> float:
    """Scales every gradient by min(1, max_norm/(‖g‖ + 1e-6)) in place. Returns ‖g‖ before clipping."""
    norm = global_norm(grads)
    coef = max_norm / (norm + 1e-6)
    if coef < 1:
        for g in grads:
            g.copy_(g.double() * coef)
    return norm


@dataclass(frozen=True)
class AdamWOptions:
    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.01


def adamw_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int, o: AdamWOptions) -> None:
    """One AdamW step at step number t (1-based), in place on float32 `param`, `m`, `v`:
    p ← p·(1 − lr·λ) − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε) after the moment updates."""
    step_size = o.lr / (1 - o.beta1**t)
    bc2 = math.sqrt(1 - o.beta2**t)
    g = grad.double()
    m.copy_(o.beta1 * m.double() + (1 - o.beta1) * g)
    v.copy_(o.beta2 * v.double() + (1 - o.beta2) * g * g)
    update = (step_size * m.double()) / (v.double().sqrt() / bc2 + o.eps)
    param.copy_(param.double() * (1 - o.lr * o.weight_decay) - update)


@dataclass
class AdamW:
    """AdamW state (step count, first and second moments) for a list of parameters."""

    t: int = 0
    m: list[torch.Tensor] = field(default_factory=list)
    v: list[torch.Tensor] = field(default_factory=list)

    def step(self, params: list[torch.Tensor], grads: list[torch.Tensor], o: AdamWOptions) -> None:
        if not self.m:
            self.m = [torch.zeros_like(p) for p in params]
            self.v = [torch.zeros_like(p) for p in params]
        self.t += 1
        with torch.no_grad():
            for p, g, m, v in zip(params, grads, self.m, self.v):
                adamw_step(p, g, m, v, self.t, o)
