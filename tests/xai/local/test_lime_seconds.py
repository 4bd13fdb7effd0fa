"""LIME on a model that reads seconds (piano_composer's grid): performances, segments cited by clock time."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from models import registry
from tests._fakes import FakeModel
from xai.contract import fields_equal
from xai.local import lime, segments
from xai.symbolic import io, music, predict
from xai.symbolic.examples import EXAMPLES_DIR

PIANO = EXAMPLES_DIR / "piano"
BEETHOVEN = PIANO / "beethoven_sonata8_mvt2_Na06.mid"
SCHUBERT = PIANO / "schubert_moment_musical3_Tetzloff09M.mid"
needs_piano = pytest.mark.skipif("piano_composer" not in registry.available(), reason="piano_composer not shipped")


class SecondsModel(FakeModel):
    """A fake that reads 20-s windows every 10 s at 10 frames a second, as piano_composer's card says."""

    def __init__(self):
        super().__init__(name="seconds_fake")
        self.window_quarters = self.hop_quarters = 0.0
        self.card = {"input": {"window_seconds": 20.0, "hop_seconds": 10.0, "frames_per_second": 10}}


def _annotated(path):
    return io.with_annotations_file(io.load_bytes(path.read_bytes(), path.name), io.annotations_beside(path))


def _check(r, model):
    """What every seconds-grid explanation must satisfy."""
    t = r.target
    p = predict.classify(r.excerpt, model).piece_probabilities[t]
    assert abs(r.deletion["lime"][0] - p) < 1e-5  # the full coalition is classify's answer on the excerpt
    assert abs(r.probability - p) < 1e-9
    assert r.empty_probability == pytest.approx(1 / len(model.classes))  # nothing left: uniform
    assert r.deletion["lime"][-1] == pytest.approx(1 / len(model.classes))
    for curve in r.deletion.values():
        assert all(0.0 <= v <= 1.0 for v in curve) if curve and isinstance(curve[0], float) else True
    for s in r.segments:
        assert s["end_second"] > s["start_second"] >= 0.0


@needs_piano
def test_performance_with_annotations_bars_and_clock():
    piece, model = _annotated(BEETHOVEN), registry.load("piano_composer")
    assert piece.bars_known and piece.performed
    r = lime.explain_piece(piece, model, stability_seeds=1)
    _check(r, model)
    o = r.options
    assert o["bars_known"] and o["end_second"] - o["start_second"] <= 20.0 + 1e-6  # about one window, not more
    assert r.model_windows == 1 and r.fit.exact
    assert all(re.match(r"bars? \d+(–\d+)? \(\d+:\d\d–\d+:\d\d\), \w+", s["label"]) for s in r.segments)
    assert fields_equal(r.fit, type(r.fit).from_json(r.fit.to_json()))
    kept = r.segment_excerpt(r.fit.top(2))
    assert 0 < kept.n_notes < r.excerpt.n_notes  # playback of the top segments alone


@needs_piano
def test_performance_without_annotations_is_cited_by_clock_time():
    piece, model = io.load_bytes(SCHUBERT.read_bytes(), SCHUBERT.name), registry.load("piano_composer")
    assert not piece.bars_known
    r = lime.explain_piece(piece, model, "Schubert", n_registers=1, segments="bars-registers", stability_seeds=1)
    _check(r, model)
    assert all(re.match(r"\d+:\d\d–\d+:\d\d, all ", s["label"]) for s in r.segments)
    assert "bar" not in r.segments[0]["label"]


def test_fake_seconds_model_keeps_velocity_and_matches_classify():
    """The coalition's roll is the maximum of its segments' rolls (velocities kept), not a thresholded sum."""
    piece, model = _annotated(SCHUBERT), SecondsModel()
    r = lime.explain_piece(piece, model, "high", start_bar=1, segments="bars-registers", n_registers=1,
                           stability_seeds=1)
    _check(r, model)
    wins, X = music.encode_for(r.excerpt, model)
    scorer = segments._PieceScorer(model, r.excerpt, r.segmentation, r.target)
    full = np.ones((1, r.n_segments), dtype=bool)
    ids, R = scorer.parts[0]
    x = scorer._inputs(torch.ones(1, len(ids)), R).numpy()[0]
    assert np.array_equal(x, X[0])  # bit-exact: the maximum over segments is the excerpt's own roll
    on = X[0, 0][X[0, 0] > 0]
    assert ((on > 0) & (on < 1)).mean() > 0.5  # onsets carry the performance's velocities (a threshold would not)
    assert abs(scorer(full)[0] - r.deletion["lime"][0]) < 1e-12
