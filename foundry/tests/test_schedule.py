import torch

from foundry.config import CPU
from foundry.export import tiny_nets
from foundry.schedule import add_noise, alphas_cumprod, ddim_sample, ddim_timesteps


def test_trailing_timesteps():
    assert ddim_timesteps(CPU.scheduler, 4) == [999, 749, 499, 249]
    assert ddim_timesteps(CPU.scheduler, 25)[:2] == [999, 959]


def test_linear_schedule_endpoints():
    acp = alphas_cumprod(CPU.scheduler)
    assert abs(float(acp[0]) - (1 - 1e-4)) < 1e-9
    assert float(acp[-1]) < 1e-4


def test_ddim_with_perfect_eps_recovers_the_clean_latent():
    """If the model predicts the true noise, one DDIM step from any t returns z0 exactly."""
    acp = alphas_cumprod(CPU.scheduler)
    z0, noise = torch.randn(1, 4, 16, 16), torch.randn(1, 4, 16, 16)
    zt = add_noise(acp, z0, noise, torch.tensor([999]))

    def oracle(z, t, ids, tokens, ip_scale, adapter):
        return noise.repeat(3, 1, 1, 1)

    out = ddim_sample(oracle, CPU.scheduler, zt, torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 64, 16), steps=1)
    assert torch.allclose(out, z0, atol=1e-4)


def test_sampling_is_deterministic():
    nets = tiny_nets()
    noise = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    ids = torch.tensor([[2, 16, 26]])
    tokens = nets["image_encoder"](torch.zeros(1, 3, 64, 64))
    a = ddim_sample(nets["denoiser"], CPU.scheduler, noise, ids, tokens, steps=3)
    b = ddim_sample(nets["denoiser"], CPU.scheduler, noise, ids, tokens, steps=3)
    assert torch.equal(a, b) and torch.isfinite(a).all()


def test_euler_with_perfect_eps_recovers_the_clean_latent():
    from foundry.schedule import euler_sample

    acp = alphas_cumprod(CPU.scheduler)
    z0, noise = torch.randn(1, 4, 16, 16), torch.randn(1, 4, 16, 16)
    zt = add_noise(acp, z0, noise, torch.tensor([999]))

    def oracle(z, t, ids, tokens, ip_scale, adapter):
        # ε implied by the current z and the known z0: exact for the probability-flow ODE
        a = acp[t.long()[0]].float()
        return (z - a.sqrt() * z0) / (1 - a).sqrt()  # z holds the 3 guidance copies

    out = euler_sample(oracle, CPU.scheduler, zt, torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 64, 16), steps=10)
    assert torch.allclose(out, z0, atol=1e-3)


def test_denoiser_loss_weights_focus_on_the_subject_and_on_high_noise():
    from foundry.config import CPU
    from foundry.train import denoiser_loss_weights

    c = CPU.denoiser
    alpha = torch.zeros(2, 64, 64)
    alpha[:, :4, :4] = 1.0  # the subject covers latent cell (0, 0) exactly
    snr = torch.tensor([50.0, 0.5])  # a low-noise and a high-noise sample
    assert torch.equal(denoiser_loss_weights(c, alpha, snr, c.focus_from - 1), torch.ones(2, 1, 16, 16))
    w = denoiser_loss_weights(c, alpha, snr, c.focus_from)
    assert w[1, 0, 0, 0] == 1 + c.subject_weight and w[1, 0, 5, 5] == 1  # high noise: Min-SNR weight 1
    assert torch.isclose(w[0, 0, 5, 5], torch.tensor(c.min_snr_gamma / 50.0))  # low noise: γ/SNR
