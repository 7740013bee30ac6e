"""Estimator check on the validation subjects (training split, never the held-out list), for
design choices: samples of the current denoiser checkpoint against their ground truth, and for
each encoder the AUROC of low patch quality as a predictor of a bad 8×8 block (mean |generated −
truth| > 0.1, as src/core/quality/estimator.ts), over all blocks and over subject blocks, plus
the mean quality of right and wrong background and subject blocks.

  cd foundry && /usr/bin/python3 experiments/estimator_val.py [--reuse]   (--reuse: the newest samples drawn)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from foundry import train  # noqa: E402
from foundry.batches import reference_batch, to_model  # noqa: E402
from foundry.config import CPU, WORK  # noqa: E402
from foundry.evaluate import SAMPLE_SEED, generate, scene_metrics  # noqa: E402
from foundry.evaluator import build_evaluator  # noqa: E402
from foundry.scene import Prompt, render, subject_alpha  # noqa: E402
from foundry.subjects import SpriteBank, validation_split  # noqa: E402


def auroc(score_bad: np.ndarray, bad: np.ndarray) -> float:
    """P(score of a random bad block > score of a random good block), ties counted half."""
    order = np.argsort(score_bad, kind="mergesort")
    ranks = np.empty(len(order))
    s = score_bad[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_bad, n_good = int(bad.sum()), int((~bad).sum())
    return float((ranks[bad].sum() - n_bad * (n_bad + 1) / 2) / (n_bad * n_good))


@torch.no_grad()
def samples(cfg, reuse: bool) -> dict:
    cached = sorted(WORK.glob("estimator-val-*.npz"), key=lambda p: int(p.stem.split("-")[-1]))
    if reuse and cached:  # score encoders on the newest samples already drawn
        return dict(np.load(cached[-1]))
    ck = train.load(cfg, "denoiser")
    cache = WORK / f"estimator-val-{ck['step']}.npz"
    if cache.is_file():
        return dict(np.load(cache))
    nets = {"ae": train.build_ae(cfg), "denoiser": train.build_denoiser(cfg), "image_encoder": train.build_image_encoder(cfg)}
    ae_ck = train.load(cfg, "ae")
    nets["ae"].load_state_dict(ae_ck["model"]["ae"])
    nets["denoiser"].load_state_dict(ck["ema"]["denoiser"])
    nets["image_encoder"].load_state_dict(ck["ema"]["image_encoder"])
    for m in nets.values():
        m.eval()
    _, val = validation_split()
    bank = SpriteBank(val)
    rng = np.random.default_rng((SAMPLE_SEED, 11))
    items = [(s, Prompt().resolve(rng)) for s in range(len(bank)) for _ in range(2)]
    gen = generate(nets, ae_ck["latent_scale"], cfg, bank, items)
    rendered = [render(bank, s, p) for s, p in items]
    cover = np.stack([subject_alpha(bank, s, lay) for (s, _), (_, lay) in zip(items, rendered)])
    scene = scene_metrics(bank, items, gen)
    out = {
        "scene": json.dumps(scene),
        "generated": gen, "truth": np.stack([im for im, _ in rendered]), "reference": reference_batch(bank, [s for s, _ in items]),
        "cover": cover.reshape(len(items), 8, 8, 8, 8).mean(axis=(2, 4)).reshape(len(items), 64), "step": ck["step"],
    }
    np.savez(cache, **out)
    return out


def quality(encoder, gen, ref) -> np.ndarray:
    fg = F.normalize(encoder(to_model(gen)).flatten(1, 2), dim=-1)
    fr = F.normalize(encoder(to_model(ref)).flatten(1, 2), dim=-1)
    return (fg @ fr.transpose(1, 2)).max(-1).values.numpy()


@torch.no_grad()
def main() -> None:
    torch.set_num_threads(1)
    cfg = CPU
    d = samples(cfg, reuse="--reuse" in sys.argv)
    q8 = lambda a: np.round(np.clip(a, 0, 1) * 255) / 255  # noqa: E731  the fixture's uint8 rounding
    gen, truth = q8(d["generated"]), q8(d["truth"])
    err = np.abs(gen - truth).mean(-1).reshape(-1, 8, 8, 8, 8).mean(axis=(2, 4)).reshape(len(gen), 64)
    bad, background, subject = err > 0.1, d["cover"] < 0.05, d["cover"] > 0.5
    encoders = {}
    pe = train.build_patch_encoder(cfg).eval()
    pe.load_state_dict(train.load(cfg, "patch")["model"]["patch_encoder"])
    encoders["patch_encoder"] = pe
    torch.manual_seed(0)
    encoders["random"] = train.build_patch_encoder(cfg).eval()
    if train.ckpt_path(cfg, "evaluator").is_file():
        ev_ck = train.load(cfg, "evaluator")
        ev = build_evaluator(cfg.evaluator).eval()
        ev.load_state_dict(ev_ck["model"]["evaluator"])
        encoders[f"independent@{ev_ck['step']}"] = ev.encoder
    report = {"denoiser_step": int(d["step"]), "scene": json.loads(str(d["scene"])) if "scene" in d else None, "blocks": int(bad.size), "bad_fraction": round(float(bad.mean()), 3)}
    for name, enc in encoders.items():
        q = quality(enc, q8(d["generated"]).astype(np.float32), q8(d["reference"]).astype(np.float32))
        report[name] = {
            "auroc": round(auroc(-q.ravel(), bad.ravel()), 3),
            "auroc_subject": round(auroc(-q[subject], bad[subject]), 3),
            **{k: round(float(q[m].mean()), 3) for k, m in {"bg_good": background & ~bad, "bg_bad": background & bad, "subj_good": subject & ~bad, "subj_bad": subject & bad}.items() if m.any()},
        }
    print(json.dumps(report))
    with (WORK / "estimator-val.jsonl").open("a") as f:
        f.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
