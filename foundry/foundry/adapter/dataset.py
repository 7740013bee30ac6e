"""The studio's preference dataset zip (docs/dataset-format.md; src/core/dataset/format.ts):
what training reads from it — latents, image tokens, prompt ids, the quality maps and, for
two-subject samples, subject B — checked against the pack's shapes so a wrong file fails with a
message that names it."""

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
class Second:
    """A two-subject sample's subject B."""

    ref: int
    b_first: bool  # whether the denoiser takes B's tokens first (B's place is read first)
    m_ref: np.ndarray  # [gh, gw] float32, B's reference map


@dataclass(frozen=True)
class Sample:
    ref: int
    prompt_ids: list[int]
    latent: np.ndarray  # [C, H, W] float32
    m_gen: np.ndarray  # [gh, gw] float32, raw cosines
    m_ref: np.ndarray  # [gh, gw] float32
    second: Second | None = None

    def references(self) -> list[int]:
        """`sampleReferences` of core/dataset/types.ts: the references in the denoiser's order."""
        if self.second is None:
            return [self.ref]
        return [self.second.ref, self.ref] if self.second.b_first else [self.ref, self.second.ref]

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

    @property
    def two_subject(self) -> bool:
        return self.samples[0].second is not None


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
        def ref_index(v, where: str) -> int:
            if not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(references)):
                fail(f"{where} {v} is not a reference index (0–{len(references) - 1})")
            return v

        two_subject = "second" in header["samples"][0]
        samples = []
        for j, s in enumerate(header["samples"]):
            ref = ref_index(s.get("ref"), f"samples[{j}].ref")
            if ("second" in s) != two_subject:
                kind = "two" if two_subject else "one"
                fail(f"samples[{j}]: a dataset holds one- or two-subject samples, not both (samples[0] has {kind})")
            second = None
            if two_subject:
                b = s["second"]
                if not isinstance(b.get("bFirst"), bool):
                    fail(f"samples[{j}].second.bFirst must be true or false")
                second = Second(
                    ref_index(b.get("ref"), f"samples[{j}].second.ref"),
                    b["bFirst"],
                    floats(f"samples/{j}/m_ref_b.f32", shapes.grid),
                )
                if second.ref == ref:
                    fail(f"samples[{j}]: subjects A and B are the same reference {ref}")
            samples.append(
                Sample(
                    ref,
                    ids(s.get("promptIds"), f"samples[{j}]"),
                    floats(f"samples/{j}/latent.f32", shapes.latent),
                    floats(f"samples/{j}/m_gen.f32", shapes.grid),
                    floats(f"samples/{j}/m_ref.f32", shapes.grid),
                    second,
                )
            )
    return PreferenceDataset(str(header.get("name", source)), shapes.grid, references, samples)
