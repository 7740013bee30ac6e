"""Design probe for base model v2: which reference tokens on the autoencoder's latent converge
fastest per CPU-second? Each variant warm-starts the committed pack's denoiser, trains `--steps`
steps, and is scored on the validation subjects (training split, never the held-out list) with
the evaluation protocol of `foundry eval` (DDIM 25, guidance 3/2, fully specified prompts).

  cd foundry && /usr/bin/python3 experiments/image_encoder_ab.py --variant p2 --steps 240 --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from foundry import train  # noqa: E402
from foundry.batches import reference_batch, to_model, to_pixels  # noqa: E402
from foundry.config import CPU, WORK  # noqa: E402
from foundry.evaluate import GUIDANCE, SAMPLE_SEED, scene_metrics  # noqa: E402
from foundry.scene import Prompt  # noqa: E402
from foundry.schedule import ddim_sample  # noqa: E402
from foundry.subjects import SpriteBank, validation_split  # noqa: E402
from foundry.warmstart import seed_checkpoints  # noqa: E402

VARIANTS = {"p1": {"patch": 1}, "p2": {"patch": 2}, "p2-l2": {"patch": 2, "layers": 2}}


@torch.no_grad()
def validate(cfg, den, ie, n_items: int = 64) -> dict:
    ae = train.build_ae(cfg)
    ae_ck = train.load(cfg, "ae")
    ae.load_state_dict(ae_ck["model"]["ae"])
    _, val = validation_split()
    bank = SpriteBank(val)
    rng = np.random.default_rng((SAMPLE_SEED, 7))
    items = [(i % len(bank), Prompt().resolve(rng)) for i in range(n_items)]
    refs = to_model(reference_batch(bank, [s for s, _ in items]))
    ids = torch.tensor([p.ids() for _, p in items])
    noise = torch.randn(len(items), 4, 16, 16, generator=torch.Generator().manual_seed(SAMPLE_SEED))
    z = ddim_sample(den.eval(), cfg.scheduler, noise, ids, ie.eval()(refs), GUIDANCE["steps"], GUIDANCE["g_image"], GUIDANCE["g_prompt"])
    samples = to_pixels(ae.decoder(z / ae_ck["latent_scale"]))
    return scene_metrics(bank, items, samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    ap.add_argument("--steps", type=int, default=240)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = replace(
        CPU,
        name=f"probe-{args.variant}",
        image_encoder=replace(CPU.image_encoder, **VARIANTS[args.variant]),
        denoiser=replace(CPU.denoiser, steps=args.steps, restarts=(), lr=3e-4, focus_from=0, warm_start=True),
    )
    seed_checkpoints(cfg)
    fit, _ = train.validation_split()
    den, ie, step_fn = train.denoiser_setup(cfg, fit)
    t0 = time.time()
    ema = train._run(cfg, "denoiser", {"denoiser": den, "image_encoder": ie}, [(args.steps, 3e-4)], step_fn, ema=cfg.denoiser.ema, log_every=20)
    seconds = train.load(cfg, "denoiser")["seconds"]
    result = {"variant": args.variant, "steps": args.steps, "train_seconds": round(seconds, 1), "wall": round(time.time() - t0, 1), **validate(cfg, ema["denoiser"], ema["image_encoder"])}
    out = WORK / "probes.jsonl"
    with out.open("a") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
