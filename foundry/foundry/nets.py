"""The pack's networks. Equations are written out in foundry/ARCHITECTURE.md.

Activations are tanh-GELU and SiLU only, and attention is written with plain matmul/softmax,
so the ONNX export and the studio's WGSL engine can reproduce each layer exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import AEConfig, DenoiserConfig, ImageEncoderConfig, PatchEncoderConfig


def gelu(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head softmax attention. q [B,N,C], k/v [B,M,C] → [B,N,C]."""
    b, n, c = q.shape
    m = k.shape[1]
    d = c // heads
    q = q.reshape(b, n, heads, d).transpose(1, 2)
    k = k.reshape(b, m, heads, d).transpose(1, 2)
    v = v.reshape(b, m, heads, d).transpose(1, 2)
    w = torch.softmax(q @ k.transpose(-1, -2) * (1.0 / math.sqrt(d)), dim=-1)
    return (w @ v).transpose(1, 2).reshape(b, n, c)


class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(gelu(self.conv1(gelu(x))))


class Encoder(nn.Module):
    """64×64×3 in [-1,1] → 16×16×latent (unscaled)."""

    def __init__(self, c: AEConfig):
        super().__init__()
        self.conv_in = nn.Conv2d(3, c.mid, 3, stride=2, padding=1)  # 32²
        self.conv_mid = nn.Conv2d(c.mid, c.hidden, 3, stride=2, padding=1)  # 16²
        self.res = nn.Sequential(ResBlock(c.hidden), ResBlock(c.hidden))
        self.conv_out = nn.Conv2d(c.hidden, c.latent_channels, 1)

    def forward(self, x):
        h = self.conv_mid(gelu(self.conv_in(x)))
        return self.conv_out(gelu(self.res(h)))


class Decoder(nn.Module):
    """16×16×latent → 64×64×3 in [-1,1] (not clamped)."""

    def __init__(self, c: AEConfig):
        super().__init__()
        self.conv_in = nn.Conv2d(c.latent_channels, c.hidden, 3, padding=1)
        self.res = nn.Sequential(ResBlock(c.hidden), ResBlock(c.hidden))
        self.up1 = nn.Conv2d(c.hidden, c.mid * 4, 3, padding=1)  # pixel shuffle → 32²
        self.res_mid = ResBlock(c.mid)
        self.up2 = nn.Conv2d(c.mid, c.low * 4, 3, padding=1)  # pixel shuffle → 64²
        self.conv_out = nn.Conv2d(c.low, 3, 3, padding=1)

    def forward(self, z):
        h = self.res(self.conv_in(z))
        h = self.res_mid(F.pixel_shuffle(self.up1(gelu(h)), 2))
        h = F.pixel_shuffle(self.up2(gelu(h)), 2)
        return self.conv_out(gelu(h))


class AutoEncoder(nn.Module):
    def __init__(self, c: AEConfig):
        super().__init__()
        self.encoder = Encoder(c)
        self.decoder = Decoder(c)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ImageEncoder(nn.Module):
    """Reference image (64×64×3 in [-1,1]) → grid² conditioning tokens of width dim, built on the
    autoencoder's latent: a frozen copy of the VAE encoder (its latent already carries about
    30 dB of the reference's detail, so nothing has to learn to see it) gives z = scale·E(x); a
    3×3 conv embeds each latent cell with its neighbours, each patch×patch block of cells becomes
    a token with a learned position, and pre-LN self-attention layers let every token see the
    whole subject. The VAE copy is set by `attach_vae` and never trained."""

    def __init__(self, c: ImageEncoderConfig, ae: AEConfig):
        super().__init__()
        d, p = c.dim, c.patch
        self.patch = p
        self.vae = Encoder(ae).requires_grad_(False)
        self.register_buffer("latent_scale", torch.ones(()))
        self.embed = nn.Conv2d(ae.latent_channels, d // (p * p), 3, padding=1)
        self.token = nn.Linear(d, d)
        self.pos = nn.Parameter(torch.randn(1, c.grid * c.grid, d) * 0.02)
        self.layers = nn.ModuleList(_ViTLayer(d, c.heads, 2) for _ in range(c.layers))
        self.norm = nn.LayerNorm(d)
        self.proj = nn.Linear(d, d)
        # Zero tokens are what the denoiser sees when the image condition is dropped, so a
        # denoiser warm-started with a new image encoder begins as its own unconditional model.
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def attach_vae(self, encoder: nn.Module, latent_scale: float) -> None:
        self.vae.load_state_dict(encoder.state_dict())
        self.latent_scale.fill_(latent_scale)

    def latent(self, x):
        return self.vae(x) * self.latent_scale

    def forward(self, x):
        return self.from_latent(self.latent(x))

    def from_latent(self, z):
        """Tokens from the reference's scaled latent (training caches it per subject)."""
        h = self.token(patchify(gelu(self.embed(z)), self.patch)) + self.pos
        for layer in self.layers:
            h = layer(h)
        return self.proj(self.norm(h))


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """[cos(t·f_k), sin(t·f_k)], f_k = 10000^(−k/(dim/2)), k = 0..dim/2−1."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class PlainLayerNorm(nn.Module):
    """LayerNorm without learned affine. Unit scale and zero shift are explicit, non-persistent
    buffers because torch 1.13's opset-17 export drops a missing scale input."""

    def __init__(self, width: int, eps: float):
        super().__init__()
        self.eps = eps
        self.register_buffer("one", torch.ones(width), persistent=False)
        self.register_buffer("zero", torch.zeros(width), persistent=False)

    def forward(self, x):
        return F.layer_norm(x, self.one.shape, self.one, self.zero, self.eps)


def modulate(x, shift, scale):
    return x * (1 + scale[:, None]) + shift[:, None]


class IPCrossAttention(nn.Module):
    """Decoupled cross-attention: prompt tokens and image tokens share the query (IP-Adapter)."""

    def __init__(self, width: int, image_dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(width, width, bias=False)
        self.to_k = nn.Linear(width, width, bias=False)
        self.to_v = nn.Linear(width, width, bias=False)
        self.to_k_ip = nn.Linear(image_dim, width, bias=False)
        self.to_v_ip = nn.Linear(image_dim, width, bias=False)
        self.to_out = nn.Linear(width, width)

    def forward(self, x, prompt_ctx, image_ctx, ip_scale, w_k_ip=None, w_v_ip=None):
        q = self.to_q(x)
        out = attention(q, self.to_k(prompt_ctx), self.to_v(prompt_ctx), self.heads)
        k_ip = F.linear(image_ctx, self.to_k_ip.weight if w_k_ip is None else w_k_ip)
        v_ip = F.linear(image_ctx, self.to_v_ip.weight if w_v_ip is None else w_v_ip)
        out = out + ip_scale * attention(q, k_ip, v_ip, self.heads)
        return self.to_out(out)


class DiTBlock(nn.Module):
    def __init__(self, c: DenoiserConfig, image_dim: int):
        super().__init__()
        w = c.width
        self.heads = c.heads
        self.norm1 = PlainLayerNorm(w, c.norm_eps)
        self.qkv = nn.Linear(w, 3 * w)
        self.proj = nn.Linear(w, w)
        self.norm2 = nn.LayerNorm(w, eps=c.norm_eps)
        self.attn_ip = IPCrossAttention(w, image_dim, c.heads)
        self.norm3 = PlainLayerNorm(w, c.norm_eps)
        self.fc1 = nn.Linear(w, c.mlp_ratio * w)
        self.fc2 = nn.Linear(c.mlp_ratio * w, w)
        self.ada = nn.Linear(w, 6 * w)

    def forward(self, x, c_act, prompt_ctx, image_ctx, ip_scale, w_k_ip=None, w_v_ip=None):
        sh1, sc1, g1, sh2, sc2, g2 = self.ada(c_act).chunk(6, dim=-1)
        q, k, v = self.qkv(modulate(self.norm1(x), sh1, sc1)).chunk(3, dim=-1)
        x = x + g1[:, None] * self.proj(attention(q, k, v, self.heads))
        x = x + self.attn_ip(self.norm2(x), prompt_ctx, image_ctx, ip_scale, w_k_ip, w_v_ip)
        h = self.fc2(gelu(self.fc1(modulate(self.norm3(x), sh2, sc2))))
        return x + g2[:, None] * h


def patchify(z: torch.Tensor, p: int) -> torch.Tensor:
    """[B,C,H,W] → [B,(H/p)(W/p), C·p·p]; token (gy,gx) row-major, features ordered (c, py, px)."""
    b, c, h, w = z.shape
    z = z.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
    return z.reshape(b, (h // p) * (w // p), c * p * p)


def unpatchify(x: torch.Tensor, c: int, size: int, p: int) -> torch.Tensor:
    b = x.shape[0]
    g = size // p
    x = x.reshape(b, g, g, c, p, p).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, c, size, size)


class Denoiser(nn.Module):
    """DiT ε-predictor over the 16×16 latent grid with prompt and decoupled image cross-attention,
    plus a spatial prompt embedding: each prompt token adds a rank-one map over the latent tokens,
    `x_t += Σ_l prompt_map[id_l, t] · prompt_vec[id_l]`. Cross-attention over three prompt tokens
    learns *where* (position, size) only very slowly, since the softmax over keys must first
    separate before any gradient says which token goes where; the map gives that gradient directly."""

    # Parameters added after the built-in pack's first training steps; a checkpoint without them
    # resumes with their initial values (train.grow_checkpoint).
    GROWN = ("prompt_map", "prompt_vec", "ref_embed")
    GROWN_LR_SCALE = 10.0

    def __init__(self, c: DenoiserConfig, vocab: int, prompt_length: int, image_tokens: int, image_dim: int):
        super().__init__()
        self.c = c
        w = c.width
        tokens = (c.latent_size // c.patch) ** 2
        self.x_embed = nn.Linear(c.latent_channels * c.patch**2, w)
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, w) * 0.02)
        self.t_fc1 = nn.Linear(c.freq_dim, w)
        self.t_fc2 = nn.Linear(w, w)
        self.prompt_embed = nn.Embedding(vocab, w)
        self.prompt_pos = nn.Parameter(torch.randn(1, prompt_length, w) * 0.02)
        self.prompt_map = nn.Parameter(torch.zeros(vocab, tokens))  # zero: starts as the identity
        self.prompt_vec = nn.Parameter(torch.randn(vocab, w) * 0.1)
        self.blocks = nn.ModuleList(DiTBlock(c, image_dim) for _ in range(c.depth))
        self.norm_out = PlainLayerNorm(w, c.norm_eps)
        self.ada_out = nn.Linear(w, 2 * w)
        self.out = nn.Linear(w, c.latent_channels * c.patch**2)
        self.image_tokens = image_tokens
        self.image_dim = image_dim
        if c.max_references > 1:
            # Added to reference k's image tokens (tokens k·T … (k+1)·T − 1): which subject is which.
            # Zero at first, so a grown v2 denoiser starts as it was on one reference.
            self.ref_embed = nn.Parameter(torch.zeros(c.max_references, image_dim))
        self._init()

    def _init(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.normal_(self.prompt_embed.weight, std=0.02)
        for blk in self.blocks:  # adaLN-zero: every block starts as the identity
            nn.init.zeros_(blk.ada.weight)
            nn.init.zeros_(blk.ada.bias)
        for m in (self.ada_out, self.out):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def adapter_names(self) -> list[str]:
        return [f"blocks.{i}.attn_ip.{n}.weight" for i in range(self.c.depth) for n in ("to_k_ip", "to_v_ip")]

    def forward(self, latent, timestep, prompt_ids, image_tokens, ip_scale=None, adapter: list | None = None):
        c = self.c
        x = self.x_embed(patchify(latent, c.patch)) + self.pos_embed
        x = x + self.prompt_map[prompt_ids].transpose(1, 2) @ self.prompt_vec[prompt_ids]
        cond = self.t_fc2(F.silu(self.t_fc1(timestep_embedding(timestep, c.freq_dim).to(latent.dtype))))
        c_act = F.silu(cond)
        prompt_ctx = self.prompt_embed(prompt_ids) + self.prompt_pos
        if c.max_references > 1:
            index = torch.arange(image_tokens.shape[1], device=image_tokens.device) // self.image_tokens
            image_tokens = image_tokens + self.ref_embed[index]
        scale = latent.new_ones(1) if ip_scale is None else ip_scale
        for i, blk in enumerate(self.blocks):
            wk, wv = (adapter[2 * i], adapter[2 * i + 1]) if adapter is not None else (None, None)
            x = blk(x, c_act, prompt_ctx, image_tokens, scale, wk, wv)
        sh, sc = self.ada_out(c_act).chunk(2, dim=-1)
        x = self.out(modulate(self.norm_out(x), sh, sc))
        return unpatchify(x, c.latent_channels, c.latent_size, c.patch)


class PatchEncoder(nn.Module):
    """ViT: 64×64×3 in [-1,1] → [B, 8, 8, dim] patch features (not normalized)."""

    def __init__(self, c: PatchEncoderConfig):
        super().__init__()
        self.c = c
        w = c.width
        self.grid = 64 // c.patch
        self.patch_embed = nn.Conv2d(3, w, c.patch, stride=c.patch)
        self.pos_embed = nn.Parameter(torch.randn(1, self.grid**2, w) * 0.02)
        self.layers = nn.ModuleList(_ViTLayer(w, c.heads, c.mlp_ratio) for _ in range(c.depth))
        self.norm = nn.LayerNorm(w)
        self.head = nn.Linear(w, c.dim)

    def forward(self, x):
        h = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        for layer in self.layers:
            h = layer(h)
        f = self.head(self.norm(h))
        return f.reshape(x.shape[0], self.grid, self.grid, self.c.dim)


class _ViTLayer(nn.Module):
    def __init__(self, w: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(w)
        self.qkv = nn.Linear(w, 3 * w)
        self.proj = nn.Linear(w, w)
        self.norm2 = nn.LayerNorm(w)
        self.fc1 = nn.Linear(w, mlp_ratio * w)
        self.fc2 = nn.Linear(mlp_ratio * w, w)

    def forward(self, x):
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        x = x + self.proj(attention(q, k, v, self.heads))
        return x + self.fc2(gelu(self.fc1(self.norm2(x))))
