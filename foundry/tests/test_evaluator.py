import numpy as np
import torch

from foundry.config import TINY
from foundry.evaluator import Classifier, build_evaluator, losses, part_batch


class _Bank:
    """Two square opaque sprites: every subject patch has a well-defined part."""

    def __init__(self):
        self.store = np.zeros((2, 32, 32, 4), np.uint8)
        self.store[..., 3] = 255
        self.store[0, ..., 0] = 200
        self.store[1, ..., 2] = 200

    def __len__(self):
        return 2


def test_part_labels_cover_background_and_subject_parts():
    c = TINY.evaluator
    x, label, part, subj = part_batch(_Bank(), 8, np.random.default_rng(0), c.parts)
    assert x.shape == (8, 3, 64, 64) and label.shape == part.shape == (8, 64)
    assert (label == 0).any() and (label > 0).any()
    assert torch.equal(label[label > 0] - 1, subj[:, None].expand_as(label)[label > 0])
    assert torch.equal(part >= 0, label > 0)  # parts exactly on the subject patches
    assert int(part.max()) < c.parts**2


def test_losses_train_the_evaluator():
    c = TINY.evaluator
    ev, head = build_evaluator(c), Classifier(c, 2)
    opt = torch.optim.Adam([*ev.parameters(), *head.parameters()], lr=3e-3)
    rng = np.random.default_rng(1)
    first = None
    for _ in range(30):
        loss, _ = losses(ev, head, *part_batch(_Bank(), 8, rng, c.parts), c.temperature, c.pixel_weight)
        first = first if first is not None else float(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < first
    f, g = ev(torch.zeros(8, 3, 64, 64))
    assert f.shape == (8, 8, 8, c.vit.dim) and g.shape == (8, c.vit.dim)
