"""The few calls whose defaults differ between Debian's torch 1.13 and current pip torch."""

import inspect

import torch

_LOAD_PARAMS = inspect.signature(torch.load).parameters
_EXPORT_PARAMS = inspect.signature(torch.onnx.export).parameters


def load_checkpoint(path):
    # torch ≥ 2.6 defaults to weights_only=True; our checkpoints are our own (optimizer state, logs).
    extra = {"weights_only": False} if "weights_only" in _LOAD_PARAMS else {}
    return torch.load(path, map_location="cpu", **extra)


def onnx_export_kwargs() -> dict:
    # Newer torch defaults to the dynamo exporter; the TorchScript exporter gives the graphs tested here.
    return {"dynamo": False} if "dynamo" in _EXPORT_PARAMS else {}
