"""TCAV figures from xai.views: built from a tiny hand-made result and piece, checked for what a user reads."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from tests._fakes import scale_piece
from xai import views
from xai.concepts import discovery, tcav
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


def test_tcav_scores_reads_as_a_score_axis_with_p_values_over_each_class(rng):
    res = _result(rng, significant=[[True], [False]])
    fig = views.tcav_scores(res, classes=("low", "high"))
    assert fig.layout.yaxis.title.text == "TCAV score"
    assert tuple(fig.layout.yaxis.range) == (-0.03, 1.12)
    notes = {a.x: a.text for a in fig.layout.annotations}
    assert notes["low"] == "<b>★ p<0.001</b>" and notes["high"] == "n.s. (p=0.40)"
    randoms = [tr for tr in fig.data if tr.offsetgroup == "random"]
    assert {tr.marker.color for tr in randoms} == {"#BDBDBD"}  # random runs: light grey whatever the class
    assert [tr.name for tr in randoms] == ["random directions"] * 2


# ----------------------------------------------------------------------------------------- discovered concepts


def _discovery(*, classes=("low", "mid", "high"), K=3, basis=None):
    """A hand-made discovery: importance (classes, K) = [[.5, -.2, .1], [-.3, .4, 0], [.1, .0, -.6]], K concepts."""
    imp = np.array([[0.5, -0.2, 0.1], [-0.3, 0.4, 0.0], [0.1, 0.0, -0.6]])[: len(classes), :K]
    presence = np.zeros((4, K, 11, 8), dtype=np.float32)
    presence[0, 0, 5, 2] = 2.0  # concept 1 sits at pitch cell 5, time cell 2 of excerpt 0
    presence[1, 1, 1, 6] = 1.0
    return discovery.Discovery(
        method="nmf", layer="block3", n_concepts=K, components_=np.eye(K, 16), presence_=presence,
        explained_variance_=0.8, importance_=imp, importance_basis_=tuple(basis or ["class"] * len(classes)),
        classes=tuple(classes), labels_=np.zeros(4, dtype=np.int64), excerpt_index_=np.arange(4),
    )


def test_concept_label_counts_from_one():
    assert [views.concept_label(k) for k in (0, 4)] == ["Concept 1", "Concept 5"]


def test_concept_importance_bars_sorted_signed_and_asterisked():
    disc = _discovery(basis=["class", "all", "class"])
    fig = views.concept_importance(disc, 0)
    (bar,) = fig.data
    assert bar.orientation == "h"
    assert list(bar.x) == [-0.3, 0.1, 0.5]  # smallest at the bottom, largest on top
    assert list(bar.y) == ["mid *", "high", "low"]  # 'mid' averages over all excerpts
    assert list(bar.text) == ["-0.30", "+0.10", "+0.50"]
    colors = views.class_colors(["low", "mid", "high"])
    # A class the concept raises is drawn solid, one it lowers faded; the outline keeps the class colour.
    assert bar.marker.color[2] == views.rgba(colors["low"], 1.0) and bar.marker.color[0] == views.rgba(colors["mid"], 0.45)
    assert list(bar.marker.line.color) == [colors["mid"], colors["high"], colors["low"]]
    assert "lowers the class" in fig.layout.xaxis.title.text and "raises it" in fig.layout.xaxis.title.text
    assert tuple(fig.layout.xaxis.range) == pytest.approx((-0.625, 0.625))
    assert fig.layout.title.text == "Importance of concept 1 for each class"


def test_concept_overview_is_a_concepts_by_classes_grid_with_values_written_in():
    disc = _discovery()
    fig = views.concept_overview(disc, selected=1)
    (heat,) = fig.data
    assert list(heat.x) == ["low", "mid", "high"] and list(heat.y) == ["Concept 1", "Concept 2", "Concept 3"]
    np.testing.assert_allclose(heat.z, disc.importance_.T)
    assert list(heat.text[0]) == ["+0.50", "-0.30", "+0.10"]
    assert heat.zmid == 0 and heat.zmax == pytest.approx(0.6) and heat.zmin == pytest.approx(-0.6)
    (box,) = fig.layout.shapes  # the selected concept's row is outlined
    assert (box.y0, box.y1) == (0.5, 1.5)
    assert fig.layout.yaxis.autorange == "reversed"  # concept 1 on top
    assert not views.concept_overview(disc).layout.shapes


def test_fidelity_plot_draws_three_curves_the_original_accuracy_and_the_chosen_k():
    points = [
        {"n_concepts": k, "accuracy": 0.5 + k / 100, "agreement": 0.6 + k / 100, "explained_variance": k / 40,
         "original_accuracy": 0.9}
        for k in (32, 2, 8)
    ]
    fig = views.fidelity_plot(points, chosen=8)
    lines = fig.data[:3]
    assert [tr.name for tr in lines] == ["accuracy with K concepts", "same answer as the full layer",
                                         "explained variance of the layer"]
    assert [list(tr.x) for tr in lines] == [[2, 8, 32]] * 3  # sorted by K
    assert list(lines[0].y) == pytest.approx([0.52, 0.58, 0.82])
    marker = fig.data[3]
    assert list(marker.x) == [8, 8] and marker.text[0] == " K = 8"
    assert fig.layout.xaxis.title.text == "K (concepts)" and fig.layout.xaxis.type == "log"  # 2..32: log steps
    assert list(fig.layout.xaxis.ticktext) == ["2", "8", "32"]
    assert any("original accuracy 90.0%" in a.text for a in fig.layout.annotations)
    assert views.fidelity_plot(points[1:2] + points[2:]).layout.xaxis.type == "linear"  # 2..8


def test_discovery_roll_lays_the_presence_under_the_notes_and_marks_the_bars_to_hear():
    piece = scale_piece(4)
    disc = _discovery()
    fig = views.discovery_roll(piece, disc.presence_[0, 0], region=(4.0, 8.0), title="one excerpt")
    heat = fig.data[0]  # drawn first: beneath the notes
    assert isinstance(heat, go.Heatmap) and heat.name == "concept" and not heat.showscale
    z = np.asarray(heat.z)
    assert z.shape == (music.N_PITCHES, 64) and z.max() == pytest.approx(1.0)  # scaled to its own peak
    assert len(fig.data) == 1 + len(views.piano_roll(piece, key_bars=True).data)
    (band,) = [s for s in fig.layout.shapes if s.fillcolor == "#D94801"]
    assert (band.x0, band.x1) == (4.0, 8.0)
    assert any(a.text == "<b>listen</b>" for a in fig.layout.annotations)
    assert fig.layout.title.text == "one excerpt"
    # A shared peak draws every excerpt on one scale: the upsampled map over that peak.
    up = discovery.upsample(disc.presence_[0, 0], (music.N_PITCHES, 64))
    half = views.discovery_roll(piece, disc.presence_[0, 0], peak=2 * float(up.max()))
    assert np.asarray(half.data[0].z).max() == pytest.approx(0.5)
    assert not [s for s in half.layout.shapes if s.fillcolor == "#D94801"]


def test_concepts_in_piece_rows_are_concepts_and_columns_bars():
    piece = scale_piece(8)
    wins, _ = music.encode(piece, hop=4)
    presence = np.zeros((len(wins), 2, 11, 8))
    presence[:, 1] = np.arange(len(wins))[:, None, None]  # concept 2 grows along the piece
    found = discovery.PiecePresence(piece=piece, windows=tuple(wins), presence=presence)
    fig = views.concepts_in_piece(found, selected=1)
    (heat,) = fig.data
    assert list(heat.y) == ["Concept 1", "Concept 2"] and list(heat.x) == [str(b) for b in range(1, 9)]
    z = np.asarray(heat.z, dtype=float)
    assert np.nanmax(z[0]) == 0 and np.all(np.diff(z[1][np.isfinite(z[1])]) >= 0)
    assert fig.layout.xaxis.title.text == "bar"
    (box,) = fig.layout.shapes
    assert (box.y0, box.y1) == (0.5, 1.5)


class _Event:
    def __init__(self, boxes):
        self.selection = type("Selection", (), {"box": boxes})()


def test_selected_box_reads_the_latest_box_of_a_chart_selection():
    assert views.selected_box(_Event([{"x": [1, 2]}, {"x": [3.5, 9.0]}])) == (3.5, 9.0)
    assert views.selected_box(_Event([{"x": [1, 2]}, {"y": [3, 4]}])) == (1.0, 2.0)  # no x: the one before
    assert views.selected_box(_Event([])) is None
    assert views.selected_box(_Event([{"x": ["a", 2]}])) is None
    assert views.selected_box(object()) is None
