"""Training stages: autoencoder, denoiser (+ reference image encoder), patch encoder.

Every stage is deterministic given the config's seed (batches are drawn from an RNG seeded by
(seed, stage, step)) and resumable: a checkpoint is written every `save_every` steps and a rerun
continues from it. Wall time per stage is recorded in the checkpoint."""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .batches import correspondence_batch, pair_batch, reference_batch, scene_batch, to_model
from .compat import load_checkpoint
from .config import WORK, FoundryConfig
from .nets import AutoEncoder, Denoiser, ImageEncoder, PatchEncoder
from .scene import PAIR_VOCAB, PROMPT_LENGTH, VOCAB_SIZE
from .schedule import add_noise, alphas_cumprod
from .subjects import SpriteBank, split, validation_split

STAGE_IDS = {"ae": 1, "denoiser": 2, "patch": 3, "evaluator": 4}
DEVICE = torch.device("cpu")  # set by `--device`; batches are drawn on the CPU and moved here


def ckpt_path(cfg: FoundryConfig, stage: str) -> Path:
    return WORK / cfg.name / f"{stage}.pt"


def step_rng(cfg: FoundryConfig, stage: str, step: int) -> np.random.Generator:
    torch.manual_seed(cfg.seed * 1_000_003 + STAGE_IDS[stage] * 100_003 + step)
    return np.random.default_rng((cfg.seed, STAGE_IDS[stage], step))


def lr_at(step: int, phases: list[tuple[int, float]], warmup: int = 100) -> float:
    """Linear warmup then cosine decay within each (steps, base lr) phase: later phases are warm
    restarts (SGDR), which let a run be extended without changing what came before."""
    for n, base in phases:
        if step < n:
            if step < warmup:
                return base * (step + 1) / warmup
            return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, n - warmup)))
        step -= n
    raise ValueError("step beyond the schedule")


def build_ae(cfg):
    return AutoEncoder(cfg.ae)


def build_image_encoder(cfg):
    return ImageEncoder(cfg.image_encoder, cfg.ae)


def build_denoiser(cfg):
    ie = cfg.image_encoder
    vocab = VOCAB_SIZE + (PAIR_VOCAB if cfg.denoiser.max_references > 1 else 0)
    return Denoiser(cfg.denoiser, vocab, PROMPT_LENGTH, ie.tokens, ie.dim)


def build_patch_encoder(cfg):
    return PatchEncoder(cfg.patch)


def load(cfg: FoundryConfig, stage: str) -> dict:
    path = ckpt_path(cfg, stage)
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: run `python3 -m foundry train {stage} --config {cfg.name}` first")
    return load_checkpoint(path)


def _run(cfg, stage, modules: dict, phases: list[tuple[int, float]], step_fn, save_every=200, ema=None, extra=None, log_every=50):
    """Generic resumable loop over the learning-rate phases. step_fn(step, rng) → (loss, info dict)."""
    steps = sum(n for n, _ in phases)
    for m in modules.values():
        m.to(DEVICE)
    params = [p for m in modules.values() for p in m.parameters()]
    opt = torch.optim.AdamW(param_groups(modules), lr=phases[0][1], weight_decay=0.0)
    ema_mods = {k: copy.deepcopy(m).requires_grad_(False) for k, m in modules.items()} if ema else None
    path = ckpt_path(cfg, stage)
    start, seconds, log = 0, 0.0, []
    if path.is_file():
        ck = load_checkpoint(path)
        if "opt" in ck:
            ck = grow_checkpoint(ck, modules)
            opt.load_state_dict(ck["opt"])
        # else seeded from the pack (warmstart.py): weights only, a fresh optimizer
        for k, m in modules.items():
            m.load_state_dict(ck["model"][k])
            if ema_mods:
                ema_mods[k].load_state_dict((ck["ema"] or ck["model"])[k])
        start, seconds, log = ck["step"], ck["seconds"], ck["log"]
        print(f"[{stage}] resuming at step {start}", flush=True)

    def save(step):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(
            {
                "model": {k: m.state_dict() for k, m in modules.items()},
                "ema": {k: m.state_dict() for k, m in ema_mods.items()} if ema_mods else None,
                "opt": opt.state_dict(),
                "step": step,
                "seconds": seconds,
                "log": log,
                "config": cfg.as_dict(),
                **(extra or {}),
            },
            tmp,
        )
        tmp.replace(path)

    t0 = time.time()
    for step in range(start, steps):
        rng = step_rng(cfg, stage, step)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, phases) * g["lr_scale"]
        loss, info = step_fn(step, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if ema_mods:
            with torch.no_grad():
                for k, m in modules.items():
                    for pe, p in zip(ema_mods[k].parameters(), m.parameters()):
                        pe.lerp_(p, 1 - ema)
        if step % log_every == 0 or step == steps - 1:
            now = time.time()
            seconds += now - t0
            t0 = now
            log.append({"step": step, "loss": float(loss), **info})
            print(f"[{stage}] step {step}/{steps} loss {float(loss):.4f} {info} {seconds:.0f}s", flush=True)
        if (step + 1) % save_every == 0 or step == steps - 1:
            seconds += time.time() - t0
            t0 = time.time()
            save(step + 1)
    return ema_mods or modules


def param_groups(modules: dict) -> list[dict]:
    """One AdamW group for every parameter, then one for the modules' GROWN parameters, which
    learn GROWN_LR_SCALE× faster so that parameters added late catch up with the rest."""
    grown = [p for m in modules.values() for n, p in m.named_parameters() if n in getattr(m, "GROWN", ())]
    rest = [p for m in modules.values() for n, p in m.named_parameters() if n not in getattr(m, "GROWN", ())]
    scale = max((getattr(m, "GROWN_LR_SCALE", 1.0) for m in modules.values()), default=1.0)
    return [{"params": rest, "lr_scale": 1.0}] + ([{"params": grown, "lr_scale": scale}] if grown else [])


def grow_checkpoint(ck: dict, modules: dict) -> dict:
    """A checkpoint written before a module gained the parameters listed in its GROWN: those start
    from the module's initial values (EMA too) with zero Adam moments in their own group; every
    other parameter keeps its state (its group comes first, in the same order as before).
    Anything else missing is an error."""
    grown = 0
    for k, m in modules.items():
        missing = set(m.state_dict()) - set(ck["model"][k])
        if missing - set(getattr(m, "GROWN", ())):
            raise KeyError(f"checkpoint lacks {sorted(missing)} of {k}")
        for n in missing:
            for part in ("model", "ema"):
                if ck.get(part):
                    ck[part][k][n] = m.state_dict()[n].clone()
        grown += len(missing)
    groups = ck["opt"]["param_groups"]
    for g in groups:  # checkpoints from before param_groups
        g.setdefault("lr_scale", 1.0)
    if grown and len(groups) == 1:
        first = groups[0]
        n = len(first["params"])
        groups.append({**first, "params": list(range(n, n + grown)), "lr_scale": param_groups(modules)[1]["lr_scale"]})
        print(f"grew {grown} parameter tensors from their initial values", flush=True)
    return ck


def train_ae(cfg: FoundryConfig):
    """Reconstruction (L1 + MSE) on random 32×32 crops (4-pixel aligned) of scenes and references:
    the network is fully convolutional, and crops cut the cost per sample by four."""
    train, _ = split()
    bank = SpriteBank(train)
    ae = build_ae(cfg)
    c = cfg.ae

    def step_fn(step, rng):
        imgs, subj, _, _ = scene_batch(bank, c.batch, rng)
        refs = reference_batch(bank, subj[: c.batch // 4])
        x = to_model(np.concatenate([imgs, refs])).to(DEVICE)
        oy, ox = (int(v) * 4 for v in rng.integers(0, 9, size=2))
        x = x[:, :, oy : oy + 32, ox : ox + 32]
        y = ae(x)
        mse = F.mse_loss(y, x)
        return F.l1_loss(y, x) + mse, {"psnr": round(float(10 * math.log10(4 / float(mse))), 2)}

    _run(cfg, "ae", {"ae": ae}, [(c.steps, c.lr)], step_fn)
    # Latent scale: the denoiser sees z = scale·E(x) with unit variance.
    with torch.no_grad():
        rng = np.random.default_rng((cfg.seed, 99))
        imgs, _, _, _ = scene_batch(bank, 512, rng)
        scale = float(1.0 / ae.encoder(to_model(imgs).to(DEVICE)).std())
    ck = load_checkpoint(ckpt_path(cfg, "ae"))
    ck["latent_scale"] = scale
    torch.save(ck, ckpt_path(cfg, "ae"))
    print(f"[ae] latent scale factor {scale:.4f}")


def denoiser_loss_weights(c, alpha: torch.Tensor, snr: torch.Tensor, step: int) -> torch.Tensor:
    """Per-element weights of the ε-MSE, [B,1,16,16]. Before `focus_from` they are all 1. From
    then on (a curriculum: backgrounds come first and fast) the subject's latent cells weigh
    1 + subject_weight·coverage, so a subject covering a tenth of the scene is not drowned by its
    background, and each sample weighs min(SNR, γ)/SNR (Min-SNR-γ, Hang et al. 2023), which
    stops the easy low-noise steps from dominating the gradient while the layout, which is
    decided at high noise, is still unlearned."""
    ones = torch.ones(alpha.shape[0], 1, alpha.shape[-2] // 4, alpha.shape[-1] // 4, device=alpha.device)
    if step < c.focus_from:
        return ones
    cover = F.avg_pool2d(alpha[:, None], 4)
    per_sample = snr.clamp(max=c.min_snr_gamma) / snr
    return (ones + c.subject_weight * cover) * per_sample[:, None, None, None]


def train_denoiser(cfg: FoundryConfig):
    """ε-prediction MSE on scenes, conditioned on prompt ids and the reference's image tokens;
    prompt and image conditions are dropped independently for classifier-free guidance. The loss
    is weighted as `denoiser_loss_weights` describes. The validation subjects are not trained on."""
    fit, _ = validation_split()
    den, ie, step_fn = denoiser_setup(cfg, fit)
    c = cfg.denoiser
    # Every 25 steps, so that with pair_every = 2 the log alternates single- and two-subject losses.
    _run(cfg, "denoiser", {"denoiser": den, "image_encoder": ie}, [(c.steps, c.lr), *c.restarts], step_fn, ema=c.ema, log_every=25)


def denoiser_setup(cfg: FoundryConfig, subjects):
    """The denoiser and image encoder (warm-started from the pack when configured and no
    checkpoint exists) and the training step over `subjects`."""
    bank = SpriteBank(subjects)
    ae_ck = load(cfg, "ae")
    ae = build_ae(cfg)
    ae.load_state_dict(ae_ck["model"]["ae"])
    encoder = ae.encoder.requires_grad_(False).eval().to(DEVICE)
    scale = ae_ck["latent_scale"]
    den, ie = build_denoiser(cfg), build_image_encoder(cfg)
    ie.attach_vae(encoder, scale)
    c = cfg.denoiser
    if c.warm_start and not ckpt_path(cfg, "denoiser").is_file():
        from .warmstart import denoiser_states

        if not ae_ck.get("from_pack"):
            raise ValueError(
                "the denoiser's warm start needs the pack's own autoencoder (another one changes the latent it was "
                "trained on): run `python3 -m foundry seed` in a fresh work/ first"
            )
        print(f"[denoiser] warm start from the pack: {denoiser_states(den, ie)}", flush=True)
    acp = alphas_cumprod(cfg.scheduler).to(DEVICE)
    T = cfg.scheduler.num_train_timesteps
    with torch.no_grad():  # references are fixed per subject: their latents are computed once
        ref_latents = torch.cat([ie.latent(to_model(reference_batch(bank, range(i, min(i + 128, len(bank)))))) for i in range(0, len(bank), 128)])

    def step_fn(step, rng):
        pairs = c.max_references > 1 and step % c.pair_every == c.pair_every - 1
        # subj: [B] or, for two-subject scenes, [B, 2] (A's tokens, then B's)
        imgs, subj, ids, alpha = (pair_batch if pairs else scene_batch)(bank, c.batch, rng, c.any_slot)
        with torch.no_grad():
            z0 = encoder(to_model(imgs).to(DEVICE)) * scale
        ids_t = torch.from_numpy(ids)
        drop_p = torch.from_numpy(rng.random(c.batch) < c.drop_prompt)
        drop_i = torch.from_numpy(rng.random(c.batch) < c.drop_image)
        ids_t[drop_p] = 0
        refs = torch.from_numpy(subj.reshape(c.batch, -1))
        tokens = torch.cat([ie.from_latent(ref_latents[refs[:, k]].to(DEVICE)) for k in range(refs.shape[1])], dim=1)
        tokens = tokens * (~drop_i).float().to(DEVICE)[:, None, None]
        t = torch.from_numpy(rng.integers(0, T, c.batch)).to(DEVICE)
        noise = torch.randn(z0.shape).to(DEVICE)
        eps = den(add_noise(acp, z0, noise, t), t.float(), ids_t.to(DEVICE), tokens)
        a = acp[t].float()
        w = denoiser_loss_weights(c, torch.from_numpy(alpha).to(DEVICE), a / (1 - a), step)
        return (w * (eps - noise) ** 2).mean(), ({"scenes": "pairs"} if pairs else {})

    return den, ie, step_fn


def train_patch(cfg: FoundryConfig):
    """InfoNCE over patches: each subject patch of view B must pick its corresponding patch of
    view A among all 64 patches of A (the foundry's version of patch feature enhancement)."""
    train, _ = split()
    bank = SpriteBank(train)
    pe = build_patch_encoder(cfg)
    c = cfg.patch

    def step_fn(step, rng):
        a, b, target = (v.to(DEVICE) for v in correspondence_batch(bank, c.batch, rng))
        loss, acc = infonce(pe, a, b, target, c.temperature)
        return loss, {"top1": round(acc, 3)}

    _run(cfg, "patch", {"patch_encoder": pe}, [(c.steps, c.lr), *c.restarts], step_fn)


def infonce(pe, a, b, target, temperature):
    fa = F.normalize(pe(a).flatten(1, 2), dim=-1)  # [N,64,D]
    fb = F.normalize(pe(b).flatten(1, 2), dim=-1)
    logits = fb @ fa.transpose(1, 2) / temperature  # [N,64(B),64(A)]
    valid = target >= 0
    loss = F.cross_entropy(logits[valid], target[valid])
    acc = (logits.argmax(-1)[valid] == target[valid]).float().mean()
    return loss, float(acc)


def train_evaluator(cfg: FoundryConfig):
    """The independent evaluator (evaluator.py): patch part classification plus subject
    classification of the global embedding, on single augmented views of training subjects."""
    from .evaluator import Classifier, build_evaluator, losses, part_batch

    train, _ = split()
    bank = SpriteBank(train)
    c = cfg.evaluator
    ev, head = build_evaluator(c), Classifier(c, len(bank))

    def step_fn(step, rng):
        x, label, part, subj = (t.to(DEVICE) for t in part_batch(bank, c.batch, rng, c.parts))
        return losses(ev, head, x, label, part, subj, c.temperature, c.pixel_weight)

    _run(cfg, "evaluator", {"evaluator": ev, "head": head}, [(c.steps, c.lr)], step_fn)


STAGES = {"ae": train_ae, "denoiser": train_denoiser, "patch": train_patch, "evaluator": train_evaluator}
