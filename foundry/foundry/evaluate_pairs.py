"""Evaluation of a denoiser grown for two references (config cpu-multi, issue 19).

- single: evaluate.py's single-subject scene metrics on its held-out prompts, so that the growth
  can be checked for regressions against public/models/emoji64/eval.json;
- pairs: on the eval pairs of held-out subjects (evaluate.eval_pairs; the scene kit's
  `pairs.eval`), per-subject region PSNR (pixels where a subject's visible coverage exceeds 0.5),
  scene PSNR, and with the independent evaluator's patch features (never a training signal):
  identity leakage, the share of the patches a subject's ground truth covers whose best match is
  the *other* reference (matches to a reference's white background count as no subject), and each
  subject's mean patch quality against its own reference over its patches.

Also the same pair metrics of the ground-truth scenes, the floor the evaluator's matching leaves.
Writes work/<config>/eval-pairs.json and a contact sheet next to it.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from .batches import reference_batch, to_model
from .config import WORK, FoundryConfig
from .evaluate import GUIDANCE, generate, save_sheet, scene_metrics
from .export import trained_nets
from .scene import SAMPLE_SEED, eval_pairs, eval_prompts, render_pair
from .subjects import SpriteBank, split, validation_split

GRID = 8


@torch.no_grad()
def _features(encoder, images: np.ndarray) -> torch.Tensor:
    """[N, 64, dim] L2-normalized patch features."""
    return F.normalize(encoder(to_model(images)).flatten(1, 2), dim=-1)


def _blocks(a: np.ndarray) -> np.ndarray:
    """[..., 64, 64] → [..., 8, 8] block means."""
    s = 64 // GRID
    return a.reshape(*a.shape[:-2], GRID, s, GRID, s).mean(axis=(-3, -1))


def pair_metrics(nets, bank: SpriteBank, items, samples: np.ndarray) -> dict:
    ev = nets["evaluator"].encoder
    refs = [reference_batch(bank, [it[k] for it in items]) for k in (0, 1)]
    # A reference patch is background when ≥ 90% of its pixels are white within 8/255.
    ref_bg = [torch.from_numpy((_blocks((np.abs(r - 1.0) <= 8 / 255).all(-1).astype(np.float32)) >= 0.9).reshape(len(items), -1)) for r in refs]
    gen_f = _features(ev, samples)
    ref_f = [_features(ev, r) for r in refs]
    sq = {"a": [], "b": []}
    full, leak_owned, leak_wrong, quality = [], 0, 0, {"a": [], "b": []}
    for i, ((a, b, p), x) in enumerate(zip(items, samples)):
        gt, masks, _ = render_pair(bank, a, b, p)
        full.append(float(np.mean((gt - x) ** 2)))
        for k, key in enumerate("ab"):
            m = masks[k] > 0.5
            sq[key].append(float(np.mean((gt[m] - x[m]) ** 2)))
        owners = np.full(GRID * GRID, -1)
        cover = _blocks(masks).reshape(2, -1)
        for k in (0, 1):
            owners[cover[k] > 0.5] = k
        sims = [gen_f[i] @ ref_f[k][i].T for k in (0, 1)]  # [64 gen, 64 ref]
        best = [s.max(dim=1) for s in sims]
        q = torch.stack([v.values for v in best])  # [2, 64]
        winner = q.argmax(dim=0)
        for j in range(GRID * GRID):
            o = owners[j]
            if o < 0:
                continue
            k = int(winner[j])
            assigned = -1 if ref_bg[k][i, int(best[k].indices[j])] else k
            leak_owned += 1
            leak_wrong += int(assigned not in (-1, o))
            quality["ab"[o]].append(float(q[o, j]))
    to_db = lambda mses: 10 * math.log10(1 / max(float(np.mean(mses)), 1e-10))  # noqa: E731
    return {
        "subject_region_psnr_db_a": to_db(sq["a"]),
        "subject_region_psnr_db_b": to_db(sq["b"]),
        "scene_psnr_db": float(np.mean([10 * math.log10(1 / max(m, 1e-10)) for m in full])),
        "identity_leakage": leak_wrong / max(leak_owned, 1),
        "patch_quality_independent_a": float(np.mean(quality["a"])),
        "patch_quality_independent_b": float(np.mean(quality["b"])),
        "owned_patches": leak_owned,
    }


def contact_sheet(bank, items, samples, path, rows: int = 10) -> None:
    """Rows: eval pairs. Columns: reference A, reference B, ground truth, sample."""
    cells = []
    for (a, b, p), x in list(zip(items, samples))[:rows]:
        refs = reference_batch(bank, [a, b])
        cells.append(np.concatenate([refs[0], refs[1], render_pair(bank, a, b, p)[0], x], axis=1))
    save_sheet(cells, path)


def evaluate_pairs(cfg: FoundryConfig, subjects: str = "heldout") -> dict:
    """`subjects`: "heldout" for the final numbers, "validation" (never trained on either) to
    choose designs by; the latter writes eval-pairs-validation.json and its own contact sheet."""
    t0 = time.time()
    nets, scale = trained_nets(cfg)
    bank = SpriteBank(split()[1] if subjects == "heldout" else validation_split()[1])
    suffix = "" if subjects == "heldout" else "-validation"
    singles = eval_prompts(len(bank))
    pairs = eval_pairs(len(bank))
    pair_samples = generate(nets, scale, cfg, bank, pairs, seed=SAMPLE_SEED + 7919)
    out_dir = WORK / cfg.name
    result = {
        "config": cfg.name,
        "subjects": subjects,
        "denoiser_step": trained_step(cfg),
        "single": scene_metrics(bank, singles, generate(nets, scale, cfg, bank, singles)),
        "pairs": {"count": len(pairs), **pair_metrics(nets, bank, pairs, pair_samples)},
        # The metrics' floor: the ground-truth scenes themselves (leakage is not 0 there, since the
        # evaluator matches 20–36 px subjects against 52 px references).
        "pairs_ground_truth": pair_metrics(nets, bank, pairs, np.stack([render_pair(bank, a, b, p)[0] for a, b, p in pairs])),
    }
    contact_sheet(bank, pairs, pair_samples, out_dir / f"pairs-contact-sheet{suffix}.png")
    result["eval_seconds"] = round(time.time() - t0, 1)
    (out_dir / f"eval-pairs{suffix}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return result


def trained_step(cfg: FoundryConfig) -> int:
    from .train import load

    return int(load(cfg, "denoiser")["step"])
