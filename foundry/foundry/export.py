"""Export a trained (or random, for the tiny pack) model set as a studio model pack.

Writes public/models/<id>/: one ONNX (opset 17) per role, safetensors of the denoiser and the
patch encoder, the subject gallery and manifest.json (schema: docs/manifest.md). The denoiser's
adapter tensors and ip_scale are required graph inputs, so a trained adapter is applied at run
time without re-export; their base values are in denoiser.safetensors under the same names.
(They are not initializer-backed optional inputs: onnxruntime-web only accepts feeds for the
inputs it lists, and it does not list initializer-backed ones.)"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import onnx
import torch
from PIL import Image

from . import safetensors_io
from .compat import onnx_export_kwargs
from .batches import reference_batch
from .config import IMAGE_SIZE, PACKS, REPO, TINY, FoundryConfig
from .scene import BACKGROUNDS, NULL_ID, PAIR_FIRST, PAIR_IDS, eval_pairs, eval_prompts, PAIR_LAYOUTS, POSITIONS, PROMPT_LENGTH, SIZES, SLOT_SPECS, VOCAB_SIZE, background_image
from .subjects import SpriteBank, split, validation_split
from .evaluator import build_evaluator
from .train import build_ae, build_denoiser, build_image_encoder, build_patch_encoder, load

OPSET = 17
SCHEMA_VERSION = 1
LICENSE = (
    "Networks: trained by the PatchDPO Studio foundry. Subject images: Microsoft Fluent Emoji 3D "
    "(MIT licence, (c) Microsoft Corporation) via the npm package @lobehub/fluent-emoji-3d (MIT)."
)
# Training-split references shipped for building preference datasets: this many of the fit
# subjects, then every validation subject (marked, for tuning recipes off the held-out list).
TRAIN_GALLERY = 304  # the stride of _chosen over 1,215 fit subjects gives ≥ 256 only from 304 (256 gives 243)


class _DenoiserGraph(torch.nn.Module):
    """The denoiser with ip_scale and the adapter tensors as explicit inputs."""

    def __init__(self, den):
        super().__init__()
        self.den = den

    def forward(self, latent, timestep, prompt_ids, image_tokens, ip_scale, *adapter):
        return self.den(latent, timestep, prompt_ids, image_tokens, ip_scale, list(adapter))


def export_denoiser(cfg: FoundryConfig, den, path: Path) -> tuple[list, list, dict]:
    """denoiser.onnx: ip_scale and the adapter tensors are inputs; with max_references > 1 the
    image tokens' count is dynamic too (`image_tokens`: 1 to max_references references' tokens).
    Returns the inputs, outputs and the adapter tensors (the base adapter)."""
    lat = cfg.denoiser
    B = "batch"
    L = [B, lat.latent_channels, lat.latent_size, lat.latent_size]
    multi = lat.max_references > 1
    adapter = {n: p.detach().numpy() for n, p in den.named_parameters() if n in den.adapter_names()}
    adapter = {n: adapter[n] for n in den.adapter_names()}
    inputs = [
        _io("latent", "float32", L),
        _io("timestep", "float32", [B]),
        _io("prompt_ids", "int64", [B, PROMPT_LENGTH]),
        _io("image_tokens", "float32", [B, "image_tokens" if multi else den.image_tokens, den.image_dim]),
        _io("ip_scale", "float32", [1]),
    ] + [_io(n, "float32", list(a.shape)) for n, a in adapter.items()]
    outputs = [_io("eps", "float32", L)]
    # Traced with two references when there can be two, so the ref_embed indexing is in the graph.
    args = example_inputs(cfg, den, references=lat.max_references) + (torch.ones(1),) + tuple(torch.from_numpy(a) for a in adapter.values())
    _export(
        _DenoiserGraph(den), args, path, inputs, outputs, ["latent", "timestep", "prompt_ids", "image_tokens"],
        {"image_tokens": {1: "image_tokens"}} if multi else None,
    )
    return inputs, outputs, adapter


def _io(name, dtype, shape):
    return {"name": name, "dtype": dtype, "shape": shape}


def _file_entry(path: Path) -> dict:
    data = path.read_bytes()
    return {"file": path.name if path.parent.name != "gallery" else f"gallery/{path.name}", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _export(module, args, path: Path, inputs, outputs, dynamic: list[str], extra_axes: dict | None = None):
    buf = io.BytesIO()
    axes = {n: {0: "batch"} for n in dynamic + [o["name"] for o in outputs]}
    for name, more in (extra_axes or {}).items():
        axes[name] = {**axes.get(name, {}), **more}
    torch.onnx.export(
        module.eval(),
        args,
        buf,
        opset_version=OPSET,
        input_names=[i["name"] for i in inputs],
        output_names=[o["name"] for o in outputs],
        dynamic_axes=axes,
        do_constant_folding=True,
        **onnx_export_kwargs(),
    )
    model = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(model)
    onnx.save(model, path)


def example_inputs(cfg: FoundryConfig, den, batch: int = 2, seed: int = 0, references: int = 1):
    g = torch.Generator().manual_seed(seed)
    lat = cfg.denoiser
    return (
        torch.randn(batch, lat.latent_channels, lat.latent_size, lat.latent_size, generator=g),
        torch.tensor([999.0, 321.0][:batch]),
        torch.randint(0, den.prompt_embed.num_embeddings, (batch, PROMPT_LENGTH), generator=g),
        torch.randn(batch, references * den.image_tokens, den.image_dim, generator=g),
    )


def write_pack(cfg: FoundryConfig, nets: dict, latent_scale: float, out: Path, meta: dict, gallery: tuple[int, int, int]) -> dict:
    """nets: ae, image_encoder, denoiser, patch_encoder (torch modules)."""
    if out.exists():
        shutil.rmtree(out)
    (out / "gallery").mkdir(parents=True)
    B = "batch"
    lat = cfg.denoiser
    L = [B, lat.latent_channels, lat.latent_size, lat.latent_size]
    img = [B, 3, IMAGE_SIZE, IMAGE_SIZE]
    ae, ie, den, pe = nets["ae"], nets["image_encoder"], nets["denoiser"], nets["patch_encoder"]
    x = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE)
    roles: dict[str, dict] = {}

    def role(name, module, args, inputs, outputs, dynamic, **extra):
        path = out / f"{name}.onnx"
        _export(module, args, path, inputs, outputs, dynamic)
        roles[name] = {**_file_entry(path), "inputs": inputs, "outputs": outputs, **extra}

    with torch.no_grad():
        role("vae_encoder", ae.encoder, (x,), [_io("image", "float32", img)], [_io("latent", "float32", L)], ["image"])
        role("vae_decoder", ae.decoder, (torch.randn(2, *L[1:]),), [_io("latent", "float32", L)], [_io("image", "float32", img)], ["latent"])
        ntok, dim = den.image_tokens, den.image_dim
        ie_weights = out / "image_encoder.safetensors"  # for the foundry's warm restarts (warmstart.py)
        safetensors_io.save({k: v.detach().numpy() for k, v in ie.state_dict().items()}, ie_weights)
        role(
            "image_encoder", ie, (x,), [_io("image", "float32", img)], [_io("image_tokens", "float32", [B, ntok, dim])], ["image"],
            weights=_file_entry(ie_weights), tokens=ntok, dim=dim,
            architecture={"type": "vae-latent-tokens", "patch": cfg.image_encoder.patch, "layers": cfg.image_encoder.layers, "heads": cfg.image_encoder.heads},
        )
        den_weights = out / "denoiser.safetensors"
        safetensors_io.save({k: v.detach().numpy() for k, v in den.state_dict().items()}, den_weights)
        den_inputs, den_outputs, adapter = export_denoiser(cfg, den, out / "denoiser.onnx")
        roles["denoiser"] = {
            **_file_entry(out / "denoiser.onnx"), "inputs": den_inputs, "outputs": den_outputs,
            "weights": _file_entry(den_weights),
            "architecture": {
                "type": "dit", "width": lat.width, "depth": lat.depth, "heads": lat.heads, "mlp_ratio": lat.mlp_ratio,
                "patch": lat.patch, "tokens": (lat.latent_size // lat.patch) ** 2, "prompt_vocab": den.prompt_embed.num_embeddings,
                "prompt_length": PROMPT_LENGTH, "image_tokens": ntok, "image_dim": dim, "freq_dim": lat.freq_dim,
                "activation": "gelu_tanh", "norm_eps": lat.norm_eps, "modulation": "adaLN-zero", "spatial_prompt": True,
                **({"max_references": lat.max_references} if lat.max_references > 1 else {}),
            },
            "adapter": {"tensors": [{"name": n, "shape": list(a.shape), "dtype": "float32"} for n, a in adapter.items()], "scale_input": "ip_scale"},
        }
        pc = pe.c
        grid = IMAGE_SIZE // pc.patch
        pe_weights = out / "patch_encoder.safetensors"
        safetensors_io.save({k: v.detach().numpy() for k, v in pe.state_dict().items()}, pe_weights)
        role(
            "patch_encoder", pe, (x,), [_io("image", "float32", img)], [_io("features", "float32", [B, grid, grid, pc.dim])], ["image"],
            weights=_file_entry(pe_weights), grid=[grid, grid], dim=pc.dim, skip_tokens=0, output_layout="BHWD",
            architecture={"type": "vit", "width": pc.width, "depth": pc.depth, "heads": pc.heads, "mlp_ratio": pc.mlp_ratio, "patch": pc.patch, "norm_eps": 1e-5},
        )

        torch.manual_seed(0)  # the network's own initialisation, from a fixed seed
        random_pe = build_patch_encoder(cfg).eval()
        (out / "evaluators").mkdir()
        path = out / "evaluators" / "patch_encoder_random.onnx"
        _export(random_pe, (x,), path, [_io("image", "float32", img)], [_io("features", "float32", [B, grid, grid, pc.dim])], ["image"])
        evaluators = {
            "patch_encoder_random": {
                **_file_entry(path), "file": "evaluators/patch_encoder_random.onnx",
                "description": "ablation only: the patch encoder's architecture with its initial random weights, never trained "
                "(its patch quality does not predict true local error)",
                "inputs": [_io("image", "float32", img)], "outputs": [_io("features", "float32", [B, grid, grid, pc.dim])],
                "grid": [grid, grid], "dim": pc.dim, "skip_tokens": 0, "output_layout": "BHWD",
            }
        }
        ev = nets["evaluator"]
        ec = ev.encoder.c
        path = out / "evaluators" / "independent.onnx"
        ev_out = [_io("features", "float32", [B, grid, grid, ec.dim]), _io("embedding", "float32", [B, ec.dim])]
        _export(ev, (x,), path, [_io("image", "float32", img)], ev_out, ["image"])
        evaluators["independent"] = {
            **_file_entry(path), "file": "evaluators/independent.onnx",
            "description": "the independent evaluator: a ViT subject-part classifier (foundry/foundry/evaluator.py), another "
            "objective and seed than the patch encoder, never a training signal; patch features for "
            "patch_quality_independent and a global embedding for global_sim_independent",
            "inputs": [_io("image", "float32", img)], "outputs": ev_out,
            "grid": [grid, grid], "dim": ec.dim, "skip_tokens": 0, "output_layout": "BHWD", "embedding_output": "embedding",
        }

    train, held = split()
    sc = cfg.scheduler
    manifest = {
        "schema": "patchdpo-pack",
        "schema_version": SCHEMA_VERSION,
        **meta,
        "license": LICENSE,
        "attribution": "Fluent Emoji 3D by Microsoft, MIT licence; packaged by LobeHub (@lobehub/fluent-emoji-3d).",
        "image": {"size": IMAGE_SIZE, "channels": 3, "layout": "NCHW", "range": [-1, 1], "background": [255, 255, 255]},
        "latent": {"channels": lat.latent_channels, "height": lat.latent_size, "width": lat.latent_size, "scale_factor": latent_scale},
        "scheduler": {
            "type": "ddpm", "num_train_timesteps": sc.num_train_timesteps, "beta_schedule": sc.beta_schedule,
            "beta_start": sc.beta_start, "beta_end": sc.beta_end, "prediction_type": "epsilon", "timestep_input": "float",
            "timestep_spacing": "trailing",
            "defaults": {"sampler": "ddim", "steps": 25, "eta": 0, "guidance_image": 3.0, "guidance_prompt": 2.0, "ip_scale": 1.0},
        },
        "prompt": {
            "length": PROMPT_LENGTH, "null_id": NULL_ID, "slots": SLOT_SPECS,
            # a denoiser grown for two references also takes the layouts, in the position slot
            **({"layouts": {"slot": "position", "values": [{"id": i, "text": n, "first": PAIR_FIRST[n]} for n, i in PAIR_IDS.items()]}} if lat.max_references > 1 else {}),
        },
        "roles": roles,
        "evaluators": evaluators,
        "gallery": {"heldout": _gallery(out, _chosen(held, gallery[0])), "train": _train_gallery(out, gallery[1], gallery[2])},
        "scenes": _scene_kit(out, _chosen(held, gallery[0]), validation_split()[1][: gallery[2]]),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _chosen(subjects, limit: int) -> list:
    return list(subjects[:: max(1, math.ceil(len(subjects) / limit))][:limit] if limit < len(subjects) else subjects)


def _gallery(out: Path, chosen, extra: dict | None = None) -> list[dict]:
    bank = SpriteBank(chosen)
    refs = reference_batch(bank, range(len(chosen)))
    entries = []
    for s, ref in zip(chosen, refs):
        path = out / "gallery" / f"{s.id}.png"
        Image.fromarray((ref * 255).round().astype(np.uint8)).save(path, optimize=True)
        entries.append({"id": s.id, "name": s.name, "category": s.category, "file": f"gallery/{s.id}.png", **(extra or {})})
    return entries


def _train_gallery(out: Path, fit_limit: int, validation_limit: int) -> list[dict]:
    """Training references; with validation_limit > 0 the fit subjects, then that many validation
    subjects marked `"validation": true`; otherwise the whole training split, unmarked."""
    if not validation_limit:
        return _gallery(out, _chosen(split()[0], fit_limit))
    fit, val = validation_split()
    return _gallery(out, _chosen(fit, fit_limit)) + _gallery(out, val[:validation_limit], {"validation": True})


def _scene_kit(out: Path, held, validation=()) -> dict:
    """What a studio needs to render EmojiBench ground truth exactly as foundry/scene.py does:
    the backgrounds as PNGs, positions, sizes, every held-out gallery subject's sprite at each size
    and then every validation subject's, so that recipes can be scored off the held-out list (one
    atlas per size, subjects in this order, row-major), and the foundry eval's prompts (held-out)."""
    prompts = [{"subject": held[i].id, "prompt": p.__dict__} for i, p in eval_prompts(len(held))]
    pairs = pair_kit([s.id for s in held])
    held = list(held) + list(validation)
    (out / "scenes").mkdir()
    backgrounds = {}
    for name in BACKGROUNDS:
        Image.fromarray((background_image(name) * 255).round().astype(np.uint8)).save(out / "scenes" / f"bg-{name}.png", optimize=True)
        backgrounds[name] = f"scenes/bg-{name}.png"
    bank = SpriteBank(held)
    columns = min(len(held), 14)
    rows = math.ceil(len(held) / columns)
    sprites = {}
    for size, px in SIZES.items():
        atlas = np.zeros((rows * px, columns * px, 4), np.uint8)
        for i in range(len(held)):
            r, c = divmod(i, columns)
            atlas[r * px : (r + 1) * px, c * px : (c + 1) * px] = (bank(i, px) * 255).round().astype(np.uint8)
        Image.fromarray(atlas, "RGBA").save(out / "scenes" / f"sprites-{px}.png", optimize=True)
        sprites[size] = {"file": f"scenes/sprites-{px}.png", "px": px, "columns": columns}
    return {
        "composite": "straight-alpha sprite over the background, top-left at (cx − ⌊px/2⌋, cy − ⌊px/2⌋), clipped to the image; float in [0,1]",
        "subjects": [s.id for s in held],
        "backgrounds": backgrounds,
        "positions": {k: list(v) for k, v in POSITIONS.items()},
        "sprites": sprites,
        "eval_prompts": prompts,
        "pairs": pairs,
    }


def pair_kit(held_ids: list[str]) -> dict:
    """The scene kit's two-subject part: each layout's two position names (A's, then B's) and the
    foundry eval's pairs of held-out subjects with their prompts (evaluate.eval_pairs)."""
    return {
        "layouts": {k: list(v) for k, v in PAIR_LAYOUTS.items()},
        "eval": [{"a": held_ids[a], "b": held_ids[b], "prompt": p.__dict__} for a, b, p in eval_pairs(len(held_ids))],
    }


def add_pair_kit(manifest_path: Path) -> None:
    """Writes `scenes.pairs` into a pack's manifest in place (packs exported before it existed);
    the kit's held-out subjects are the first len(gallery.heldout) of its subject list."""
    m = json.loads(manifest_path.read_text())
    held = m["scenes"]["subjects"][: len(m["gallery"]["heldout"])]
    m["scenes"]["pairs"] = pair_kit(held)
    manifest_path.write_text(json.dumps(m, indent=1) + "\n")


def trained_nets(cfg: FoundryConfig) -> tuple[dict, float]:
    """The trained networks (EMA weights for the denoiser and image encoder) and latent scale."""
    ae_ck, den_ck, pe_ck, ev_ck = load(cfg, "ae"), load(cfg, "denoiser"), load(cfg, "patch"), load(cfg, "evaluator")
    nets = build_nets(cfg)
    nets["evaluator"].load_state_dict(ev_ck["model"]["evaluator"])
    nets["ae"].load_state_dict(ae_ck["model"]["ae"])
    nets["denoiser"].load_state_dict(den_ck["ema"]["denoiser"])
    nets["image_encoder"].load_state_dict(den_ck["ema"]["image_encoder"])
    nets["patch_encoder"].load_state_dict(pe_ck["model"]["patch_encoder"])
    for m in nets.values():
        m.eval()
    return nets, ae_ck["latent_scale"]


def export_pack(cfg: FoundryConfig) -> None:
    nets, latent_scale = trained_nets(cfg)
    meta = {
        "id": "emoji64",
        "title": "EmojiBench-64",
        "description": "Personalized 64×64 scene generator for Fluent Emoji subjects, trained on CPU by the foundry "
        f"(config {cfg.name}); with a ViT patch encoder trained for patch correspondence.",
        "eval": "eval.json",
    }
    write_pack(cfg, nets, latent_scale, PACKS / "emoji64", meta, gallery=(10_000, TRAIN_GALLERY, 10_000))


def randomize(module: torch.nn.Module, seed: int) -> None:
    """Random weights with unit-ish activations everywhere (zero-initialised layers included),
    so a tiny pack's outputs exercise every path."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=g) * (0.5 / math.sqrt(fan_in) if p.dim() > 1 else 0.05))


def build_nets(cfg: FoundryConfig) -> dict:
    return {
        "ae": build_ae(cfg), "image_encoder": build_image_encoder(cfg), "denoiser": build_denoiser(cfg),
        "patch_encoder": build_patch_encoder(cfg), "evaluator": build_evaluator(cfg.evaluator),
    }


def tiny_nets(seed: int = 0, cfg: FoundryConfig = TINY) -> dict:
    nets = build_nets(cfg)
    for i, m in enumerate(nets.values()):
        randomize(m, seed * 10 + i)
        m.eval()
    nets["image_encoder"].attach_vae(nets["ae"].encoder, 1.0)
    return nets


def export_tiny() -> None:
    meta = {"id": "tiny", "title": "Tiny test pack (random weights)", "description": "Same interface as EmojiBench-64 with random weights, for fast tests."}
    write_pack(TINY, tiny_nets(), 1.0, PACKS / "tiny", meta, gallery=(4, 4, 0))
    print(f"wrote {PACKS / 'tiny'}")


