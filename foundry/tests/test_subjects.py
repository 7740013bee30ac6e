import json
from collections import Counter

from foundry.subjects import HELDOUT_FILE, KEEP_CATEGORIES, all_subjects, choose_heldout, split


def test_non_subjects_are_dropped():
    ids = {s.id for s in all_subjects()}
    assert all(tone not in i for i in ids for tone in ("1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff"))
    parts = [p for i in ids for p in i.split("-")]
    assert "20e3" not in parts  # keycaps
    assert not [p for p in parts if "1f1e6" <= p <= "1f1ff"]  # regional-indicator flags
    assert {s.category for s in all_subjects()} <= KEEP_CATEGORIES
    assert "1f600" in ids  # grinning face
    assert len(ids) > 1000


def test_committed_heldout_list_is_the_deterministic_choice():
    committed = json.loads(HELDOUT_FILE.read_text())["heldout"]
    assert committed == choose_heldout(all_subjects())


def test_split_is_disjoint_and_heldout_spans_categories():
    train, held = split()
    assert len(held) >= 64
    assert not {s.id for s in train} & {s.id for s in held}
    assert set(Counter(s.category for s in held)) == KEEP_CATEGORIES
