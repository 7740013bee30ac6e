"""DDPM noise schedule and the DDIM sampler with separate image and prompt guidance.

The studio's TypeScript sampler (src/core/sampling) must match this file on fixed noise."""

from __future__ import annotations

import torch

from .config import SchedulerConfig


def alphas_cumprod(c: SchedulerConfig) -> torch.Tensor:
    if c.beta_schedule == "linear":
        betas = torch.linspace(c.beta_start, c.beta_end, c.num_train_timesteps, dtype=torch.float64)
    elif c.beta_schedule == "scaled_linear":
        betas = torch.linspace(c.beta_start**0.5, c.beta_end**0.5, c.num_train_timesteps, dtype=torch.float64) ** 2
    else:
        raise ValueError(f"unknown beta_schedule {c.beta_schedule!r}")
    return torch.cumprod(1.0 - betas, dim=0)


def add_noise(acp: torch.Tensor, z0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    a = acp[t].float().view(-1, 1, 1, 1)
    return a.sqrt() * z0 + (1 - a).sqrt() * noise


def ddim_timesteps(c: SchedulerConfig, steps: int) -> list[int]:
    """"Trailing" spacing: starts at T−1 so the first step sees (almost) pure noise."""
    T = c.num_train_timesteps
    return [round(T - i * T / steps) - 1 for i in range(steps)]


def guided_eps(denoiser, z, t, prompt_ids, image_tokens, g_image: float, g_prompt: float, ip_scale=None, adapter=None):
    """ε = ε(∅,∅) + g_image·(ε(img,∅) − ε(∅,∅)) + g_prompt·(ε(img,p) − ε(img,∅)).

    Unconditional prompt = all null ids; unconditional image = zero tokens."""
    b = z.shape[0]
    null_ids = torch.zeros_like(prompt_ids)
    zeros = torch.zeros_like(image_tokens)
    eps = denoiser(
        torch.cat([z, z, z]),
        torch.full((3 * b,), float(t)),
        torch.cat([null_ids, null_ids, prompt_ids]),
        torch.cat([zeros, image_tokens, image_tokens]),
        ip_scale,
        adapter,
    )
    e_uu, e_iu, e_ip = eps.chunk(3)
    return e_uu + g_image * (e_iu - e_uu) + g_prompt * (e_ip - e_iu)


@torch.no_grad()
def ddim_sample(denoiser, c: SchedulerConfig, noise, prompt_ids, image_tokens, steps=25, g_image=3.0, g_prompt=2.0, ip_scale=None, adapter=None):
    """Deterministic DDIM (η = 0) from the given initial noise. Returns the final latent z0."""
    acp = alphas_cumprod(c)
    ts = ddim_timesteps(c, steps)
    z = noise
    for i, t in enumerate(ts):
        eps = guided_eps(denoiser, z, t, prompt_ids, image_tokens, g_image, g_prompt, ip_scale, adapter)
        a_t = acp[t].float()
        a_prev = acp[ts[i + 1]].float() if i + 1 < len(ts) else torch.tensor(1.0)
        x0 = (z - (1 - a_t).sqrt() * eps) / a_t.sqrt()
        z = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    return z


@torch.no_grad()
def euler_sample(denoiser, c: SchedulerConfig, noise, prompt_ids, image_tokens, steps=25, g_image=3.0, g_prompt=2.0, ip_scale=None, adapter=None):
    """Euler on the probability-flow ODE in σ-space, σ_t = √((1−ᾱ_t)/ᾱ_t), over the same trailing
    timesteps as DDIM: x = z·√(1+σ²), x ← x + (σ_next − σ)·ε̂, ending at σ = 0."""
    acp = alphas_cumprod(c)
    ts = ddim_timesteps(c, steps)
    sigmas = [float(((1 - acp[t]) / acp[t]).sqrt()) for t in ts] + [0.0]
    x = noise * (1 + sigmas[0] ** 2) ** 0.5
    for i, t in enumerate(ts):
        z = x / (1 + sigmas[i] ** 2) ** 0.5
        eps = guided_eps(denoiser, z, t, prompt_ids, image_tokens, g_image, g_prompt, ip_scale, adapter)
        x = x + (sigmas[i + 1] - sigmas[i]) * eps
    return x
