"""The studio's preference dataset zip (docs/dataset-format.md; src/core/dataset/format.ts):
what training reads from it — latents, image tokens, prompt ids and both quality maps — checked
against the pack's shapes so a wrong file fails with a message that names it."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "patchdpo-dataset"
VERSION = 1


@dataclass(frozen=True)
class Reference:
    id: str
    latent: np.ndarray  # [C, H, W] float32
    image_tokens: np.ndarray  # [T, D] float32
    prompt_ids: list[int]


@dataclass(frozen=True)
class Sample:
    ref: int
    prompt_ids: list[int]
    latent: np.ndarray  # [C, H, W] float32
    m_gen: np.ndarray  # [gh, gw] float32, raw cosines
    m_ref: np.ndarray  # [gh, gw] float32

    def mean_quality(self) -> float:
        """`meanQuality` of core/dataset/types.ts: a left-to-right double sum, as JavaScript adds."""
        total = 0.0
        for v in self.m_gen.ravel().tolist():
            total += v
        return total / self.m_gen.size


@dataclass(frozen=True)
class PackShapes:
    pack_id: str
    latent: tuple[int, int, int]
    tokens: tuple[int, int]
    grid: tuple[int, int]
    prompt_length: int

    @classmethod
    def of(cls, manifest: dict) -> PackShapes:
        lat, enc, pe = manifest["latent"], manifest["roles"]["image_encoder"], manifest["roles"]["patch_encoder"]
        return cls(
            manifest["id"],
            (lat["channels"], lat["height"], lat["width"]),
            (enc["tokens"], enc["dim"]),
            tuple(pe["grid"]),
            manifest["prompt"]["length"],
        )


@dataclass(frozen=True)
class PreferenceDataset:
    name: str
    grid: tuple[int, int]
    references: list[Reference]
    samples: list[Sample]


class DatasetFormatError(ValueError):
    pass


def read_dataset(path: Path, shapes: PackShapes) -> PreferenceDataset:
    """Reads and validates a dataset zip for the pack of `shapes` (the checks of `decodeDatasetZip`
    that concern training; the PNG previews are not read)."""
    source = Path(path).name

    def fail(problem: str):
        raise DatasetFormatError(f"{source}: {problem}")

    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        fail(f"not a zip file ({e})")
    with archive:
        names = set(archive.namelist())
        if "dataset.json" not in names:
            fail("not a PatchDPO dataset: it has no dataset.json")
        header = json.loads(archive.read("dataset.json"))
        if header.get("format") != FORMAT:
            fail(f"dataset.json is not a PatchDPO dataset (format {header.get('format')!r})")
        if header.get("version") != VERSION:
            fail(f"dataset format version {header.get('version')} is not supported (expected {VERSION})")
        if header.get("packId") != shapes.pack_id:
            fail(f"the dataset was built with pack {header.get('packId')!r}, not {shapes.pack_id!r}")
        for what, want in (("latent", shapes.latent), ("tokens", shapes.tokens), ("grid", shapes.grid)):
            got = header.get("shapes", {}).get(what)
            if got != list(want):
                fail(f"{what} shape {got} does not match the pack's {list(want)}")
        if not header.get("samples"):
            fail("the dataset has no samples")

        def floats(name: str, shape: tuple[int, ...]) -> np.ndarray:
            if name not in names:
                fail(f"missing file {name}")
            raw = archive.read(name)
            n = int(np.prod(shape))
            if len(raw) != 4 * n:
                fail(f"{name} has {len(raw)} bytes, expected {4 * n} ({n} float32)")
            a = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
            if not np.isfinite(a).all():
                fail(f"{name} holds a NaN or infinite value")
            return a

        def ids(v, where: str) -> list[int]:
            if not (isinstance(v, list) and len(v) == shapes.prompt_length and all(isinstance(x, int) for x in v)):
                fail(f"{where}: promptIds must be {shapes.prompt_length} integers, got {v}")
            return v

        references = [
            Reference(
                str(r["id"]),
                floats(f"references/{i}/latent.f32", shapes.latent),
                floats(f"references/{i}/tokens.f32", shapes.tokens),
                ids(r.get("promptIds"), f"references[{i}]"),
            )
            for i, r in enumerate(header["references"])
        ]
        samples = []
        for j, s in enumerate(header["samples"]):
            if not (isinstance(s.get("ref"), int) and 0 <= s["ref"] < len(references)):
                fail(f"samples[{j}].ref {s.get('ref')} is not a reference index (0–{len(references) - 1})")
            samples.append(
                Sample(
                    s["ref"],
                    ids(s.get("promptIds"), f"samples[{j}]"),
                    floats(f"samples/{j}/latent.f32", shapes.latent),
                    floats(f"samples/{j}/m_gen.f32", shapes.grid),
                    floats(f"samples/{j}/m_ref.f32", shapes.grid),
                )
            )
    return PreferenceDataset(str(header.get("name", source)), shapes.grid, references, samples)
