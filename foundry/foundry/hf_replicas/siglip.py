"""SigLIP's vision tower (`SiglipVisionModel`), with transformers' parameter names.

Conv2d patch embedding with bias, position_embedding over grid² positions (no CLS token, no
interpolation), pre-norm encoder layers (as CLIP's) with gelu_pytorch_tanh, layer_norm_eps 1e-6,
post_layernorm → last_hidden_state. pooler_output comes from the multihead attention pooling head:
a learned probe token attends over last_hidden_state with nn.MultiheadAttention, then
x + mlp(layernorm(x)), first (only) token → [B, D]."""

from __future__ import annotations

import torch
from torch import nn

from .clip import CLIPEncoder as SiglipEncoder
from .clip import CLIPMLP as SiglipMLP
from .common import namespace


def siglip_vision_config(hidden_size: int, heads: int, image_size: int, layers: int = 2) -> dict:
    """SiglipVisionConfig's keys (google/siglip-base-patch16-224's vision_config), small sizes."""
    return {
        "architectures": ["SiglipVisionModel"],
        "attention_dropout": 0.0,
        "hidden_act": "gelu_pytorch_tanh",
        "hidden_size": hidden_size,
        "image_size": image_size,
        "intermediate_size": 4 * hidden_size,
        "layer_norm_eps": 1e-06,
        "model_type": "siglip_vision_model",
        "num_attention_heads": heads,
        "num_channels": 3,
        "num_hidden_layers": layers,
        "patch_size": 16,
        "torch_dtype": "float32",
        "vision_use_head": True,
    }


class SiglipVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        patches = (c.image_size // c.patch_size) ** 2
        self.patch_embedding = nn.Conv2d(c.num_channels, c.hidden_size, kernel_size=c.patch_size, stride=c.patch_size, padding=0)  # "valid"
        self.position_embedding = nn.Embedding(patches, c.hidden_size)
        self.register_buffer("position_ids", torch.arange(patches).expand((1, -1)), persistent=False)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        return x + self.position_embedding(self.position_ids)


class SiglipMultiheadAttentionPoolingHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.probe = nn.Parameter(torch.zeros(1, 1, c.hidden_size))
        self.attention = nn.MultiheadAttention(c.hidden_size, c.num_attention_heads, batch_first=True)
        self.layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = SiglipMLP(c)

    def forward(self, x):
        probe = self.probe.repeat(x.shape[0], 1, 1)
        x = self.attention(probe, x, x)[0]
        x = x + self.mlp(self.layernorm(x))
        return x[:, 0]


class SiglipVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = SiglipVisionEmbeddings(c)
        self.encoder = SiglipEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.head = SiglipMultiheadAttentionPoolingHead(c)

    def forward(self, pixel_values):
        last = self.post_layernorm(self.encoder(self.embeddings(pixel_values)))
        return last, self.head(last)


class SiglipVisionModel(nn.Module):
    """forward(pixel_values) -> (last_hidden_state, pooler_output)."""

    outputs = ["last_hidden_state", "pooler_output"]

    def __init__(self, config: dict):
        super().__init__()
        self.config = config
        self.vision_model = SiglipVisionTransformer(namespace(config))

    def forward(self, pixel_values):
        return self.vision_model(pixel_values)
