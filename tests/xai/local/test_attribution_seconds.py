"""captum attributions for a model that reads seconds (piano_composer): one of its own 20-s windows, exactly as it
reads it, summed onto LIME's segments; IG complete, keep-all = the model's probability, JSON round trip."""

import functools
import json

import numpy as np
import pytest
import torch

from models import registry
from tests._fakes import FakeModel, two_voices
from xai.contract import fields_equal
from xai.errors import ParameterError
from xai.local import attribution as attr
from xai.symbolic import io, music
from xai.symbolic.examples import EXAMPLES_DIR

pytestmark = pytest.mark.skipif("piano_composer" not in registry.available(), reason="piano_composer not shipped")

PIANO = EXAMPLES_DIR / "piano"
PERFORMANCE = PIANO / "haydn_sonata6_mvt1_ChenC01.mid"  # with its beat annotations beside it: bars known
QUICK = dict(n_steps=32, randomised_layers=1, compare_lime=False, bars_per_segment=2)


@functools.cache
def model():
    return registry.load("piano_composer")


@functools.cache
def piece():
    return io.load(PERFORMANCE)


@functools.cache
def piano_result():
    """IG (32 steps) and the other methods on the window starting nearest 30 s (shared with the views' tests)."""
    return attr.attribute_piece(piece(), model(), "Haydn", start_s=30.0, **QUICK)


def _window(res):
    wins, X = music.encode_for(piece(), model())
    i = [w.start_second for w in wins].index(res.start_s)
    return wins[i], X[i]


def test_the_window_is_the_models_own_and_cited_by_bars_and_clock():
    res = piano_result()
    w, x = _window(res)
    assert res.fps == 10 and res.end_s - res.start_s == pytest.approx(20.0) and abs(res.start_s - 30.0) <= 5.0
    assert res.window_label == w.label and "(" in res.window_label and res.bars_known
    assert res.maps["ig"].shape == (88, 200) and x.shape == (2, 88, 200)
    assert [n for _, n in res.bar_ticks] == sorted(n for _, n in res.bar_ticks)
    assert all(res.start_s <= t < res.end_s for t, _ in res.bar_ticks) and len(res.bar_ticks) >= 3
    assert res.kind == "bars-registers"  # one MIDI track: registers
    assert all("start_second" in s and "(" in s["label"] for s in res.segments)  # LIME's segments, with clock


def test_integrated_gradients_is_complete_and_on_the_notes():
    res = piano_result()
    c = res.completeness["silence"]
    print(f"piano_composer IG (32 steps) completeness: {c}")
    assert abs(c["difference"]) > 0.1 and c["relative_gap"] < 0.05
    assert res.on_notes["ig"] == pytest.approx(1.0)  # from silence, IG is zero off the notes
    # every frame x pitch on a note goes to the note's segment: the segment sums add up to the window's total
    assert np.sum(res.grid["ig"]) == pytest.approx(float(res.maps["ig"].sum()), rel=1e-4)
    assert np.sum(res.grid["ig"]) == pytest.approx(c["sum"], rel=1e-6)
    sal = float(res.maps["saliency"].sum())  # never negative: its mass on the notes is the grid's total
    assert np.sum(res.grid["saliency"]) == pytest.approx(res.on_notes["saliency"] * sal, rel=1e-4)
    assert 0 < res.on_notes["saliency"] < 1


def test_keeping_every_segment_is_the_models_probability_and_deletion_rebuilds_the_window():
    res = piano_result()
    _, x = _window(res)
    with torch.no_grad():
        p = torch.softmax(model().net.eval()(torch.from_numpy(x[None])), dim=1)[0, res.target].item()
    assert res.probability == pytest.approx(p, rel=1e-5)
    for name in (*res.methods, "random"):
        assert res.deletion[name][0] == pytest.approx(res.probability, rel=1e-5), name  # keep-all
        assert res.deletion[name][-1] == pytest.approx(1 / 6)  # nothing left: no evidence for any class
    assert res.deletion["ig"][1] != pytest.approx(res.deletion["ig"][0], rel=1e-4)  # its notes really removed


def test_listening_and_the_excerpt_hold_the_windows_notes():
    res = piano_result()
    top = res.top(1)
    only, rest = res.segment_excerpt(top), res.segment_excerpt(top, keep=False)
    assert only.n_notes == res.segments[top[0]]["n_notes"] and only.n_notes + rest.n_notes == res.excerpt.n_notes
    assert res.excerpt.n_notes == len(res.notes_s)
    assert res.excerpt.length <= 20.0 * 4  # a 20-s window of a sonata movement: well under 80 quarters


def test_result_round_trips_through_json():
    res = piano_result()
    assert fields_equal(res, type(res).from_json(res.to_json()))
    s = json.loads(json.dumps(res.summary()))
    assert s["window"] == res.window_label and s["frames_per_second"] == 10 and s["bars_known"] is True
    assert s["start_s"] == res.start_s and s["options"]["start_s"] == res.start_s


def test_windows_are_chosen_by_second_or_bar_and_refused_plainly():
    wins = attr.window_choices(piece(), model())
    assert [w.start_second for w in wins][:3] == pytest.approx([wins[0].start_second + 10 * k for k in range(3)])
    w = attr._pick_window(piece(), model(), None, None, wins[2].start_second + 2)
    assert w.start_second == wins[2].start_second
    b = int(wins[3].end_bar)
    bar = attr._pick_window(piece(), model(), None, b, None)  # the last window starting at or before the bar
    t = float(piece().seconds(piece().bar_range(b, b)[0]))
    assert bar.start_second <= t < bar.start_second + 10.0 + 1e-6
    with pytest.raises(ParameterError, match="window start"):
        attr.attribute_piece(piece(), model(), start_s=1e6, **QUICK)
    unannotated = io.load_bytes(PERFORMANCE.read_bytes(), PERFORMANCE.name)  # no annotations beside the bytes
    assert not unannotated.bars_known
    with pytest.raises(ParameterError, match="not known"):
        attr.attribute_piece(unannotated, model(), start_bar=3, **QUICK)
    with pytest.raises(ParameterError, match="start bar"):
        attr.attribute_piece(two_voices(4), FakeModel(), start_s=2.0, **QUICK)


@pytest.mark.slow
def test_a_performance_without_bars_is_cited_by_clock_time():
    unannotated = io.load_bytes(PERFORMANCE.read_bytes(), PERFORMANCE.name)
    res = attr.attribute_piece(unannotated, model(), start_s=0.0, **(QUICK | {"n_steps": 8}))
    assert not res.bars_known and res.bar_ticks == ()
    assert "bar" not in res.window_label and "bar" not in res.segments[0]["label"]
    assert res.segments[0]["label"][0].isdigit()  # '0:00–0:04, low (…)'


@pytest.mark.slow
def test_lime_on_the_same_window_is_compared_or_says_why():
    score = io.load(PIANO / "bach_prelude_bwv846.musicxml")
    res = attr.attribute_piece(score, model(), "Bach", start_s=0.0, n_steps=8, randomised_layers=1,
                               bars_per_segment=4, lime_samples=60)
    if "note" in res.lime and "weights" not in res.lime:  # LIME refuses this model: only this part is skipped
        assert res.lime["note"].endswith(".") and "Traceback" not in res.lime["note"]
        pytest.skip(f"LIME is not available for piano_composer: {res.lime['note']}")
    lime = res.lime
    assert len(lime["weights"]) == res.n_segments and lime["compared"] >= 3
    assert set(lime["spearman"]) == set(res.methods)
    assert all(-1 <= v <= 1 for v in lime["spearman"].values() if np.isfinite(v))
    print(f"piano_composer: Spearman with LIME {lime['spearman']}")
