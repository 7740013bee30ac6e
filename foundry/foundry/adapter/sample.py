"""`python3 -m foundry sample`: the studio's generation pipeline (src/core/generate: reference →
image tokens → guided sampler over the denoiser → VAE decoder) on PyTorch, batched over a list of
jobs, for benchmarks too large for onnxruntime-web on the build cores.

    python3 -m foundry sample --pack ../public/models/tiny --jobs jobs.json --out images.safetensors
                              [--adapter adapter.safetensors|base ...] [--batch 8] [--threads 1]

jobs.json:

    {"references": [{"id": "1f30a"}, {"id": "1f004", "background": "stripes"}],
     "jobs": [{"references": [0], "promptIds": [6, 17, 25], "seed": 101,
               "sampler": {"steps": 25, "sampler": "ddim", "guidanceImage": 3, "guidancePrompt": 2, "ipScale": 1}},
              {"references": [1, 0], "promptIds": [6, 40, 25], "seed": 101, "sampler": {...}}]}

A job's `references` index the references in the denoiser's order: one, or on a denoiser grown
for several (`max_references`) up to that many, the layout's first subject first (referenceOrder
of core/generate/prompt.ts), their image tokens concatenated as concatReferences does.

A reference is a gallery subject, or with `background` the subject rendered over that scene-kit
background instead of white (images.natural_pixels). Each job's initial noise is the studio's for
its seed (`latentNoise(seed, 1, C·H·W)`, the noise of a Compare cell in core/metrics/grid.ts), so
the same job gives the same image in both (tests/sampler-torch-parity.test.ts). Every job runs
with each `--adapter` in turn (`base`, the default, is the pack's own), in one process so that
PyTorch starts once. The output holds `images` (uint8 [A, N, S, S, 3], as tensorToImage gives
them), `latents` (float32 [A, N, C, H, W], the sampler's final latents in the denoiser's scaled
space) and `references` (uint8 [R, S, S, 3], each reference as the image encoder saw it)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import safetensors_io
from ..schedule import ddim_sample, euler_sample
from .images import gallery_pixels, natural_pixels, to_pixels, to_tensor
from .networks import load_decoder, load_image_encoder
from .pack import Pack, load_pack, scheduler_config
from .rng import gaussian

SAMPLERS = {"ddim": ddim_sample, "euler": euler_sample}
BASE = "base"  # the --adapter value that stands for the pack's own adapter tensors


@dataclass(frozen=True)
class SamplerSettings:
    """GenerateSettings of the studio minus prompt, seed and batch."""

    steps: int
    sampler: str
    guidance_image: float
    guidance_prompt: float
    ip_scale: float


@dataclass(frozen=True)
class Job:
    references: tuple[int, ...]
    prompt_ids: list[int]
    seed: int
    settings: SamplerSettings


@dataclass(frozen=True)
class Reference:
    id: str
    background: str | None = None


class JobsError(ValueError):
    pass


def _settings(s: dict, where: str, manifest: dict) -> SamplerSettings:
    """checkSettings of src/core/generate/pipeline.ts, on the studio's key names."""
    keys = {"steps", "sampler", "guidanceImage", "guidancePrompt", "ipScale"}
    if not isinstance(s, dict) or set(s) != keys:
        raise JobsError(f"{where}: sampler needs exactly the keys {', '.join(sorted(keys))}")
    t = manifest["scheduler"]["num_train_timesteps"]
    if not (isinstance(s["steps"], int) and 1 <= s["steps"] <= t):
        raise JobsError(f"{where}: steps must be 1–{t}")
    if s["sampler"] not in SAMPLERS:
        raise JobsError(f"{where}: sampler must be ddim or euler, got {s['sampler']!r}")
    for k in ("guidanceImage", "guidancePrompt", "ipScale"):
        if not (isinstance(s[k], (int, float)) and 0 <= s[k] <= 20):
            raise JobsError(f"{where}: {k} must be between 0 and 20, got {s[k]!r}")
    return SamplerSettings(s["steps"], s["sampler"], float(s["guidanceImage"]), float(s["guidancePrompt"]), float(s["ipScale"]))


def read_jobs(path: Path, manifest: dict) -> tuple[list[Reference], list[Job]]:
    spec = json.loads(Path(path).read_text())
    refs = [Reference(str(r["id"]), r.get("background")) for r in spec.get("references", [])]
    arch = manifest["roles"]["denoiser"]["architecture"]
    length, vocab, most = manifest["prompt"]["length"], arch["prompt_vocab"], arch.get("max_references", 1)
    jobs = []
    for i, j in enumerate(spec.get("jobs", [])):
        where = f"jobs[{i}]"
        chosen = j.get("references")
        if not (isinstance(chosen, list) and 1 <= len(chosen) <= most):
            raise JobsError(f"{where}: references must list 1–{most} indices (the denoiser's max_references), got {chosen!r}")
        for r in chosen:
            if not (isinstance(r, int) and 0 <= r < len(refs)):
                raise JobsError(f"{where}: reference {r!r} is not an index into references (0–{len(refs) - 1})")
        ids = j.get("promptIds")
        if not (isinstance(ids, list) and len(ids) == length and all(isinstance(v, int) and 0 <= v < vocab for v in ids)):
            raise JobsError(f"{where}: promptIds must be {length} token ids below {vocab}, got {ids!r}")
        seed = j.get("seed")
        if not (isinstance(seed, int) and 0 <= seed <= 0xFFFFFFFF):
            raise JobsError(f"{where}: seed must be an integer from 0 to 4294967295")
        jobs.append(Job(tuple(chosen), ids, seed, _settings(j.get("sampler"), where, manifest)))
    return refs, jobs


def reference_pixels(folder: Path, manifest: dict, refs: list[Reference]) -> np.ndarray:
    """uint8 [R, S, S, 3]: gallery subjects as stored, natural references rendered."""
    size = manifest["image"]["size"]
    out = np.zeros((len(refs), size, size, 3), np.uint8)
    natural = [i for i, r in enumerate(refs) if r.background is not None]
    for i, r in enumerate(refs):
        if r.background is None:
            out[i] = gallery_pixels(folder, manifest, r.id)
    if natural:
        out[natural] = natural_pixels(folder, manifest, [refs[i].id for i in natural], [refs[i].background for i in natural])
    return out


def read_adapter(path: Path, pack: Pack) -> list[torch.Tensor]:
    """The studio's adapter file: every manifest adapter tensor, by name, with its shape."""
    tensors = safetensors_io.load(path)
    out = []
    for t in pack.manifest["roles"]["denoiser"]["adapter"]["tensors"]:
        a = tensors.get(t["name"])
        if a is None or list(a.shape) != t["shape"] or a.dtype != np.float32:
            raise ValueError(f"{path}: {t['name']} is missing or not float32 {t['shape']}")
        out.append(torch.from_numpy(np.array(a)))
    return out


def batches(jobs: list[Job], size: int) -> list[list[int]]:
    """Job indices in batches of at most `size` with one sampler setting and reference count each, in job order."""
    groups: dict[tuple[SamplerSettings, int], list[int]] = {}
    for i, j in enumerate(jobs):
        groups.setdefault((j.settings, len(j.references)), []).append(i)
    return [idx[k : k + size] for idx in groups.values() for k in range(0, len(idx), size)]


def job_tokens(tokens: torch.Tensor, jobs: list[Job], idx: list[int]) -> torch.Tensor:
    """[len(idx), n·T, D]: each job's references' image tokens [T, D] concatenated in its order."""
    return torch.stack([torch.cat([tokens[r] for r in jobs[i].references]) for i in idx])


def sample_latents(
    pack: Pack,
    tokens: torch.Tensor,
    jobs: list[Job],
    adapter: list[torch.Tensor] | None,
    batch: int,
    on_batch: Callable[[int], None] = lambda done: None,
) -> torch.Tensor:
    """Final latents [N, C, H, W] of every job, sampled with classifier-free guidance in batches."""
    if pack.manifest["prompt"]["null_id"] != 0:
        raise ValueError("schedule.guided_eps takes the null prompt as id 0; this pack's null_id differs")
    shape = pack.shapes.latent
    sched = scheduler_config(pack.manifest)
    noise = {s: torch.from_numpy(gaussian(s, int(np.prod(shape))).reshape(shape)) for s in {j.seed for j in jobs}}
    out = torch.zeros((len(jobs), *shape))
    done = 0
    for idx in batches(jobs, batch):
        s = jobs[idx[0]].settings
        out[idx] = SAMPLERS[s.sampler](
            pack.denoiser,
            sched,
            torch.stack([noise[jobs[i].seed] for i in idx]),
            torch.tensor([jobs[i].prompt_ids for i in idx], dtype=torch.int64),
            job_tokens(tokens, jobs, idx),
            s.steps,
            s.guidance_image,
            s.guidance_prompt,
            torch.tensor([s.ip_scale]),
            adapter,
        )
        done += len(idx)
        on_batch(done)
    return out


def tenths(total: int, report: Callable[[int], None]) -> Callable[[int], None]:
    """A progress callback that passes on only the counts that cross a tenth of `total`."""
    last = -1

    def on_progress(done: int) -> None:
        nonlocal last
        if 10 * done // total > last:
            last = 10 * done // total
            report(done)

    return on_progress


@torch.no_grad()
def run(folder: Path, jobs_path: Path, adapters: list[str], batch: int, log: Callable[[str], None]) -> dict[str, np.ndarray]:
    pack = load_pack(folder)
    manifest = pack.manifest
    refs, jobs = read_jobs(jobs_path, manifest)
    pixels = reference_pixels(folder, manifest, refs)
    value_range = tuple(manifest["image"]["range"])
    size = manifest["image"]["size"]
    latents = torch.zeros((len(adapters), len(jobs), *pack.shapes.latent))
    if jobs:
        tokens = load_image_encoder(folder, manifest)(torch.from_numpy(to_tensor(pixels, value_range)))
        for a, path in enumerate(adapters):
            adapter = None if path == BASE else read_adapter(Path(path), pack)
            name = Path(path).stem
            progress = tenths(len(jobs), lambda done: log(f"{name}: sampled {done}/{len(jobs)} images"))
            latents[a] = sample_latents(pack, tokens, jobs, adapter, batch, progress)
    decoder = load_decoder(folder, manifest)
    flat = latents.reshape(-1, *pack.shapes.latent) / manifest["latent"]["scale_factor"]
    decoded = [decoder(flat[k : k + batch]).numpy() for k in range(0, len(flat), batch)]
    images = to_pixels(np.concatenate(decoded) if decoded else np.zeros((0, 3, size, size), np.float32), value_range)
    return {
        "images": images.reshape(len(adapters), len(jobs), size, size, 3),
        "latents": latents.numpy(),
        "references": pixels,
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python3 -m foundry sample", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", required=True, type=Path, help="pack folder (public/models/<id>)")
    ap.add_argument("--jobs", required=True, type=Path, help="jobs JSON (see above)")
    ap.add_argument("--out", required=True, type=Path, help=".safetensors to write")
    ap.add_argument(
        "--adapter", action="append", help="the studio's adapter .safetensors, or `base`; repeat for several (default: base)"
    )
    # On the build cores the built-in denoiser costs about 3 ms per item up to 8 jobs (24 items) a
    # batch and 5 ms from 16 on: larger batches fall out of cache.
    ap.add_argument("--batch", type=int, default=8, help="jobs per sampler batch (the denoiser sees 3× as many)")
    ap.add_argument("--threads", type=int, default=1)
    return ap.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    adapters = args.adapter or [BASE]
    out = run(args.pack, args.jobs, adapters, args.batch, lambda msg: print(msg, file=sys.stderr, flush=True))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    seconds = time.perf_counter() - started
    meta = {"pack": str(args.pack), "adapters": json.dumps(adapters), "seconds": f"{seconds:.3f}"}
    safetensors_io.save(out, args.out, meta)
    summary = {"out": str(args.out), "adapters": len(adapters), "images": int(out["images"].shape[1]), "seconds": seconds}
    print(json.dumps(summary))
    return 0
