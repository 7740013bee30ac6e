"""The generation networks besides the denoiser, rebuilt in PyTorch from a pack folder:

- the image encoder from `roles.image_encoder.weights` (image_encoder.safetensors: its whole state,
  frozen VAE copy included). Its configuration is read off the tensor shapes; the attention head
  count is not in the shapes, so it comes from `roles.image_encoder.architecture.heads` when the
  manifest has one, else the foundry's ImageEncoderConfig default (what both packs are exported
  with). tests/sampler-torch-parity.test.ts checks the tokens against the ONNX graph.
- the VAE decoder from the initializers of vae_decoder.onnx, which keep their PyTorch names.

A pack from before the latent image encoder (no image_encoder.safetensors) cannot be rebuilt:
its encoder is not foundry.nets.ImageEncoder, and loading fails with a message that says so."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import torch

from .. import safetensors_io
from ..config import AEConfig, ImageEncoderConfig
from ..nets import Decoder, ImageEncoder
from ..warmstart import _onnx_state


def _ae_config(state: dict, prefix: str = "") -> AEConfig:
    """The autoencoder widths an encoder's (or decoder's) tensors were built with."""
    if f"{prefix}conv_mid.weight" in state:  # encoder
        return AEConfig(
            hidden=state[f"{prefix}conv_mid.weight"].shape[0],
            mid=state[f"{prefix}conv_in.weight"].shape[0],
            latent_channels=state[f"{prefix}conv_out.weight"].shape[0],
        )
    return AEConfig(
        hidden=state["conv_in.weight"].shape[0],
        mid=state["res_mid.conv1.weight"].shape[0],
        low=state["conv_out.weight"].shape[1],
        latent_channels=state["conv_in.weight"].shape[1],
    )


def _image_encoder_config(manifest: dict, state: dict) -> ImageEncoderConfig:
    dim = state["token.weight"].shape[0]
    patch = math.isqrt(dim // state["embed.weight"].shape[0])
    layers = len({m.group(1) for k in state if (m := re.match(r"layers\.(\d+)\.", k))})
    heads = manifest["roles"]["image_encoder"].get("architecture", {}).get("heads", ImageEncoderConfig.heads)
    return ImageEncoderConfig(dim=dim, patch=patch, layers=layers, heads=heads, latent_size=manifest["latent"]["height"])


def _torch_state(arrays: dict) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}


def load_image_encoder(folder: Path, manifest: dict) -> ImageEncoder:
    weights = manifest["roles"]["image_encoder"].get("weights")
    if not weights:
        raise ValueError(
            f"pack {manifest['id']!r} has no roles.image_encoder.weights (image_encoder.safetensors): its image "
            "encoder cannot be rebuilt in PyTorch; re-export the pack with the foundry"
        )
    state = _torch_state(safetensors_io.load(Path(folder) / weights["file"]))
    state["latent_scale"] = state["latent_scale"].reshape(())  # a 0-d buffer, stored with shape [1]
    enc = ImageEncoder(_image_encoder_config(manifest, state), _ae_config(state, "vae."))
    enc.load_state_dict(state)
    return enc.requires_grad_(False).eval()


def load_decoder(folder: Path, manifest: dict) -> Decoder:
    state = _onnx_state(Path(folder) / manifest["roles"]["vae_decoder"]["file"])
    dec = Decoder(_ae_config(state))
    dec.load_state_dict(state)
    return dec.requires_grad_(False).eval()
