"""Pixels ⇄ model tensors as the studio converts them (src/core/generate/image.ts), for the square
opaque images of a pack's gallery: `imageToTensor` (p/255 rounded to float32, then mapped to the
manifest's range) and `tensorToImage` (Math.round of the range-mapped value ×255, clamped). Also
the reference images a sampling job names: a gallery subject, or the subject rendered the same
way (centred at the reference size, foundry/scene.py) over a background of the pack's scene kit
instead of white — the "natural images as reference" ablation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..config import IMAGE_SIZE
from ..scene import REFERENCE_SIZE, composite
from ..subjects import SpriteBank, all_subjects


def read_rgb(path: Path, size: int) -> np.ndarray:
    """An opaque size×size PNG as uint8 [size, size, 3]."""
    img = Image.open(path)
    if img.mode != "RGB" or img.size != (size, size):
        raise ValueError(f"{path}: expected an opaque {size}×{size} RGB image, got {img.mode} {img.size[0]}×{img.size[1]}")
    return np.asarray(img, dtype=np.uint8)


def to_tensor(pixels: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """uint8 [N, S, S, 3] → float32 [N, 3, S, S], with imageToTensor's roundings."""
    lo, hi = value_range
    unit = (pixels.astype(np.float64) / 255).astype(np.float32)
    return (lo + unit.astype(np.float64) * (hi - lo)).astype(np.float32).transpose(0, 3, 1, 2).copy()


def to_pixels(images: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """float32 [N, 3, S, S] → uint8 [N, S, S, 3], as tensorToImage (Math.round is floor(x + ½))."""
    lo, hi = value_range
    v = np.floor((images.astype(np.float64) - lo) / (hi - lo) * 255 + 0.5)
    return np.clip(v, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1).copy()


def gallery_pixels(folder: Path, manifest: dict, subject: str) -> np.ndarray:
    entries = [*manifest.get("gallery", {}).get("train", []), *manifest.get("gallery", {}).get("heldout", [])]
    entry = next((e for e in entries if e["id"] == subject), None)
    if entry is None:
        raise ValueError(f"pack {manifest['id']!r} has no gallery subject {subject!r}")
    return read_rgb(Path(folder) / entry["file"], manifest["image"]["size"])


def natural_pixels(folder: Path, manifest: dict, subjects: list[str], backgrounds: list[str]) -> np.ndarray:
    """Each subject centred at the reference size over its scene-kit background, as uint8 like the
    gallery's PNGs. The sprites come from the subject assets (node_modules), as the gallery's did."""
    kit = manifest.get("scenes", {}).get("backgrounds", {})
    unknown = sorted(set(backgrounds) - set(kit))
    if unknown:
        raise ValueError(f"pack {manifest['id']!r}: no scene-kit background {', '.join(unknown)}")
    by_id = {s.id: s for s in all_subjects()}
    missing = [s for s in subjects if s not in by_id]
    if missing:
        raise ValueError(f"no subject asset for {', '.join(missing)}")
    bank = SpriteBank([by_id[s] for s in subjects])
    out = []
    for i, name in enumerate(backgrounds):
        bg = read_rgb(Path(folder) / kit[name], IMAGE_SIZE).astype(np.float32) / 255
        scene = composite(bg, bank(i, REFERENCE_SIZE), IMAGE_SIZE // 2, IMAGE_SIZE // 2)
        out.append((scene * 255).round().astype(np.uint8))
    return np.stack(out) if out else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
