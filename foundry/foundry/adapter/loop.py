"""The studio's training loop (src/core/training/loop.ts and the headless `train` of
scripts/train/headless.ts) on PyTorch: each step's draws of sample, partner, noise and timestep
from (seed, step) with the studio's generator, one clipped AdamW step on the adapter tensors, a
report per step, checkpoints, and a stop at the first non-finite loss with the last good
checkpoint kept.

Under torchrun each process takes an equal share of a step's draws; DistributedDataParallel
averages the adapter gradients, so every process holds the adapter one process would compute over
the whole batch (the mean of equal shares' means is the mean)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .. import safetensors_io
from .dataset import PreferenceDataset
from .losses import Batch, StepDraw, build_step, merge_steps, objective_loss, same_references
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
    part: str | None = None  # two-subject runs with a reference term: "generated" or "references"

    def to_json(self) -> dict:
        keys = {"step": self.step, "loss": self.loss, "lr": self.lr, "ms": self.ms}
        extra = {"gradNorm": self.grad_norm, "margin": self.margin, "itemErrors": self.item_errors, "part": self.part}
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
    """The samples a DPO-by-quality step may pair with each sample: others of the same reference (or pair)."""
    return [[j for j, o in enumerate(ds.samples) if j != i and same_references(o, s)] for i, s in enumerate(ds.samples)]


def check_dataset(ds: PreferenceDataset, config: TrainConfig, world: int = 1) -> None:
    b = config.batch_size
    if not isinstance(b, int) or b < 1:
        raise ValueError(f"batchSize must be a whole number ≥ 1, got {b!r}")
    if b % world:
        raise ValueError(f"batchSize {b} does not split evenly over {world} processes")
    loss = config.loss
    if not ds.samples:
        raise ValueError("the dataset has no generated images")
    two = ds.two_subject
    if two and loss.method == "dpo" and loss.pairing == "reference":
        raise ValueError(
            "image-level DPO with the reference as winner needs one reference per image; on a two-subject dataset pair by quality"
        )
    if loss.method == "dpo" and loss.pairing == "quality" and not all(partners(ds)):
        raise ValueError(f"DPO by quality needs at least two generated images per {'pair of references' if two else 'reference'}")


def _uint32(x: float) -> int:
    """JavaScript's `x >>> 0` of a double."""
    return math.trunc(x) % 2**32


def _copies(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return [t.detach().clone() for t in tensors]


def _finite(tensors: list[torch.Tensor]) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in tensors)


class _Adapter(torch.nn.Module):
    """The trainable adapter tensors as a module, so DistributedDataParallel can average their
    gradients. The frozen denoiser is held in a list, outside the module's parameters."""

    def __init__(self, denoiser: torch.nn.Module, tensors: list[torch.Tensor]):
        super().__init__()
        self.tensors = torch.nn.ParameterList([torch.nn.Parameter(t) for t in tensors])
        self._denoiser = [denoiser]

    def forward(self, batch: Batch, ip_scale: torch.Tensor) -> torch.Tensor:
        return self._denoiser[0](batch.latent, batch.timestep, batch.prompt_ids, batch.image_tokens, ip_scale, list(self.tensors))


def _mean_over_ranks(x: float) -> float:
    if not dist.is_initialized():
        return x
    t = torch.tensor([x], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t) / dist.get_world_size()


def _gathered(x: list[float]) -> list[float]:
    """Every rank's list, in rank order: the global batch's item order for MSE-style steps."""
    if not dist.is_initialized():
        return x
    parts: list[list[float]] = [[] for _ in range(dist.get_world_size())]
    dist.all_gather_object(parts, x)
    return [v for p in parts for v in p]


class TrainingLoop:
    def __init__(self, pack: Pack, ds: PreferenceDataset, config: TrainConfig, device: torch.device = torch.device("cpu")):
        self.rank, self.world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
        check_dataset(ds, config, self.world)
        most = pack.denoiser.c.max_references
        if ds.two_subject and most < 2:
            raise ValueError(f"the dataset has two subjects per image; pack {pack.id!r}'s denoiser takes {most} reference")
        self.pack, self.ds, self.config, self.device = pack, ds, config, device
        self.denoiser = pack.denoiser.to(device)
        self.partners = partners(ds)
        self.module = _Adapter(self.denoiser, [t.to(device) for t in pack.base_adapter()])
        self.adapter = list(self.module.tensors)
        self.forward = DistributedDataParallel(self.module) if self.world > 1 else self.module
        self.optimizer = AdamW()
        self.ip_scale = torch.tensor([config.ip_scale], dtype=torch.float32, device=device)
        self.step = 0

    def draws(self, step: int) -> list[StepDraw]:
        """Step `step`'s batch_size draws: a pure function of (seed, step), one stream read in order."""
        next_value = uint32_stream(_uint32(float(self.config.seed) * 1_000_003 + step))
        latent_size = int(np.prod(self.pack.shapes.latent))
        part = self.part_at(step)
        out = []
        for _ in range(self.config.batch_size):
            sample = next_value() % len(self.ds.samples)
            p = self.partners[sample]
            other = p[next_value() % len(p)] if p else None
            timestep = next_value() % len(self.pack.alphas_cumprod)
            out.append(StepDraw(sample, other, gaussian(next_value(), latent_size), timestep, part))
        return out

    def part_at(self, step: int) -> str | None:
        """`partAt` of loop.ts: two-subject losses with a reference term alternate between the
        generated image and the references (losses.py); other runs have no parts."""
        loss = self.config.loss
        if not self.ds.two_subject or not loss.use_reference or loss.method == "dpo":
            return None
        return "generated" if step % 2 == 0 else "references"

    @property
    def done(self) -> bool:
        return self.step >= self.config.steps

    def next(self) -> StepReport:
        """One optimizer step; raises NonFiniteError (the caller restores its last checkpoint)."""
        started = time.perf_counter()
        c = self.config
        share = c.batch_size // self.world
        mine = self.draws(self.step)[self.rank * share : (self.rank + 1) * share]
        batch, objective = merge_steps([build_step(self.ds, d, c.loss, self.pack.alphas_cumprod) for d in mine])
        batch = batch.to(self.device)
        eps = self.forward(batch, self.ip_scale)
        eps_reference = None
        if objective.kind == "dpo":
            with torch.no_grad():  # the denoiser's own weights: the frozen base adapter
                eps_reference = self.denoiser(batch.latent, batch.timestep, batch.prompt_ids, batch.image_tokens, self.ip_scale)
        loss = objective_loss(eps, batch, objective, eps_reference)
        for t in self.adapter:
            t.grad = None
        loss.loss.backward()  # under DDP: the gradient averaged over processes
        grads = [t.grad for t in self.adapter]
        report = StepReport(self.step + 1, _mean_over_ranks(float(loss.loss)), c.lr, part=self.part_at(self.step))
        if c.monitor_every > 0 and self.step % c.monitor_every == 0:
            report.grad_norm = global_norm(grads)
            if loss.margin is None:
                report.item_errors = _gathered([float(e) for e in loss.item_errors.cpu()])
            else:
                report.margin = _mean_over_ranks(loss.margin)
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

    def restore(self, cp: Checkpoint) -> None:
        with torch.no_grad():
            for t, saved in zip(self.adapter, cp.adapter):
                t.copy_(saved)
        self.optimizer = AdamW(cp.optimizer.t, _copies(cp.optimizer.m), _copies(cp.optimizer.v))
        self.step = cp.step


def _resumable(config: TrainConfig) -> str:
    """The settings a checkpoint must agree on to be continued: all but the step count."""
    return json.dumps(config.to_json() | {"steps": None}, sort_keys=True)


def save_checkpoint(cp: Checkpoint, names: list[str], config: TrainConfig, path: Path) -> None:
    """Adapter, AdamW moments and step as safetensors, written beside and renamed into place so a
    kill mid-write leaves the previous checkpoint whole."""
    tensors = {n: t.cpu().numpy() for n, t in zip(names, cp.adapter)}
    for key, moments in (("m", cp.optimizer.m), ("v", cp.optimizer.v)):
        tensors |= {f"{key}/{n}": t.cpu().numpy() for n, t in zip(names, moments)}
    meta = {"step": str(cp.step), "adamw_t": str(cp.optimizer.t), "config": _resumable(config)}
    partial = path.with_name(path.name + ".partial")
    safetensors_io.save(tensors, partial, meta)
    partial.replace(path)


def load_checkpoint(path: Path, names: list[str], config: TrainConfig, device: torch.device) -> Checkpoint:
    meta = safetensors_io.metadata(path)
    if meta.get("config") != _resumable(config):
        raise ValueError(f"{path}: the checkpoint was written by a run with other settings (only steps may change on resume)")
    arrays = safetensors_io.load(path)

    def tensors(prefix: str) -> list[torch.Tensor]:
        return [torch.from_numpy(np.array(arrays[prefix + n])).to(device) for n in names]

    has_moments = int(meta["adamw_t"]) > 0
    m, v = (tensors("m/"), tensors("v/")) if has_moments else ([], [])
    return Checkpoint(int(meta["step"]), tensors(""), AdamW(int(meta["adamw_t"]), m, v))


@dataclass(frozen=True)
class TrainResult:
    adapter: dict[str, np.ndarray]
    step: int  # the steps the adapter has taken
    reports: list[StepReport]
    stopped: str | None  # why the run stopped early; the adapter is then the last good checkpoint's


def train(
    loop: TrainingLoop,
    on_step: Callable[[StepReport], None] = lambda r: None,
    on_checkpoint: Callable[[Checkpoint], None] = lambda cp: None,
) -> TrainResult:
    """Runs `loop` from its current step to the end, checkpointing as headless.ts does."""
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
                on_checkpoint(good)
    except NonFiniteError as e:
        stopped = f"{e}; restored the checkpoint of step {good.step}"
    adapter = {n: t.cpu().numpy() for n, t in zip(loop.pack.adapter_names, good.adapter)}
    return TrainResult(adapter, good.step, reports, stopped)
