"""Entry point: python3 -m foundry <command> [--config cpu|gpu|tiny] [--device cpu|cuda].

`python3 -m foundry train-adapter --dataset ds.zip --config run.json --out adapter.safetensors`
has options of its own (foundry/adapter/cli.py), as has `python3 -m foundry sample --pack … --jobs jobs.json
--out images.safetensors` (foundry/adapter/sample.py)."""

from __future__ import annotations

import argparse
import json
import sys

import torch

from .config import CONFIGS


def main() -> None:
    if sys.argv[1:2] == ["train-adapter"]:
        from .adapter.cli import main as train_adapter

        sys.exit(train_adapter(sys.argv[2:]))
    if sys.argv[1:2] == ["sample"]:
        from .adapter.sample import main as sample

        sys.exit(sample(sys.argv[2:]))
    ap = argparse.ArgumentParser(prog="python3 -m foundry")
    ap.add_argument("command", choices=["subjects", "seed", "train", "export", "tiny", "fixtures", "eval", "hf-fixtures", "pair-kit", "eval-pairs", "keep"])
    ap.add_argument("stage", nargs="?", help="train: ae | denoiser | patch | evaluator | all")
    ap.add_argument("--config", default="cpu", choices=sorted(CONFIGS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--split", default="heldout", choices=["heldout", "validation"], help="eval-pairs: the held-out subjects (final numbers) or the validation subjects (designs are chosen on these)")
    ap.add_argument("--device", default="cpu", help="train on this torch device, e.g. cuda (export and eval run on the CPU)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = CONFIGS[args.config]
    if args.command == "subjects":
        from .subjects import all_subjects, split

        train, held = split()
        print(json.dumps({"subjects": len(all_subjects()), "train": len(train), "heldout": len(held)}))
    elif args.command == "seed":
        from .warmstart import seed_checkpoints

        seed_checkpoints(cfg)
    elif args.command == "train":
        from . import train

        train.DEVICE = torch.device(args.device)
        STAGES = train.STAGES
        for name in STAGES if args.stage in (None, "all") else [args.stage]:
            STAGES[name](cfg)
    elif args.command == "export":
        from .export import export_pack

        export_pack(cfg)
    elif args.command == "tiny":
        from .export import export_tiny

        export_tiny()
    elif args.command == "fixtures":
        from .fixtures import write_fixtures

        write_fixtures(include_trained=args.config != "tiny", trained=cfg)
    elif args.command == "hf-fixtures":
        from .hf_replicas.writer import OUT, write_hf_fixtures

        for entry in write_hf_fixtures():
            print(f"{entry['folder']}: {', '.join(entry['files'])}")
        print(f"wrote {OUT}")
    elif args.command == "pair-kit":
        from .config import PACKS
        from .export import add_pair_kit

        for pack in sorted(PACKS.glob("*/manifest.json")):
            add_pair_kit(pack)
            print(f"wrote scenes.pairs into {pack}")
    elif args.command == "keep":
        from .warmstart import keep_denoiser

        print(f"kept the denoiser stage in {keep_denoiser(cfg)}")
    elif args.command == "eval-pairs":
        from .evaluate_pairs import evaluate_pairs

        evaluate_pairs(cfg, args.split)
    elif args.command == "eval":
        from .evaluate import evaluate

        evaluate(cfg)


if __name__ == "__main__":
    main()
