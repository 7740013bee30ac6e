"""Write the Hugging Face replica folders (`python3 -m foundry hf-fixtures`) into tests/fixtures/hf/.

Each folder is laid out as the hub's transformers.js / Optimum folders are: config.json and
preprocessor_config.json (transformers' keys, written as transformers writes them: sorted keys,
indent 2), onnx/<file>.onnx, and model.safetensors (the PyTorch weights under transformers'
parameter names). Beside them, for the studio's tests, reference.safetensors and reference.json:
two committed gallery images through the folder's image processor (pixel_values/<i>) and every
ONNX output of the PyTorch module on them (<output>/<i>; for the reduced-precision files of
dinov2-registers, <file stem>/<output>/<i> from the module with the same weight changes).
Everything is deterministic: fixed seeds, fixed images, one thread."""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch
from PIL import Image

from .. import safetensors_io
from ..config import REPO
from . import onnx_variants
from .clip import CLIPVisionModelWithProjection, clip_text_config, clip_vision_config
from .common import INPUT, export, randomize
from .dinov2 import Dinov2Model, dinov2_config
from .preprocess import preprocess
from .siglip import SiglipVisionModel, siglip_vision_config
from .vit import ViTModel, vit_config

OUT = REPO / "tests" / "fixtures" / "hf"
IMAGES = ["public/models/emoji64/gallery/1f344.png", "public/models/emoji64/gallery/1f347.png"]  # mushroom, grapes (held-out gallery)
IMAGENET = {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
CLIP_NORM = {"image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]}
RESCALE = {"do_rescale": True, "rescale_factor": 0.00392156862745098}


def bit_processor(shortest_edge: int, crop: int) -> dict:
    return {
        "crop_size": {"height": crop, "width": crop}, "do_center_crop": True, "do_convert_rgb": True, "do_normalize": True,
        "do_resize": True, **RESCALE, **IMAGENET, "image_processor_type": "BitImageProcessor", "resample": 3,
        "size": {"shortest_edge": shortest_edge},
    }


def vit_processor(size: int) -> dict:
    return {
        "do_normalize": True, "do_resize": True, **RESCALE, **IMAGENET, "image_processor_type": "ViTImageProcessor",
        "resample": 2, "size": {"height": size, "width": size},
    }


def clip_processor(shortest_edge: int, crop: int) -> dict:
    return {
        "crop_size": {"height": crop, "width": crop}, "do_center_crop": True, "do_convert_rgb": True, "do_normalize": True,
        "do_resize": True, **RESCALE, **CLIP_NORM, "image_processor_type": "CLIPImageProcessor",
        "processor_class": "CLIPProcessor", "resample": 3, "size": {"shortest_edge": shortest_edge},
    }


def siglip_processor(size: int) -> dict:
    return {
        "do_normalize": True, "do_resize": True, **RESCALE, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor", "processor_class": "SiglipProcessor", "resample": 3,
        "size": {"height": size, "width": size},
    }


def clip_model_config(vision: dict, text: dict, projection_dim: int) -> dict:
    """A CLIPModel config.json (openai/clip-vit-base-patch32's keys): nested vision/text configs."""
    return {
        "architectures": ["CLIPModel"], "initializer_factor": 1.0, "logit_scale_init_value": 2.6592, "model_type": "clip",
        "projection_dim": projection_dim, "text_config": text, "torch_dtype": "float32",
        "vision_config": vision,
    }


@dataclass
class Replica:
    folder: str
    what: str
    config: dict  # config.json
    module_config: dict  # the config the module is built from (config.json or its vision_config)
    build: type
    processor: dict
    seed: int
    onnx_file: str = "model.onnx"
    dynamic_hw: bool = True
    variants: bool = False  # external data + model_fp16.onnx + model_quantized.onnx
    note: str = ""
    extra: dict = field(default_factory=dict)


def replicas() -> list[Replica]:
    clip_vision = clip_vision_config(32, 2, image_size=112, patch_size=16, projection_dim=24)
    clip_v = clip_vision_config(32, 2, image_size=128, patch_size=32, projection_dim=24)
    clip_full = clip_model_config(clip_v, clip_text_config(32, 2, 24), 24)
    return [
        Replica(
            "dinov2-registers", "Dinov2WithRegistersModel (facebook/dinov2-with-registers-* style)",
            dinov2_config(True, 48, 4), dinov2_config(True, 48, 4), Dinov2Model, bit_processor(128, 112), seed=11,
            dynamic_hw=False, variants=True,
            note="exported at the crop size (112 × 112, batch axis only dynamic): transformers resizes its position "
            "table with antialias=True, which has no opset-17 ONNX form; the table resized to 8 × 8 is an initializer",
        ),
        Replica(
            "dinov2", "Dinov2Model (facebook/dinov2-* style)", dinov2_config(False, 32, 2), dinov2_config(False, 32, 2),
            Dinov2Model, bit_processor(128, 112), seed=12,
            note="height and width dynamic: the 37 × 37 position table is resized in the graph (Resize, cubic, "
            "half_pixel, a = −0.75), as the traced transformers model does",
        ),
        Replica(
            "dino-vits16", "ViTModel with DINO v1 ViT-S/16's config keys (facebook/dino-vits16 style)",
            vit_config(48, 3, image_size=128), vit_config(48, 3, image_size=128), ViTModel, vit_processor(128), seed=13,
            note="axes named as Optimum names them, but runs at image_size only (no position interpolation), as the real export",
        ),
        Replica(
            "clip-vision", "CLIPVisionModelWithProjection (openai/clip-vit-base-patch16 vision tower style)",
            {"architectures": ["CLIPVisionModelWithProjection"], **clip_vision, "torch_dtype": "float32"}, clip_vision,
            CLIPVisionModelWithProjection, clip_processor(112, 112), seed=14,
            note="runs at image_size only (no position interpolation), as the real export",
        ),
        Replica(
            "clip", "CLIPModel folder (openai/clip-vit-base-patch32 style): only the vision tower + projection is exported",
            clip_full, clip_v, CLIPVisionModelWithProjection, clip_processor(128, 128), seed=15, onnx_file="vision_model.onnx",
            note="onnx/vision_model.onnx as transformers.js folders ship it (no text_model.onnx); runs at image_size only",
        ),
        Replica(
            "siglip-vision", "SiglipVisionModel (google/siglip-base-patch16-224 vision tower style)",
            siglip_vision_config(32, 2, image_size=96), siglip_vision_config(32, 2, image_size=96), SiglipVisionModel,
            siglip_processor(96), seed=16, note="runs at image_size only (no position interpolation), as the real export",
        ),
    ]


def _json(obj) -> str:
    """transformers' to_json_string: sorted keys, indent 2, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def _state(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items() if not k.endswith("frozen_position_embeddings")}


def _crop(proc: dict) -> tuple[int, int]:
    c = proc.get("crop_size") if proc.get("do_center_crop") else proc["size"]
    return c["height"], c["width"]


def _run(module, pixel_values: list[np.ndarray], names: list[str], prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    with torch.no_grad():
        for i, x in enumerate(pixel_values):
            for name, y in zip(names, module(torch.from_numpy(x))):
                out[f"{prefix}{name}/{i}"] = y.numpy().astype(np.float32)
    return out


def build_module(r: Replica) -> torch.nn.Module:
    torch.manual_seed(r.seed)
    module = r.build(r.module_config).eval()
    randomize(module, r.seed)
    return module


def write_replica(r: Replica, out: Path) -> dict:
    folder = out / r.folder
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "onnx").mkdir(parents=True)
    (folder / "config.json").write_text(_json(r.config))
    (folder / "preprocessor_config.json").write_text(_json(r.processor))
    module = build_module(r)
    safetensors_io.save(_state(module), folder / "model.safetensors", {"format": "pt"})

    pixel_values = [preprocess(Image.open(REPO / p), r.processor) for p in IMAGES]
    names = module.outputs
    tensors = {f"{INPUT}/{i}": x for i, x in enumerate(pixel_values)}
    tensors.update(_run(module, pixel_values, names))
    ins = {INPUT: [f"{INPUT}/{i}" for i in range(len(IMAGES))]}
    files = {f"onnx/{r.onnx_file}": {"inputs": ins, "outputs": {n: [f"{n}/{i}" for i in range(len(IMAGES))] for n in names}}}

    height, width = _crop(r.processor)
    if not r.dynamic_hw:
        module.embeddings.freeze(height, width)
    model = export(module, names, height, width, dynamic_hw=r.dynamic_hw)
    if r.variants:
        onnx.save_model(
            copy.deepcopy(model), str(folder / "onnx" / r.onnx_file), save_as_external_data=True, all_tensors_to_one_file=True,
            location=f"{r.onnx_file}_data", size_threshold=1024,
        )
        for stem, to_onnx, to_module in (
            ("model_fp16", onnx_variants.fp16_weights, onnx_variants.fp16_module),
            ("model_quantized", onnx_variants.int8_weights, onnx_variants.int8_module),
        ):
            onnx.save_model(to_onnx(model), folder / "onnx" / f"{stem}.onnx")
            changed = copy.deepcopy(module)
            to_module(changed)
            got = _run(changed, pixel_values, names, f"{stem}/")
            tensors.update(got)
            files[f"onnx/{stem}.onnx"] = {
                "inputs": ins,
                "outputs": {n: [f"{stem}/{n}/{i}" for i in range(len(IMAGES))] for n in names},
                "max_abs_diff_from_float32": {
                    n: float(f"{max(np.abs(got[f'{stem}/{n}/{i}'] - tensors[f'{n}/{i}']).max() for i in range(len(IMAGES))):.3g}") for n in names
                },
            }
    else:
        onnx.save_model(model, folder / "onnx" / r.onnx_file)

    safetensors_io.save(tensors, folder / "reference.safetensors", {"images": json.dumps(IMAGES)})
    reference = {
        "images": IMAGES,
        "replicates": r.what,
        "weights": "random (seed %d)" % r.seed,
        "input_size": [height, width],
        "dynamic_height_width": r.dynamic_hw,
        "note": r.note,
        "files": files,
    }
    (folder / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    return {"folder": r.folder, "files": sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())}


PREPROCESS_CASES = ["dinov2", "dino-vits16", "clip-vision"]  # BitImageProcessor, ViTImageProcessor, CLIPImageProcessor


def rgba_test_image() -> Image.Image:
    """A 91 × 60 RGBA picture that tells the RGBA rule apart from compositing or premultiplying:
    colours everywhere (also where alpha is 0), alpha 0 in the left third, a ramp, then 255; 91 / 60
    makes int() truncation and an odd crop margin show."""
    h, w = 60, 91
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 255) // (w - 1), (y * 255) // (h - 1), ((x + y) * 7) % 256], axis=-1)
    checker = ((x // 7 + y // 5) % 2).astype(bool)
    rgb[checker] = 255 - rgb[checker]
    alpha = np.clip((x - 30) * 255 // 30, 0, 255)
    return Image.fromarray(np.dstack([rgb, alpha]).astype(np.uint8), "RGBA")


def write_preprocess_fixture(out: Path, reps: list[Replica]) -> dict:
    """preprocess/: one non-square RGBA image through three folders' processors, with the
    intermediate resized uint8 image and the crop box, for the image-processor rules alone."""
    folder = out / "preprocess"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    image = rgba_test_image()
    image.save(folder / "rgba-91x60.png")
    image = Image.open(folder / "rgba-91x60.png")
    tensors, cases = {}, {}
    from .preprocess import center_crop_box, resize_output_size

    for r in reps:
        if r.folder not in PREPROCESS_CASES:
            continue
        p = r.processor
        # Without do_convert_rgb (ViTImageProcessor) transformers would fail on RGBA: the case
        # starts from the image converted to RGB by the caller (the same PIL convert).
        source = image if p.get("do_convert_rgb") else image.convert("RGB")
        h, w = resize_output_size(image.height, image.width, p["size"])
        resized = np.array(image.convert("RGB").resize((w, h), resample=p["resample"], reducing_gap=None))
        box = center_crop_box(h, w, p["crop_size"]) if p.get("do_center_crop") else (0, 0, h, w)
        tensors[f"resized/{r.folder}"] = resized
        tensors[f"pixel_values/{r.folder}"] = preprocess(source, p)
        cases[r.folder] = {
            "preprocessor_config": f"tests/fixtures/hf/{r.folder}/preprocessor_config.json",
            "input": "RGBA" if p.get("do_convert_rgb") else "RGB (converted first: no do_convert_rgb)",
            "resized_height_width": [h, w],
            "crop_top_left_bottom_right": list(box),
            "resized": f"resized/{r.folder}",
            "pixel_values": f"pixel_values/{r.folder}",
        }
    safetensors_io.save(tensors, folder / "reference.safetensors")
    reference = {
        "image": "tests/fixtures/hf/preprocess/rgba-91x60.png",
        "note": "RGBA → RGB drops alpha (PIL convert), resized uint8 HWC as PIL gives it, pixel_values float32 [1, 3, H, W]",
        "cases": cases,
    }
    (folder / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    return {"folder": "preprocess", "files": sorted(p.name for p in folder.iterdir())}


def write_hf_fixtures(out: Path = OUT) -> list[dict]:
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    reps = replicas()
    written = [write_replica(r, out) for r in reps]
    written.append(write_preprocess_fixture(out, reps))
    (out / "README.md").write_text(readme(out, reps))
    return written


_README = """# Hugging Face encoder replicas (random weights)

Written by `python3 -m foundry hf-fixtures` (run in `foundry/`, Debian's `/usr/bin/python3`;
code in `foundry/foundry/hf_replicas/`, test `foundry/tests/test_hf_replicas.py`). Deterministic:
fixed seeds and images, so a rerun rewrites every file byte for byte (same torch/onnx/PIL).

No hub is reachable from the build machines, so these folders stand in for Hugging Face /
transformers.js / Optimum model folders: the architecture (as transformers implements it, with
transformers' parameter names), the config.json and preprocessor_config.json keys, the ONNX
input/output names and dynamic axis names and the folder layout are the real ones; the widths are
small (hidden 32–48, 2 layers) and **the weights are random** (`randomize` in
`hf_replicas/common.py`: layer weights N(0, 1/fan-in), LayerScale gains uniform in [0.5, 1.5], …).
The features mean nothing; they are for checking loaders, preprocessing and ONNX execution.

## Folders

{table}

Every ONNX file has the input `pixel_values`, float32 `[batch_size, num_channels, height, width]`
(Optimum's axis names), opset 17, and passes `onnx.checker.check_model(full_check=True)`.
`last_hidden_state` is `[batch_size, sequence_length, hidden_size]`, `pooler_output`
`[batch_size, hidden_size]`, `image_embeds` `[batch_size, projection_dim]`.

{notes}

Files:

{sizes}

`model.safetensors` holds the PyTorch weights under transformers' names (metadata format "pt"),
so that where transformers is installed a folder loads into the class its config names
(`Dinov2Model.from_pretrained(folder)`, …) and can be compared with the references (`clip/`'s
holds the vision tower and `visual_projection` only; a CLIPModel would initialise its text tower).

## References

`<folder>/reference.safetensors` and `<folder>/reference.json`: the two committed images
{images} through the folder's image processor as `pixel_values/<i>`
(float32 `[1, 3, H, W]`), and every output of the PyTorch module on them as `<output>/<i>`
(float32, batch 1). `reference.json` `files` maps each ONNX file to the keys of its inputs and
outputs per image. For `dinov2-registers/onnx/model_fp16.onnx` and `model_quantized.onnx` the keys
are `model_fp16/<output>/<i>` and `model_quantized/<output>/<i>`: the module with the same weight
changes (fp16-rounded weights; int8 quantize-dequantized Linear weights), and
`max_abs_diff_from_float32` says how far those are from the float32 references. onnxruntime-web
(WASM) reproduces every reference within 2·10⁻⁵.

`preprocess/`: a non-square RGBA image (`rgba-91x60.png`, colours under alpha 0 too) through the
processors of dinov2, dino-vits16 and clip-vision: `resized/<folder>` (uint8 HWC, as PIL resizes
it), `crop_top_left_bottom_right` and `pixel_values/<folder>`. The ViT and SigLIP processors
have no `do_convert_rgb` (transformers would fail on an RGBA input): the dino-vits16 case starts
from the image converted to RGB (`"input"` in reference.json says which).

## Preprocessing implemented (transformers' PIL image processors)

{rules}

## What deviates from real exports

- Random weights and small widths (real checkpoints: hidden 384–1024, 12–24 layers).
- `dinov2-registers/onnx/model.onnx` is exported at 112 × 112 with only `batch_size` dynamic:
  transformers resizes that model's position table with `antialias=True`, which opset 17 cannot
  express; the resized 8 × 8 table is an initializer. The weights are in `model.onnx_data`
  (external data, `all_tensors_to_one_file`), as Optimum writes models over 2 GB.
- `model_fp16.onnx` stores the weights as float16 initializers each followed by a Cast to
  float32 and computes in float32 (real fp16 exports compute in float16, with float16 I/O in
  some exports). `model_quantized.onnx` is weight-only int8 (per output channel, symmetric,
  DequantizeLinear before each MatMul); the real transformers.js files quantize activations
  dynamically (MatMulInteger).
- opset 17 (LayerNormalization as one op); Optimum's default opsets are lower (LayerNorm
  decomposed). ONNX node and initializer names are torch 1.13's.
- `clip/` ships only `onnx/vision_model.onnx` (no text model, tokenizer or `model.onnx`).
- config.json has no `transformers_version` or `_name_or_path`.
"""


def _size(n: int) -> str:
    return f"{n} B" if n < 10_000 else f"{n / 1024:.0f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"


def readme(out: Path, reps: list[Replica]) -> str:
    rows = [
        "| folder | replicates | model_type | hidden / layers / heads | patch | config image_size | input H × W | height, width axes | sequence | ONNX files (outputs) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    notes, sizes = [], []
    for r in reps:
        folder = out / r.folder
        c = r.module_config
        seq = safetensors_io.load(folder / "reference.safetensors")["last_hidden_state/0"].shape[1]
        h, w = _crop(r.processor)
        onnx_files = ", ".join(f"`{p.name}`" for p in sorted((folder / "onnx").iterdir()))
        outs = ", ".join(f"`{n}`" for n in r.build.outputs)
        axes = "fixed" if not r.dynamic_hw else "dynamic" if r.config["model_type"] == "dinov2" else "named dynamic, runs at image_size only"
        rows.append(
            f"| `{r.folder}/` | {r.what} | `{r.config['model_type']}` | {c['hidden_size']} / {c['num_hidden_layers']} / "
            f"{c['num_attention_heads']} | {c['patch_size']} | {c['image_size']} | {h} × {w} | {axes} | {seq} | {onnx_files} ({outs}) |"
        )
        notes.append(f"- `{r.folder}/`: {r.note}.")
    for folder in [r.folder for r in reps] + ["preprocess"]:
        files = sorted(p for p in (out / folder).rglob("*") if p.is_file())
        total = sum(p.stat().st_size for p in files)
        listing = ", ".join(f"{p.relative_to(out / folder)} {_size(p.stat().st_size)}" for p in files)
        sizes.append(f"- `{folder}/` ({_size(total)}): {listing}")
    from . import preprocess as pp

    rules = pp.__doc__.split("\n\n", 1)[1].strip()
    images = " and ".join(f"`{p}`" for p in IMAGES)
    return _README.format(table="\n".join(rows), notes="\n".join(notes), sizes="\n".join(sizes), rules=rules, images=images)
