"""The independent evaluator: a ViT subject-part classifier, never a training signal.

The pack's patch encoder is trained contrastively (patch InfoNCE between two warped views). The
evaluator shares its architecture but not its objective or seed: every 8×8 patch of a single
augmented view is *classified* twice by cosine classifiers over its feature: which subject it
shows (class 0: background), and, on the subject, which part (the cell of a `parts`×`parts` grid
over the subject's sprite that holds the patch centre). Features of the same part of the same
subject then agree in cosine at any scale, position, rotation and background. All backgrounds,
white included, form one class: a correct background patch matches the white of a reference,
which a correspondence encoder never learns. The global embedding (mean-pooled features through a
linear layer) is trained to classify the subject: the DINO-score analogue.

Classes alone make features blind to detail: a blurred blob in the right colours at the right
place is still "that part of that subject". So on subject patches the normalized feature must
also reconstruct the patch's pixels through a linear decoder: same-part patches then agree in
cosine only when they also look alike, which is what true local error measures. Backgrounds are
not reconstructed, so their features stay free to collapse onto the background class.

Outputs: `features` [B, 8, 8, dim] (metric `patch_quality_independent`) and `embedding` [B, dim]
(metric `global_sim_independent`)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .batches import _affine, _bg, patch_sprite_coords, place
from .config import IMAGE_SIZE, EvaluatorConfig
from .nets import PatchEncoder
from .scene import BACKGROUNDS


class Evaluator(nn.Module):
    """Patch features and a global embedding, both to be compared by cosine."""

    def __init__(self, c: EvaluatorConfig):
        super().__init__()
        self.encoder = PatchEncoder(c.vit)
        self.embed = nn.Linear(c.vit.dim, c.vit.dim)

    def forward(self, x):
        f = self.encoder(x)
        return f, self.embed(f.flatten(1, 2).mean(1))


class Classifier(nn.Module):
    """Cosine classifier prototypes, used only in training: patch subject (0 = background), patch
    part, and the global embedding's subject."""

    def __init__(self, c: EvaluatorConfig, subjects: int):
        super().__init__()
        self.patch_subject = nn.Parameter(torch.randn(1 + subjects, c.vit.dim) * 0.1)
        self.part = nn.Parameter(torch.randn(c.parts**2, c.vit.dim) * 0.1)
        self.subject = nn.Parameter(torch.randn(subjects, c.vit.dim) * 0.1)
        self.pixels = nn.Linear(c.vit.dim, 3 * c.vit.patch**2)


def part_batch(bank, n: int, rng: np.random.Generator, parts: int, grid: int = 8):
    """n single views: a random subject under a random similarity transform on a random
    background (white 30% of the time), NCHW in [-1,1]; per patch its subject class (0
    background, 1 + subject on the subject, −1 where the patch is mixed) and its part cell (−1 off
    the subject); and the subject ids."""
    subj = rng.integers(len(bank), size=n)
    sprites = torch.from_numpy(bank.store[subj].astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    size = torch.from_numpy(rng.uniform(18, 58, n)).float()
    c = torch.from_numpy(rng.uniform(16, 48, (n, 2))).float()
    angle = torch.from_numpy(rng.uniform(-0.35, 0.35, n)).float()
    bgs = torch.from_numpy(np.stack([_bg(BACKGROUNDS[i]) for i in rng.integers(len(BACKGROUNDS), size=n)])).permute(0, 3, 1, 2)
    bgs[torch.from_numpy(rng.random(n) < 0.3)] = 1.0
    img, alpha = place(sprites, _affine(size, c[:, 0], c[:, 1], angle), bgs)
    jitter = torch.from_numpy(rng.uniform(-0.05, 0.05, (n, 3, 1, 1))).float()
    img = (img + jitter).clamp(0, 1)
    step = IMAGE_SIZE / grid
    cover = F.avg_pool2d(alpha, int(step)).reshape(n, -1)
    u, v = (w + 0.5 for w in patch_sprite_coords(c, size, angle, grid))  # in [0,1) on the sprite
    side = sprites.shape[-1]
    a = sprites[torch.arange(n)[:, None], 3, (v * side).long().clamp(0, side - 1), (u * side).long().clamp(0, side - 1)]
    on_subject = (u >= 0) & (u < 1) & (v >= 0) & (v < 1) & (a > 0.5) & (cover > 0.5)
    subj_t = torch.from_numpy(subj).long()
    label = torch.full((n, grid * grid), -1, dtype=torch.long)
    label[cover < 0.05] = 0
    label[on_subject] = (1 + subj_t[:, None]).expand_as(label)[on_subject]
    part = torch.full_like(label, -1)
    cell = (v * parts).long().clamp(0, parts - 1) * parts + (u * parts).long().clamp(0, parts - 1)
    part[on_subject] = cell[on_subject]
    return img * 2 - 1, label, part, subj_t


def _cosine_ce(features, prototypes, target, temperature):
    logits = features @ F.normalize(prototypes, dim=-1).T / temperature
    return F.cross_entropy(logits, target), float((logits.argmax(-1) == target).float().mean())


def losses(ev: Evaluator, head: Classifier, x, label, part, subj, temperature: float, pixel_weight: float):
    f, g = ev(x)
    f = F.normalize(f.flatten(1, 2), dim=-1)
    valid, on = label >= 0, part >= 0
    l_subject, acc_subject = _cosine_ce(f[valid], head.patch_subject, label[valid], temperature)
    l_part, acc_part = _cosine_ce(f[on], head.part, part[on], temperature)
    l_global, acc_global = _cosine_ce(F.normalize(g, dim=-1), head.subject, subj, temperature)
    p = ev.encoder.c.patch
    target = F.unfold(x, p, stride=p).transpose(1, 2)  # [B, 64, 3·p·p], (c, py, px) order
    l_pixels = F.mse_loss(head.pixels(f[on]), target[on])
    info = {
        "patch_subject_acc": round(acc_subject, 3), "part_acc": round(acc_part, 3), "global_acc": round(acc_global, 3),
        "pixel_mse": round(float(l_pixels), 4),
    }
    return l_subject + l_part + l_global + pixel_weight * l_pixels, info


def build_evaluator(c: EvaluatorConfig) -> Evaluator:
    torch.manual_seed(c.seed)
    return Evaluator(c)
