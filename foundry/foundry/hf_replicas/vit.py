"""ViT (`ViTModel`), the class transformers loads DINO v1 checkpoints (facebook/dino-vits16) into,
with transformers' parameter names.

Conv2d patch embedding (kernel = stride = patch_size, with bias), CLS token, learned position
embeddings for 1 + (image_size / patch_size)² positions added without interpolation (ViTModel
interpolates only when called with interpolate_pos_encoding=True, which Optimum's export does not
pass, so the model runs at image_size only). Pre-norm layers without LayerScale:
x + attn(layernorm_before(x)), then x + output(gelu(intermediate(layernorm_after(x)))), final
LayerNorm → last_hidden_state (layer_norm_eps 1e-12, transformers' ViT default, which the DINO
checkpoints keep). pooler_output = tanh(pooler.dense(last_hidden_state[:, 0])) (ViTPooler)."""

from __future__ import annotations

import torch
from torch import nn

from .common import ACTIVATIONS, Attention, namespace


def vit_config(hidden_size: int, heads: int, image_size: int, layers: int = 2) -> dict:
    """config.json with facebook/dino-vits16's keys and small sizes (patch 16)."""
    return {
        "architectures": ["ViTModel"],
        "attention_probs_dropout_prob": 0.0,
        "encoder_stride": 16,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": hidden_size,
        "image_size": image_size,
        "initializer_range": 0.02,
        "intermediate_size": 4 * hidden_size,
        "layer_norm_eps": 1e-12,
        "model_type": "vit",
        "num_attention_heads": heads,
        "num_channels": 3,
        "num_hidden_layers": layers,
        "patch_size": 16,
        "qkv_bias": True,
        "torch_dtype": "float32",
    }


class ViTPatchEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.image_size = c.image_size
        self.projection = nn.Conv2d(c.num_channels, c.hidden_size, kernel_size=c.patch_size, stride=c.patch_size)

    def forward(self, pixel_values):
        if not torch.jit.is_tracing() and tuple(pixel_values.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(f"input size {tuple(pixel_values.shape[-2:])} does not match the model ({self.image_size}×{self.image_size})")
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        grid = c.image_size // c.patch_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.hidden_size))
        self.patch_embeddings = ViTPatchEmbeddings(c)
        self.position_embeddings = nn.Parameter(torch.zeros(1, grid * grid + 1, c.hidden_size))

    def forward(self, pixel_values):
        x = self.patch_embeddings(pixel_values)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        return x + self.position_embeddings


class ViTIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = ACTIVATIONS[c.hidden_act]

    def forward(self, x):
        return self.act(self.dense(x))


class ViTOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)

    def forward(self, h, x):
        return self.dense(h) + x


class ViTLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = ViTIntermediate(c)
        self.output = ViTOutput(c)
        self.layernorm_before = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x):
        x = self.attention(self.layernorm_before(x)) + x
        return self.output(self.intermediate(self.layernorm_after(x)), x)


class ViTEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([ViTLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x):
        for layer in self.layer:
            x = layer(x)
        return x


class ViTPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class ViTModel(nn.Module):
    """forward(pixel_values) -> (last_hidden_state, pooler_output)."""

    outputs = ["last_hidden_state", "pooler_output"]

    def __init__(self, config: dict):
        super().__init__()
        c = namespace(config)
        self.config = config
        self.embeddings = ViTEmbeddings(c)
        self.encoder = ViTEncoder(c)
        self.layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.pooler = ViTPooler(c)

    def forward(self, pixel_values):
        x = self.layernorm(self.encoder(self.embeddings(pixel_values)))
        return x, self.pooler(x)
