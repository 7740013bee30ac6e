"""Subjects: Fluent Emoji 3D renders, filtered to real objects and split by subject."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from .config import NODE_MODULES, REPO, WORK

HELDOUT_FILE = REPO / "foundry" / "data" / "heldout.json"
KEEP_CATEGORIES = {
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
}
SKIN_TONES = {"1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff"}
HELDOUT_PER_CATEGORY = 14  # 7 categories × 14 = 98 held-out subjects
STORE_SIZE = 96  # sprites are kept at 96² and resized from there


@dataclass(frozen=True)
class Subject:
    id: str  # lower-case codepoints joined by '-', as in the asset file name
    name: str
    category: str
    subcategory: str


def asset_dir() -> Path:
    d = NODE_MODULES / "@lobehub" / "fluent-emoji-3d" / "assets"
    if not d.is_dir():
        raise FileNotFoundError(f"{d} not found: run `npm install` (devDependency @lobehub/fluent-emoji-3d)")
    return d


def _emoji_index() -> dict[str, dict]:
    path = NODE_MODULES / "emoji-datasource" / "emoji.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `npm install` (devDependency emoji-datasource)")
    index = {}
    for e in json.loads(path.read_text()):
        for key in (e["unified"], e.get("non_qualified")):
            if key:
                index[key.lower()] = e
    return index


def _is_subject(stem: str, entry: dict | None) -> bool:
    parts = stem.split("-")
    if SKIN_TONES & set(parts) or "20e3" in parts:  # skin-tone variants, keycaps
        return False
    if any("1f1e6" <= p <= "1f1ff" for p in parts) or parts[0] == "1f3f4":  # flags
        return False
    return entry is not None and entry["category"] in KEEP_CATEGORIES


@lru_cache(maxsize=1)
def all_subjects() -> tuple[Subject, ...]:
    """Every usable subject, sorted by id."""
    index = _emoji_index()
    out = []
    for f in sorted(asset_dir().glob("*.webp")):
        e = index.get(f.stem) or index.get(f.stem.replace("-fe0f", ""))
        if _is_subject(f.stem, e):
            out.append(Subject(f.stem, e["name"].lower(), e["category"], e["subcategory"]))
    return tuple(out)


def _rank(s: Subject) -> str:
    return hashlib.sha256(s.id.encode()).hexdigest()


def choose_heldout(subjects: tuple[Subject, ...]) -> list[str]:
    """A fixed, category-stratified held-out list: the first ids per category by hash order."""
    by_cat: dict[str, list[Subject]] = defaultdict(list)
    for s in subjects:
        by_cat[s.category].append(s)
    held = []
    for cat in sorted(by_cat):
        held += [s.id for s in sorted(by_cat[cat], key=_rank)[:HELDOUT_PER_CATEGORY]]
    return sorted(held)


def split() -> tuple[list[Subject], list[Subject]]:
    """(train, heldout) using the committed held-out list."""
    subjects = all_subjects()
    held = set(json.loads(HELDOUT_FILE.read_text())["heldout"])
    known = {s.id for s in subjects}
    missing = held - known
    if missing:
        raise ValueError(f"{HELDOUT_FILE}: held-out ids not among the subjects: {sorted(missing)[:5]}")
    return [s for s in subjects if s.id not in held], [s for s in subjects if s.id in held]


VALIDATION_SUBJECTS = 64


def validation_split() -> tuple[list[Subject], list[Subject]]:
    """(fit, validation): the training subjects minus a fixed validation set of
    VALIDATION_SUBJECTS (the first by hash order), on which designs and recipes are tuned so that
    the held-out subjects are touched only for the final numbers."""
    train, _ = split()
    val = {s.id for s in sorted(train, key=_rank)[:VALIDATION_SUBJECTS]}
    return [s for s in train if s.id not in val], [s for s in train if s.id in val]


def load_rgba(subject: Subject, size: int = STORE_SIZE) -> np.ndarray:
    img = Image.open(asset_dir() / f"{subject.id}.webp").convert("RGBA")
    return np.asarray(img.resize((size, size), Image.LANCZOS), dtype=np.uint8)


class SpriteBank:
    """Sprites of a subject list at any pixel size, cached; straight alpha, float [0,1]."""

    def __init__(self, subjects: list[Subject]):
        self.subjects = subjects
        cache = WORK / f"sprites-{hashlib.sha256(''.join(s.id for s in subjects).encode()).hexdigest()[:12]}.npy"
        if cache.is_file():
            self.store = np.load(cache)
        else:
            self.store = np.stack([load_rgba(s) for s in subjects])
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, self.store)
        self._sized: dict[tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.subjects)

    def __call__(self, i: int, px: int) -> np.ndarray:
        key = (i, px)
        if key not in self._sized:
            img = Image.fromarray(self.store[i]).resize((px, px), Image.LANCZOS)
            self._sized[key] = np.asarray(img, dtype=np.float32) / 255.0
        return self._sized[key]
