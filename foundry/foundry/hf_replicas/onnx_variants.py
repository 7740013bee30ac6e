"""The reduced-precision files transformers.js folders ship beside model.onnx, written with the onnx
API from the float32 graph, and the same weight changes applied to the PyTorch module (so that the
references of each file can be computed).

- model_fp16.onnx (stand-in): every float32 initializer stored as float16 and followed by a
  Cast to float32; the graph computes in float32, inputs and outputs float32. (Real fp16 exports
  compute in float16; this keeps the weights' storage and rounding, not the arithmetic.)
- model_quantized.onnx: weight-only int8. Every MatMul/Gemm weight initializer becomes int8 with a
  float32 scale and int8 zero point 0 per output column (symmetric, scale = max|w| / 127, values
  round-half-even, clipped to ±127) and a DequantizeLinear before the op; everything else float32.
  (Real `model_quantized.onnx` files from transformers.js' script quantize activations too,
  dynamically, with MatMulInteger; this one keeps float32 activations.)"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper


def fp16_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    casts, inits = [], []
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT:
            inits.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}_fp16")
        inits.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], name=f"{init.name}_cast", to=TensorProto.FLOAT))
    del g.initializer[:]
    g.initializer.extend(inits)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(out, full_check=True)
    return out


def quantize_int8(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per slice along `axis` (the output channels): (q, scale)."""
    reduce = tuple(i for i in range(w.ndim) if i != axis)
    scale = (np.abs(w).max(axis=reduce) / 127.0).astype(np.float32)
    scale[scale == 0] = 1.0
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def int8_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    by_name = {init.name: init for init in g.initializer}
    weights: dict[str, int] = {}  # initializer -> output-channel axis
    for node in g.node:
        if node.op_type not in ("MatMul", "Gemm") or node.input[1] not in by_name:
            continue
        init = by_name[node.input[1]]
        if init.data_type != TensorProto.FLOAT or len(init.dims) != 2:
            continue
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0) if node.op_type == "Gemm" else 0
        weights[init.name] = 0 if trans_b else 1
    dq, inits = [], []
    for init in g.initializer:
        if init.name not in weights:
            inits.append(init)
            continue
        axis = weights[init.name]
        q, scale = quantize_int8(numpy_helper.to_array(init), axis)
        qt = numpy_helper.from_array(q, f"{init.name}_quantized")
        st = numpy_helper.from_array(scale, f"{init.name}_scale")
        zt = numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), f"{init.name}_zero_point")
        inits += [qt, st, zt]
        dq.append(helper.make_node("DequantizeLinear", [qt.name, st.name, zt.name], [init.name], name=f"{init.name}_dequantize", axis=axis))
    del g.initializer[:]
    g.initializer.extend(inits)
    nodes = dq + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(out, full_check=True)
    return out


def fp16_module(module: torch.nn.Module) -> None:
    """Round every float parameter and buffer to float16 and back (in place), as fp16_weights does
    to the initializers."""
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.dtype == torch.float32:
                t.copy_(t.half().float())


def int8_module(module: torch.nn.Module) -> int:
    """Quantize-dequantize every nn.Linear weight per output feature (in place), as int8_weights
    does to the MatMul/Gemm initializers (their transposes). Returns how many."""
    n = 0
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.Linear):
                q, scale = quantize_int8(m.weight.numpy(), 0)
                m.weight.copy_(torch.from_numpy(q.astype(np.float32) * scale[:, None]))
                n += 1
    return n
