"""The PyTorch adapter trainer's pieces (foundry/adapter/): the studio's generator against values
the TypeScript printed, AdamW against a hand computation and torch.optim.AdamW, the losses on a
hand-made batch, the run configuration, the dataset zip and the command end to end. Parity of
whole runs with the studio's CPU engine is tests/adapter-trainer-parity.test.ts (Vitest)."""

import io
import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from foundry import safetensors_io
from foundry.adapter.dataset import DatasetFormatError, PreferenceDataset, Reference, Sample, Second, read_dataset
from foundry.adapter.losses import Batch, LossOptions, Objective, StepDraw, build_step, objective_loss
from foundry.adapter.loop import _uint32
from foundry.adapter.optim import AdamW, AdamWOptions, adamw_step, clip_grad_norm
from foundry.adapter.pack import load_pack
from foundry.adapter.rng import gaussian, uint32_stream
from foundry.adapter.run_config import train_config
from foundry.adapter.weights import WeightOptions, quality_weights
from foundry.config import PACKS

FOUNDRY = Path(__file__).resolve().parents[1]


# --- the generator: values printed by src/core/sampling/rng.ts -------------------------------


def test_uint32_stream_matches_the_studio():
    next_value = uint32_stream(1)
    assert [next_value() for _ in range(3)] == [2442144158, 3238099751, 3819917871]  # rng.test.ts
    seed = _uint32(5000.0 * 1_000_003 + 7)  # a draw seed past 2³²: JavaScript's `>>> 0`
    assert seed == 705047711
    next_value = uint32_stream(seed)
    assert [next_value() for _ in range(3)] == [1220671868, 866249381, 532239949]


def test_gaussian_matches_the_studio_bit_for_bit():
    want = {
        42: [0.6362302303314209, 0.651442289352417, 0.8308019042015076, -1.9218767881393433, 2.2217392921447754],
        0: [-0.04292575642466545, 0.48816728591918945, -1.3734577894210815],
    }
    for seed, values in want.items():
        got = gaussian(seed, len(values))
        assert got.dtype == np.float32
        assert got.tolist() == values


# --- AdamW and clipping ----------------------------------------------------------------------


def test_adamw_first_step_by_hand():
    p = torch.tensor([0.5, -1.0, 0.25])
    g = torch.tensor([0.1, -0.2, 0.0])
    m, v = torch.zeros(3), torch.zeros(3)
    adamw_step(p, g, m, v, 1, AdamWOptions(lr=1e-2, weight_decay=0.1))
    # t = 1: m̂ = g, v̂ = g², so p ← p·(1 − lr·λ) − lr·g/(|g| + ε); a zero gradient only decays.
    for got, p0, g0 in zip(p.tolist(), [0.5, -1.0, 0.25], [0.1, -0.2, 0.0]):
        assert got == pytest.approx(p0 * (1 - 1e-3) - 1e-2 * g0 / (abs(g0) + 1e-8), abs=1e-7)
    assert m.tolist() == pytest.approx([0.01, -0.02, 0.0], abs=1e-9)
    assert v.tolist() == pytest.approx([1e-5, 4e-5, 0.0], rel=1e-6)


def test_adamw_follows_torch_adamw():
    torch.manual_seed(0)
    ours = torch.randn(50)
    theirs = ours.clone().requires_grad_(True)
    opt = torch.optim.AdamW([theirs], lr=3e-3, weight_decay=0.01)  # the studio's defaults otherwise
    state = AdamW()
    for _ in range(5):
        g = torch.randn(50)
        state.step([ours], [g.clone()], AdamWOptions(lr=3e-3))
        theirs.grad = g
        opt.step()
    assert state.t == 5
    assert torch.allclose(ours, theirs.detach(), rtol=0, atol=1e-6)


def test_clip_grad_norm_scales_to_the_limit():
    grads = [torch.tensor([3.0, 0.0]), torch.tensor([4.0])]
    assert clip_grad_norm(grads, 1.0) == 5.0
    assert [g.tolist() for g in grads] == [pytest.approx([0.6, 0.0]), pytest.approx([0.8])]
    assert clip_grad_norm(grads, 10.0) == pytest.approx(1.0, abs=1e-6)  # under the limit: unchanged
    assert grads[1].tolist() == pytest.approx([0.8])


# --- weights and losses on hand-made data (the example of src/core/training/steps.test.ts) ---


def hand_dataset() -> PreferenceDataset:
    """One channel, a 2×2 latent, a 1×2 patch grid: each patch covers one latent column."""
    f = lambda *v, shape=(1, 2, 2): np.array(v, dtype=np.float32).reshape(shape)  # noqa: E731
    ref = Reference("r", f(1, 0, 0, 1), f(0.5, shape=(1, 1)), [0])
    gen = Sample(0, [3], f(0, 1, 1, 0), f(0.5, 1.5, shape=(1, 2)), f(0.25, -0.5, shape=(1, 2)))
    worse = Sample(0, [4], f(1, 1, 1, 1), f(0.1, 0.2, shape=(1, 2)), f(0.0, 0.0, shape=(1, 2)))
    return PreferenceDataset("hand", (1, 2), [ref], [gen, worse])


HAND_DRAW = StepDraw(sample=0, other=1, noise=np.array([1, -1, 0, 2], dtype=np.float32), timestep=0)
HAND_ALPHAS = np.array([0.64])  # √ᾱ = 0.8, √(1−ᾱ) = 0.6


def test_quality_weights_options():
    q = np.array([-0.5, 0.25, 0.5, 1.5], dtype=np.float32)
    assert quality_weights(q, WeightOptions()).tolist() == [0, 0.25, 0.5, 1]
    assert quality_weights(q, WeightOptions("minmax")).tolist() == [0, 0.375, 0.5, 1]
    assert quality_weights(q, WeightOptions("clamp", 0.5, 0)).tolist() == [0, 0, 1, 1]
    soft = quality_weights(q, WeightOptions("clamp", 0.5, 0.1))
    assert soft.tolist() == pytest.approx([1 / (1 + math.exp(5)), 1 / (1 + math.exp(2.5)), 0.5, 1 / (1 + math.exp(-5))])
    assert quality_weights(np.full(4, 0.3, np.float32), WeightOptions("minmax")).tolist() == [1, 1, 1, 1]


def test_patchdpo_batch_and_loss_by_hand():
    batch, objective = build_step(hand_dataset(), HAND_DRAW, LossOptions("patchdpo"), HAND_ALPHAS)
    assert objective == Objective("mse")
    zt = [0.8 + 0.6, -0.6, 0, 0.8 + 1.2, 0.6, 0.8 - 0.6, 0.8, 1.2]  # 0.8·z0 + 0.6·ε, reference first
    assert batch.latent.flatten().tolist() == pytest.approx(zt, abs=1e-6)
    assert batch.prompt_ids.tolist() == [[0], [3]]
    # Doubled weights: 2(1 − m_ref) on the reference, 2·m_gen on the generated image.
    assert batch.weight.flatten().tolist() == [1.5, 2, 1.5, 2, 1, 2, 1, 2]
    eps = torch.tensor([2, 0, 1, 3, 3, -1, 2, 2], dtype=torch.float32).reshape(2, 1, 2, 2)
    # Residuals r_ref = (1, 1, 1, 1), r_gen = (2, 0, 2, 0): L = (3.5 + 4) / 4 = 1.875.
    assert float(objective_loss(eps, batch, objective, None).loss) == pytest.approx(1.875)


def test_bounded_patchdpo_orders_winners_then_losers():
    batch, objective = build_step(hand_dataset(), HAND_DRAW, LossOptions("patchdpo-bounded", beta=10), HAND_ALPHAS)
    assert objective == Objective("dpo", 10)
    # w_gen = (0.5, 1) by column: s = 2w − 1 = (0, 1); w_ref = (0.25, 0) → 1 − w_ref = (0.75, 1).
    assert batch.weight.reshape(4, 4).tolist() == [[0, 1, 0, 1], [0.75, 1, 0.75, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert batch.prompt_ids.flatten().tolist() == [3, 0, 3, 0]


def test_dpo_by_quality_puts_the_better_sample_first():
    o = LossOptions("dpo", pairing="quality")
    first, _ = build_step(hand_dataset(), HAND_DRAW, o, HAND_ALPHAS)
    swapped, _ = build_step(hand_dataset(), StepDraw(1, 0, HAND_DRAW.noise, 0), o, HAND_ALPHAS)
    assert first.prompt_ids.flatten().tolist() == swapped.prompt_ids.flatten().tolist() == [3, 4]


def pair_dataset() -> PreferenceDataset:
    """steps.test.ts's two-subject example: references with tokens 0.5 and 0.25, one image placing B first."""
    f = lambda *v, shape=(1, 2, 2): np.array(v, dtype=np.float32).reshape(shape)  # noqa: E731
    a = Reference("a", f(1, 0, 0, 1), f(0.5, shape=(1, 1)), [0])
    b = Reference("b", f(0, 0, 1, 1), f(0.25, shape=(1, 1)), [0])
    m = lambda *v: f(*v, shape=(1, 2))  # noqa: E731
    gen = Sample(0, [3], f(0, 1, 1, 0), m(0.5, 1), m(0.25, 0), Second(1, True, m(1, 0.5)))
    return PreferenceDataset("pairs", (1, 2), [a, b], [gen])


def test_two_subject_steps_by_hand():
    ds = pair_dataset()
    draw = lambda part: StepDraw(0, None, HAND_DRAW.noise, 0, part)  # noqa: E731
    gen, objective = build_step(ds, draw("generated"), LossOptions("patchdpo"), HAND_ALPHAS)
    assert objective == Objective("mse")
    # Both references in the denoiser's order (B first), the generated weight doubled.
    assert gen.image_tokens.flatten().tolist() == [0.25, 0.5]
    assert gen.weight.flatten().tolist() == [1, 2, 1, 2]
    refs, _ = build_step(ds, draw("references"), LossOptions("patchdpo"), HAND_ALPHAS)
    # Each reference on its own token: 2·(1 − w_ref) per column, A (0.25, 0) → (1.5, 2), B (1, 0.5) → (0, 1).
    assert refs.image_tokens.flatten().tolist() == [0.5, 0.25]
    assert refs.weight.flatten().tolist() == [1.5, 2, 1.5, 2, 0, 1, 0, 1]
    bounded, objective = build_step(ds, draw("references"), LossOptions("patchdpo-bounded"), HAND_ALPHAS)
    assert objective.kind == "dpo" and bounded.image_tokens.flatten().tolist() == [0.5, 0.25, 0.5, 0.25]
    assert bounded.weight.flatten().tolist()[8:] == [0] * 8
    with pytest.raises(ValueError, match="by quality"):
        build_step(ds, draw("generated"), LossOptions("dpo"), HAND_ALPHAS)


def test_dpo_by_quality_conditions_each_image_on_its_own_reference_order():
    ds = pair_dataset()
    gen = ds.samples[0]
    better = Sample(0, [4], gen.latent, gen.m_gen + 1, gen.m_ref, Second(1, False, gen.second.m_ref))
    ds = PreferenceDataset("pairs", ds.grid, ds.references, [gen, better])
    batch, _ = build_step(ds, StepDraw(0, 1, HAND_DRAW.noise, 0, "generated"), LossOptions("dpo", pairing="quality"), HAND_ALPHAS)
    assert batch.image_tokens.flatten().tolist() == [0.5, 0.25, 0.25, 0.5]  # the winner (A first), then the loser


def test_dpo_loss_and_gradient_by_hand():
    target = torch.zeros(2, 1, 1, 2)
    batch = Batch(target, torch.zeros(2), torch.zeros(2, 1, dtype=torch.int64), torch.zeros(2, 1, 1), target, None)
    eps = torch.tensor([[1.0, 1.0], [2.0, 0.0]]).reshape(2, 1, 1, 2).requires_grad_(True)
    eps_ref = torch.tensor([[1.0, 0.0], [1.0, 1.0]]).reshape(2, 1, 1, 2)
    beta = 0.5
    out = objective_loss(eps, batch, Objective("dpo", beta), eps_ref)
    # e = (1, 2) trained, (0.5, 1) frozen: d = (1 − 0.5) − (2 − 1) = −0.5.
    d = -0.5
    assert float(out.loss) == pytest.approx(math.log1p(math.exp(beta * d)))
    assert out.margin == pytest.approx(0.5)
    assert out.item_errors.tolist() == [1, 2]
    (grad,) = torch.autograd.grad(out.loss, eps)
    de = beta / (1 + math.exp(-beta * d))  # ∂L/∂e_w = β·σ(β·d) = −∂L/∂e_l; ∂e/∂ε̂ = 2r/D
    assert grad.flatten().tolist() == pytest.approx([de, de, -2 * de, 0])


# --- the run configuration -------------------------------------------------------------------


def test_run_config_merges_over_the_studio_defaults():
    c = train_config({"pack": "tiny", "train": {"steps": 5, "loss": {"method": "dpo", "pairing": "quality"}}})
    assert (c.steps, c.lr, c.max_norm, c.monitor_every) == (5, 3e-5, 1.0, 5)
    assert (c.loss.method, c.loss.pairing, c.loss.beta, c.loss.weights) == ("dpo", "quality", 2500, WeightOptions())
    assert c.to_json()["loss"]["useReference"] is True
    assert train_config({"train": c.to_json()}) == c
    assert train_config({"train": {"keepCheckpoints": 3, "steps": 5}}).steps == 5  # the browser's storage setting
    with pytest.raises(ValueError, match="unknown key"):
        train_config({"train": {"learningRate": 1}})
    with pytest.raises(ValueError, match="replaces the defaults whole"):
        train_config({"train": {"loss": {"weights": {"normalize": "minmax"}}}})
    with pytest.raises(ValueError, match="loss.method"):
        train_config({"train": {"loss": {"method": "sft"}}})


# --- the dataset zip and the command ---------------------------------------------------------


def write_dataset_zip(path: Path, pack_id: str = "tiny", short_file: str | None = None, second: list | None = None) -> None:
    """Two references with two generated images each, in the studio's zip layout (docs/dataset-format.md).
    `second`: each sample's subject B ({"ref", "bFirst"}, with its m_ref_b.f32), or None for a one-subject sample."""
    rng = np.random.default_rng(0)
    f32 = lambda *shape: rng.standard_normal(shape).astype("<f4").tobytes()  # noqa: E731
    header = {
        "format": "patchdpo-dataset",
        "version": 1,
        "name": "pytest",
        "packId": pack_id,
        "shapes": {"latent": [4, 16, 16], "tokens": [64, 16], "grid": [8, 8]},
        "references": [{"id": f"r{i}", "promptIds": [0, 0, 0]} for i in range(2)],
        "samples": [{"ref": j // 2, "promptIds": [2 + j, 16, 26], "seed": j} for j in range(4)],
    }
    for j, b in enumerate(second or []):
        if b is not None:
            header["samples"][j]["second"] = b
    files = {"dataset.json": json.dumps(header).encode()}
    for i in range(2):
        files |= {f"references/{i}/latent.f32": f32(4, 16, 16), f"references/{i}/tokens.f32": f32(64, 16)}
    for j in range(4):
        files |= {f"samples/{j}/latent.f32": f32(4, 16, 16)}
        maps = ("m_gen", "m_ref", "m_ref_b") if second and second[j] is not None else ("m_gen", "m_ref")
        files |= {f"samples/{j}/{m}.f32": np.tanh(rng.standard_normal(64)).astype("<f4").tobytes() for m in maps}
    if short_file:
        files[short_file] = files[short_file][:-4]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    path.write_bytes(buf.getvalue())


def test_dataset_zip_is_read_and_checked(tmp_path):
    shapes = load_pack(PACKS / "tiny").shapes
    write_dataset_zip(tmp_path / "ds.zip")
    ds = read_dataset(tmp_path / "ds.zip", shapes)
    assert (len(ds.references), len(ds.samples), ds.samples[3].ref, ds.samples[0].m_gen.shape) == (2, 4, 1, (8, 8))
    write_dataset_zip(tmp_path / "other.zip", pack_id="emoji64")
    with pytest.raises(DatasetFormatError, match="built with pack 'emoji64'"):
        read_dataset(tmp_path / "other.zip", shapes)
    write_dataset_zip(tmp_path / "short.zip", short_file="samples/1/m_ref.f32")
    with pytest.raises(DatasetFormatError, match="samples/1/m_ref.f32 has 252 bytes"):
        read_dataset(tmp_path / "short.zip", shapes)


PAIRS = [{"ref": 1 - j // 2, "bFirst": j % 2 == 1} for j in range(4)]  # A/B of 0 and 1, B first in every other image


def test_two_subject_dataset_zip_is_read_and_checked(tmp_path):
    shapes = load_pack(PACKS / "tiny").shapes
    write_dataset_zip(tmp_path / "pairs.zip", second=PAIRS)
    ds = read_dataset(tmp_path / "pairs.zip", shapes)
    assert ds.two_subject and [s.references() for s in ds.samples] == [[0, 1], [1, 0], [1, 0], [0, 1]]
    assert ds.samples[2].second.m_ref.shape == (8, 8)
    bad = [
        ([*PAIRS[:3], None], "samples\\[3\\]: a dataset holds one- or two-subject samples, not both"),
        ([{"ref": 0, "bFirst": False}, *PAIRS[1:]], "subjects A and B are the same reference 0"),
        ([{"ref": 1, "bFirst": 1}, *PAIRS[1:]], "samples\\[0\\].second.bFirst must be true or false"),
        ([{"ref": 2, "bFirst": True}, *PAIRS[1:]], "samples\\[0\\].second.ref 2 is not a reference index"),
    ]
    for k, (second, message) in enumerate(bad):
        write_dataset_zip(tmp_path / f"bad{k}.zip", second=second)
        with pytest.raises(DatasetFormatError, match=message):
            read_dataset(tmp_path / f"bad{k}.zip", shapes)


def train_adapter(tmp_path: Path, train: dict, second: list | None = None) -> subprocess.CompletedProcess:
    write_dataset_zip(tmp_path / "ds.zip", second=second)
    (tmp_path / "run.json").write_text(json.dumps({"pack": "tiny", "train": train}))
    args = ["--dataset", tmp_path / "ds.zip", "--config", tmp_path / "run.json", "--out", tmp_path / "a.safetensors"]
    cmd = [sys.executable, "-m", "foundry", "train-adapter", *map(str, args), "--threads", "1"]
    return subprocess.run(cmd, cwd=FOUNDRY, capture_output=True, text=True)


def test_command_writes_the_adapter_and_log(tmp_path):
    done = train_adapter(tmp_path, {"steps": 3, "lr": 1e-3, "monitorEvery": 2, "loss": {"method": "dpo"}})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "out": str(tmp_path / "a.safetensors"),
        "backend": "torch-cpu",
        "steps": 3,
        "stopped": None,
    }
    pack = load_pack(PACKS / "tiny")
    adapter = safetensors_io.load(tmp_path / "a.safetensors")
    spec = pack.manifest["roles"]["denoiser"]["adapter"]["tensors"]
    assert [(n, list(a.shape)) for n, a in adapter.items()] == [(t["name"], t["shape"]) for t in spec]
    raw = (tmp_path / "a.safetensors").read_bytes()
    meta = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])["__metadata__"]
    assert (meta["pack"], meta["steps"], json.loads(meta["config"])["loss"]["method"]) == ("tiny", "3", "dpo")
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    monitored, plain = ["step", "loss", "lr", "ms", "gradNorm", "margin"], ["step", "loss", "lr", "ms"]
    assert [list(r) for r in log] == [monitored, plain, monitored]  # steps 0 and 2 are monitor steps
    assert log[0]["loss"] == pytest.approx(math.log(2))  # policy = frozen reference before the first step
    assert log[0]["margin"] == 0


def test_command_trains_two_subject_datasets_and_refuses_dpo_by_reference_on_them(tmp_path):
    done = train_adapter(tmp_path, {"steps": 2, "lr": 1e-3, "monitorEvery": 1, "loss": {"method": "patchdpo"}}, PAIRS)
    assert done.returncode == 0, done.stderr
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [(len(r["itemErrors"]), r["part"]) for r in log] == [(1, "generated"), (2, "references")]
    done = train_adapter(tmp_path, {"steps": 2, "loss": {"method": "dpo", "pairing": "reference"}}, PAIRS)
    assert done.returncode != 0 and "on a two-subject dataset pair by quality" in done.stderr


def test_command_stops_on_a_non_finite_loss_and_keeps_the_last_good_adapter(tmp_path):
    done = train_adapter(tmp_path, {"steps": 20, "lr": 1e30, "monitorEvery": 1, "checkpointEvery": 100})
    assert done.returncode == 1
    assert "NaN or infinite" in done.stderr and "restored the checkpoint of step 0" in done.stderr
    pack = load_pack(PACKS / "tiny")
    adapter = safetensors_io.load(tmp_path / "a.safetensors")
    assert all(np.array_equal(adapter[n], t.numpy()) for n, t in zip(pack.adapter_names, pack.base_adapter()))

