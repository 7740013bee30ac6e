"""Warm restarts from the committed pack: `work/` is not tracked, so a fresh clone rebuilds the
checkpoints a stage resumes from out of `public/models/emoji64/` (weights only; the optimizer
starts afresh, as a cosine restart does anyway), or from a denoiser stage kept in
`foundry/checkpoints/<config>/` by `python3 -m foundry keep`.

- ae: the VAE encoder and decoder from their ONNX initializers (convolutions keep their
  PyTorch names) and the manifest's latent scale;
- patch: `patch_encoder.safetensors`;
- denoiser: `denoiser.safetensors`, and `image_encoder.safetensors` when its tensors fit the
  configured image encoder (a pack from before the latent image encoder has none, and the new
  encoder then starts from its initialisation);
- evaluator: the independent evaluator from its ONNX export."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from . import safetensors_io
from .config import PACKS, REPO, FoundryConfig

PACK = PACKS / "emoji64"


def _onnx_state(path) -> dict[str, torch.Tensor]:
    return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(str(path)).graph.initializer}


def _safetensors_state(path) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v.copy()) for k, v in safetensors_io.load(path).items()}


def pack_seconds(stage: str) -> float:
    """Training seconds the committed pack records for a stage (eval.json), carried into a warm
    restart so that eval.json keeps counting the whole run."""
    path = PACK / "eval.json"
    return float(json.loads(path.read_text())["train_seconds"].get(stage, 0.0)) if path.is_file() else 0.0


def ae_state() -> tuple[dict, float]:
    state = {f"encoder.{k}": v for k, v in _onnx_state(PACK / "vae_encoder.onnx").items()}
    state |= {f"decoder.{k}": v for k, v in _onnx_state(PACK / "vae_decoder.onnx").items()}
    scale = json.loads((PACK / "manifest.json").read_text())["latent"]["scale_factor"]
    return state, float(scale)


def patch_state() -> dict:
    return _safetensors_state(PACK / "patch_encoder.safetensors")


def evaluator_state(evaluator: torch.nn.Module) -> dict:
    """The independent evaluator from its ONNX export. The exporter keeps the names of every
    tensor but the Linear weights, which it stores transposed as anonymous MatMul constants in the
    order the forward pass uses them, which is the module's own parameter order here."""
    named = _onnx_state(PACK / "evaluators" / "independent.onnx")
    own = evaluator.state_dict()
    anonymous = sorted((k for k in named if k.startswith("onnx::MatMul_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    missing = [k for k in own if k not in named]
    if len(anonymous) != len(missing):
        raise ValueError(f"{len(missing)} evaluator tensors to place, {len(anonymous)} anonymous ONNX constants")
    state = {k: v for k, v in named.items() if k in own}
    for k, a in zip(missing, anonymous):
        if named[a].T.shape != own[k].shape:
            raise ValueError(f"{a} {tuple(named[a].shape)} does not fit {k} {tuple(own[k].shape)} transposed")
        state[k] = named[a].T.contiguous()
    return state


def grown_denoiser_state(den: torch.nn.Module, state: dict) -> dict:
    """The pack's denoiser state for a denoiser grown for more references: the prompt tables keep
    the pack's rows and take their initial values for the layout ids after them, and the module's
    GROWN parameters the pack lacks (ref_embed) start from their initial values. Anything else
    that does not fit is an error (load_state_dict says which)."""
    own = den.state_dict()
    if "ref_embed" in state and state["ref_embed"].shape != own.get("ref_embed", torch.empty(0)).shape:
        raise ValueError(
            f"the committed pack's denoiser takes {state['ref_embed'].shape[0]} references; this config's takes "
            f"{den.c.max_references}: warm-start a config of the pack's shape (e.g. --config cpu-multi)"
        )
    out = dict(state)
    for name in ("prompt_embed.weight", "prompt_map", "prompt_vec"):
        have, want = state[name], own[name]
        if have.shape[0] < want.shape[0] and have.shape[1:] == want.shape[1:]:
            out[name] = torch.cat([have, want[have.shape[0] :]])
    for name in set(own) - set(state):
        if name in getattr(den, "GROWN", ()):
            out[name] = own[name]
    return out


def denoiser_states(den: torch.nn.Module, ie: torch.nn.Module) -> list[str]:
    """Load the pack's denoiser (and image encoder where it fits) into the modules; returns what
    was loaded."""
    den.load_state_dict(grown_denoiser_state(den, _safetensors_state(PACK / "denoiser.safetensors")))
    loaded = ["denoiser"]
    path = PACK / "image_encoder.safetensors"
    if path.is_file():
        own = ie.state_dict()
        # safetensors_io stores 0-d tensors (latent_scale) as [1]
        state = {k: v.reshape(own[k].shape) if k in own and v.numel() == own[k].numel() else v for k, v in _safetensors_state(path).items()}
        if set(state) == set(own) and all(state[k].shape == own[k].shape for k in own):
            ie.load_state_dict(state)
            loaded.append("image_encoder")
    return loaded


def seed_checkpoints(cfg: FoundryConfig) -> None:
    """Write work/<config>/ae.pt and evaluator.pt (complete) and patch.pt (step 0) from the pack
    where they are missing."""
    from .train import build_ae, build_patch_encoder, ckpt_path

    from .evaluator import build_evaluator

    stages = (
        ("ae", build_ae, lambda m: ae_state()),
        ("patch", build_patch_encoder, lambda m: patch_state()),
        ("evaluator", lambda c: build_evaluator(c.evaluator), evaluator_state),
    )
    for stage, build, state_fn in stages:
        path = ckpt_path(cfg, stage)
        if path.is_file():
            continue
        module = build(cfg)
        got = state_fn(module)
        state, extra = got if isinstance(got, tuple) else (got, None)
        module.load_state_dict(state)
        key = {"ae": "ae", "patch": "patch_encoder", "evaluator": "evaluator"}[stage]
        # The autoencoder is final (every later stage depends on its latent): its checkpoint is
        # complete, as is the evaluator's. The patch encoder continues training from the pack's weights.
        step = {"ae": cfg.ae.steps, "patch": 0, "evaluator": cfg.evaluator.steps}[stage]
        ck = {"model": {key: module.state_dict()}, "ema": None, "step": step, "seconds": pack_seconds(stage), "log": [], "from_pack": True}
        if extra is not None:
            ck["latent_scale"] = extra
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(ck, path)
        print(f"[{stage}] seeded {path} from {PACK}", flush=True)
    seed_kept_denoiser(cfg)


# A denoiser stage kept in the repository: work/ is not tracked, so a run that outlives a session
# keeps its EMA weights here (`python3 -m foundry keep`) and a fresh clone resumes from them.
KEPT = REPO / "foundry" / "checkpoints"


def keep_denoiser(cfg: FoundryConfig) -> Path:
    from .train import load

    ck = load(cfg, "denoiser")
    out = KEPT / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    for key in ("denoiser", "image_encoder"):
        state = (ck["ema"] or ck["model"])[key]
        safetensors_io.save({n: v.detach().cpu().numpy() for n, v in state.items()}, out / f"{key}.safetensors")
    (out / "denoiser.json").write_text(json.dumps({"step": ck["step"], "seconds": ck["seconds"], "log": ck["log"]}, indent=1) + "\n")
    return out


def seed_kept_denoiser(cfg: FoundryConfig) -> bool:
    """work/<config>/denoiser.pt from the kept weights (model and EMA alike, a fresh optimizer), if
    kept and missing; True when written."""
    from .train import build_denoiser, build_image_encoder, ckpt_path

    src, path = KEPT / cfg.name, ckpt_path(cfg, "denoiser")
    if path.is_file() or not (src / "denoiser.json").is_file():
        return False
    meta = json.loads((src / "denoiser.json").read_text())
    states = {}
    for key, module in (("denoiser", build_denoiser(cfg)), ("image_encoder", build_image_encoder(cfg))):
        own = module.state_dict()
        states[key] = {k: v.reshape(own[k].shape) for k, v in _safetensors_state(src / f"{key}.safetensors").items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": states, "ema": states, "step": meta["step"], "seconds": meta["seconds"], "log": meta["log"]}, path)
    print(f"[denoiser] seeded {path} from {src} at step {meta['step']}", flush=True)
    return True
