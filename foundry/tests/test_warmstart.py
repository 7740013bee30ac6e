import torch

from foundry.config import CPU
from foundry.train import build_ae, build_denoiser, build_image_encoder, build_patch_encoder
from foundry.warmstart import ae_state, denoiser_states, patch_state


def test_the_committed_pack_seeds_every_stage_strictly():
    state, scale = ae_state()
    build_ae(CPU).load_state_dict(state)  # strict: every tensor present, every shape right
    assert scale > 0
    build_patch_encoder(CPU).load_state_dict(patch_state())
    den, ie = build_denoiser(CPU), build_image_encoder(CPU)
    assert denoiser_states(den, ie)[0] == "denoiser"
    assert torch.count_nonzero(den.prompt_map) > 0  # trained weights, not the zero initialisation
