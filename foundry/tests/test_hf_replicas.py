"""The Hugging Face replica folders (foundry/hf_replicas, tests/fixtures/hf): layout, configs, ONNX
I/O, external data and the reduced-precision files, determinism, the committed copy being current,
the preprocessing rules, and DINOv2's first layer, embeddings and position-table resize against
independent numpy computations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, numpy_helper
from PIL import Image

from foundry import safetensors_io
from foundry.hf_replicas import writer
from foundry.hf_replicas.preprocess import center_crop_box, preprocess, resize_output_size

COMMITTED = writer.OUT
FOLDERS = ["dinov2-registers", "dinov2", "dino-vits16", "clip-vision", "clip", "siglip-vision"]
ONNX = {
    "dinov2-registers": ["model.onnx", "model_fp16.onnx", "model_quantized.onnx"],
    "dinov2": ["model.onnx"],
    "dino-vits16": ["model.onnx"],
    "clip-vision": ["model.onnx"],
    "clip": ["vision_model.onnx"],
    "siglip-vision": ["model.onnx"],
}
OUTPUTS = {
    "dinov2-registers": ["last_hidden_state", "pooler_output"],
    "dinov2": ["last_hidden_state", "pooler_output"],
    "dino-vits16": ["last_hidden_state", "pooler_output"],
    "clip-vision": ["image_embeds", "last_hidden_state"],
    "clip": ["image_embeds", "last_hidden_state"],
    "siglip-vision": ["last_hidden_state", "pooler_output"],
}
MODEL_TYPE = {
    "dinov2-registers": ("dinov2_with_registers", "Dinov2WithRegistersModel"),
    "dinov2": ("dinov2", "Dinov2Model"),
    "dino-vits16": ("vit", "ViTModel"),
    "clip-vision": ("clip_vision_model", "CLIPVisionModelWithProjection"),
    "clip": ("clip", "CLIPModel"),
    "siglip-vision": ("siglip_vision_model", "SiglipVisionModel"),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hf")
    writer.write_hf_fixtures(out)
    return out


def _replica(folder: str) -> writer.Replica:
    return next(r for r in writer.replicas() if r.folder == folder)


def _dims(value) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_layout_and_determinism(written, tmp_path):
    writer.write_hf_fixtures(tmp_path)
    files = sorted(p.relative_to(written) for p in written.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for rel in files:
        assert (written / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel
    for folder in FOLDERS:
        names = {str(p.relative_to(written / folder)) for p in (written / folder).rglob("*") if p.is_file()}
        expected = {"config.json", "preprocessor_config.json", "model.safetensors", "reference.json", "reference.safetensors"}
        expected |= {f"onnx/{f}" for f in ONNX[folder]} | ({"onnx/model.onnx_data"} if folder == "dinov2-registers" else set())
        assert names == expected, folder
        assert sum((written / folder / n).stat().st_size for n in names) < 2.2e6, folder


def test_committed_copy_is_current(written):
    """The committed folders are what the writer writes: JSON exactly, tensors to float32 noise
    (ONNX bytes may differ between torch builds, so those are checked structurally elsewhere)."""
    for folder in FOLDERS + ["preprocess"]:
        for name in ["config.json", "preprocessor_config.json"]:
            if (written / folder / name).exists():
                assert (COMMITTED / folder / name).read_text() == (written / folder / name).read_text(), (folder, name)
        ours, theirs = (json.loads((d / folder / "reference.json").read_text()) for d in (written, COMMITTED))
        for a, b in zip(ours.get("files", {}).values(), theirs.get("files", {}).values()):
            # measured deviations of the fp16/int8 variants: float noise may differ between torch builds
            da, db = a.pop("max_abs_diff_from_float32", {}), b.pop("max_abs_diff_from_float32", {})
            assert da.keys() == db.keys() and all(abs(da[n] - db[n]) <= 0.05 * da[n] for n in da), folder
        assert ours == theirs, folder
        ours, theirs = safetensors_io.load(written / folder / "reference.safetensors"), safetensors_io.load(COMMITTED / folder / "reference.safetensors")
        assert ours.keys() == theirs.keys()
        for k in ours:
            assert ours[k].shape == theirs[k].shape and ours[k].dtype == theirs[k].dtype, k
            np.testing.assert_allclose(theirs[k].astype(np.float64), ours[k].astype(np.float64), atol=1e-5, err_msg=f"{folder}/{k}")


def test_configs(written):
    for folder in FOLDERS:
        cfg = json.loads((written / folder / "config.json").read_text())
        assert (cfg["model_type"], cfg["architectures"]) == (MODEL_TYPE[folder][0], [MODEL_TYPE[folder][1]])
        vision = cfg["vision_config"] if folder == "clip" else cfg
        for key in ["patch_size", "image_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "layer_norm_eps", "hidden_act", "num_channels"]:
            assert key in vision, (folder, key)
        assert 32 <= vision["hidden_size"] <= 48 and vision["num_hidden_layers"] == 2
        proc = json.loads((written / folder / "preprocessor_config.json").read_text())
        for key in ["image_processor_type", "do_resize", "size", "resample", "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std"]:
            assert key in proc, (folder, key)
    reg = json.loads((written / "dinov2-registers" / "config.json").read_text())
    assert reg["num_register_tokens"] == 4 and reg["image_size"] == 518 and reg["patch_size"] == 14 and reg["layerscale_value"] == 1.0
    assert reg["layer_norm_eps"] == 1e-6 and reg["hidden_act"] == "gelu"
    assert json.loads((written / "dino-vits16" / "config.json").read_text())["layer_norm_eps"] == 1e-12
    clip = json.loads((written / "clip" / "config.json").read_text())
    assert clip["vision_config"]["model_type"] == "clip_vision_model" and clip["text_config"]["model_type"] == "clip_text_model"
    assert clip["projection_dim"] == 24 and clip["vision_config"]["hidden_act"] == "quick_gelu"
    bit = json.loads((written / "dinov2" / "preprocessor_config.json").read_text())
    assert bit["image_processor_type"] == "BitImageProcessor" and bit["size"] == {"shortest_edge": 128} and bit["crop_size"] == {"height": 112, "width": 112}
    assert bit["resample"] == 3 and bit["do_convert_rgb"] is True and bit["rescale_factor"] == 1 / 255


def test_onnx_io(written):
    for folder in FOLDERS:
        cfg = _replica(folder).module_config
        ref = safetensors_io.load(written / folder / "reference.safetensors")
        for name in ONNX[folder]:
            model = onnx.load(str(written / folder / "onnx" / name))  # loads model.onnx_data too
            onnx.checker.check_model(model, full_check=True)
            assert model.opset_import[0].version == 17
            (inp,) = model.graph.input
            assert inp.name == "pixel_values" and inp.type.tensor_type.elem_type == TensorProto.FLOAT
            fixed = folder == "dinov2-registers"
            assert _dims(inp) == (["batch_size", 3, 112, 112] if fixed else ["batch_size", "num_channels", "height", "width"])
            assert [o.name for o in model.graph.output] == OUTPUTS[folder]
            for o in model.graph.output:
                want = list(ref[f"{o.name}/0"].shape)
                want[0] = "batch_size"
                if o.name == "last_hidden_state" and not fixed:
                    want[1] = "sequence_length"
                assert _dims(o) == want, (folder, name, o.name)
                assert o.type.tensor_type.elem_type == TensorProto.FLOAT
        ops = {n.op_type: n for n in onnx.load(str(written / folder / "onnx" / ONNX[folder][0]), load_external_data=False).graph.node}
        if folder == "dinov2":  # the position table is resized in the graph, to any input size
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in ops["Resize"].attribute}
            assert attrs["mode"] == b"cubic" and attrs["coordinate_transformation_mode"] == b"half_pixel" and attrs["cubic_coeff_a"] == -0.75
        else:
            assert "Resize" not in ops
        seq = ref["last_hidden_state/0"].shape[1]
        h = writer._crop(_replica(folder).processor)[0]
        grid = (h // cfg["patch_size"]) ** 2
        assert seq == grid + {"dinov2-registers": 5, "siglip-vision": 0}.get(folder, 1)
        assert ref["last_hidden_state/0"].shape[2] == cfg["hidden_size"]
        if "image_embeds" in OUTPUTS[folder]:
            assert ref["image_embeds/0"].shape == (1, cfg["projection_dim"])


def test_external_data_and_variants(written):
    onnx_dir = written / "dinov2-registers" / "onnx"
    assert (onnx_dir / "model.onnx").stat().st_size < 80_000
    assert (onnx_dir / "model.onnx_data").stat().st_size > 300_000
    bare = onnx.load(str(onnx_dir / "model.onnx"), load_external_data=False)
    external = [t for t in bare.graph.initializer if t.data_location == TensorProto.EXTERNAL]
    assert len(external) >= 12 and all({e.key: e.value for e in t.external_data}["location"] == "model.onnx_data" for t in external)
    full = onnx.load(str(onnx_dir / "model.onnx"))
    weights = {t.name: numpy_helper.to_array(t) for t in full.graph.initializer}
    assert sum(a.nbytes for a in weights.values()) > 0.95 * (onnx_dir / "model.onnx_data").stat().st_size

    fp16 = onnx.load(str(onnx_dir / "model_fp16.onnx"))
    assert not [t for t in fp16.graph.initializer if t.data_type == TensorProto.FLOAT]
    casts = {n.output[0]: n.input[0] for n in fp16.graph.node if n.op_type == "Cast" and n.input[0].endswith("_fp16")}
    halves = {t.name: numpy_helper.to_array(t) for t in fp16.graph.initializer if t.data_type == TensorProto.FLOAT16}
    assert set(casts) == {n for n, a in weights.items() if a.dtype == np.float32}
    for name, half in casts.items():
        np.testing.assert_array_equal(halves[half], weights[name].astype(np.float16))

    q = onnx.load(str(onnx_dir / "model_quantized.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
    dq = [n for n in q.graph.node if n.op_type == "DequantizeLinear"]
    assert len(dq) == 12  # 2 layers × (query, key, value, output dense, fc1, fc2)
    matmul_weights = {n.input[1] for n in q.graph.node if n.op_type == "MatMul"}
    for n in dq:
        qw, scale, zero = (inits[i] for i in n.input)
        assert qw.dtype == np.int8 and zero.dtype == np.int8 and not zero.any() and n.output[0] in matmul_weights
        np.testing.assert_allclose(qw.astype(np.float32) * scale, weights[n.output[0]], atol=float(scale.max()) / 2 + 1e-7)
    ref = json.loads((written / "dinov2-registers" / "reference.json").read_text())["files"]
    assert ref["onnx/model_fp16.onnx"]["max_abs_diff_from_float32"]["last_hidden_state"] < 0.02
    assert ref["onnx/model_quantized.onnx"]["max_abs_diff_from_float32"]["last_hidden_state"] < 0.2


def test_preprocessing_rules(written):
    assert resize_output_size(60, 91, {"shortest_edge": 112}) == (112, 169)  # int(169.87): truncation
    assert resize_output_size(91, 60, {"shortest_edge": 112}) == (169, 112)
    assert resize_output_size(60, 91, {"height": 96, "width": 96}) == (96, 96)
    assert center_crop_box(112, 169, {"height": 112, "width": 112}) == (0, 28, 112, 140)  # 57 // 2
    rgba = Image.open(written / "preprocess" / "rgba-91x60.png")
    assert rgba.mode == "RGBA" and rgba.size == (91, 60)
    a = np.array(rgba)
    assert (a[..., 3] == 0).any() and a[..., :3][a[..., 3] == 0].max() > 200  # colours under alpha 0
    np.testing.assert_array_equal(np.array(rgba.convert("RGB")), a[..., :3])  # PIL drops alpha, no compositing
    proc = json.loads((written / "dinov2" / "preprocessor_config.json").read_text())
    x = preprocess(rgba, proc)
    resized = np.array(Image.fromarray(a[..., :3]).resize((194, 128), Image.BICUBIC))[8:120, 41:153]
    mean, std = np.array(proc["image_mean"], np.float32), np.array(proc["image_std"], np.float32)
    want = ((resized.astype(np.float64) / 255).astype(np.float32) - mean) / std
    np.testing.assert_array_equal(x[0], want.transpose(2, 0, 1))
    pre = safetensors_io.load(written / "preprocess" / "reference.safetensors")
    np.testing.assert_array_equal(pre["pixel_values/dinov2"], x)
    ref = safetensors_io.load(written / "dinov2" / "reference.safetensors")
    for i, path in enumerate(writer.IMAGES):
        np.testing.assert_array_equal(ref[f"pixel_values/{i}"], preprocess(Image.open(writer.REPO / path), proc))


# --- independent numpy recomputation -------------------------------------------------------------


def _ln(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _attention(x, p, heads):
    def lin(name):
        return x @ p[f"{name}.weight"].T + p[f"{name}.bias"]

    q, k, v = lin("attention.attention.query"), lin("attention.attention.key"), lin("attention.attention.value")
    s, d = x.shape
    hd = d // heads
    out = np.zeros_like(x)
    for h in range(heads):
        sl = slice(h * hd, (h + 1) * hd)
        scores = q[:, sl] @ k[:, sl].T / math.sqrt(hd)
        w = np.exp(scores - scores.max(-1, keepdims=True))
        out[:, sl] = (w / w.sum(-1, keepdims=True)) @ v[:, sl]
    return out @ p["attention.output.dense.weight"].T + p["attention.output.dense.bias"]


def _dinov2_layer(x, p, heads, eps):
    x = x + p["layer_scale1.lambda1"] * _attention(_ln(x, p["norm1.weight"], p["norm1.bias"], eps), p, heads)
    h = _ln(x, p["norm2.weight"], p["norm2.bias"], eps)
    h = _gelu(h @ p["mlp.fc1.weight"].T + p["mlp.fc1.bias"]) @ p["mlp.fc2.weight"].T + p["mlp.fc2.bias"]
    return x + p["layer_scale2.lambda1"] * h


def _cubic_matrix(n_in: int, n_out: int, a: float = -0.75) -> np.ndarray:
    """Bicubic resize along one axis (align_corners False: half-pixel centres, edge samples clamped)."""
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        src = (o + 0.5) * n_in / n_out - 0.5
        base = math.floor(src)
        t = src - base
        for j in range(-1, 3):
            d = abs(t - j)
            w = ((a + 2) * d - (a + 3)) * d * d + 1 if d <= 1 else ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
            m[o, min(max(base + j, 0), n_in - 1)] += w
    return m


def test_dinov2_matches_numpy():
    for folder in ["dinov2-registers", "dinov2"]:
        r = _replica(folder)
        c = r.module_config
        module = writer.build_module(r)
        state = {k: v.double().numpy() for k, v in module.state_dict().items()}
        pixel_values = preprocess(Image.open(writer.REPO / writer.IMAGES[0]), r.processor)
        x = torch.from_numpy(pixel_values)
        d, ps, eps = c["hidden_size"], c["patch_size"], c["layer_norm_eps"]
        g = x.shape[-1] // ps
        registers = c.get("num_register_tokens", 0)

        # patch embedding as a matrix product over 14 × 14 × 3 patches
        img = pixel_values[0].astype(np.float64)
        patches = img.reshape(3, g, ps, g, ps).transpose(1, 3, 0, 2, 4).reshape(g * g, -1)
        w = state["embeddings.patch_embeddings.projection.weight"].reshape(d, -1)
        tokens = patches @ w.T + state["embeddings.patch_embeddings.projection.bias"]
        # position table: CLS kept, the 37 × 37 patch part resized to g × g
        table = state["embeddings.position_embeddings"][0]
        side = int(math.sqrt(table.shape[0] - 1))
        with torch.no_grad():
            pos = module.embeddings.interpolate_pos_encoding(g * g, x.shape[-2], x.shape[-1])[0].double().numpy()
        np.testing.assert_array_equal(pos[0], table[0])
        if folder == "dinov2":  # plain bicubic; the registers model's antialiased resize is torch's own
            m = _cubic_matrix(side, g)
            grid = np.einsum("oi,ijd,pj->opd", m, table[1:].reshape(side, side, d), m)
            np.testing.assert_allclose(pos[1:], grid.reshape(g * g, d), atol=1e-5)
        seq = np.concatenate([state["embeddings.cls_token"][0], tokens]) + pos
        if registers:
            seq = np.concatenate([seq[:1], state["embeddings.register_tokens"][0], seq[1:]])
        with torch.no_grad():
            emb = module.embeddings(x)[0].double().numpy()
            first = module.encoder.layer[0](module.embeddings(x))[0].double().numpy()
            last, pooled = module(x)
        assert emb.shape == (1 + registers + g * g, d)
        np.testing.assert_allclose(emb, seq, atol=1e-4)
        layer0 = {k[len("encoder.layer.0.") :]: v for k, v in state.items() if k.startswith("encoder.layer.0.")}
        np.testing.assert_allclose(first, _dinov2_layer(emb, layer0, c["num_attention_heads"], eps), atol=1e-4)
        assert np.abs(first - emb).max() > 0.1  # the layer does something
        h = first
        for i in range(1, c["num_hidden_layers"]):
            h = _dinov2_layer(h, {k[len(f"encoder.layer.{i}.") :]: v for k, v in state.items() if k.startswith(f"encoder.layer.{i}.")}, c["num_attention_heads"], eps)
        h = _ln(h, state["layernorm.weight"], state["layernorm.bias"], eps)
        np.testing.assert_allclose(last[0].double().numpy(), h, atol=2e-4)
        np.testing.assert_array_equal(pooled.numpy(), last[:, 0].numpy())
        ref = safetensors_io.load(COMMITTED / folder / "reference.safetensors")
        np.testing.assert_allclose(ref["last_hidden_state/0"][0], h, atol=2e-4)


def test_heads_match_numpy():
    """The pooled outputs' definitions: ViT tanh(dense(CLS)), CLIP projection of the post-normed CLS
    of a last_hidden_state that is not post-normed."""
    for folder in ["dino-vits16", "clip-vision", "clip"]:
        r = _replica(folder)
        state = {k: v.double().numpy() for k, v in writer.build_module(r).state_dict().items()}
        ref = safetensors_io.load(COMMITTED / folder / "reference.safetensors")
        cls = ref["last_hidden_state/0"][0, 0].astype(np.float64)
        if folder == "dino-vits16":
            want = np.tanh(state["pooler.dense.weight"] @ cls + state["pooler.dense.bias"])
            np.testing.assert_allclose(ref["pooler_output/0"][0], want, atol=1e-5)
        else:
            pooled = _ln(cls, state["vision_model.post_layernorm.weight"], state["vision_model.post_layernorm.bias"], 1e-5)
            np.testing.assert_allclose(ref["image_embeds/0"][0], state["visual_projection.weight"] @ pooled, atol=1e-4)
