"""Patch-quality maps → per-element loss weights at latent resolution, as
src/core/training/weights.ts: normalize (`clamp` or per-image `minmax`), an optional soft or hard
threshold, nearest upsampling to the latent grid. Each step computes in double precision and
rounds to float32 where the TypeScript stores a Float32Array, so both give the same bits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WeightOptions:
    normalize: str = "clamp"  # "clamp" | "minmax"
    threshold: float | None = None  # τ in normalized units; None: w = n(q)
    temperature: float = 0.1  # T ≥ 0; 0 makes the threshold a hard step

    def __post_init__(self):
        if self.normalize not in ("clamp", "minmax"):
            raise ValueError(f"weights.normalize must be clamp or minmax, got {self.normalize!r}")


def _normalize(q: np.ndarray, mode: str) -> np.ndarray:
    if mode == "clamp":
        return np.clip(q, 0, 1).astype(np.float32)
    lo, hi = float(q.min()), float(q.max())
    if hi <= lo:  # a flat map carries no preference between patches: weight every patch fully
        return np.ones_like(q, dtype=np.float32)
    return ((q.astype(np.float64) - lo) / (hi - lo)).astype(np.float32)


def quality_weights(q: np.ndarray, o: WeightOptions) -> np.ndarray:
    """Quality map on the patch grid → weights in [0, 1] on the same grid."""
    n = _normalize(q, o.normalize)
    if o.threshold is None:
        return n
    if o.temperature <= 0:
        return (n >= o.threshold).astype(np.float32)
    return (1 / (1 + np.exp(-(n.astype(np.float64) - o.threshold) / o.temperature))).astype(np.float32)


def to_latent(m: np.ndarray, latent: tuple[int, int, int]) -> np.ndarray:
    """Nearest upsampling of a [gh, gw] map to [C, H, W], the same weight on every channel."""
    c, h, w = latent
    gh, gw = m.shape
    if h % gh or w % gw:
        raise ValueError(f"a {gh}×{gw} map does not tile a {h}×{w} latent")
    return np.ascontiguousarray(np.broadcast_to(m.repeat(h // gh, 0).repeat(w // gw, 1), (c, h, w)))


def signed_parts(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed weights 2w − 1 split into positive and negative parts (both ≥ 0)."""
    s = 2 * w.astype(np.float64) - 1
    return np.maximum(s, 0).astype(np.float32), np.maximum(-s, 0).astype(np.float32)
