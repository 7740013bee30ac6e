"""CLIP's vision tower with projection (`CLIPVisionModelWithProjection`; in a `CLIPModel` the same
modules are `vision_model` and `visual_projection`), with transformers' parameter names.

Conv2d patch embedding without bias, class_embedding (a [D] vector), position_embedding (an
nn.Embedding over 1 + grid² positions, no interpolation), `pre_layrnorm` (transformers' spelling)
on the embeddings, pre-norm encoder layers x + self_attn(layer_norm1(x)), x + mlp(layer_norm2(x))
with quick_gelu (x·σ(1.702x)), layer_norm_eps 1e-5. last_hidden_state is the encoder output, not
post-normed; pooled = post_layernorm(last_hidden_state[:, 0]); image_embeds =
visual_projection(pooled), a Linear without bias to projection_dim."""

from __future__ import annotations

import torch
from torch import nn

from .common import ACTIVATIONS, eager_attention, namespace


def clip_vision_config(hidden_size: int, heads: int, image_size: int, patch_size: int, projection_dim: int, layers: int = 2) -> dict:
    """CLIPVisionConfig's keys (openai/clip-vit-base-patch16's vision_config) with small sizes."""
    return {
        "attention_dropout": 0.0,
        "dropout": 0.0,
        "hidden_act": "quick_gelu",
        "hidden_size": hidden_size,
        "image_size": image_size,
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "intermediate_size": 4 * hidden_size,
        "layer_norm_eps": 1e-05,
        "model_type": "clip_vision_model",
        "num_attention_heads": heads,
        "num_channels": 3,
        "num_hidden_layers": layers,
        "patch_size": patch_size,
        "projection_dim": projection_dim,
    }


def clip_text_config(hidden_size: int, heads: int, projection_dim: int, layers: int = 2) -> dict:
    """CLIPTextConfig's keys (no text tower is built: the config only completes a CLIPModel folder)."""
    return {
        "attention_dropout": 0.0,
        "bos_token_id": 49406,
        "dropout": 0.0,
        "eos_token_id": 49407,
        "hidden_act": "quick_gelu",
        "hidden_size": hidden_size,
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "intermediate_size": 4 * hidden_size,
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": 77,
        "model_type": "clip_text_model",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "pad_token_id": 1,
        "projection_dim": projection_dim,
        "vocab_size": 49408,
    }


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        positions = (c.image_size // c.patch_size) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.zeros(c.hidden_size))
        self.patch_embedding = nn.Conv2d(c.num_channels, c.hidden_size, kernel_size=c.patch_size, stride=c.patch_size, bias=False)
        self.position_embedding = nn.Embedding(positions, c.hidden_size)
        self.register_buffer("position_ids", torch.arange(positions).expand((1, -1)), persistent=False)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        return torch.cat([cls, x], dim=1) + self.position_embedding(self.position_ids)


class CLIPAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c.num_attention_heads
        self.k_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.v_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.q_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.out_proj = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x):
        return self.out_proj(eager_attention(self.q_proj(x), self.k_proj(x), self.v_proj(x), self.heads))


class CLIPMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.act = ACTIVATIONS[c.hidden_act]
        self.fc1 = nn.Linear(c.hidden_size, c.intermediate_size)
        self.fc2 = nn.Linear(c.intermediate_size, c.hidden_size)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = CLIPAttention(c)
        self.layer_norm1 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = CLIPMLP(c)
        self.layer_norm2 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class CLIPVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.encoder = CLIPEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values):
        last = self.encoder(self.pre_layrnorm(self.embeddings(pixel_values)))
        return last, self.post_layernorm(last[:, 0, :])


class CLIPVisionModelWithProjection(nn.Module):
    """forward(pixel_values) -> (image_embeds, last_hidden_state). `config` is a CLIPVisionConfig
    dict (with projection_dim)."""

    outputs = ["image_embeds", "last_hidden_state"]

    def __init__(self, config: dict):
        super().__init__()
        c = namespace(config)
        self.config = config
        self.vision_model = CLIPVisionTransformer(c)
        self.visual_projection = nn.Linear(c.hidden_size, c.projection_dim, bias=False)

    def forward(self, pixel_values):
        last, pooled = self.vision_model(pixel_values)
        return self.visual_projection(pooled), last
