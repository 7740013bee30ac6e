import torch

from foundry.config import TINY
from foundry.export import tiny_nets
from foundry.train import build_image_encoder


def test_tokens_come_from_the_vae_latent():
    nets = tiny_nets()
    ie, ae = nets["image_encoder"], nets["ae"]
    x = torch.randn(2, 3, 64, 64)
    assert torch.allclose(ie.latent(x), ae.encoder(x) * ie.latent_scale)
    assert torch.allclose(ie(x), ie.from_latent(ie.latent(x)))
    assert ie(x).shape == (2, TINY.image_encoder.grid**2, TINY.image_encoder.dim)


def test_vae_copy_is_frozen_and_a_fresh_encoder_gives_zero_tokens():
    ie = build_image_encoder(TINY)
    assert not any(p.requires_grad for p in ie.vae.parameters())
    # zero tokens = a dropped image condition: a warm-started denoiser begins unchanged
    assert torch.count_nonzero(ie(torch.randn(1, 3, 64, 64))) == 0
