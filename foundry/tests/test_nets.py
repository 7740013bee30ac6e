import torch

from foundry.config import CPU, TINY
from foundry.export import tiny_nets
from foundry.nets import patchify, unpatchify
from foundry.train import build_ae, build_denoiser, build_image_encoder, build_patch_encoder


def test_shapes_for_the_builtin_config():
    x = torch.randn(2, 3, 64, 64)
    ae = build_ae(CPU)
    z = ae.encoder(x)
    assert z.shape == (2, 4, 16, 16)
    assert ae.decoder(z).shape == (2, 3, 64, 64)
    tokens = build_image_encoder(CPU)(x)
    assert tokens.shape == (2, 64, CPU.image_encoder.dim)
    den = build_denoiser(CPU)
    eps = den(z, torch.tensor([10.0, 900.0]), torch.zeros(2, 3, dtype=torch.long), tokens)
    assert eps.shape == z.shape
    assert build_patch_encoder(CPU)(x).shape == (2, 8, 8, CPU.patch.dim)


def test_adaln_zero_denoiser_starts_at_zero():
    den = build_denoiser(CPU)
    eps = den(torch.randn(1, 4, 16, 16), torch.tensor([5.0]), torch.ones(1, 3, dtype=torch.long), torch.randn(1, 64, 128))
    assert torch.count_nonzero(eps) == 0


def test_patchify_round_trip_and_layout():
    z = torch.randn(2, 4, 16, 16)
    x = patchify(z, 2)
    assert x.shape == (2, 64, 16)
    # token (gy, gx) = (1, 2), feature (c, py, px) = (3, 1, 0)
    assert x[0, 1 * 8 + 2, 3 * 4 + 1 * 2 + 0] == z[0, 3, 2 * 1 + 1, 2 * 2 + 0]
    assert torch.equal(unpatchify(x, 4, 16, 2), z)


def test_adapter_override_equals_setting_the_weights():
    den = tiny_nets()["denoiser"]
    args = (torch.randn(2, 4, 16, 16), torch.tensor([3.0, 400.0]), torch.randint(0, 29, (2, 3)), torch.randn(2, 64, TINY.image_encoder.dim))
    names = den.adapter_names()
    new = [p.detach() * 2 for n, p in den.named_parameters() if n in names]
    overridden = den(*args, torch.ones(1), new)
    with torch.no_grad():
        for n, w in zip(names, new):
            den.get_parameter(n).copy_(w)
    assert torch.allclose(den(*args), overridden, atol=1e-6)


def test_ip_scale_zero_ignores_the_image():
    den = tiny_nets()["denoiser"]
    z, t, ids = torch.randn(1, 4, 16, 16), torch.tensor([50.0]), torch.randint(0, 29, (1, 3))
    a = den(z, t, ids, torch.randn(1, 64, TINY.image_encoder.dim), torch.zeros(1))
    b = den(z, t, ids, torch.randn(1, 64, TINY.image_encoder.dim), torch.zeros(1))
    assert torch.allclose(a, b)
