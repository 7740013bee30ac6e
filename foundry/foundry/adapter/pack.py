"""A studio model pack's denoiser as a PyTorch module: the architecture from the manifest
(`roles.denoiser.architecture`), the weights from its safetensors, and the noise schedule."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import safetensors_io
from ..config import DenoiserConfig, SchedulerConfig
from ..nets import Denoiser
from ..schedule import alphas_cumprod
from .dataset import PackShapes


@dataclass(frozen=True)
class Pack:
    manifest: dict
    denoiser: Denoiser  # frozen: every parameter has requires_grad False
    adapter_names: list[str]  # the manifest's adapter tensors, in Denoiser.forward's `adapter` order
    alphas_cumprod: np.ndarray  # float64 ᾱ_t
    shapes: PackShapes

    @property
    def id(self) -> str:
        return self.manifest["id"]

    def base_adapter(self) -> list[torch.Tensor]:
        """Copies of the pack's adapter tensors: where training starts."""
        params = dict(self.denoiser.named_parameters())
        return [params[n].detach().clone() for n in self.adapter_names]


def _denoiser(manifest: dict) -> Denoiser:
    a = manifest["roles"]["denoiser"]["architecture"]
    if (a["type"], a["activation"], a["modulation"]) != ("dit", "gelu_tanh", "adaLN-zero"):
        raise ValueError("roles.denoiser.architecture: only dit / gelu_tanh / adaLN-zero is built")
    if not a.get("spatial_prompt"):
        raise ValueError("roles.denoiser.architecture: foundry.nets.Denoiser always has the spatial prompt embedding")
    lat = manifest["latent"]
    if lat["height"] != lat["width"]:
        raise ValueError("latent: the denoiser needs a square latent")
    cfg = DenoiserConfig(
        width=a["width"],
        depth=a["depth"],
        heads=a["heads"],
        mlp_ratio=a["mlp_ratio"],
        patch=a["patch"],
        latent_size=lat["height"],
        latent_channels=lat["channels"],
        freq_dim=a["freq_dim"],
        norm_eps=a["norm_eps"],
        max_references=a.get("max_references", 1),
    )
    return Denoiser(cfg, a["prompt_vocab"], a["prompt_length"], a["image_tokens"], a["image_dim"])


def scheduler_config(manifest: dict) -> SchedulerConfig:
    s = manifest["scheduler"]
    return SchedulerConfig(s["num_train_timesteps"], s["beta_schedule"], s["beta_start"], s["beta_end"])


def load_pack(folder: Path) -> Pack:
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    role = manifest["roles"]["denoiser"]
    den = _denoiser(manifest)
    weights = safetensors_io.load(folder / role["weights"]["file"])
    den.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
    den.requires_grad_(False).eval()
    names = [t["name"] for t in role["adapter"]["tensors"]]
    if names != den.adapter_names():
        raise ValueError(f"roles.denoiser.adapter.tensors {names} are not the denoiser's to_k_ip/to_v_ip {den.adapter_names()}")
    return Pack(manifest, den, names, alphas_cumprod(scheduler_config(manifest)).numpy(), PackShapes.of(manifest))
