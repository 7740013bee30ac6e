"""`python3 -m foundry train-adapter`: trains a pack's adapter on a studio dataset zip with the
run configuration of `npm run train`, and writes what the studio imports — adapter.safetensors
(manifest names and shapes, pack id and config in the metadata) and log.jsonl (one StepReport
per line)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .. import safetensors_io
from ..config import PACKS
from .dataset import read_dataset
from .loop import TrainingLoop, train
from .pack import load_pack
from .run_config import read_run_config


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python3 -m foundry train-adapter", description=__doc__)
    ap.add_argument("--dataset", required=True, type=Path, help="the studio's dataset zip (docs/dataset-format.md)")
    ap.add_argument("--config", required=True, type=Path, help="run configuration JSON, as for `npm run train`")
    ap.add_argument("--out", required=True, type=Path, help="adapter .safetensors to write")
    ap.add_argument("--pack", type=Path, help="pack folder (default: public/models/<config's pack, else tiny>)")
    ap.add_argument("--log", type=Path, help="log.jsonl to write (default: log.jsonl beside --out)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    return ap.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    run, config = read_run_config(args.config)
    pack = load_pack(args.pack or PACKS / run.get("pack", "tiny"))
    ds = read_dataset(args.dataset, pack.shapes)
    print(f"dataset: {len(ds.references)} references, {len(ds.samples)} generated images", file=sys.stderr)
    device = torch.device(args.device)
    lines: list[str] = []

    def on_step(r) -> None:
        lines.append(json.dumps(r.to_json()))
        print(f"step {r.step} loss {r.loss:.5g} {r.ms:.0f} ms", file=sys.stderr)

    result = train(TrainingLoop(pack, ds, config, device), on_step)
    backend = f"torch-{device.type}"
    log = args.log or args.out.with_name("log.jsonl")
    for path in (args.out, log):
        path.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("".join(f"{line}\n" for line in lines))
    meta = {
        "pack": pack.id,
        "config": json.dumps(config.to_json()),
        "backend": backend,
        "steps": str(len(result.reports)),
        "dataset": ds.name,
    }
    safetensors_io.save(result.adapter, args.out, meta)
    if result.stopped:
        print(result.stopped, file=sys.stderr)
    print(json.dumps({"out": str(args.out), "backend": backend, "steps": len(result.reports), "stopped": result.stopped}))
    return 1 if result.stopped else 0
