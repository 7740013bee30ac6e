"""The PyTorch adapter trainer data-parallel under real torchrun (two gloo processes on CPU)
against one process over the same global batch, and resuming from its checkpoint file. A run over
a different global batch must differ, so the comparison is shown to tell runs apart."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_adapter_train import FOUNDRY, PAIRS, write_dataset_zip

from foundry import safetensors_io

TOLERANCE = 1e-4  # as tests/adapter-trainer-parity.test.ts: relative to the largest adapter value
BASE = {"steps": 12, "lr": 1e-3, "seed": 3, "monitorEvery": 4, "checkpointEvery": 4, "batchSize": 4}
# Debian's torch 1.13 on Python 3.11 cannot parse torchrun's default "0" for these two flags
# (IntFlag no longer iterates its zero member); "2" (stderr) is accepted everywhere.
TORCHRUN = ["torchrun", "--nproc_per_node", "2", "--redirects", "2", "--tee", "2", "-m", "foundry"]


def run(tmp_path: Path, label: str, train: dict, processes: int = 1, extra: tuple = ()) -> subprocess.CompletedProcess:
    if not (tmp_path / "ds.zip").exists():
        write_dataset_zip(tmp_path / "ds.zip")
    config = tmp_path / f"{label}.json"
    config.write_text(json.dumps({"pack": "tiny", "train": BASE | train}))
    args = ["train-adapter", "--dataset", tmp_path / "ds.zip", "--config", config, "--out", tmp_path / f"{label}.safetensors"]
    args += ["--log", tmp_path / f"{label}.jsonl", "--threads", "1", *extra]
    launcher = TORCHRUN if processes == 2 else [sys.executable, "-m", "foundry"]
    done = subprocess.run([*launcher, *map(str, args)], cwd=FOUNDRY, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def adapter(tmp_path: Path, label: str) -> dict[str, np.ndarray]:
    return safetensors_io.load(tmp_path / f"{label}.safetensors")


def log(tmp_path: Path, label: str) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / f"{label}.jsonl").read_text().splitlines()]


def error(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    return max(float(np.abs(a[n] - b[n]).max() / np.abs(b[n]).max()) for n in b)


LOSSES = [
    {"method": "patchdpo"},
    {"method": "patchdpo-bounded", "weights": {"normalize": "minmax", "threshold": 0.5, "temperature": 0.1}},
    {"method": "dpo", "pairing": "quality", "beta": 500},
    {"method": "mse"},
]


@pytest.mark.parametrize("loss", LOSSES, ids=lambda x: x["method"])
def test_two_processes_give_the_one_process_adapter_and_log(tmp_path, loss):
    one = run(tmp_path, "one", {"loss": loss})
    two = run(tmp_path, "two", {"loss": loss}, processes=2)
    assert json.loads(two.stdout.splitlines()[-1])["backend"] == "torch-cpu-ddp2"
    assert json.loads(one.stdout.splitlines()[-1])["backend"] == "torch-cpu"
    assert error(adapter(tmp_path, "two"), adapter(tmp_path, "one")) <= TOLERANCE
    a, b = log(tmp_path, "one"), log(tmp_path, "two")
    assert [sorted(r) for r in a] == [sorted(r) for r in b]
    for r, s in zip(a, b):
        assert s["loss"] == pytest.approx(r["loss"], rel=1e-3)
        if "gradNorm" in r:
            assert s["gradNorm"] == pytest.approx(r["gradNorm"], rel=1e-3)
        if "itemErrors" in r:  # gathered from both processes in the global batch's order
            assert s["itemErrors"] == pytest.approx(r["itemErrors"], rel=1e-5)


def test_two_processes_on_a_two_subject_dataset(tmp_path):
    write_dataset_zip(tmp_path / "ds.zip", second=PAIRS)
    loss = {"method": "patchdpo-bounded"}
    run(tmp_path, "one", {"loss": loss})
    run(tmp_path, "two", {"loss": loss}, processes=2)
    assert error(adapter(tmp_path, "two"), adapter(tmp_path, "one")) <= TOLERANCE


def test_a_different_global_batch_breaks_the_agreement(tmp_path):
    run(tmp_path, "one", {"loss": {"method": "patchdpo"}})
    run(tmp_path, "two", {"loss": {"method": "patchdpo"}, "batchSize": 2}, processes=2)
    assert error(adapter(tmp_path, "two"), adapter(tmp_path, "one")) > 10 * TOLERANCE


def test_a_batch_that_does_not_split_over_the_processes_is_refused(tmp_path):
    write_dataset_zip(tmp_path / "ds.zip")
    (tmp_path / "odd.json").write_text(json.dumps({"pack": "tiny", "train": BASE | {"batchSize": 3}}))
    args = ["train-adapter", "--dataset", tmp_path / "ds.zip", "--config", tmp_path / "odd.json", "--out", tmp_path / "o.safetensors"]
    done = subprocess.run([*TORCHRUN, *map(str, args), "--threads", "1"], cwd=FOUNDRY, capture_output=True, text=True)
    assert done.returncode != 0
    assert "batchSize 3 does not split evenly over 2 processes" in done.stderr


def test_resuming_from_the_checkpoint_continues_the_same_run(tmp_path):
    whole = {"loss": {"method": "dpo"}}
    run(tmp_path, "whole", whole)
    checkpoint = ("--checkpoint", tmp_path / "part.ckpt.safetensors", "--resume")
    run(tmp_path, "part", whole | {"steps": 8}, processes=2, extra=checkpoint)  # stops at step 8's checkpoint
    run(tmp_path, "part", whole, extra=checkpoint)  # one process continues to step 12
    assert error(adapter(tmp_path, "part"), adapter(tmp_path, "whole")) <= TOLERANCE
    assert [r["step"] for r in log(tmp_path, "part")] == list(range(1, 13))
    config = tmp_path / "part.json"
    config.write_text(json.dumps({"pack": "tiny", "train": BASE | whole | {"lr": 2e-3}}))
    args = ["train-adapter", "--dataset", tmp_path / "ds.zip", "--config", config, "--out", tmp_path / "part.safetensors"]
    done = subprocess.run([sys.executable, "-m", "foundry", *map(str, [*args, *checkpoint])], cwd=FOUNDRY, capture_output=True, text=True)
    assert done.returncode != 0 and "written by a run with other settings" in done.stderr
