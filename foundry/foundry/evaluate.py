"""Evaluation of the trained pack: writes public/models/emoji64/eval.json and a contact sheet.

- ae_psnr_db: autoencoder reconstruction PSNR on held-out scenes and references.
- Samples for fully specified prompts on held-out subjects (DDIM, fixed seeds, the manifest's
  default guidance) against the renderer's ground truth: background and position accuracy by a
  nearest-render classifier (which of the vocabulary's renders of this subject is the sample
  closest to, with the other slots held at the prompt's values), and the subject-region error.
- patch_top1_trained / _random / _independent: correspondence top-1 on held-out warps (subject
  patches only), for the trained patch encoder, the same network with random weights, and the
  independent evaluator's features.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import torch
from PIL import Image

from .batches import correspondence_batch, reference_batch, to_model, to_pixels
from .config import PACKS, REPO, FoundryConfig
from .export import trained_nets
from .scene import BACKGROUNDS, POSITIONS, SAMPLE_SEED, SIZES, Prompt, eval_pairs, eval_prompts, render, subject_alpha
from .schedule import ddim_sample
from .subjects import SpriteBank, split
from .train import build_patch_encoder, infonce, load

# The v2 denoiser is a warm restart of v1 (foundry/README.md): what v1 had cost before it.
V1_DENOISER = {"steps": 7000, "train_seconds": 10094.2, "note": "v1 pack's denoiser; v2 warm-starts from its weights with a new image encoder"}
# cpu-multi (issue 19): the v2 pack (config cpu) grown for two references and fine-tuned from it.
MULTI_WARM_START = {"from": "the v2 pack (config cpu; its eval.json: subject-region PSNR 12.83 dB, scene 18.75 dB, size acc. 0.709)", "note": "grown for two references; 2,400 steps with them in A/B order, then 1,200 in reading order of their places"}
GUIDANCE = {"steps": 25, "g_image": 3.0, "g_prompt": 2.0}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 10 * math.log10(1.0 / max(mse, 1e-10))


@torch.no_grad()
def ae_psnr(nets, bank: SpriteBank, n: int = 256) -> float:
    rng = np.random.default_rng((SAMPLE_SEED, 1))
    imgs = []
    for _ in range(n):
        p = Prompt().resolve(rng)
        imgs.append(render(bank, int(rng.integers(len(bank))), p, rng, jitter=True)[0])
    imgs = np.concatenate([np.stack(imgs), reference_batch(bank, range(len(bank)))])
    rec = to_pixels(nets["ae"](to_model(imgs)))
    return float(np.mean([psnr(a, b) for a, b in zip(imgs, rec)]))


@torch.no_grad()
def generate(nets, latent_scale: float, cfg: FoundryConfig, bank: SpriteBank, items, batch: int = 49, seed: int = SAMPLE_SEED) -> np.ndarray:
    """Samples for items (subject, prompt), or (subject A, subject B, prompt) for two-subject scenes:
    the references' image tokens are concatenated in the denoiser's order (PairPrompt.reference_order)."""
    out = []
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        order = [it[-1].reference_order() if len(it) == 3 else (0,) for it in chunk]
        tokens = torch.cat([nets["image_encoder"](to_model(reference_batch(bank, [it[o[k]] for it, o in zip(chunk, order)]))) for k in range(len(order[0]))], dim=1)
        ids = torch.tensor([it[-1].ids() for it in chunk])
        g = torch.Generator().manual_seed(seed + i)
        noise = torch.randn(len(chunk), 4, 16, 16, generator=g)
        z = ddim_sample(nets["denoiser"], cfg.scheduler, noise, ids, tokens, GUIDANCE["steps"], GUIDANCE["g_image"], GUIDANCE["g_prompt"])
        out.append(to_pixels(nets["ae"].decoder(z / latent_scale)))
    return np.concatenate(out)


def nearest(bank, subject: int, prompt: Prompt, sample: np.ndarray, slot: str, values) -> str:
    errs = {v: np.mean((render(bank, subject, Prompt(**{**prompt.__dict__, slot: v}))[0] - sample) ** 2) for v in values}
    return min(errs, key=errs.get)


def scene_metrics(bank, items, samples) -> dict:
    bg_ok, pos_ok, size_ok, region, full = [], [], [], [], []
    for (s, p), x in zip(items, samples):
        gt, lay = render(bank, s, p)
        mask = subject_alpha(bank, s, lay) > 0.5
        region.append(float(np.mean((gt[mask] - x[mask]) ** 2)))
        full.append(psnr(gt, x))
        bg_ok.append(nearest(bank, s, p, x, "background", BACKGROUNDS) == p.background)
        pos_ok.append(nearest(bank, s, p, x, "position", POSITIONS) == p.position)
        size_ok.append(nearest(bank, s, p, x, "size", SIZES) == p.size)
    return {
        "bg_color_acc": float(np.mean(bg_ok)),
        "position_acc": float(np.mean(pos_ok)),
        "size_acc": float(np.mean(size_ok)),
        "subject_region_mse": float(np.mean(region)),
        "subject_region_psnr_db": 10 * math.log10(1 / float(np.mean(region))),
        "scene_psnr_db": float(np.mean(full)),
    }


@torch.no_grad()
def patch_top1(pe, bank, n: int = 512) -> float:
    correct, total = 0.0, 0
    for i in range(0, n, 64):
        a, b, t = correspondence_batch(bank, 64, np.random.default_rng((SAMPLE_SEED, 3, i)))
        valid = int((t >= 0).sum())
        correct += infonce(pe, a, b, t, 0.1)[1] * valid
        total += valid
    return correct / total


def contact_sheet(bank, items, samples, path, subjects: int = 12) -> None:
    """Rows: held-out subjects. Columns: reference, then (ground truth, sample) per prompt."""
    rows = []
    for s in range(subjects):
        cells = [reference_batch(bank, [s])[0]]
        for (si, p), x in zip(items, samples):
            if si == s:
                cells += [render(bank, s, p)[0], x]
        rows.append(np.concatenate(cells, axis=1))
    save_sheet(rows, path)


def save_sheet(rows: list[np.ndarray], path) -> None:
    """Stacks image rows (float [0,1]) into a PNG, shown at twice the size."""
    sheet = (np.concatenate(rows, axis=0) * 255).round().astype(np.uint8)
    img = Image.fromarray(sheet)
    img.resize((img.width * 2, img.height * 2), Image.NEAREST).save(path, optimize=True)


def evaluate(cfg: FoundryConfig) -> dict:
    t0 = time.time()
    nets, scale = trained_nets(cfg)
    _, held = split()
    bank = SpriteBank(held)
    items = eval_prompts(len(bank))
    samples = generate(nets, scale, cfg, bank, items)
    torch.manual_seed(0)
    random_pe = build_patch_encoder(cfg).eval()
    result = {
        "config": cfg.name,
        "heldout_subjects": len(bank),
        "samples": len(items),
        "sampler": {"type": "ddim", **GUIDANCE, "seed": SAMPLE_SEED},
        "ae_psnr_db": ae_psnr(nets, bank),
        **scene_metrics(bank, items, samples),
        "patch_top1_trained": patch_top1(nets["patch_encoder"], bank),
        "patch_top1_random": patch_top1(random_pe, bank),
        "patch_top1_independent": patch_top1(nets["evaluator"].encoder, bank),
        "train_seconds": {stage: round(load(cfg, stage)["seconds"], 1) for stage in ("ae", "denoiser", "patch", "evaluator")},
    }
    if cfg.denoiser.warm_start:
        result["denoiser_warm_start"] = V1_DENOISER if cfg.denoiser.max_references == 1 else MULTI_WARM_START
    sheet = REPO / "docs" / "emoji64-contact-sheet.png"
    contact_sheet(bank, items, samples, sheet)
    result["contact_sheet"] = str(sheet.relative_to(REPO))
    result["eval_seconds"] = round(time.time() - t0, 1)
    out = PACKS / "emoji64" / "eval.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return result
