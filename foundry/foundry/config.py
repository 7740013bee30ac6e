"""Network and training configurations. `cpu` fits the 2-core build machine; `gpu` is larger."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("FOUNDRY_WORK", REPO / "foundry" / "work"))
NODE_MODULES = Path(os.environ.get("FOUNDRY_NODE_MODULES", REPO / "node_modules"))
PACKS = REPO / "public" / "models"
IMAGE_SIZE = 64


@dataclass(frozen=True)
class AEConfig:
    hidden: int = 96  # channels at the 16×16 latent resolution
    mid: int = 64  # channels at 32×32
    low: int = 32  # channels at 64×64
    latent_channels: int = 4
    steps: int = 2500
    batch: int = 32
    lr: float = 1e-3


@dataclass(frozen=True)
class ImageEncoderConfig:
    """Reference tokens on the autoencoder's latent (nets.ImageEncoder)."""

    dim: int = 128  # conditioning token width
    patch: int = 2  # latent cells per token side: tokens = (16 / patch)²
    layers: int = 1  # self-attention layers over the reference tokens
    heads: int = 4
    latent_size: int = 16

    @property
    def grid(self) -> int:
        return self.latent_size // self.patch

    @property
    def tokens(self) -> int:
        return self.grid**2


@dataclass(frozen=True)
class DenoiserConfig:
    width: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: int = 4
    patch: int = 2
    latent_size: int = 16
    latent_channels: int = 4
    freq_dim: int = 128
    norm_eps: float = 1e-6
    # v2: a warm restart of the v1 pack's denoiser (7,000 steps; foundry/README.md) with the new
    # latent image encoder, the weighted loss throughout. Planned for 4,000 steps; shortened to
    # 3,000 at step 1,800 to fit the session (the cosine then continues from lr(1800/3000)).
    steps: int = 3000
    batch: int = 64
    lr: float = 3e-4
    restarts: tuple = ()  # further cosine cycles (steps, lr) after the first
    focus_from: int = 0  # step from which the loss is subject- and SNR-weighted (train.denoiser_loss_weights)
    subject_weight: float = 5.0
    min_snr_gamma: float = 5.0
    ema: float = 0.998
    # Multi-subject personalization: up to this many references, their image tokens concatenated
    # with a learned reference-index embedding (nets.Denoiser.ref_embed); 1 is the v2 denoiser.
    max_references: int = 1
    pair_every: int = 2  # with max_references > 1: every pair_every-th step trains on two-subject scenes
    drop_prompt: float = 0.1
    drop_image: float = 0.1
    any_slot: float = 0.15  # chance each prompt slot is replaced by its "any" token
    warm_start: bool = True  # with no checkpoint in work/, start from the committed pack's weights (warmstart.py)


@dataclass(frozen=True)
class PatchEncoderConfig:
    width: int = 96
    depth: int = 4
    heads: int = 4
    mlp_ratio: int = 2
    patch: int = 8
    dim: int = 64
    # v2: a warm restart of the v1 pack's patch encoder (2,400 steps in two cycles, top-1 0.72)
    steps: int = 1000
    batch: int = 32
    lr: float = 5e-4
    restarts: tuple = ((1000, 2.5e-4),)  # further cosine cycles (steps, lr) after the first
    temperature: float = 0.1


@dataclass(frozen=True)
class EvaluatorConfig:
    """The independent evaluator (evaluator.py): the patch encoder's ViT, another objective and seed."""

    vit: PatchEncoderConfig = field(default_factory=PatchEncoderConfig)
    parts: int = 4  # part classes per subject: cells of a parts×parts grid over the sprite
    seed: int = 7
    steps: int = 1500
    batch: int = 48
    lr: float = 1e-3
    temperature: float = 0.1
    pixel_weight: float = 10.0  # subject patches reconstruct their pixels from the feature (evaluator.py)


@dataclass(frozen=True)
class SchedulerConfig:
    num_train_timesteps: int = 1000
    beta_schedule: str = "linear"
    beta_start: float = 0.0001
    beta_end: float = 0.02


@dataclass(frozen=True)
class FoundryConfig:
    name: str = "cpu"
    seed: int = 0
    ae: AEConfig = field(default_factory=AEConfig)
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    patch: PatchEncoderConfig = field(default_factory=PatchEncoderConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)

    def as_dict(self) -> dict:
        return asdict(self)


CPU = FoundryConfig()
GPU = replace(
    CPU,
    name="gpu",
    ae=replace(CPU.ae, hidden=128, mid=96, low=48, steps=30000, batch=64),
    denoiser=replace(CPU.denoiser, width=192, depth=6, heads=6, steps=60000, lr=6e-4, focus_from=10000, batch=256, warm_start=False),
    patch=replace(CPU.patch, steps=20000, restarts=(), batch=128),
)
# Random-weight pack with the built-in pack's interface but far fewer parameters, for fast tests.
TINY = replace(
    CPU,
    name="tiny",
    ae=replace(CPU.ae, hidden=16, mid=8, low=8),
    image_encoder=replace(CPU.image_encoder, dim=16),
    # Two references, so that the studio's tests cover the grown denoiser on one and on two.
    denoiser=replace(CPU.denoiser, width=32, depth=2, heads=2, mlp_ratio=2, freq_dim=16, warm_start=False, max_references=2),
    patch=replace(CPU.patch, width=16, depth=1, heads=2, dim=8),
    evaluator=replace(CPU.evaluator, vit=replace(CPU.patch, width=16, depth=1, heads=2, dim=8)),
)
# Two references (issue 19): the v2 denoiser warm-started from the pack, grown by the
# reference-index embedding and the layout ids, fine-tuned on single- and two-subject scenes:
# 2,400 steps with the references in A/B order, then a warm restart of 1,200 steps with them in
# reading order of their places (scene.PAIR_FIRST), the order the studio passes them in.
MULTI = replace(CPU, name="cpu-multi", denoiser=replace(CPU.denoiser, max_references=2, steps=2400, lr=1.5e-4, restarts=((1200, 1.5e-4),)))
CONFIGS = {c.name: c for c in (CPU, GPU, TINY, MULTI)}
