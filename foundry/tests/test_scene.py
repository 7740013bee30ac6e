import numpy as np
import pytest

from foundry.scene import BACKGROUNDS, POSITIONS, SIZES, SLOT_SPECS, VOCAB, Prompt, background_image, render
from foundry.subjects import SpriteBank, split


@pytest.fixture(scope="module")
def bank():
    _, held = split()
    return SpriteBank(held[:3])


def test_vocab_ids_are_unique_and_cover_every_value():
    assert len(set(VOCAB.values())) == len(VOCAB)
    assert VOCAB["<null>"] == 0
    for spec in SLOT_SPECS:
        assert len({v["id"] for v in spec["values"]} | {spec["any_id"]}) == len(spec["values"]) + 1


def test_prompt_ids_follow_slot_order():
    p = Prompt("blue", "left", "large")
    assert p.ids() == [VOCAB["background:blue"], VOCAB["position:left"], VOCAB["size:large"]]
    assert Prompt(size="small").ids()[0] == VOCAB["background:any"]


def test_fully_specified_render_is_a_pure_function(bank):
    p = Prompt("checker", "top-right", "medium")
    a, la = render(bank, 1, p)
    b, lb = render(bank, 1, p)
    assert np.array_equal(a, b) and la == lb
    assert (la.cx, la.cy, la.px) == (*POSITIONS["top-right"], SIZES["medium"])


def test_jittered_render_is_deterministic_given_the_seed(bank):
    p = Prompt(size="small")
    a, la = render(bank, 0, p, np.random.default_rng(7), jitter=True)
    b, lb = render(bank, 0, p, np.random.default_rng(7), jitter=True)
    c, _ = render(bank, 0, p, np.random.default_rng(8), jitter=True)
    assert np.array_equal(a, b) and la == lb
    assert not np.array_equal(a, c)
    assert la.background in BACKGROUNDS and la.position in POSITIONS


def test_subject_is_composited_over_the_background(bank):
    img, lay = render(bank, 0, Prompt("red", "center", "large"))
    bg = background_image("red")
    assert img.shape == (64, 64, 3) and img.dtype == np.float32
    assert np.allclose(img[0, 0], bg[0, 0])  # corner is background
    assert np.abs(img[28:36, 28:36] - bg[28:36, 28:36]).max() > 0.1  # centre shows the subject


def test_pair_scene_puts_each_subject_at_its_layout_position(bank):
    from foundry.scene import PairPrompt, render_pair

    img, masks, (la, lb) = render_pair(bank, 0, 1, PairPrompt("blue", "A left, B right", "medium"))
    assert (la.cx, lb.cx) == (POSITIONS["left"][0], POSITIONS["right"][0])
    single, _ = render(bank, 0, Prompt("blue", "left", "medium"))
    # Left of B's sprite, the pair scene is A's single-subject scene.
    x_b = lb.cx - lb.px // 2
    assert np.array_equal(img[:, :x_b], single[:, :x_b])
    assert masks.shape == (2, 64, 64) and masks[0, :, 32:].max() < masks[0, :, :32].max()
    assert masks[1, :, :32].sum() < masks[1, :, 32:].sum()


def test_pair_masks_give_the_overlap_to_the_subject_in_front(bank):
    from foundry.scene import PairPrompt, render_pair

    _, masks, _ = render_pair(bank, 0, 1, PairPrompt("red", "A top, B bottom", "large"))
    assert masks.sum(axis=0).max() <= 1 + 1e-6  # a pixel's coverage is shared, never counted twice
    assert np.all(masks >= 0)
