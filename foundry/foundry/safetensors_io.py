"""Minimal safetensors reader/writer (the format: u64 header length, JSON header, raw data).

Debian has no safetensors package; the format is small enough to write directly."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

_DTYPES = {np.dtype("float32"): "F32", np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("uint8"): "U8"}
_NP = {v: k for k, v in _DTYPES.items()}


def save(tensors: dict[str, np.ndarray], path: Path, metadata: dict[str, str] | None = None) -> None:
    header: dict = {"__metadata__": metadata} if metadata else {}
    offset, blobs = 0, []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype not in _DTYPES:
            raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
        b = arr.tobytes()
        header[name] = {"dtype": _DTYPES[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def _header(data: bytes) -> tuple[dict, int]:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), 8 + n


def metadata(path: Path) -> dict[str, str]:
    return _header(Path(path).read_bytes())[0].get("__metadata__", {})


def load(path: Path) -> dict[str, np.ndarray]:
    data = Path(path).read_bytes()
    header, base = _header(data)
    header.pop("__metadata__", None)
    return {
        k: np.frombuffer(data[base + v["data_offsets"][0] : base + v["data_offsets"][1]], dtype=_NP[v["dtype"]]).reshape(v["shape"])
        for k, v in header.items()
    }
