"""Pieces shared by the Hugging Face replicas: config access, attention, activations, random
weights and the ONNX export with Optimum's input/output names and dynamic axis names."""

from __future__ import annotations

import io
import math
import warnings
from types import SimpleNamespace

import onnx
import torch
from torch import nn

from ..compat import onnx_export_kwargs

OPSET = 17  # as foundry/export.py; LayerNorm exports as LayerNormalization
INPUT = "pixel_values"


def namespace(config: dict) -> SimpleNamespace:
    """config.json as attributes (nested configs stay dicts)."""
    return SimpleNamespace(**config)


def eager_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """transformers' eager attention: softmax(q kᵀ · head_dim^-½) v per head, heads merged back
    into [B, S, D] (no mask, no dropout: the vision encoders attend to every token). Head sizes
    are Python constants, as in transformers, so the traced graph carries no shape arithmetic."""
    b = q.shape[0]
    head_dim = q.shape[-1] // heads
    if isinstance(head_dim, torch.Tensor):  # tracing: the width is fixed by the weights
        head_dim = int(head_dim)
    q, k, v = (t.view(b, -1, heads, head_dim).transpose(1, 2) for t in (q, k, v))
    scores = torch.matmul(q, k.transpose(-1, -2)) * head_dim**-0.5
    out = torch.matmul(torch.softmax(scores, dim=-1), v)
    return out.transpose(1, 2).reshape(b, -1, heads * head_dim)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """transformers' "gelu": the exact erf form."""
    return nn.functional.gelu(x)


def gelu_pytorch_tanh(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.gelu(x, approximate="tanh")


def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    """CLIP's "quick_gelu": x·σ(1.702x)."""
    return x * torch.sigmoid(1.702 * x)


ACTIVATIONS = {"gelu": gelu, "gelu_pytorch_tanh": gelu_pytorch_tanh, "quick_gelu": quick_gelu}

# Parameters that are token or position tables (not layers): drawn at a fixed scale, not 1/√fan-in.
_TABLES = ("cls_token", "mask_token", "register_tokens", "position_embeddings", "position_embedding.weight", "class_embedding", "probe")


def randomize(module: nn.Module, seed: int) -> None:
    """Deterministic random weights with unit-scale activations everywhere: layer weights
    N(0, 1/fan_in), biases N(0, 0.1²), LayerNorm gains 1 + N(0, 0.2²), LayerScale gains uniform
    in [0.5, 1.5] (so that they matter), token and position tables N(0, 0.5²)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=g)
            if any(name.endswith(t) for t in _TABLES):
                p.copy_(0.5 * r)
            elif name.endswith("lambda1"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif p.dim() == 1 and name.endswith("weight"):  # LayerNorm gain
                p.copy_(1.0 + 0.2 * r)
            elif p.dim() == 1:
                p.copy_(0.1 * r)
            else:
                p.copy_(r / math.sqrt(p[0].numel()))


def export(module: nn.Module, outputs: list[str], height: int, width: int, dynamic_hw: bool = True) -> onnx.ModelProto:
    """Trace `module(pixel_values)` (float32 NCHW) to ONNX with Optimum's names: the input's axes
    batch_size/num_channels/height/width (only batch_size with dynamic_hw False), last_hidden_state's
    batch_size/sequence_length, the pooled outputs' batch_size. Returns the checked model."""
    x = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        shapes = [list(t.shape) for t in module.eval()(x)]
    axes = {INPUT: {0: "batch_size", 1: "num_channels", 2: "height", 3: "width"} if dynamic_hw else {0: "batch_size"}}
    for name in outputs:
        axes[name] = {0: "batch_size", 1: "sequence_length"} if name == "last_hidden_state" and dynamic_hw else {0: "batch_size"}
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shape arithmetic, expected here
        torch.onnx.export(
            module.eval(),
            (x,),
            buf,
            opset_version=OPSET,
            input_names=[INPUT],
            output_names=outputs,
            dynamic_axes=axes,
            do_constant_folding=True,
            **onnx_export_kwargs(),
        )
    model = onnx.load_from_string(buf.getvalue())
    # The tracer names every output dimension it cannot prove constant; Optimum's files carry the
    # named axes above and the sizes elsewhere (hidden_size, projection_dim, sequence at one size).
    for value, shape in zip(model.graph.output, shapes):
        dims = value.type.tensor_type.shape.dim
        for i, (dim, size) in enumerate(zip(dims, shape)):
            dim.Clear()
            if i in axes[value.name]:
                dim.dim_param = axes[value.name][i]
            else:
                dim.dim_value = size
    onnx.checker.check_model(model, full_check=True)
    return model


# BERT-style attention as ViTModel and Dinov2Model both build it (`attention.attention.{query,key,value}`,
# `attention.output.dense`), so the parameter names match transformers' checkpoints.
class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size, bias=c.qkv_bias)
        self.key = nn.Linear(c.hidden_size, c.hidden_size, bias=c.qkv_bias)
        self.value = nn.Linear(c.hidden_size, c.hidden_size, bias=c.qkv_bias)

    def forward(self, x):
        return eager_attention(self.query(x), self.key(x), self.value(x), self.heads)


class SelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x):
        return self.dense(x)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = SelfAttention(c)
        self.output = SelfOutput(c)

    def forward(self, x):
        return self.output(self.attention(x))
