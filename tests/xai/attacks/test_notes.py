"""Symbolic attack on a fake pitch-height model: fewest whole-note edits, exact, on tiny pieces (no caches)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests._fakes import FakeModel
from xai.attacks import notes as sa
from xai.errors import InputError, ParameterError
from xai.symbolic import music


def _piece(pitches, durations=None):
    n = len(pitches)
    return music.Piece(title="tiny", onsets=np.arange(n, dtype=float),
                       durations=np.asarray(durations if durations is not None else np.ones(n), dtype=float),
                       pitches=np.asarray(pitches, dtype=np.int16), velocities=np.full(n, 80, dtype=np.int16),
                       parts=np.zeros(n, dtype=np.int16), part_names=("Voice",), bar_starts=np.array([0.0, 4.0]),
                       bar_numbers=np.array([1, 2]))


def _label(piece, model):
    return int(np.argmax(sa.piece_log_probabilities([piece], model)[0]))


def test_log_probabilities_match_classify():
    from xai.symbolic import predict

    p, m = _piece([64, 64, 64, 40]), FakeModel()
    assert np.allclose(np.exp(sa.piece_log_probabilities([p], m)[0]), predict.classify(p, m).piece_probabilities,
                       atol=1e-6)


def test_one_deletion_flips_and_is_found():
    m = FakeModel()  # class 1 ('high') when the mean sounding pitch is above middle C
    p = _piece([64, 64, 64, 40])  # mean 58: 'low'; removing the low E2 makes it 'high'
    assert _label(p, m) == 0
    r = sa.attack_piece(p, m, pitches="piece", allow_insert=False)
    assert r.success and len(r.edits) == 1
    assert r.edits[0].op == "delete" and r.edits[0].pitch == 40
    assert r.adversarial_label == "high" and _label(r.adversarial, m) == 1
    assert r.adversarial.n_notes == 3
    assert r.summary()["n_edits"] == 1


def test_fewest_edits_against_brute_force():
    m = FakeModel()
    p = _piece([62, 62, 45, 45])  # no single deletion flips it; two do (remove both low notes)
    singles = [[i] for i in range(p.n_notes)]
    pairs = list(itertools.combinations(range(p.n_notes), 2))

    def flips(idx):
        keep = np.ones(p.n_notes, bool)
        keep[list(idx)] = False
        q = sa._with_notes(p, keep, [], p.length)
        return _label(q, m) != _label(p, m)

    assert not any(flips(s) for s in singles) and any(flips(s) for s in pairs)
    r = sa.attack_piece(p, m, allow_insert=False)
    assert r.success and len(r.edits) == 2
    assert sorted(e.pitch for e in r.edits) == [45, 45]


def test_insertions_are_whole_notes_on_the_grid():
    m = FakeModel()
    p = _piece([58, 58, 62, 58])  # low; inserting a high note can flip it
    r = sa.attack_piece(p, m, target=1, allow_delete=False, pitches="chromatic", grid=1.0, duration=1.0)
    assert r.success
    for e in r.edits:
        assert e.op == "insert" and e.duration == 1.0 and float(e.onset).is_integer()
    assert r.adversarial.n_notes == p.n_notes + len(r.edits)
    assert sa.apply_edits(p, r.edits).n_notes == r.adversarial.n_notes


def test_bad_inputs():
    m = FakeModel()
    p = _piece([64, 64, 64, 40])
    with pytest.raises(ParameterError, match="already hears"):
        sa.attack_piece(p, m, target=0)
    with pytest.raises(ParameterError, match="most edits"):
        sa.attack_piece(p, m, max_edits=0)
    with pytest.raises(InputError, match="no notes"):
        sa.attack_piece(music.Piece(
            title="e", onsets=np.zeros(0), durations=np.zeros(0), pitches=np.zeros(0, np.int16),
            velocities=np.zeros(0, np.int16), parts=np.zeros(0, np.int16), part_names=("V",),
            bar_starts=np.array([0.0]), bar_numbers=np.array([1])), m)


def test_edits_use_the_one_pitch_name_and_round_trip():
    from xai.contract import fields_equal

    m = FakeModel()
    p = _piece([61, 61, 61, 40])
    r = sa.attack_piece(p, m, allow_insert=False)
    assert sa.Edit("insert", 61, 0.0, 1.0).summary()["name"] == "C♯4"
    assert "E2" in r.summary()["edits"][0]["text"]
    assert fields_equal(r, type(r).from_json(r.to_json()))


def test_search_options_are_declared():
    spec = {s["name"]: s for s in sa.NoteAttackOptions.spec()}
    assert spec["max_edits"]["high"] == 64 and spec["pitches"]["choices"] == ("piece", "chromatic")
    with pytest.raises(ParameterError, match="'pitches' parameter"):
        sa.attack_piece(_piece([64, 64, 64, 40]), FakeModel(), pitches="any")
