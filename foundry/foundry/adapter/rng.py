"""The studio's seeded generator (src/core/sampling/rng.ts), bit for bit: SplitMix32 seeding a
xoshiro128** over uint32, and Box–Muller in double precision rounded to float32. The studio and
this trainer draw each step's sample, partner, noise and timestep from it, so both follow one
trajectory."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

_MASK = 0xFFFFFFFF


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def _splitmix32(seed: int) -> Callable[[], int]:
    s = seed & _MASK

    def next_value() -> int:
        nonlocal s
        s = (s + 0x9E3779B9) & _MASK
        z = s
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & _MASK
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & _MASK
        return z ^ (z >> 16)

    return next_value


def uint32_stream(seed: int) -> Callable[[], int]:
    """xoshiro128**: uniform uint32 values, seeded through SplitMix32 like `uint32Stream`."""
    init = _splitmix32(seed)
    a, b, c, d = init(), init(), init(), init()

    def next_value() -> int:
        nonlocal a, b, c, d
        r = (_rotl((b * 5) & _MASK, 7) * 9) & _MASK
        t = (b << 9) & _MASK
        c ^= a
        d ^= b
        b ^= c
        a ^= d
        c ^= t
        d = _rotl(d, 11)
        return r

    return next_value


def gaussian(seed: int, n: int) -> np.ndarray:
    """n standard-normal float32 samples for `seed`, as `gaussian` in rng.ts. Python's math
    functions are the C library's double-precision ones; rounding to float32 hides their last-bit
    differences from V8's fdlibm (the test compares against values the TypeScript printed)."""
    next_value = uint32_stream(seed)
    out = np.empty(n, dtype=np.float64)
    for i in range(0, n, 2):
        u1 = (next_value() + 1) / 4294967296
        u2 = next_value() / 4294967296
        r = math.sqrt(-2 * math.log(u1))
        out[i] = r * math.cos(2 * math.pi * u2)
        if i + 1 < n:
            out[i + 1] = r * math.sin(2 * math.pi * u2)
    return out.astype(np.float32)
