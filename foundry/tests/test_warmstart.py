import numpy as np
import pytest
import torch

from foundry.batches import pair_batch
from foundry.config import CPU, MULTI
from foundry.scene import PAIR_IDS, VOCAB_SIZE, PairPrompt
from foundry.subjects import SpriteBank, split
from foundry.train import build_ae, build_denoiser, build_image_encoder, build_patch_encoder
from foundry.export import randomize
from foundry.warmstart import ae_state, denoiser_states, grown_denoiser_state, patch_state


def _seeded(cfg):
    state, scale = ae_state()
    ae = build_ae(cfg)
    ae.load_state_dict(state)  # strict: every tensor present, every shape right
    den, ie = build_denoiser(cfg), build_image_encoder(cfg)
    ie.attach_vae(ae.encoder, scale)
    return den, ie, scale


def test_the_committed_pack_seeds_every_stage_strictly():
    # The built-in pack is cpu-multi's export (two references).
    den, ie, scale = _seeded(MULTI)
    assert scale > 0
    build_patch_encoder(MULTI).load_state_dict(patch_state())
    assert denoiser_states(den, ie) == ["denoiser", "image_encoder"]
    assert torch.count_nonzero(den.prompt_map) > 0  # trained weights, not the zero initialisation
    assert torch.count_nonzero(den.ref_embed) > 0
    one, one_ie, _ = _seeded(CPU)
    with pytest.raises(ValueError, match="takes 2 references; this config's takes 1"):
        denoiser_states(one, one_ie)


def test_a_denoiser_grown_for_two_references_starts_as_its_source_on_one():
    base, grown = build_denoiser(CPU), build_denoiser(MULTI)
    randomize(base, 3)  # nonzero everywhere, so that equal outputs mean equal networks
    grown.load_state_dict(grown_denoiser_state(grown, base.state_dict()))
    assert grown.prompt_embed.weight.shape[0] == VOCAB_SIZE + len(PAIR_IDS)
    z, t = torch.randn(2, 4, 16, 16), torch.tensor([500.0, 100.0])
    ids, tokens = torch.tensor([[2, 16, 26], [3, 17, 27]]), torch.randn(2, 64, 128)
    with torch.no_grad():
        assert torch.equal(grown(z, t, ids, tokens), base(z, t, ids, tokens))
        grown.ref_embed.normal_()
        pair = torch.randn(2, 128, 128)
        swapped = torch.cat([pair[:, 64:], pair[:, :64]], dim=1)
        # With a reference-index embedding the order of the references matters.
        assert not torch.allclose(grown(z, t, ids, pair), grown(z, t, ids, swapped))


def test_references_come_in_reading_order_of_their_places():
    assert PairPrompt("red", "A left, B right", "small").reference_order() == (0, 1)
    assert PairPrompt("red", "A right, B left", "small").reference_order() == (1, 0)
    assert PairPrompt("red", "A top, B bottom", "small").reference_order() == (0, 1)
    assert PairPrompt("red", "A bottom, B top", "small").reference_order() == (1, 0)


def test_pair_batches_name_the_layout_and_cover_both_subjects():
    _, held = split()
    bank = SpriteBank(held[:4])
    imgs, subj, ids, alpha = pair_batch(bank, 6, np.random.default_rng(0), any_slot=0.0)
    assert imgs.shape == (6, 64, 64, 3) and subj.shape == (6, 2) and alpha.shape == (6, 64, 64)
    assert all(a != b for a, b in subj)
    assert set(ids[:, 1]) <= set(PAIR_IDS.values())
    assert alpha.max() <= 1 + 1e-6 and alpha.max() > 0.9
    assert PairPrompt("red", "A left, B right", "small").ids()[1] == PAIR_IDS["A left, B right"] == VOCAB_SIZE
