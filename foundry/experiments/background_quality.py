"""What do quality maps say about patches that are right but unlike the white reference?

On the estimator fixture (base-model samples of held-out subjects with their ground truth), each
8×8 block is classed by the ground truth's subject coverage (background < 0.05, subject > 0.5)
and by its true error (bad: mean |generated − truth| > 0.1, as src/core/quality/estimator.ts),
and the mean patch quality (best cosine over the reference's patches) of each class is printed
for each encoder. If right background blocks score like wrong subject blocks, a quality-weighted
loss punishes correct backgrounds.

  cd foundry && /usr/bin/python3 experiments/background_quality.py [--evaluator path.pt]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from foundry import safetensors_io  # noqa: E402
from foundry.config import CPU, REPO  # noqa: E402
from foundry.evaluator import build_evaluator  # noqa: E402
from foundry.scene import Prompt, render, subject_alpha  # noqa: E402
from foundry.subjects import SpriteBank, split  # noqa: E402
from foundry.train import build_patch_encoder, ckpt_path  # noqa: E402
from foundry.warmstart import patch_state  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "estimator-emoji64.safetensors"


def quality(features_fn, gen: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    fg = F.normalize(features_fn(gen).flatten(1, 2), dim=-1)
    fr = F.normalize(features_fn(ref).flatten(1, 2), dim=-1)
    return (fg @ fr.transpose(1, 2)).max(-1).values.numpy()  # [N, 64]


def main() -> None:
    torch.set_num_threads(1)
    t = safetensors_io.load(FIXTURE)
    to_x = lambda a: torch.from_numpy(a.astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2)  # noqa: E731
    gen, ref = to_x(t["generated"]), to_x(t["reference"])
    err = np.abs(t["generated"].astype(np.float32) - t["ground_truth"].astype(np.float32)).mean(-1) / 255
    err = err.reshape(-1, 8, 8, 8, 8).mean(axis=(2, 4)).reshape(len(err), 64)
    if "subject_mask" in t:
        cover = t["subject_mask"].reshape(len(err), 64).astype(np.float32)
        background = cover == 0
        subject = cover == 1
    else:  # older fixture: recover the coverage from the scene kit
        from foundry.evaluate import eval_prompts

        _, held = split()
        bank = SpriteBank(held)
        items = [it for it in eval_prompts(len(bank)) if it[0] < 32][: len(err)]
        cov = np.stack([subject_alpha(bank, s, render(bank, s, p)[1]) for s, p in items]).reshape(len(err), 8, 8, 8, 8).mean(axis=(2, 4)).reshape(len(err), 64)
        background, subject = cov < 0.05, cov > 0.5
    bad = err > 0.1
    encoders = {}
    pe = build_patch_encoder(CPU).eval()
    pe.load_state_dict(patch_state())
    encoders["patch_encoder"] = pe
    torch.manual_seed(0)
    encoders["random"] = build_patch_encoder(CPU).eval()
    ev_path = ckpt_path(CPU, "evaluator")
    if ev_path.is_file():
        ev = build_evaluator(CPU.evaluator).eval()
        ev.load_state_dict(torch.load(ev_path)["model"]["evaluator"])
        encoders["independent"] = ev.encoder
    out = {}
    with torch.no_grad():
        for name, enc in encoders.items():
            q = quality(enc, gen, ref)
            out[name] = {
                cls: round(float(q[m].mean()), 3) if m.any() else None
                for cls, m in {
                    "background_good": background & ~bad, "background_bad": background & bad,
                    "subject_good": subject & ~bad, "subject_bad": subject & bad,
                }.items()
            }
    counts = {"background_good": int((background & ~bad).sum()), "background_bad": int((background & bad).sum()), "subject_good": int((subject & ~bad).sum()), "subject_bad": int((subject & bad).sum())}
    print(json.dumps({"blocks": counts, "mean_quality": out}, indent=1))


if __name__ == "__main__":
    main()
