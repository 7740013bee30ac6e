"""Golden fixtures for the studio's tests, written to tests/fixtures/ as safetensors.

- engine-tiny: the tiny pack's denoiser (weights = public/models/tiny/denoiser.safetensors) on
  fixed inputs: output ε, and for the loss L = Σ w ⊙ (ε − target)² / N the gradients with
  respect to every adapter tensor and to the float inputs. The WGSL engine must match them.
- engine-tiny-pair: the same on two references' concatenated image tokens (the tiny pack's
  denoiser takes up to two, told apart by ref_embed).
- vit-tiny: the tiny pack's patch encoder (weights = public/models/tiny/patch_encoder.safetensors)
  on fixed images: its features, and for L = Σ w ⊙ features / N the gradients with respect to
  every parameter. The studio's ViT engine must match them.
- ort-<pack>: each role's ONNX inputs and PyTorch outputs (batch 2), plus a denoiser call with
  overridden adapter tensors and ip_scale, and one on two references' tokens where the denoiser
  takes two: onnxruntime must agree with PyTorch.
- estimator-emoji64: held-out samples of the trained pack with their ground-truth scenes and
  references (uint8 NHWC): for measuring how well patch quality predicts true local error (against
  the pack's evaluators/patch_encoder_random.onnx as the random-weight baseline).
- scenes-pairs-emoji64: the first eval pairs' two-subject ground truth (uint8 NHWC) and each
  subject's visible coverage (uint8, 255 = covered): the TypeScript renderer must reproduce them.
- sampler-<pack>: full DDIM and Euler runs from fixed initial noise (reference → image tokens →
  sampler with guidance → decoder): the TypeScript sampler must reproduce them.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from . import safetensors_io
from .batches import reference_batch, to_model
from .config import CPU, REPO, TINY, FoundryConfig
from .export import example_inputs, tiny_nets, trained_nets
from .scene import PairPrompt, Prompt, render, render_pair, subject_alpha
from .schedule import ddim_sample, euler_sample
from .subjects import SpriteBank, split

FIXTURES = REPO / "tests" / "fixtures"


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def engine_fixture(nets: dict, cfg: FoundryConfig, references: int = 1) -> dict[str, np.ndarray]:
    den = nets["denoiser"]
    latent, timestep, ids, tokens = example_inputs(cfg, den, seed=1, references=references)
    latent.requires_grad_(True)
    tokens.requires_grad_(True)
    ip_scale = torch.tensor([0.8])
    g = torch.Generator().manual_seed(2)
    target = torch.randn(latent.shape, generator=g)
    weight = torch.rand(latent.shape, generator=g)
    adapter = [p for n, p in den.named_parameters() if n in den.adapter_names()]
    eps = den(latent, timestep, ids, tokens, ip_scale)
    loss = (weight * (eps - target) ** 2).mean()
    grads = torch.autograd.grad(loss, adapter + [latent, tokens])
    out = {
        "input.latent": _np(latent), "input.timestep": _np(timestep), "input.prompt_ids": _np(ids),
        "input.image_tokens": _np(tokens), "input.ip_scale": _np(ip_scale),
        "output.eps": _np(eps), "loss.target": _np(target), "loss.weight": _np(weight), "loss.value": _np(loss.reshape(1)),
        "grad.input.latent": _np(grads[-2]), "grad.input.image_tokens": _np(grads[-1]),
    }
    for name, gr in zip(den.adapter_names(), grads):
        out[f"grad.{name}"] = _np(gr)
    return out


def vit_fixture(nets: dict, seed: int = 3) -> dict[str, np.ndarray]:
    enc = nets["patch_encoder"]
    g = torch.Generator().manual_seed(seed)
    images = torch.rand((2, 3, 64, 64), generator=g) * 2 - 1
    features = enc(images)
    weight = torch.randn(features.shape, generator=g)
    loss = (weight * features).mean()
    names = [n for n, _ in enc.named_parameters()]
    grads = torch.autograd.grad(loss, list(enc.parameters()))
    out = {
        "input.images": _np(images), "output.features": _np(features),
        "loss.weight": _np(weight), "loss.value": _np(loss.reshape(1)),
    }
    for name, gr in zip(names, grads):
        out[f"grad.{name}"] = _np(gr)
    return out


@torch.no_grad()
def ort_fixture(nets: dict, cfg: FoundryConfig) -> dict[str, np.ndarray]:
    g = torch.Generator().manual_seed(3)
    img = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1
    den = nets["denoiser"]
    lat = nets["ae"].encoder(img)
    latent, timestep, ids, tokens = example_inputs(cfg, den, seed=4)
    out = {
        "vae_encoder.image": img, "vae_encoder.latent": lat,
        "vae_decoder.latent": lat, "vae_decoder.image": nets["ae"].decoder(lat),
        "image_encoder.image": img, "image_encoder.image_tokens": nets["image_encoder"](img),
        "patch_encoder.image": img, "patch_encoder.features": nets["patch_encoder"](img),
        "denoiser.latent": latent, "denoiser.timestep": timestep, "denoiser.prompt_ids": ids, "denoiser.image_tokens": tokens,
        "denoiser.eps": den(latent, timestep, ids, tokens),
    }
    # Same inputs with overridden adapter tensors and ip_scale.
    adapter = [p * 1.5 + 0.01 for n, p in den.named_parameters() if n in den.adapter_names()]
    out["denoiser_override.ip_scale"] = torch.tensor([0.5])
    for name, a in zip(den.adapter_names(), adapter):
        out[f"denoiser_override.{name}"] = a
    out["denoiser_override.eps"] = den(latent, timestep, ids, tokens, torch.tensor([0.5]), adapter)
    if cfg.denoiser.max_references > 1:  # the same call on two references' tokens
        out["denoiser_pair.image_tokens"] = example_inputs(cfg, den, seed=5, references=2)[3]
        out["denoiser_pair.eps"] = den(latent, timestep, ids, out["denoiser_pair.image_tokens"])
    return {k: _np(v) for k, v in out.items()}


@torch.no_grad()
def sampler_fixture(nets: dict, cfg: FoundryConfig, latent_scale: float, steps: int) -> tuple[dict[str, np.ndarray], dict]:
    _, held = split()
    bank = SpriteBank(held[:2])
    ref = to_model(reference_batch(bank, [0, 1]))
    prompts = [Prompt("blue", "left", "large"), Prompt("checker", None, "medium")]
    ids = torch.tensor([p.ids() for p in prompts])
    noise = torch.randn(2, 4, 16, 16, generator=torch.Generator().manual_seed(5))
    tokens = nets["image_encoder"](ref)
    settings = {"steps": steps, "guidance_image": 3.0, "guidance_prompt": 2.0, "ip_scale": 1.0, "sampler": "ddim", "eta": 0}
    z = ddim_sample(nets["denoiser"], cfg.scheduler, noise, ids, tokens, steps, settings["guidance_image"], settings["guidance_prompt"], torch.ones(1))
    image = nets["ae"].decoder(z / latent_scale)
    z_euler = euler_sample(nets["denoiser"], cfg.scheduler, noise, ids, tokens, steps, settings["guidance_image"], settings["guidance_prompt"], torch.ones(1))
    arrays = {"reference": ref, "prompt_ids": ids, "noise": noise, "image_tokens": tokens, "latent": z, "image": image, "latent_euler": z_euler}
    meta = {"settings": json.dumps(settings), "subjects": json.dumps([s.id for s in held[:2]]), "prompts": json.dumps([p.text() for p in prompts])}
    if cfg.denoiser.max_references > 1:
        # Two subjects (0 as A, 1 as B) under two layouts: the references in the denoiser's order.
        pairs = [PairPrompt("blue", "A right, B left", "medium"), PairPrompt("checker", "A top, B bottom", "small")]
        pair_tokens = torch.stack([torch.cat([tokens[k] for k in p.reference_order()]) for p in pairs])
        pair_ids = torch.tensor([p.ids() for p in pairs])
        arrays |= {
            "prompt_ids_pair": pair_ids,
            "image_tokens_pair": pair_tokens,
            "latent_pair": ddim_sample(nets["denoiser"], cfg.scheduler, noise, pair_ids, pair_tokens, steps, settings["guidance_image"], settings["guidance_prompt"], torch.ones(1)),
        }
        meta["pair_prompts"] = json.dumps([p.__dict__ for p in pairs])
    return {k: _np(v) for k, v in arrays.items()}, meta


def estimator_fixture(nets: dict, cfg: FoundryConfig, latent_scale: float, subjects: int = 32) -> dict[str, np.ndarray]:
    from .evaluate import eval_prompts, generate

    _, held = split()
    bank = SpriteBank(held)
    items = [it for it in eval_prompts(len(bank)) if it[0] < subjects]
    samples = generate(nets, latent_scale, cfg, bank, items)
    rendered = [render(bank, s, p) for s, p in items]
    gt = np.stack([img for img, _ in rendered])
    # 1 where the ground truth's 8×8 block is mostly subject: the estimator's subject-only reading
    cover = np.stack([subject_alpha(bank, s, lay) for (s, _), (_, lay) in zip(items, rendered)])
    mask = cover.reshape(len(items), 8, 8, 8, 8).mean(axis=(2, 4)) > 0.5
    refs = reference_batch(bank, [s for s, _ in items])
    u8 = lambda a: (np.clip(a, 0, 1) * 255).round().astype(np.uint8)  # noqa: E731
    return {
        "generated": u8(samples), "ground_truth": u8(gt), "reference": u8(refs), "subject": np.array([s for s, _ in items], np.int64),
        "subject_mask": mask.astype(np.uint8),
    }


def scene_pairs_fixture(pairs: int = 8) -> dict[str, np.ndarray]:
    """Renders only: the pack's kit order (evaluate.eval_pairs over the held-out subjects)."""
    from .scene import eval_pairs

    _, held = split()
    bank = SpriteBank(held)
    items = [it for it in eval_pairs(len(bank)) if it[1] < 2 * pairs]
    rendered = [render_pair(bank, a, b, p) for a, b, p in items]
    u8 = lambda a: (np.clip(a, 0, 1) * 255).round().astype(np.uint8)  # noqa: E731
    return {
        "ground_truth": u8(np.stack([img for img, _, _ in rendered])),
        "masks": u8(np.stack([masks for _, masks, _ in rendered])),
        "subjects": np.array([[a, b] for a, b, _ in items], np.int64),
    }


def write_fixtures(include_trained: bool = True, trained: FoundryConfig = CPU) -> None:
    """`trained`: the config the built-in emoji64 pack was exported from."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    tiny = tiny_nets()
    safetensors_io.save(engine_fixture(tiny, TINY), FIXTURES / "engine-tiny.safetensors", {"pack": "tiny"})
    safetensors_io.save(engine_fixture(tiny, TINY, references=2), FIXTURES / "engine-tiny-pair.safetensors", {"pack": "tiny"})
    safetensors_io.save(vit_fixture(tiny), FIXTURES / "vit-tiny.safetensors", {"pack": "tiny"})
    safetensors_io.save(ort_fixture(tiny, TINY), FIXTURES / "ort-tiny.safetensors", {"pack": "tiny"})
    arrays, meta = sampler_fixture(tiny, TINY, 1.0, steps=5)
    safetensors_io.save(arrays, FIXTURES / "sampler-tiny.safetensors", {"pack": "tiny", **meta})
    safetensors_io.save(scene_pairs_fixture(), FIXTURES / "scenes-pairs-emoji64.safetensors", {"pack": "emoji64", "layout": "NHWC uint8"})
    if include_trained:
        nets, scale = trained_nets(trained)
        safetensors_io.save(ort_fixture(nets, trained), FIXTURES / "ort-emoji64.safetensors", {"pack": "emoji64"})
        arrays, meta = sampler_fixture(nets, trained, scale, steps=25)
        safetensors_io.save(arrays, FIXTURES / "sampler-emoji64.safetensors", {"pack": "emoji64", **meta})
        safetensors_io.save(estimator_fixture(nets, trained, scale), FIXTURES / "estimator-emoji64.safetensors", {"pack": "emoji64", "layout": "NHWC uint8"})
    print(f"wrote fixtures to {FIXTURES}")
