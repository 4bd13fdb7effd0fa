"""TCAV figures from xai.views: built from a tiny hand-made result and piece, checked for what a user reads."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from tests._fakes import scale_piece
from xai import views
from xai.concepts import tcav
from xai.symbolic import music


def _result(rng, *, targets=("low", "high"), layers=("block1",), significant=None, relative_to=None):
    T, L, R = len(targets), len(layers), 6
    sig = np.zeros((T, L), dtype=bool) if significant is None else np.asarray(significant, dtype=bool)
    scores = np.where(sig[..., None], 0.9, 0.5) + rng.normal(0, 0.03, (T, L, R))
    p = np.where(sig, 1e-4, 0.4)
    return tcav.TCAVResult(
        concept="walking bass",
        layers=tuple(layers),
        targets=tuple(targets),
        scores=scores,
        random_scores=0.5 + rng.normal(0, 0.05, (T, L, R)),
        magnitudes=scores,
        random_magnitudes=scores,
        p_values=p,
        p_corrected=p,
        significant=sig,
        cav_accuracies=np.full((L, R), 0.8),
        random_cav_accuracies=np.full((L, R), 0.5),
        options=tcav.TCAVOptions(n_random=R),
        random_state=0,
        n_concept=8,
        n_class=tuple([10] * T),
        relative_to=relative_to,
    )


def _concept_boxes(fig: go.Figure) -> list[go.Box]:
    return [tr for tr in fig.data if isinstance(tr, go.Box) and tr.offsetgroup == "concept"]


def test_tcav_scores_draws_concept_and_random_runs_per_class(rng):
    res = _result(rng, significant=[[True], [False]])
    fig = views.tcav_scores(res, classes=("low", "high"))
    boxes = [tr for tr in fig.data if isinstance(tr, go.Box)]
    assert len(boxes) == 4  # concept + random, for each of 2 targets
    concept = _concept_boxes(fig)
    assert [tr.x[0] for tr in concept] == ["low", "high"]
    assert [len(tr.y) for tr in boxes] == [6] * 4  # every run is a dot
    np.testing.assert_allclose(concept[0].y, res.scores[0, 0])
    randoms = [tr for tr in boxes if tr.offsetgroup == "random"]
    np.testing.assert_allclose(randoms[1].y, res.random_scores[1, 0])
    assert "walking bass" in fig.layout.title.text and "6 runs" in fig.layout.title.text


def test_tcav_scores_marks_significance_with_a_star_and_colour(rng):
    res = _result(rng, significant=[[True], [False]])
    fig = views.tcav_scores(res, classes=("low", "high"))
    colors = views.class_colors(("low", "high"))
    sig, ns = _concept_boxes(fig)
    assert sig.marker.color == colors["low"]  # solid class colour
    assert ns.marker.color not in colors.values()  # greyed
    assert "significant" in sig.name and "not significant" in ns.name
    stars = [a.text for a in fig.layout.annotations if "★" in a.text]
    assert len(stars) == 1 and "p<0.001" in stars[0]
    assert any("n.s." in a.text for a in fig.layout.annotations)
    ticks = list(fig.layout.xaxis.ticktext)
    assert "★" in ticks[0] and "★" not in ticks[1]
    # Each kind is in the legend once, however many classes.
    assert sum(bool(tr.showlegend) for tr in fig.data) == 3


def test_tcav_scores_names_class_and_layer_when_several_layers(rng):
    res = _result(rng, targets=("low",), layers=("block1", "block2"), significant=[[False, True]])
    fig = views.tcav_scores(res)
    assert [tr.x[0] for tr in _concept_boxes(fig)] == ["low · block1", "low · block2"]
    assert sum("★" in a.text for a in fig.layout.annotations) == 1


def test_tcav_scores_of_a_relative_result_names_both_concepts(rng):
    fig = views.tcav_scores(_result(rng, relative_to="homophonic"))
    assert "rather than 'homophonic'" in fig.layout.title.text
    assert not any("★" in a.text for a in fig.layout.annotations)


@pytest.fixture
def piece():
    return scale_piece(12, parts=2)


def test_selection_bars_takes_every_bar_the_box_touches(piece):
    assert views.selection_bars(piece, 4.0, 8.0) == (2, 2)  # exactly bar 2 (beats 4-8)
    assert views.selection_bars(piece, 5.5, 13.2) == (2, 4)
    assert views.selection_bars(piece, 13.2, 5.5) == (2, 4)  # dragged right to left
    assert views.selection_bars(piece, -3.0, 100.0) == (1, 12)  # past both ends
    assert views.selection_bars(piece, 3.9, 12.1) == (2, 3)  # a hair over a bar line does not take the bar
    assert views.selection_bars(piece, 5.0, 5.1) == (2, 2)  # a sliver inside one bar


def test_concept_strip_sits_over_the_piano_roll_with_bars(piece):
    wins, _ = music.encode(piece, hop=2)
    values = np.linspace(-0.5, 0.5, len(wins))
    fig = views.concept_strip(piece, wins, values, concept="scale", layer="block2")
    strip = fig.data[0]
    assert isinstance(strip, go.Heatmap) and strip.zmid == 0
    row = np.asarray(strip.z[0], dtype=float)
    assert row.size >= piece.length
    assert np.nanargmax(row) > np.nanargmin(row)  # the rising values rise along the strip
    # The piano roll's own traces follow, on the second row, sharing the x axis.
    roll = views.piano_roll(piece)
    assert len(fig.data) == 1 + len(roll.data)
    assert fig.data[1].yaxis == "y2" and fig.data[1].xaxis == "x2"
    assert list(fig.layout.xaxis.ticktext) == list(roll.layout.xaxis.ticktext)  # bar numbers on top
    assert "scale" in fig.layout.title.text and "block2" in fig.layout.title.text


def test_concept_strip_is_white_at_the_baseline(piece):
    wins, _ = music.encode(piece, hop=2)
    values = 0.3 + np.linspace(0.0, 0.2, len(wins))  # all positive, as at a ReLU layer
    strip = views.concept_strip(piece, wins, values, baseline=0.4).data[0]
    assert strip.zmid == 0.4
    assert strip.zmin < 0.4 < strip.zmax and strip.zmax - 0.4 == pytest.approx(0.4 - strip.zmin)


def test_concept_by_bar_averages_the_windows_covering_each_bar(piece):
    wins, _ = music.encode(piece, hop=4)
    values = np.arange(len(wins), dtype=float)
    rows = views.concept_by_bar(piece, wins, values)
    assert [r["bar"] for r in rows] == list(range(1, 13))
    assert rows[0]["value"] == 0.0  # only the first window covers bar 1
    covering = [v for w, v in zip(wins, values) if w.start_beat < 24 and w.end_beat > 20]
    assert rows[5]["value"] == pytest.approx(np.mean(covering))
