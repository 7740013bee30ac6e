"""The official PatchDPO data layout (docs/official-layout.md) as the official training code reads it:
a studio dataset zip exported by the TypeScript CLI (`npm run official-layout -- export`), its
patch_quality.pkl loaded with Python's pickle and numpy, the maps turned into the loss weights the
way hqhQAQ/PatchDPO's loader and train_patchdpo.py do, and the listing rules of that loader checked.
Then the pickle rewritten by Python's own `pickle.dump` and the folder imported back with the CLI
(`import`, the tiny pack's encoders on onnxruntime-web in Node): images and maps come back exact."""

import json
import os
import pickle
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CLI = ["npx", "tsx", "scripts/official-layout.ts"]

pytestmark = pytest.mark.skipif(
    shutil.which("npx") is None or not (REPO / "node_modules" / ".bin" / "tsx").exists(),
    reason="needs Node and the repository's npm packages (npm ci)",
)


def png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of an [H, W, 3] uint8 image."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


RED = {"background": "red", "position": "any", "size": "any"}
BLUE = {"background": "blue", "position": "top-left", "size": "small"}
# (reference, prompt, seed): reference 0 twice with RED, reference 1 once with BLUE.
SAMPLES = [(0, RED, 1), (0, RED, 2), (1, BLUE, 5)]


def dataset_zip(path: Path) -> dict:
    """A studio dataset zip for the tiny pack (docs/dataset-format.md); returns its PNGs and grid maps."""
    rng = np.random.default_rng(1)
    f32 = lambda *shape: rng.standard_normal(shape).astype("<f4")  # noqa: E731
    images = [png(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)) for _ in range(2 + len(SAMPLES))]
    maps = [(np.tanh(f32(8, 8)), np.tanh(f32(8, 8))) for _ in SAMPLES]
    header = {
        "format": "patchdpo-dataset",
        "version": 1,
        "name": "pytest",
        "packId": "tiny",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "shapes": {"latent": [4, 16, 16], "tokens": [64, 16], "grid": [8, 8]},
        "references": [{"id": f"subject {i}", "promptIds": [0, 0, 0]} for i in range(2)],
        "samples": [{"ref": r, "prompt": p, "promptIds": [2, 15, 25], "seed": s} for r, p, s in SAMPLES],
    }
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("dataset.json", json.dumps(header))
        for i in range(2):
            z.writestr(f"references/{i}/latent.f32", f32(4, 16, 16).tobytes())
            z.writestr(f"references/{i}/tokens.f32", f32(64, 16).tobytes())
            z.writestr(f"references/{i}/image.png", images[i])
        for j, (m_gen, m_ref) in enumerate(maps):
            z.writestr(f"samples/{j}/latent.f32", f32(4, 16, 16).tobytes())
            z.writestr(f"samples/{j}/m_gen.f32", m_gen.tobytes())
            z.writestr(f"samples/{j}/m_ref.f32", m_ref.tobytes())
            z.writestr(f"samples/{j}/image.png", images[2 + j])
    return {"references": images[:2], "samples": images[2:], "maps": maps}


def cli(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([*CLI, *args], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


def test_the_official_loader_reads_an_export_and_an_import_gives_it_back(tmp_path):
    original = dataset_zip(tmp_path / "ds.zip")
    root = tmp_path / "data_root"
    summary = json.loads(cli("export", "--dataset", str(tmp_path / "ds.zip"), "--out", str(root)).stdout)
    assert (summary["folders"], summary["images"]) == (2, 3)

    # hqhQAQ/PatchDPO data/subject_dataset.py: folders are every non-.pkl entry, the prompt is a
    # file name's text before the first "_", images are {prompt}_entity_0.png and {prompt}_gen_{i}.png.
    with open(root / "patch_quality.pkl", "rb") as f:
        all_region_maps = pickle.load(f)
    num_folder = len([x for x in os.listdir(root) if not x.endswith(".pkl")])
    assert num_folder == 2
    j = 0
    for folder_idx in range(num_folder):
        cur_folder = root / f"sample{folder_idx}"
        cur_prompt = os.listdir(cur_folder)[0].split("_")[0]
        for sample_idx in range(len(all_region_maps[folder_idx])):
            ref, prompt, seed = SAMPLES[j]
            assert cur_prompt == ", ".join(f"{k} {v}" for k, v in prompt.items())
            assert (cur_folder / f"{cur_prompt}_entity_0.png").read_bytes() == original["references"][ref]
            assert (cur_folder / f"{cur_prompt}_gen_{sample_idx}.png").read_bytes() == original["samples"][j]
            region_map = all_region_maps[folder_idx][sample_idx]
            target_rmap = torch.from_numpy(region_map["target_map"])
            contra_rmap = torch.from_numpy(region_map["gene_map"])
            assert (target_rmap.shape, target_rmap.dtype, contra_rmap.shape) == ((16, 16), torch.float32, (16, 16))
            m_gen, m_ref = original["maps"][j]
            # Block replication of the 8×8 patch grid onto the 16×16 latent grid.
            assert np.array_equal(region_map["target_map"], np.kron(m_ref, np.ones((2, 2), np.float32)))
            assert np.array_equal(region_map["gene_map"], np.kron(m_gen, np.ones((2, 2), np.float32)))
            assert (region_map["seed"], region_map["reference"]) == (seed, f"subject {ref}")
            # train_patchdpo.py: weights of the [reference, generated] batch, broadcast over channels.
            region_weight = torch.cat([1 - target_rmap.unsqueeze(0), contra_rmap.unsqueeze(0)], dim=0)
            assert region_weight.shape == (2, 16, 16)
            j += 1
    assert j == len(SAMPLES)

    # The reverse: a pickle written by Python's own pickle.dump (default protocol) is read by the studio.
    with open(root / "patch_quality.pkl", "wb") as f:
        pickle.dump(all_region_maps, f)
    cli("import", "--dir", str(root), "--pack", "tiny", "--out", str(tmp_path / "back.zip"))
    with zipfile.ZipFile(tmp_path / "back.zip") as z:
        header = json.loads(z.read("dataset.json"))
        assert [r["id"] for r in header["references"]] == ["subject 0", "subject 1"]
        assert [(s["ref"], s["prompt"], s["seed"]) for s in header["samples"]] == SAMPLES
        for i, image in enumerate(original["references"]):
            assert z.read(f"references/{i}/image.png") == image
        for j, (m_gen, m_ref) in enumerate(original["maps"]):
            assert z.read(f"samples/{j}/image.png") == original["samples"][j]
            assert z.read(f"samples/{j}/m_gen.f32") == m_gen.tobytes()
            assert z.read(f"samples/{j}/m_ref.f32") == m_ref.tobytes()


def test_import_names_a_broken_layout(tmp_path):
    dataset_zip(tmp_path / "ds.zip")
    root = tmp_path / "data_root"
    cli("export", "--dataset", str(tmp_path / "ds.zip"), "--out", str(root))
    with open(root / "patch_quality.pkl", "rb") as f:
        maps = pickle.load(f)
    maps[1][0]["gene_map"] = maps[1][0]["gene_map"][:8, :8].copy()
    with open(root / "patch_quality.pkl", "wb") as f:
        pickle.dump(maps, f)
    out = subprocess.run([*CLI, "import", "--dir", str(root), "--pack", "tiny", "--out", str(tmp_path / "x.zip")],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 1
    assert 'patch_quality.pkl [1][0]["gene_map"] has shape (8, 8)' in out.stderr
    assert not (tmp_path / "x.zip").exists()
