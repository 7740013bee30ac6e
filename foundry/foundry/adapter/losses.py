"""The studio's four training losses (src/core/training/steps.ts), each built as one batch of
items that share the step's noise ε and timestep t plus one of the engine's two objectives
(src/core/engine/trainer.ts): weighted MSE, or Diffusion-DPO over per-item weighted errors
against the frozen reference model. The equations are in steps.ts; this file follows its item
order and weights exactly, two-subject samples included (one part of the loss per step, by
`StepDraw.part`). Loss arithmetic is in double precision with per-item errors rounded
to float32, as the CPU engine does, so β·d (β in the thousands) is formed at the same precision."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .dataset import PreferenceDataset, Reference, Sample
from .weights import WeightOptions, quality_weights, signed_parts, to_latent

METHODS = ("patchdpo", "patchdpo-bounded", "dpo", "mse")
PAIRINGS = ("reference", "quality")


@dataclass(frozen=True)
class LossOptions:
    method: str = "patchdpo"
    beta: float = 2500
    weights: WeightOptions = field(default_factory=WeightOptions)
    use_reference: bool = True
    pairing: str = "reference"

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"loss.method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.pairing not in PAIRINGS:
            raise ValueError(f"loss.pairing must be reference or quality, got {self.pairing!r}")


@dataclass(frozen=True)
class StepDraw:
    sample: int
    other: int | None  # a second sample of the same reference, when there is one
    noise: np.ndarray  # ε, one latent's worth, float32
    timestep: int
    part: str | None = None  # two-subject samples: "generated" or "references" (steps.ts)


@dataclass(frozen=True)
class Item:
    latent: np.ndarray
    image_tokens: np.ndarray
    prompt_ids: list[int]
    weight: np.ndarray | None  # per element; None means 1 everywhere


@dataclass(frozen=True)
class Batch:
    latent: torch.Tensor  # [B, C, H, W] noised
    timestep: torch.Tensor  # [B] float
    prompt_ids: torch.Tensor  # [B, L] int64
    image_tokens: torch.Tensor  # [B, T, D]
    target: torch.Tensor  # [B, C, H, W], ε for every item
    weight: torch.Tensor | None  # [B, C, H, W]

    def to(self, device: torch.device) -> Batch:
        moved = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return Batch(**{k: None if t is None else t.to(device) for k, t in moved.items()})


@dataclass(frozen=True)
class Objective:
    kind: str  # "mse" | "dpo"
    beta: float = 0.0


MSE = Objective("mse")


def _stack(items: list[Item], draw: StepDraw, alphas_cumprod: np.ndarray) -> Batch:
    """Noises every item with the shared ε: z_t = √ᾱ·z_0 + √(1−ᾱ)·ε, in double, rounded to float32."""
    ab = float(alphas_cumprod[draw.timestep])
    a, s = np.sqrt(ab), np.sqrt(1 - ab)
    noise = draw.noise.astype(np.float64)
    latent = np.stack([a * it.latent.astype(np.float64).ravel() + s * noise for it in items]).astype(np.float32)
    shape = (len(items), *items[0].latent.shape)
    weight = None
    if any(it.weight is not None for it in items):
        ones = np.ones(items[0].latent.shape, dtype=np.float32)
        weight = torch.from_numpy(np.stack([ones if it.weight is None else it.weight for it in items]))
    return Batch(
        latent=torch.from_numpy(latent.reshape(shape)),
        timestep=torch.full((len(items),), float(draw.timestep)),
        prompt_ids=torch.tensor([it.prompt_ids for it in items], dtype=torch.int64),
        image_tokens=torch.from_numpy(np.stack([it.image_tokens for it in items])),
        target=torch.from_numpy(np.broadcast_to(draw.noise.reshape(shape[1:]), shape).copy()),
        weight=weight,
    )


def build_step(ds: PreferenceDataset, draw: StepDraw, o: LossOptions, alphas_cumprod: np.ndarray) -> tuple[Batch, Objective]:
    """The batch and objective of one training step of `o.method` on sample `draw.sample`."""
    gen = ds.samples[draw.sample]
    ref = ds.references[gen.ref]

    def w(m: np.ndarray) -> np.ndarray:
        """The weight map at latent resolution, as float64 for the arithmetic that follows."""
        return to_latent(quality_weights(m, o.weights), ref.latent.shape).astype(np.float64)

    def gen_item(s: Sample, weight: np.ndarray | None) -> Item:
        tokens = np.concatenate([ds.references[k].image_tokens for k in s.references()])
        return Item(s.latent, tokens, s.prompt_ids, None if weight is None else weight.astype(np.float32))

    def ref_item(r: Reference, weight: np.ndarray | None) -> Item:
        return Item(r.latent, r.image_tokens, r.prompt_ids, None if weight is None else weight.astype(np.float32))

    def batch(*items: Item) -> Batch:
        return _stack(list(items), draw, alphas_cumprod)

    dpo = Objective("dpo", o.beta)
    if gen.second is not None and o.method != "dpo":
        # One part of the loss per step: the generated image (its weight doubled when the
        # reference term is on) or both references, each conditioned on itself alone.
        subjects = [(ref, gen.m_ref), (ds.references[gen.second.ref], gen.second.m_ref)]
        if o.use_reference and draw.part == "references":
            if o.method == "mse":
                return batch(*(ref_item(r, None) for r, _ in subjects)), MSE
            if o.method == "patchdpo":
                return batch(*(ref_item(r, 2 * (1 - w(m))) for r, m in subjects)), MSE
            winners = [ref_item(r, 1 - w(m)) for r, m in subjects]
            return batch(*winners, *(ref_item(r, 0 * w(m)) for r, m in subjects)), dpo
        if o.method == "mse":
            return batch(gen_item(gen, None)), MSE
        if o.method == "patchdpo":
            return batch(gen_item(gen, (2 if o.use_reference else 1) * w(gen.m_gen))), MSE
        positive, negative = signed_parts(w(gen.m_gen))
        return batch(gen_item(gen, positive), gen_item(gen, negative)), dpo

    if o.method == "mse":
        return (batch(ref_item(ref, None), gen_item(gen, None)) if o.use_reference else batch(gen_item(gen, None))), MSE
    if o.method == "patchdpo":
        w_gen = w(gen.m_gen)
        if not o.use_reference:
            return batch(gen_item(gen, w_gen)), MSE
        # The official loss is a mean over one image's elements; over the two-item batch the mean
        # runs over twice the elements, so both weights are doubled.
        return batch(ref_item(ref, 2 * (1 - w(gen.m_ref))), gen_item(gen, 2 * w_gen)), MSE
    if o.method == "patchdpo-bounded":
        positive, negative = signed_parts(w(gen.m_gen))
        if not o.use_reference:
            return batch(gen_item(gen, positive), gen_item(gen, negative)), dpo
        w_ref = 1 - w(gen.m_ref)
        # Winners first, then losers: [gen⁺, ref·(1 − w_ref)] vs [gen⁻, ref·0].
        return batch(gen_item(gen, positive), ref_item(ref, w_ref), gen_item(gen, negative), ref_item(ref, 0 * w_ref)), dpo
    if o.pairing == "reference":
        if gen.second is not None:
            raise ValueError("image-level DPO on two-subject samples pairs generated images by quality")
        return batch(ref_item(ref, None), gen_item(gen, None)), dpo
    if draw.other is None:
        raise ValueError("dpo by quality needs a second sample of the same reference")
    other = ds.samples[draw.other]
    if not same_references(other, gen):
        raise ValueError("dpo by quality compares two samples of the same reference (or pair of references)")
    winner, loser = (gen, other) if gen.mean_quality() >= other.mean_quality() else (other, gen)
    return batch(gen_item(winner, None), gen_item(loser, None)), dpo


def same_references(a: Sample, b: Sample) -> bool:
    """Whether two samples show the same reference, or the same pair (A and B alike)."""
    return a.ref == b.ref and (a.second.ref if a.second else None) == (b.second.ref if b.second else None)


def merge_steps(steps: list[tuple[Batch, Objective]]) -> tuple[Batch, Objective]:
    """Several draws' batches as one step (mergeSteps of steps.ts): stacked so the mean over items
    is the mean over draws; DPO-style batches keep all winners before all losers."""
    if len(steps) == 1:
        return steps[0]
    objective = steps[0][1]
    halves = 2 if objective.kind == "dpo" else 1

    def cat(t: list[torch.Tensor]) -> torch.Tensor:
        parts = [x.chunk(halves) for x in t]
        return torch.cat([p[h] for h in range(halves) for p in parts])

    batches = [b for b, _ in steps]
    fields = {f.name: [getattr(b, f.name) for b in batches] for f in dataclasses.fields(Batch)}
    weight = None
    if any(w is not None for w in fields["weight"]):
        weight = cat([torch.ones_like(b.target) if b.weight is None else b.weight for b in batches])
    return Batch(**{k: cat(v) for k, v in fields.items() if k != "weight"}, weight=weight), objective


def _weighted_squares(eps: torch.Tensor, batch: Batch) -> torch.Tensor:
    """w ⊙ (ε̂ − ε)² in double."""
    r2 = (eps.double() - batch.target.double()) ** 2
    return r2 if batch.weight is None else batch.weight.double() * r2


def per_item_errors(eps: torch.Tensor, batch: Batch) -> torch.Tensor:
    """e[i] = mean(w ⊙ (ε̂ − ε)²) over item i's elements, summed in double, rounded to float32."""
    return _weighted_squares(eps, batch).flatten(1).mean(1).float()


@dataclass(frozen=True)
class StepLoss:
    loss: torch.Tensor  # float64 scalar, differentiable
    item_errors: torch.Tensor  # e of the trained model, float32, detached
    margin: float | None  # DPO-style losses: the implicit reward margin −d, mean over pairs


def objective_loss(eps: torch.Tensor, batch: Batch, objective: Objective, eps_reference: torch.Tensor | None) -> StepLoss:
    """The engine objective's loss. `mse`: mean(w ⊙ (ε̂ − ε)²) over the whole batch. `dpo`: the
    batch holds P winners then P losers; d = (e_w − e_w^ref) − (e_l − e_l^ref) and
    L = mean_p −log σ(−β·d), against the frozen model's errors on the same inputs."""
    e = per_item_errors(eps, batch)
    if objective.kind == "mse":
        return StepLoss(_weighted_squares(eps, batch).mean(), e.detach(), None)
    items = e.shape[0]
    if items % 2:
        raise ValueError(f"dpo: the batch must hold winners then losers, got {items} items")
    e_ref = per_item_errors(eps_reference, batch).double()
    p = items // 2
    e64 = e.double()
    d = (e64[:p] - e_ref[:p]) - (e64[p:] - e_ref[p:])
    loss = -F.logsigmoid(-objective.beta * d).mean()
    margin = (0.0 - float(d.detach().sum())) / p  # as objectives.ts sums it: +0, not −0, when d = 0
    return StepLoss(loss, e.detach(), margin)
