"""`python3 -m foundry train-adapter`: trains a pack's adapter on a studio dataset zip with the
run configuration of `npm run train`, and writes what the studio imports — adapter.safetensors
(manifest names and shapes, pack id and config in the metadata) and log.jsonl (one StepReport
per line).

Under `torchrun --nproc_per_node N` it trains data-parallel (gloo on CPU, nccl on CUDA): each
process takes batchSize / N of every step's draws, and only rank 0 writes files."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from .. import safetensors_io
from ..config import PACKS
from .dataset import read_dataset
from .loop import TrainingLoop, load_checkpoint, save_checkpoint, train
from .pack import load_pack
from .run_config import read_run_config


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python3 -m foundry train-adapter", description=__doc__)
    ap.add_argument("--dataset", required=True, type=Path, help="the studio's dataset zip (docs/dataset-format.md)")
    ap.add_argument("--config", required=True, type=Path, help="run configuration JSON, as for `npm run train`")
    ap.add_argument("--out", required=True, type=Path, help="adapter .safetensors to write")
    ap.add_argument("--pack", type=Path, help="pack folder (default: public/models/<config's pack, else tiny>)")
    ap.add_argument("--log", type=Path, help="log.jsonl to write (default: log.jsonl beside --out)")
    ap.add_argument("--checkpoint", type=Path, help="checkpoint file (default: <out>.checkpoint.safetensors)")
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint when it exists")
    ap.add_argument("--threads", type=int, default=2, help="torch threads per process")
    ap.add_argument("--device", default="cpu", help="torch device, e.g. cuda (under torchrun: cuda:<LOCAL_RANK>)")
    return ap.parse_args(argv)


def _distributed(device: str) -> torch.device:
    """Joins torchrun's process group when launched by it; the device this process trains on."""
    if "WORLD_SIZE" not in os.environ:
        return torch.device(device)
    cuda = device.startswith("cuda")
    dist.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        local = int(os.environ["LOCAL_RANK"])
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device(device)


def _kept_log(log: Path, step: int) -> list[str]:
    """The lines of an earlier run's log up to the checkpoint it resumes from."""
    if not log.exists():
        return []
    return [line for line in log.read_text().splitlines() if line and json.loads(line)["step"] <= step]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = _distributed(args.device)
    rank0 = not dist.is_initialized() or dist.get_rank() == 0
    try:
        return _train(args, device, rank0)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _train(args: argparse.Namespace, device: torch.device, rank0: bool) -> int:
    run, config = read_run_config(args.config)
    pack = load_pack(args.pack or PACKS / run.get("pack", "tiny"))
    ds = read_dataset(args.dataset, pack.shapes)
    world = dist.get_world_size() if dist.is_initialized() else 1
    say = (lambda m: print(m, file=sys.stderr)) if rank0 else (lambda m: None)
    say(f"dataset: {len(ds.references)} references, {len(ds.samples)} generated images; {world} process(es)")
    loop = TrainingLoop(pack, ds, config, device)
    checkpoint = args.checkpoint or args.out.with_name(args.out.stem + ".checkpoint.safetensors")
    log = args.log or args.out.with_name("log.jsonl")
    lines: list[str] = []
    if args.resume and checkpoint.exists():
        loop.restore(load_checkpoint(checkpoint, pack.adapter_names, config, device))
        lines = _kept_log(log, loop.step)
        say(f"resumed from {checkpoint} at step {loop.step}")
    for path in (args.out, log, checkpoint):
        path.parent.mkdir(parents=True, exist_ok=True)

    def on_step(r) -> None:
        lines.append(json.dumps(r.to_json()))
        say(f"step {r.step} loss {r.loss:.5g} {r.ms:.0f} ms")

    def on_checkpoint(cp) -> None:
        if rank0:
            save_checkpoint(cp, pack.adapter_names, config, checkpoint)

    result = train(loop, on_step, on_checkpoint)
    backend = f"torch-{device.type}" + (f"-ddp{world}" if world > 1 else "")
    if rank0:
        log.write_text("".join(f"{line}\n" for line in lines))
        meta = {
            "pack": pack.id,
            "config": json.dumps(config.to_json()),
            "backend": backend,
            "steps": str(result.step),
            "dataset": ds.name,
        }
        safetensors_io.save(result.adapter, args.out, meta)
        if result.stopped:
            say(result.stopped)
        print(json.dumps({"out": str(args.out), "backend": backend, "steps": result.step, "stopped": result.stopped}))
    return 1 if result.stopped else 0
