"""xai.concepts.overlap: sets are compared by note content (8-grams of onset events), not by file name."""

from __future__ import annotations

import numpy as np
import pytest

from xai.concepts import overlap


def _melody(pitches, *, n_pitch: int = 12, steps_per_note: int = 2) -> np.ndarray:
    """One (2, n_pitch, T) excerpt striking ``pitches`` in turn, one every ``steps_per_note`` steps."""
    x = np.zeros((2, n_pitch, len(pitches) * steps_per_note), np.float32)
    for i, p in enumerate(pitches):
        x[0, p, i * steps_per_note] = 1
        x[1, p, i * steps_per_note:(i + 1) * steps_per_note] = 1
    return x


def test_overlap_audit_finds_shared_passages_by_notes(rng):
    X = np.zeros((6, 2, 12, 32), np.float32)
    for x in X:
        for t in range(0, 32, 2):
            x[0, rng.integers(12), t] = 1
    pool = X[3:].copy()
    pool[0, :, :, :20] = X[0, :, :, :20]  # the first concept excerpt's opening is in the pool
    rep = overlap.audit(X[:3], pool, {"c": X[5:6]}, concept_sources=["a", "b", "c"], pool_sources=["p", "q", "r"])
    assert rep.concept_in_pool == 1 and rep.pieces["concept_in_pool"] == ("a",)
    assert rep.class_in_training == 1 and not rep.clean and len(rep.warnings()) == 1 + 1
    assert overlap.chain_groups(np.concatenate([X[:1], X[:1]]), overlap_steps=0).tolist() == [0, 1]



def test_passages_are_the_8_grams_of_onset_events_whatever_the_timing():
    scale = list(range(10))
    slow, fast = _melody(scale, steps_per_note=3), _melody(scale, steps_per_note=1)
    p_slow, p_fast = overlap.passages(np.stack([slow[:, :, :30]]))[0], overlap.passages(fast[None])[0]
    assert len(p_fast) == len(scale) - overlap.N_GRAM + 1 == 3  # 10 events -> three 8-grams
    assert p_slow == p_fast  # silent steps between attacks do not change the fingerprint
    assert overlap.passages(_melody(scale[:7])[None])[0] == frozenset()  # fewer than 8 attacks: no passage


def test_two_tiny_pieces_share_a_passage_only_when_eight_attacks_agree():
    a = _melody([0, 2, 4, 5, 7, 9, 11, 0, 2, 4])
    b_same = _melody([3, 3] + [0, 2, 4, 5, 7, 9, 11, 0])  # a's first eight attacks, later in the piece
    b_seven = _melody([0, 2, 4, 5, 7, 9, 11, 1, 1, 1])  # seven agree, the eighth differs
    rep = overlap.audit(a[None], np.stack([b_same]), {}, concept_sources=["a"], pool_sources=["b"])
    assert rep.concept_in_pool == 1 and rep.pieces["concept_in_pool"] == ("a",) and not rep.clean
    assert "1 of the 1 concept excerpts" in rep.warnings()[0]
    clean = overlap.audit(a[None], np.stack([b_seven]), {"x": _melody([6] * 10)[None]})
    assert clean.clean and clean.warnings() == [] and clean.concept_in_pool == clean.concept_in_class == 0


def test_unused_pool_rows_and_training_piece_names_are_counted_apart():
    a = _melody(list(range(9)))
    pool = np.stack([a, _melody([11] * 9)])
    rep = overlap.audit(a[None], pool, {}, concept_sources=["p0"], pool_sources=["p0", "p1"],
                        used_pool=np.array([False, True]))
    assert rep.n_pool == 1 and rep.concept_in_pool == 0  # the copy sits in a row the experiment may not draw
    assert rep.concept_from_training == 1 and rep.pieces["concept_from_training"] == ("p0",)
    assert rep.clean  # a piece name in the training set is reported, not counted as a shared passage


@pytest.mark.parametrize("steps", [2, 4])
def test_chain_groups_follows_overlapping_windows_of_one_piece(steps):
    piece = _melody([0, 3, 5, 7, 9, 11, 2, 4, 6, 8], steps_per_note=1)[:, :, :]
    w = 6
    hop = w - steps
    windows = [piece[:, :, s:s + w] for s in range(0, piece.shape[-1] - w + 1, hop)]
    other = _melody([1, 1, 1, 1, 1, 1], steps_per_note=1)
    labels = overlap.chain_groups(np.stack([*windows, other]), overlap_steps=steps)
    assert labels[: len(windows)].tolist() == [0] * len(windows) and labels[-1] == 1
