"""xai.views.concept_stats: TCAV's null, entanglement and sanity figures carry the result's numbers and labels."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from xai.concepts import tcav
from xai.views import concept_stats as cs


def _result(concept="walking bass", *, targets=("low", "high"), layers=("block1", "block2"), better=(True, False),
            significant=((True, False), (False, False)), cavs=None, relative_to=None, R=5, K=7):
    T, L = len(targets), len(layers)
    sig = np.asarray(significant, bool)
    scores = np.linspace(0.6, 0.9, T * L * R).reshape(T, L, R)
    random_scores = np.linspace(0.3, 0.7, T * L * K).reshape(T, L, K)
    p = np.where(sig, 0.001, 0.4)
    ci = np.stack([scores.mean(axis=2) - 0.05, scores.mean(axis=2) + 0.04], axis=-1)
    return tcav.TCAVResult(
        concept=concept, layers=tuple(layers), targets=tuple(targets), scores=scores, random_scores=random_scores,
        magnitudes=scores, random_magnitudes=random_scores, p_values=p, p_corrected=p, significant=sig,
        cav_accuracies=np.tile(np.linspace(0.7, 0.9, L)[:, None], (1, R)), random_cav_accuracies=np.full((L, K), 0.5),
        options=tcav.TCAVOptions(n_random=K, n_runs=R), random_state=0, n_concept=8, n_class=tuple([10] * T),
        relative_to=relative_to, effect_size=np.full((T, L), 1.5), ci=ci, cav_threshold=np.array([0.6, 0.65]),
        cav_better=np.asarray(better, bool), cavs_=cavs or {})


def test_the_null_figure_has_one_grey_cloud_per_cell_and_the_concept_only_where_cavs_beat_random():
    r = _result()
    fig = cs.tcav_null(r, classes=["high", "low"])
    boxes = [t for t in fig.data if isinstance(t, go.Box)]
    marks = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert len(boxes) == 4 and all(len(b.y) == 7 for b in boxes)
    np.testing.assert_allclose(boxes[0].y, r.random_scores[0, 0])
    assert [b.x[0] for b in boxes] == ["low · block1", "high · block1", "low · block2", "high · block2"]
    assert [m.x[0] for m in marks] == ["low · block1", "high · block1"]  # block2's CAVs are no better than random
    low = marks[0]
    assert low.y[0] == pytest.approx(r.tcav_mean[0, 0])
    assert low.error_y.array[0] == pytest.approx(0.04) and low.error_y.arrayminus[0] == pytest.approx(0.05)
    assert low.marker.color != "white" and marks[1].marker.color == "white"  # filled only when significant
    assert list(fig.layout.xaxis.ticktext)[0] == "<b>★ low · block1</b>" and list(fig.layout.xaxis.ticktext)[1] == \
        "high · block1"
    assert [a.text for a in fig.layout.annotations] == ["no score", "no score"]
    assert fig.layout.yaxis.title.text == "mean TCAV score"
    assert fig.layout.title.text == "'walking bass' against 7 random sets of excerpts (5 runs each)"
    one = cs.tcav_null(_result(layers=("block1",), better=(True,), significant=((False,), (False,)),
                               relative_to="scales"))
    assert [b.x[0] for b in one.data if isinstance(b, go.Box)] == ["low", "high"]  # one layer: class names alone
    assert one.layout.title.text.startswith("'walking bass' rather than 'scales' against")


def test_cav_similarity_is_the_cosine_and_nan_where_a_layer_is_missing():
    a = _result("a", cavs={"block2": np.array([1.0, 0.0, 0.0])})
    b = _result("b", cavs={"block2": np.array([1.0, 1.0, 0.0])})
    c = _result("c", cavs={"block1": np.array([0.0, 1.0, 0.0])})
    z = _result("z", cavs={"block2": np.zeros(3)})
    sim = cs.cav_similarity([a, b, c, z], "block2")
    assert sim[0, 0] == pytest.approx(1.0) and sim[0, 1] == pytest.approx(np.sqrt(0.5)) and sim[1, 0] == sim[0, 1]
    assert np.isnan(sim[2]).all() and np.isnan(sim[:, 2]).all() and np.isnan(sim[3, 0])


def test_entanglement_draws_scores_accuracy_and_the_cosine_heatmap():
    a = _result("alberti", cavs={"block2": np.array([1.0, 0.0])})
    b = _result("classical", cavs={"block2": np.array([-1.0, 0.0])})
    fig = cs.entanglement([a, b], "low")
    titles = [ann.text for ann in fig.layout.annotations]
    assert titles == ["TCAV score for low", "CAV accuracy (held out)", "CAV cosine at block2"]
    score = [t for t in fig.data if isinstance(t, go.Scatter) and t.xaxis == "x"]
    assert [t.name for t in score] == ["alberti", "classical"]
    assert score[0].y[0] == pytest.approx(a.tcav_mean[0, 0]) and score[0].y[1] is None  # no score at block2
    acc = [t for t in fig.data if isinstance(t, go.Scatter) and t.xaxis == "x2" and t.mode == "lines+markers"]
    np.testing.assert_allclose(acc[0].y, [0.7, 0.9])
    bound = [t for t in fig.data if isinstance(t, go.Scatter) and t.xaxis == "x2" and t.mode == "lines"]
    np.testing.assert_allclose(bound[0].y, [0.6, 0.65])
    heat = next(t for t in fig.data if isinstance(t, go.Heatmap))
    assert list(heat.x) == ["alberti", "classical"]
    np.testing.assert_allclose(np.asarray(heat.z, float), [[1.0, -1.0], [-1.0, 1.0]])


SUMMARY = {
    "false_positives": {"significant": 2, "cells": 60, "rate": 2 / 60, "rate_ci95": (0.009, 0.114)},
    "raw_p": {"rate": 0.05, "ks_uniform_p": 0.42, "deciles": [6, 7, 5, 6, 6, 5, 7, 6, 6, 6]},
    "planted": {"target": "bach", "tcav_mean": [0.91, 0.55], "significant": [True, False]},
    "randomisation": [{"randomised": ["block4", "head"], "tcav_mean": [0.5], "significant": [False]}],
    "seeds": {"seeds": 3, "max_abs_difference": 0.0123, "significance_agrees": True},
}


def test_sanity_deciles_show_the_counts_against_the_uniform_line():
    fig = cs.sanity_deciles(SUMMARY)
    bar = fig.data[0]
    assert list(bar.y) == SUMMARY["raw_p"]["deciles"] and bar.x[0] == "0.0–0.1" and bar.x[-1] == "0.9–1.0"
    line = fig.layout.shapes[0]
    assert line.y0 == line.y1 == pytest.approx(6.0)  # 60 p-values spread evenly over 10 deciles
    assert "should be flat" in fig.layout.title.text


def test_sanity_rows_say_the_numbers_in_words():
    rows = cs.sanity_rows(SUMMARY)
    assert [r["check"] for r in rows] == ["Random concepts reported significant", "Raw p-values below 0.05",
                                          "Planted concept ('bach' excerpts)", "Weights of block4, head randomised",
                                          "Other seeds (3)"]
    assert rows[0]["result"] == "2 of 60 (3.3%; 95% CI 0.9%–11.4%)"
    assert rows[1]["result"] == "5.0% (uniformity test p = 0.42)"
    assert rows[2]["result"] == "0.91 ★, 0.55" and rows[3]["result"] == "0.50"
    assert rows[4]["result"] == "scores move by at most 0.012; calls agree: yes"
    assert all(r["meaning"] for r in rows)
