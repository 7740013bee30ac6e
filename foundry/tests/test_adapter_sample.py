"""`python3 -m foundry sample`'s pieces (foundry/adapter/sample.py, networks.py, images.py): the
networks rebuilt from the tiny pack folder against the sampler fixture, the studio's pixel
conversions, the natural-scene reference, job validation and batching, and the command end to end.
Whole images against the studio's pipeline: tests/sampler-torch-parity.test.ts (Vitest)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from foundry import safetensors_io
from foundry.adapter.images import gallery_pixels, natural_pixels, to_pixels, to_tensor
from foundry.adapter.networks import load_decoder, load_image_encoder
from foundry.adapter.sample import Job, JobsError, SamplerSettings, batches, job_tokens, read_jobs
from foundry.config import PACKS, REPO

TINY = PACKS / "tiny"
FIXTURE = REPO / "tests" / "fixtures" / "sampler-tiny.safetensors"
FOUNDRY = Path(__file__).resolve().parents[1]
SAMPLER = {"steps": 2, "sampler": "ddim", "guidanceImage": 3, "guidancePrompt": 2, "ipScale": 1}


def manifest() -> dict:
    return json.loads((TINY / "manifest.json").read_text())


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-6))


@torch.no_grad()
def test_image_encoder_and_decoder_from_the_pack_folder_match_the_fixture():
    m = manifest()
    fx = safetensors_io.load(FIXTURE)
    tokens = load_image_encoder(TINY, m)(torch.from_numpy(np.array(fx["reference"])))
    assert rel_err(tokens.numpy(), fx["image_tokens"]) < 1e-5
    image = load_decoder(TINY, m)(torch.from_numpy(np.array(fx["latent"])) / m["latent"]["scale_factor"])
    assert rel_err(image.numpy(), fx["image"]) < 1e-5


def test_a_pack_without_image_encoder_weights_is_refused_with_a_reason():
    m = manifest()
    del m["roles"]["image_encoder"]["weights"]
    with pytest.raises(ValueError, match="cannot be rebuilt in PyTorch"):
        load_image_encoder(TINY, m)


def test_pixel_conversions_follow_the_studio():
    pixels = np.arange(256, dtype=np.uint8).repeat(3).reshape(1, 16, 16, 3)
    t = to_tensor(pixels, (-1, 1))
    assert t.shape == (1, 3, 16, 16) and t.dtype == np.float32
    assert t[0, 0, 0, 0] == -1 and t[0, 0, 15, 15] == 1
    assert (to_pixels(t, (-1, 1)) == pixels).all()
    # Math.round: halves go up (Math.round(4.5) is 5, numpy's round gives 4); out-of-range values clamp.
    v = np.array([-3, 4.5, 300], np.float32).reshape(1, 3, 1, 1)
    assert to_pixels(v, (0, 255)).ravel().tolist() == [0, 5, 255]


def test_natural_reference_is_the_gallery_reference_over_another_background(tmp_path):
    m = manifest()
    subject = m["gallery"]["train"][0]["id"]
    try:
        natural = natural_pixels(TINY, m, [subject], ["stripes"])
    except FileNotFoundError as e:  # the subject assets come with `npm install`
        pytest.skip(str(e))
    # Over a white "scene" the rendering is the gallery's reference exactly.
    Image.fromarray(np.full((64, 64, 3), 255, np.uint8)).save(tmp_path / "white.png")
    white = {**m, "scenes": {**m["scenes"], "backgrounds": {"white": "white.png"}}}
    assert (natural_pixels(tmp_path, white, [subject], ["white"])[0] == gallery_pixels(TINY, m, subject)).all()
    stripes = np.asarray(Image.open(TINY / m["scenes"]["backgrounds"]["stripes"]))
    assert (natural[0, 0, 0] == stripes[0, 0]).all()  # the corner shows the scene, not white
    with pytest.raises(ValueError, match="no scene-kit background plaid"):
        natural_pixels(TINY, m, [subject], ["plaid"])


def write_jobs(path: Path, jobs: list[dict], references=({"id": "1f30a"},)) -> Path:
    path.write_text(json.dumps({"references": list(references), "jobs": jobs}))
    return path


def test_jobs_are_validated_with_messages_that_name_the_job(tmp_path):
    m = manifest()
    good = {"references": [0], "promptIds": [6, 17, 25], "seed": 1, "sampler": SAMPLER}
    refs, jobs = read_jobs(write_jobs(tmp_path / "ok.json", [good]), m)
    assert refs[0].id == "1f30a" and jobs[0].settings == SamplerSettings(2, "ddim", 3.0, 2.0, 1.0)
    bad = [
        ({"references": [1]}, r"jobs\[0\]: reference 1 is not an index"),
        ({"references": [0, 0, 0]}, r"jobs\[0\]: references must list 1–2 indices"),
        ({"promptIds": [6, 17]}, r"jobs\[0\]: promptIds must be 3 token ids below 33"),
        ({"seed": -1}, r"jobs\[0\]: seed must be an integer"),
        ({"sampler": {**SAMPLER, "sampler": "plms"}}, r"jobs\[0\]: sampler must be ddim or euler"),
        ({"sampler": {**SAMPLER, "guidanceImage": 30}}, r"jobs\[0\]: guidanceImage must be between 0 and 20"),
    ]
    for change, message in bad:
        with pytest.raises(JobsError, match=message):
            read_jobs(write_jobs(tmp_path / "bad.json", [{**good, **change}]), m)


def test_batches_keep_one_setting_each_and_the_job_order(tmp_path):
    m = manifest()
    job = lambda seed, sampler: {"references": [0], "promptIds": [6, 17, 25], "seed": seed, "sampler": sampler}  # noqa: E731
    euler = {**SAMPLER, "sampler": "euler"}
    pair = {**job(5, SAMPLER), "references": [1, 0]}
    listed = [job(1, SAMPLER), job(2, euler), job(3, SAMPLER), job(4, SAMPLER), pair]
    _, jobs = read_jobs(write_jobs(tmp_path / "j.json", listed, [{"id": "1f30a"}, {"id": "1f004"}]), m)
    # Two references' tokens are twice as long: a pair job is batched apart from one-reference jobs.
    assert batches(jobs, 2) == [[0, 2], [3], [1], [4]]


def test_a_jobs_tokens_are_its_references_in_its_order():
    tokens = torch.arange(3 * 2 * 1, dtype=torch.float32).reshape(3, 2, 1)  # 3 references of 2 tokens
    jobs = [Job(r, [0, 0, 0], 1, SamplerSettings(2, "ddim", 3.0, 2.0, 1.0)) for r in [(2, 0), (0, 2), (1, 1)]]
    assert job_tokens(tokens, jobs, [0, 1, 2])[..., 0].tolist() == [[4, 5, 0, 1], [0, 1, 4, 5], [2, 3, 2, 3]]


def test_the_command_writes_images_latents_and_references(tmp_path):
    m = manifest()
    heldout = [e["id"] for e in m["gallery"]["heldout"][:2]]
    jobs = [{"references": [i % 2], "promptIds": [6, 17, 25], "seed": 5 + i, "sampler": SAMPLER} for i in range(3)]
    path = write_jobs(tmp_path / "jobs.json", jobs, [{"id": s} for s in heldout])
    out = tmp_path / "out.safetensors"
    cmd = [sys.executable, "-m", "foundry", "sample", "--pack", str(TINY), "--jobs", str(path), "--out", str(out), "--batch", "2"]
    result = subprocess.run(cmd, cwd=FOUNDRY, capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["images"] == 3
    t = safetensors_io.load(out)
    assert t["images"].shape == (1, 3, 64, 64, 3) and t["images"].dtype == np.uint8
    assert t["latents"].shape == (1, 3, 4, 16, 16) and t["latents"].dtype == np.float32
    assert (t["references"][1] == gallery_pixels(TINY, m, heldout[1])).all()
    # Several adapters in one run, adapter-major: the base's images again, then a zero image path's.
    weights = safetensors_io.load(TINY / m["roles"]["denoiser"]["weights"]["file"])
    names = [a["name"] for a in m["roles"]["denoiser"]["adapter"]["tensors"]]
    zero = tmp_path / "zero.safetensors"
    safetensors_io.save({n: np.zeros_like(weights[n]) for n in names}, zero)
    subprocess.run([*cmd, "--adapter", "base", "--adapter", str(zero)], cwd=FOUNDRY, capture_output=True, check=True)
    both = safetensors_io.load(out)
    assert both["images"].shape == (2, 3, 64, 64, 3)
    assert (both["latents"][0] == t["latents"][0]).all() and not (both["latents"][1] == t["latents"][0]).all()
    # An adapter file that lacks a tensor is refused.
    safetensors_io.save({names[0]: np.zeros_like(weights[names[0]])}, zero)
    failed = subprocess.run([*cmd, "--adapter", str(zero)], cwd=FOUNDRY, capture_output=True, text=True)
    assert failed.returncode != 0 and f"{names[1]} is missing" in failed.stderr
    shutil.rmtree(tmp_path)
