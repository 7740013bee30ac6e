"""A checkpoint from before the denoiser gained its spatial prompt embedding (and its reference
embedding) resumes exactly."""

import copy

import torch

from foundry.config import TINY
from foundry.train import build_denoiser, build_image_encoder, grow_checkpoint, param_groups


def test_grown_parameters_start_fresh_and_every_other_state_is_kept():
    torch.manual_seed(0)
    den, ie = build_denoiser(TINY), build_image_encoder(TINY)
    modules = {"denoiser": den, "image_encoder": ie}
    old_params = [p for m in modules.values() for n, p in m.named_parameters() if n not in den.GROWN]
    opt = torch.optim.AdamW(old_params, lr=1e-3)
    eps = den(torch.randn(2, 4, 16, 16), torch.tensor([1.0, 2.0]), torch.ones(2, 3, dtype=torch.long), ie(torch.randn(2, 3, 64, 64)))
    (eps - torch.randn_like(eps)).square().mean().backward()
    opt.step()
    old = {k: {n: v.clone() for n, v in m.state_dict().items() if n not in den.GROWN} for k, m in modules.items()}
    ck = grow_checkpoint({"model": old, "ema": copy.deepcopy(old), "opt": opt.state_dict()}, modules)

    params = [p for m in modules.values() for p in m.parameters()]
    resumed = torch.optim.AdamW(param_groups(modules), lr=1e-3)
    resumed.load_state_dict(ck["opt"])
    for k, m in modules.items():
        m.load_state_dict(ck["model"][k])
    assert torch.count_nonzero(den.prompt_map) == 0
    for p in params:
        state = resumed.state.get(p)
        if state:  # every stored moment sits on the parameter it was computed for
            assert state["exp_avg"].shape == p.shape
    assert resumed.state[den.out.weight]["exp_avg"].abs().sum() > 0  # adaLN-zero: only `out` has moved
    assert den.prompt_map not in resumed.state
    assert [g["lr_scale"] for g in resumed.param_groups] == [1.0, den.GROWN_LR_SCALE]
    # the tiny denoiser takes two references: its ref_embed is grown too
    assert set(resumed.param_groups[1]["params"]) == {den.prompt_map, den.prompt_vec, den.ref_embed}
