"""DINOv2 (`Dinov2Model`) and DINOv2 with registers (`Dinov2WithRegistersModel`) as transformers
builds them, with transformers' parameter names (so `model.safetensors` loads into the real class).

Embeddings: Conv2d patches (kernel = stride = patch_size), CLS token, learned position embeddings
for 1 + (image_size / patch_size)² positions. At another input size the patch part of the table is
resized bicubically (align_corners False) to the input's grid, the CLS position kept: plain DINOv2
resizes with `size=` and no antialiasing, DINOv2 with registers with `antialias=True` (as
transformers does for each). Register tokens are inserted after the CLS token and before the
patch tokens, after the position embeddings were added (they get none). Blocks are pre-norm with
LayerScale: x + ls1⊙attn(norm1(x)), then x + ls2⊙mlp(norm2(x)); MLP fc1 → gelu (erf) → fc2 with
hidden_size·mlp_ratio units. A final LayerNorm gives last_hidden_state; pooler_output is its CLS
row. Sequence = 1 + num_register_tokens + grid²."""

from __future__ import annotations

import torch
from torch import nn

from .common import ACTIVATIONS, Attention, namespace


def dinov2_config(registers: bool, hidden_size: int, heads: int, layers: int = 2) -> dict:
    """config.json with the real keys (facebook/dinov2-small, facebook/dinov2-with-registers-small)
    and small widths; image_size stays 518 (a 37 × 37 position table) as in the real checkpoints."""
    cfg = {
        "architectures": ["Dinov2WithRegistersModel" if registers else "Dinov2Model"],
        "attention_probs_dropout_prob": 0.0,
        "drop_path_rate": 0.0,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": hidden_size,
        "image_size": 518,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-06,
        "layerscale_value": 1.0,
        "mlp_ratio": 4,
        "model_type": "dinov2_with_registers" if registers else "dinov2",
        "num_attention_heads": heads,
        "num_channels": 3,
        "num_hidden_layers": layers,
        "patch_size": 14,
        "qkv_bias": True,
        "torch_dtype": "float32",
        "use_swiglu_ffn": False,
    }
    if registers:
        cfg.update(
            {
                "apply_layernorm": True,
                "num_register_tokens": 4,
                "out_features": [f"stage{layers}"],
                "out_indices": [layers],
                "reshape_hidden_states": True,
                "stage_names": ["stem"] + [f"stage{i}" for i in range(1, layers + 1)],
            }
        )
    return dict(sorted(cfg.items()))


class Dinov2PatchEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.projection = nn.Conv2d(c.num_channels, c.hidden_size, kernel_size=c.patch_size, stride=c.patch_size)

    def forward(self, pixel_values):
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class Dinov2Embeddings(nn.Module):
    def __init__(self, c, registers: bool):
        super().__init__()
        self.c = c
        self.registers = registers
        grid = c.image_size // c.patch_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.hidden_size))
        self.mask_token = nn.Parameter(torch.zeros(1, c.hidden_size))  # only for masked inputs (unused here)
        if registers:
            self.register_tokens = nn.Parameter(torch.zeros(1, c.num_register_tokens, c.hidden_size))
        self.patch_embeddings = Dinov2PatchEmbeddings(c)
        self.position_embeddings = nn.Parameter(torch.zeros(1, grid * grid + 1, c.hidden_size))
        self.register_buffer("frozen_position_embeddings", None)  # set by freeze(), for export only

    def interpolate_pos_encoding(self, num_patches: int, height: int, width: int) -> torch.Tensor:
        """The position table for an input of height × width pixels: [1, 1 + grid², D]."""
        num_positions = self.position_embeddings.shape[1] - 1
        if not torch.jit.is_tracing() and num_patches == num_positions and height == width:
            return self.position_embeddings
        cls_pos = self.position_embeddings[:, :1]
        side = int(num_positions**0.5)
        dim = self.position_embeddings.shape[-1]
        table = self.position_embeddings[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
        size = (height // self.c.patch_size, width // self.c.patch_size)
        extra = {"antialias": True} if self.registers else {}
        table = nn.functional.interpolate(table, size=size, mode="bicubic", align_corners=False, **extra)
        return torch.cat((cls_pos, table.permute(0, 2, 3, 1).reshape(1, -1, dim)), dim=1)

    def freeze(self, height: int, width: int) -> None:
        """Fix the position table at one input size (a buffer, exported as an initializer): the
        antialiased bicubic resize has no ONNX opset-17 form, so that model is exported at one size."""
        with torch.no_grad():
            grid = (height // self.c.patch_size) * (width // self.c.patch_size)
            table = self.interpolate_pos_encoding(grid, height, width).clone()
        self.frozen_position_embeddings = table

    def forward(self, pixel_values):
        batch, _, height, width = pixel_values.shape
        x = self.patch_embeddings(pixel_values)
        if self.frozen_position_embeddings is not None:
            pos = self.frozen_position_embeddings
        else:
            pos = self.interpolate_pos_encoding(x.shape[1], height, width)
        x = torch.cat((self.cls_token.expand(batch, -1, -1), x), dim=1) + pos
        if self.registers:
            x = torch.cat((x[:, :1], self.register_tokens.expand(batch, -1, -1), x[:, 1:]), dim=1)
        return x


class Dinov2LayerScale(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lambda1 = nn.Parameter(c.layerscale_value * torch.ones(c.hidden_size))

    def forward(self, x):
        return x * self.lambda1


class Dinov2MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        hidden = int(c.hidden_size * c.mlp_ratio)
        self.fc1 = nn.Linear(c.hidden_size, hidden)
        self.fc2 = nn.Linear(hidden, c.hidden_size)
        self.act = ACTIVATIONS[c.hidden_act]

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Dinov2Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.attention = Attention(c)
        self.layer_scale1 = Dinov2LayerScale(c)
        self.norm2 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = Dinov2MLP(c)
        self.layer_scale2 = Dinov2LayerScale(c)

    def forward(self, x):
        x = x + self.layer_scale1(self.attention(self.norm1(x)))
        return x + self.layer_scale2(self.mlp(self.norm2(x)))


class Dinov2Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Dinov2Layer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x):
        for layer in self.layer:
            x = layer(x)
        return x


class Dinov2Model(nn.Module):
    """forward(pixel_values) -> (last_hidden_state, pooler_output)."""

    outputs = ["last_hidden_state", "pooler_output"]

    def __init__(self, config: dict):
        super().__init__()
        c = namespace(config)
        self.config = config
        registers = config["model_type"] == "dinov2_with_registers"
        self.embeddings = Dinov2Embeddings(c, registers)
        self.encoder = Dinov2Encoder(c)
        self.layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values):
        x = self.layernorm(self.encoder(self.embeddings(pixel_values)))
        return x, x[:, 0]
