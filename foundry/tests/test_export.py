"""The committed tiny pack and fixtures are what the foundry produces now, and they round-trip."""

import hashlib
import json

import numpy as np
import onnx
import pytest
import torch

from foundry import safetensors_io
from foundry.config import PACKS, TINY
from foundry.export import tiny_nets, write_pack
from foundry.fixtures import FIXTURES, engine_fixture, vit_fixture

REQUIRED = ["schema", "schema_version", "id", "image", "latent", "scheduler", "prompt", "roles", "gallery"]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("pack") / "tiny"
    meta = {"id": "tiny", "title": "t", "description": "d"}
    return out, write_pack(TINY, tiny_nets(), 1.0, out, meta, gallery=(4, 4, 0))


def test_manifest_is_complete_and_hashes_match(fresh):
    out, manifest = fresh
    assert all(k in manifest for k in REQUIRED)
    for role, entry in manifest["roles"].items():
        data = (out / entry["file"]).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest(), role
        model = onnx.load(out / entry["file"])
        onnx.checker.check_model(model)
        assert model.opset_import[0].version == 17
        assert [i.name for i in model.graph.input] == [i["name"] for i in entry["inputs"]], role
        assert [o.name for o in model.graph.output] == [o["name"] for o in entry["outputs"]], role


def test_adapter_tensors_are_denoiser_inputs_with_base_values_in_the_weights(fresh):
    out, manifest = fresh
    den = manifest["roles"]["denoiser"]
    weights = safetensors_io.load(out / den["weights"]["file"])
    inputs = {i["name"]: i["shape"] for i in den["inputs"]}
    for t in den["adapter"]["tensors"]:
        assert inputs[t["name"]] == t["shape"] == list(weights[t["name"]].shape)
    state = tiny_nets()["denoiser"].state_dict()
    assert set(weights) == set(state)
    assert all(np.array_equal(weights[k], v.numpy()) for k, v in state.items())


def test_committed_tiny_pack_is_current(fresh):
    _, manifest = fresh
    committed = json.loads((PACKS / "tiny" / "manifest.json").read_text())
    assert {r: e["sha256"] for r, e in committed["roles"].items()} == {r: e["sha256"] for r, e in manifest["roles"].items()}
    assert committed["prompt"] == manifest["prompt"]


def test_committed_engine_fixture_is_current():
    committed = safetensors_io.load(FIXTURES / "engine-tiny.safetensors")
    fresh = engine_fixture(tiny_nets(), TINY)
    assert set(committed) == set(fresh)
    for k in fresh:
        assert np.allclose(committed[k], fresh[k], atol=1e-6), k


def test_committed_vit_fixture_is_current():
    committed = safetensors_io.load(FIXTURES / "vit-tiny.safetensors")
    fresh = vit_fixture(tiny_nets())
    assert set(committed) == set(fresh)
    for k in fresh:
        assert np.allclose(committed[k], fresh[k], atol=1e-6), k


def test_engine_fixture_gradient_matches_finite_differences():
    fx = safetensors_io.load(FIXTURES / "engine-tiny.safetensors")
    den = tiny_nets()["denoiser"].double()
    name = den.adapter_names()[1]
    args = [torch.from_numpy(fx[f"input.{k}"].copy()) for k in ("latent", "timestep", "prompt_ids", "image_tokens", "ip_scale")]
    args = [a.double() if a.is_floating_point() else a for a in args]
    target, weight = (torch.from_numpy(fx[k].copy()).double() for k in ("loss.target", "loss.weight"))

    def loss():
        return float((weight * (den(*args) - target) ** 2).mean())

    p = den.get_parameter(name)
    h = 1e-6
    with torch.no_grad():
        for idx in [(0, 0), (3, 5)]:
            p[idx] += h
            up = loss()
            p[idx] -= 2 * h
            down = loss()
            p[idx] += h
            assert abs((up - down) / (2 * h) - fx[f"grad.{name}"][idx]) < 1e-4 * max(1.0, abs(fx[f"grad.{name}"][idx]))


def test_scene_kit_renders_the_ground_truth_exactly(fresh):
    """A scene composited from the pack's scene kit (PNG background + sprite atlas) equals the
    renderer's ground truth: what the studio's ground-truth metrics rely on."""
    from PIL import Image

    from foundry.scene import Prompt, composite, render
    from foundry.subjects import SpriteBank, split

    out, manifest = fresh
    kit = manifest["scenes"]
    held = {s.id: s for s in split()[1]}
    bank = SpriteBank([held[i] for i in kit["subjects"]])
    for item in kit["eval_prompts"][:4]:
        i = kit["subjects"].index(item["subject"])
        p = Prompt(**item["prompt"])
        sp = kit["sprites"][p.size]
        atlas = np.asarray(Image.open(out / sp["file"]), np.float32) / 255
        r, c = divmod(i, sp["columns"])
        sprite = atlas[r * sp["px"] : (r + 1) * sp["px"], c * sp["px"] : (c + 1) * sp["px"]]
        bg = np.asarray(Image.open(out / kit["backgrounds"][p.background]), np.float32) / 255
        cx, cy = kit["positions"][p.position]
        assert np.abs(composite(bg, sprite, cx, cy) - render(bank, i, p)[0]).max() < 1e-6
