import numpy as np

from foundry import safetensors_io


def test_round_trip(tmp_path):
    tensors = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, -2], dtype=np.int64)}
    safetensors_io.save(tensors, tmp_path / "t.safetensors", {"k": "v"})
    raw = (tmp_path / "t.safetensors").read_bytes()
    assert (8 + int.from_bytes(raw[:8], "little")) % 8 == 0
    back = safetensors_io.load(tmp_path / "t.safetensors")
    assert all(np.array_equal(back[k], v) for k, v in tensors.items())
