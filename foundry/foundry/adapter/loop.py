"""The studio's training loop (src/core/training/loop.ts and the headless `train` of
scripts/train/headless.ts) on PyTorch: each step's sample, partner, noise and timestep drawn from
(seed, step) with the studio's generator, one clipped AdamW step on the adapter tensors, a report
per step, checkpoints, and a stop at the first non-finite loss with the last good checkpoint kept."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .dataset import PreferenceDataset
from .losses import Batch, LossOptions, StepDraw, build_step, objective_loss
from .optim import AdamW, AdamWOptions, clip_grad_norm, global_norm
from .pack import Pack
from .rng import gaussian, uint32_stream
from .run_config import TrainConfig


@dataclass
class StepReport:
    """One line of log.jsonl, with the StepReport keys of loop.ts."""

    step: int
    loss: float
    lr: float
    ms: float = 0.0
    grad_norm: float | None = None  # on monitor steps: ‖∇L‖ before clipping
    margin: float | None = None  # on monitor steps of DPO-style losses
    item_errors: list[float] | None = None  # on monitor steps of MSE-style losses

    def to_json(self) -> dict:
        keys = {"step": self.step, "loss": self.loss, "lr": self.lr, "ms": self.ms}
        extra = {"gradNorm": self.grad_norm, "margin": self.margin, "itemErrors": self.item_errors}
        return keys | {k: v for k, v in extra.items() if v is not None}


@dataclass(frozen=True)
class Checkpoint:
    step: int  # steps completed
    adapter: list[torch.Tensor]
    optimizer: AdamW


class NonFiniteError(RuntimeError):
    def __init__(self, step: int, what: str):
        super().__init__(f"step {step}: the {what} became NaN or infinite (learning rate too large?)")
        self.step = step


def partners(ds: PreferenceDataset) -> list[list[int]]:
    """The samples a DPO-by-quality step may pair with each sample: others of the same reference."""
    return [[j for j, o in enumerate(ds.samples) if j != i and o.ref == s.ref] for i, s in enumerate(ds.samples)]


def check_dataset(ds: PreferenceDataset, loss: LossOptions) -> None:
    if not ds.samples:
        raise ValueError("the dataset has no generated images")
    if loss.method == "dpo" and loss.pairing == "quality" and not all(partners(ds)):
        raise ValueError("DPO by quality needs at least two generated images per reference")


def _uint32(x: float) -> int:
    """JavaScript's `x >>> 0` of a double."""
    return math.trunc(x) % 2**32


def _copies(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return [t.detach().clone() for t in tensors]


def _finite(tensors: list[torch.Tensor]) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in tensors)


class TrainingLoop:
    def __init__(self, pack: Pack, ds: PreferenceDataset, config: TrainConfig, device: torch.device = torch.device("cpu")):
        check_dataset(ds, config.loss)
        self.pack, self.ds, self.config, self.device = pack, ds, config, device
        self.denoiser = pack.denoiser.to(device)
        self.partners = partners(ds)
        self.adapter = [t.to(device).requires_grad_(True) for t in pack.base_adapter()]
        self.optimizer = AdamW()
        self.ip_scale = torch.tensor([config.ip_scale], dtype=torch.float32, device=device)
        self.step = 0

    def draw(self, step: int) -> StepDraw:
        """Step `step`'s sample, partner, noise and timestep: a pure function of (seed, step)."""
        next_value = uint32_stream(_uint32(float(self.config.seed) * 1_000_003 + step))
        sample = next_value() % len(self.ds.samples)
        p = self.partners[sample]
        other = p[next_value() % len(p)] if p else None
        timestep = next_value() % len(self.pack.alphas_cumprod)
        return StepDraw(sample, other, gaussian(next_value(), int(np.prod(self.pack.shapes.latent))), timestep)

    @property
    def done(self) -> bool:
        return self.step >= self.config.steps

    def _eps(self, batch: Batch, adapter: list[torch.Tensor] | None) -> torch.Tensor:
        return self.denoiser(batch.latent, batch.timestep, batch.prompt_ids, batch.image_tokens, self.ip_scale, adapter)

    def next(self) -> StepReport:
        """One optimizer step; raises NonFiniteError (the caller restores its last checkpoint)."""
        started = time.perf_counter()
        c = self.config
        batch, objective = build_step(self.ds, self.draw(self.step), c.loss, self.pack.alphas_cumprod)
        batch = batch.to(self.device)
        eps = self._eps(batch, self.adapter)
        eps_reference = None
        if objective.kind == "dpo":
            with torch.no_grad():
                eps_reference = self._eps(batch, None)  # the module's own weights: the frozen base adapter
        loss = objective_loss(eps, batch, objective, eps_reference)
        grads = list(torch.autograd.grad(loss.loss, self.adapter))
        report = StepReport(self.step + 1, float(loss.loss), c.lr)
        if c.monitor_every > 0 and self.step % c.monitor_every == 0:
            report.grad_norm = global_norm(grads)
            if loss.margin is None:
                report.item_errors = [float(e) for e in loss.item_errors.cpu()]
            else:
                report.margin = loss.margin
        if c.max_norm:
            clip_grad_norm(grads, c.max_norm)
        self.optimizer.step(self.adapter, grads, AdamWOptions(lr=c.lr, weight_decay=c.weight_decay))
        self.step += 1
        if not math.isfinite(report.loss) or (report.grad_norm is not None and not math.isfinite(report.grad_norm)):
            raise NonFiniteError(report.step, "loss")
        report.ms = (time.perf_counter() - started) * 1000
        return report

    def checkpoint(self) -> Checkpoint:
        """Copies of the adapter and optimizer state; raises NonFiniteError rather than keep a broken one."""
        o = self.optimizer
        if not (_finite(self.adapter) and _finite(o.m) and _finite(o.v)):
            raise NonFiniteError(self.step, "adapter")
        return Checkpoint(self.step, _copies(self.adapter), AdamW(o.t, _copies(o.m), _copies(o.v)))


@dataclass(frozen=True)
class TrainResult:
    adapter: dict[str, np.ndarray]
    reports: list[StepReport]
    stopped: str | None  # why the run stopped early; the adapter is then the last good checkpoint's


def train(loop: TrainingLoop, on_step: Callable[[StepReport], None] = lambda r: None) -> TrainResult:
    """Runs `loop` to the end, checkpointing as headless.ts does."""
    reports: list[StepReport] = []
    good = loop.checkpoint()
    stopped = None
    try:
        while not loop.done:
            r = loop.next()
            reports.append(r)
            on_step(r)
            every = loop.config.checkpoint_every
            if (every > 0 and loop.step % every == 0) or loop.done:
                good = loop.checkpoint()
    except NonFiniteError as e:
        stopped = f"{e}; restored the checkpoint of step {good.step}"
    adapter = {n: t.cpu().numpy() for n, t in zip(loop.pack.adapter_names, good.adapter)}
    return TrainResult(adapter, reports, stopped)
