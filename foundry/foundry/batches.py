"""Batches of rendered scenes, references and correspondence pairs, seeded per step."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .config import IMAGE_SIZE
from .scene import (
    BACKGROUNDS,
    PROMPT_LENGTH,
    SLOT_SPECS,
    PairPrompt,
    Prompt,
    background_image,
    reference,
    render,
    render_pair,
    subject_alpha,
)
from .subjects import SpriteBank


def to_model(images: np.ndarray) -> torch.Tensor:
    """[N,64,64,3] float in [0,1] → NCHW in [-1,1]."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))) * 2.0 - 1.0


def to_pixels(x: torch.Tensor) -> np.ndarray:
    """NCHW in [-1,1] → [N,64,64,3] float in [0,1]."""
    return ((x.detach().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()


def random_prompt(rng: np.random.Generator) -> Prompt:
    return Prompt().resolve(rng)


def scene_batch(bank: SpriteBank, n: int, rng: np.random.Generator, any_slot: float = 0.0):
    """n scenes of random train subjects with jitter.
    Returns (images, subject idx, prompt ids, subject alpha [n,64,64]).

    With probability any_slot each prompt slot is shown to the model as "any", teaching it the
    marginal over that slot."""
    subj = rng.integers(len(bank), size=n)
    imgs, ids, alphas = [], [], []
    for s in subj:
        p = random_prompt(rng)
        img, lay = render(bank, int(s), p, rng, jitter=True)
        imgs.append(img)
        alphas.append(subject_alpha(bank, int(s), lay))
        pid = p.ids()
        for k, spec in enumerate(SLOT_SPECS):
            if rng.random() < any_slot:
                pid[k] = spec["any_id"]
        ids.append(pid)
    return np.stack(imgs), subj, np.array(ids, dtype=np.int64).reshape(n, PROMPT_LENGTH), np.stack(alphas)


def pair_batch(bank: SpriteBank, n: int, rng: np.random.Generator, any_slot: float = 0.0):
    """n two-subject scenes of two different random train subjects each, with jitter.
    Returns (images, subject idx [n,2] in the denoiser's reference order (PairPrompt.reference_order),
    prompt ids, both subjects' coverage [n,64,64]).

    With probability any_slot the background and the size are each shown as "any"; the layout
    always names where A and B go, since it is what tells them apart."""
    subj = np.stack([rng.choice(len(bank), size=2, replace=False) for _ in range(n)])
    imgs, ids, alphas = [], [], []
    for i, (a, b) in enumerate(subj):
        p = PairPrompt().resolve(rng)
        subj[i] = (a, b) if p.reference_order() == (0, 1) else (b, a)
        img, masks, _ = render_pair(bank, int(a), int(b), p, rng, jitter=True)
        imgs.append(img)
        alphas.append(masks.sum(axis=0))
        pid = p.ids()
        for k in (0, 2):
            if rng.random() < any_slot:
                pid[k] = SLOT_SPECS[k]["any_id"]
        ids.append(pid)
    return np.stack(imgs), subj, np.array(ids, dtype=np.int64).reshape(n, PROMPT_LENGTH), np.stack(alphas)


def reference_batch(bank: SpriteBank, subjects) -> np.ndarray:
    return np.stack([reference(bank, int(s)) for s in subjects])


def _affine(sprite_px: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """affine_grid θ that places a sprite of side sprite_px, rotated by angle, centred at (cx, cy)."""
    n = IMAGE_SIZE
    s = sprite_px / n  # sprite side relative to the image
    cos, sin = torch.cos(angle), torch.sin(angle)
    # output normalized coord p ↦ sprite normalized coord u = R(−angle)(p − c)/s
    tx = (2 * cx + 1) / n - 1
    ty = (2 * cy + 1) / n - 1
    theta = torch.zeros(len(s), 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos / s, sin / s
    theta[:, 1, 0], theta[:, 1, 1] = -sin / s, cos / s
    theta[:, 0, 2] = -(cos * tx + sin * ty) / s
    theta[:, 1, 2] = -(-sin * tx + cos * ty) / s
    return theta


def place(sprites: torch.Tensor, theta: torch.Tensor, bgs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite [N,4,S,S] straight-alpha sprites onto [N,3,64,64] backgrounds (both in [0,1])."""
    grid = F.affine_grid(theta, [len(sprites), 4, IMAGE_SIZE, IMAGE_SIZE], align_corners=False)
    rgba = F.grid_sample(sprites, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    a = rgba[:, 3:4]
    return rgba[:, :3] * a + bgs * (1 - a), a


def correspondence_batch(bank: SpriteBank, n: int, rng: np.random.Generator, grid: int = 8):
    """Pairs (A, B) of the same subject under a random similarity transform on different
    backgrounds, and for each B patch the index of its A patch (−1 where B's patch centre is not
    on the subject in both images). Returns NCHW images in [-1,1] and targets [n, grid²]."""
    subj = rng.integers(len(bank), size=n)
    sprites = torch.from_numpy(bank.store[subj].astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    size_a = torch.from_numpy(rng.uniform(24, 56, n)).float()
    size_b = (size_a * torch.from_numpy(np.exp(rng.uniform(math.log(0.6), math.log(1.5), n))).float()).clamp(18, 60)
    ca = torch.from_numpy(rng.uniform(20, 44, (n, 2))).float()
    cb = torch.from_numpy(rng.uniform(20, 44, (n, 2))).float()
    angle = torch.from_numpy(rng.uniform(-0.45, 0.45, n)).float()
    bg_names = [BACKGROUNDS[i] for i in rng.integers(len(BACKGROUNDS), size=2 * n)] + ["white"]
    bgs = torch.from_numpy(np.stack([_bg(b) for b in bg_names[: 2 * n]])).permute(0, 3, 1, 2)
    white = rng.random(n) < 0.3  # references are on white: make A white often
    bgs[:n][torch.from_numpy(white)] = 1.0
    img_a, _ = place(sprites, _affine(size_a, ca[:, 0], ca[:, 1], torch.zeros(n)), bgs[:n])
    img_b, _ = place(sprites, _affine(size_b, cb[:, 0], cb[:, 1], angle), bgs[n:])
    # B patch centres → sprite coords → A pixel coords
    step = IMAGE_SIZE / grid
    u, v = patch_sprite_coords(cb, size_b, angle, grid)
    ax, ay = ca[:, :1] + u * size_a[:, None], ca[:, 1:] + v * size_a[:, None]
    side = sprites.shape[-1]
    ui = ((u + 0.5) * side).long().clamp(0, side - 1)
    vi = ((v + 0.5) * side).long().clamp(0, side - 1)
    alpha = sprites[torch.arange(n)[:, None], 3, vi, ui]
    inside = (u.abs() < 0.5) & (v.abs() < 0.5) & (ax >= 0) & (ax < IMAGE_SIZE) & (ay >= 0) & (ay < IMAGE_SIZE)
    target = (ay / step).long().clamp(0, grid - 1) * grid + (ax / step).long().clamp(0, grid - 1)
    target[~(inside & (alpha > 0.5))] = -1
    return img_a * 2 - 1, img_b * 2 - 1, target


def patch_sprite_coords(centre: torch.Tensor, size: torch.Tensor, angle: torch.Tensor, grid: int):
    """Where each patch centre of a grid×grid image lies on a sprite placed by `_affine`
    (centre [n,2], side `size`, rotated by `angle`): (u, v) [n, grid²] in sprite units, centred, so
    the sprite covers [−0.5, 0.5)²."""
    centres = (torch.arange(grid).float() + 0.5) * (IMAGE_SIZE / grid)
    py, px = torch.meshgrid(centres, centres, indexing="ij")
    dx, dy = px.reshape(1, -1) - centre[:, :1], py.reshape(1, -1) - centre[:, 1:]
    cos, sin = torch.cos(angle)[:, None], torch.sin(angle)[:, None]
    return (cos * dx + sin * dy) / size[:, None], (-sin * dx + cos * dy) / size[:, None]


_BG_CACHE: dict[str, np.ndarray] = {}


def _bg(name: str) -> np.ndarray:
    if name not in _BG_CACHE:
        _BG_CACHE[name] = background_image(name).astype(np.float32)
    return _BG_CACHE[name]
