"""The run configuration of `npm run train` (scripts/train/headless.ts): a JSON object whose
`train` part is a partial TrainConfig of src/core/training/loop.ts, merged over its defaults
the same way (`loss` one level deep, `loss.weights` replaced whole). The other parts say how
to build a dataset, which this trainer is given ready-made."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from .losses import LossOptions
from .weights import WeightOptions

# camelCase keys of the studio's JSON → field names here.
_TRAIN_KEYS = {
    "loss": "loss",
    "steps": "steps",
    "batchSize": "batch_size",
    "lr": "lr",
    "weightDecay": "weight_decay",
    "maxNorm": "max_norm",
    "seed": "seed",
    "checkpointEvery": "checkpoint_every",
    "monitorEvery": "monitor_every",
    "ipScale": "ip_scale",
}
# Settings of the browser's run storage that mean nothing here: this trainer keeps one checkpoint file.
_STUDIO_ONLY = {"keepCheckpoints"}
_LOSS_KEYS = {"method": "method", "beta": "beta", "weights": "weights", "useReference": "use_reference", "pairing": "pairing"}
_WEIGHT_KEYS = {"normalize": "normalize", "threshold": "threshold", "temperature": "temperature"}
_HEADLESS_KEYS = {"pack", "subjects", "prompts", "seeds", "sampler", "train", "backend"}


@dataclass(frozen=True)
class TrainConfig:
    """DEFAULT_TRAIN_CONFIG of loop.ts."""

    loss: LossOptions = field(default_factory=LossOptions)
    steps: int = 200
    batch_size: int = 1  # draws per step; torchrun splits them across processes
    lr: float = 3e-5  # the official code's; small packs learn visibly only with larger
    weight_decay: float = 0.01
    max_norm: float = 1.0  # global gradient-norm clip; 0 disables
    seed: int = 0
    checkpoint_every: int = 10
    monitor_every: int = 5  # gradient norm and margin / item errors every this many steps
    ip_scale: float = 1.0

    def to_json(self) -> dict:
        """The config under the studio's key names (what the studio reads from adapter metadata)."""
        loss = _studio_keys(_LOSS_KEYS, self.loss) | {"weights": _studio_keys(_WEIGHT_KEYS, self.loss.weights)}
        return _studio_keys(_TRAIN_KEYS, self) | {"loss": loss}


def _studio_keys(keys: dict[str, str], obj) -> dict:
    return {k: getattr(obj, f) for k, f in keys.items()}


def _renamed(obj: dict, keys: dict[str, str], where: str) -> dict:
    # The studio ignores unknown keys; here they are refused, since a key this trainer does not
    # know is a setting it would silently not apply.
    unknown = sorted(set(obj) - set(keys))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return {keys[k]: v for k, v in obj.items()}


def train_config(run: dict) -> TrainConfig:
    """TrainConfig of a run configuration: `{...DEFAULT_TRAIN_CONFIG, ...train, loss: {...default.loss, ...train.loss}}`."""
    _renamed(run, {k: k for k in _HEADLESS_KEYS}, "run config")
    studio_train = {k: v for k, v in run.get("train", {}).items() if k not in _STUDIO_ONLY}
    train = _renamed(studio_train, _TRAIN_KEYS, "run config train")
    loss = _renamed(train.pop("loss", {}), _LOSS_KEYS, "run config train.loss")
    if "weights" in loss:
        weights = _renamed(loss["weights"], _WEIGHT_KEYS, "run config train.loss.weights")
        if len(weights) != len(_WEIGHT_KEYS):  # the studio would compute NaN weights
            raise ValueError(f"run config train.loss.weights replaces the defaults whole: give all of {', '.join(_WEIGHT_KEYS)}")
        loss["weights"] = WeightOptions(**weights)
    return dataclasses.replace(TrainConfig(), loss=LossOptions(**loss), **train)


def read_run_config(path: Path) -> tuple[dict, TrainConfig]:
    run = json.loads(Path(path).read_text())
    return run, train_config(run)
