"""Figures of the classroom views: the label-noise curves and a run's per-style recall, by their content."""

import numpy as np
import pytest

from xai.views import classroom as V


def _run(kind, noise, seed, acc, **per_class):
    return {"kind": kind, "noise": noise, "seed": seed, "test_accuracy": acc, "per_class": per_class}


DOC = {
    "parameters": {"kinds": ["symmetric", "class"], "classes": ["bach", "folk", "palestrina", "trecento"]},
    "runs": [_run("symmetric", 0.0, 0, 0.8), _run("symmetric", 0.0, 1, 0.7),
             _run("symmetric", 0.5, 0, 0.6), _run("symmetric", 0.5, 1, 0.4),
             _run("class", 0.0, 0, 0.8), _run("class", 0.0, 1, 0.7), _run("class", 0.5, 0, 0.5)],
}


def test_noise_curves_draw_the_mean_the_band_and_each_seed_per_kind():
    fig = V.noise_curves(DOC)
    lines = [t for t in fig.data if t.name]
    assert [t.name for t in lines] == [V.KIND_NAMES["symmetric"], V.KIND_NAMES["class"]]
    sym = lines[0]
    assert list(sym.x) == [0, 50] and list(sym.y) == pytest.approx([0.75, 0.5])  # mean over seeds
    band = fig.data[0]
    assert band.fill == "toself" and list(band.y) == [0.8, 0.6, 0.4, 0.7]  # max forward, min back
    seeds = fig.data[2]
    assert sorted(seeds.y) == [0.4, 0.6, 0.7, 0.8]
    assert fig.layout.xaxis.title.text == "Wrong training labels (%)"
    assert fig.layout.yaxis.title.text == "Accuracy on held-out pieces"
    assert fig.layout.title.text == "Accuracy against label noise"
    ys = sorted(round(s.y0, 4) for s in fig.layout.shapes)
    assert ys == [0.25, pytest.approx(np.mean([0.8, 0.7, 0.8, 0.7]))]  # chance (4 classes) and curated labels


def test_live_runs_are_stars_at_their_noise_and_accuracy():
    fig = V.noise_curves(DOC, live=[_run("class", 0.3, 7, 0.55)])
    star = fig.data[-1]
    assert star.marker.symbol == "star" and list(star.x) == [30] and list(star.y) == [0.55]
    assert star.name == "Your run (class, 30%)"


def test_per_class_recall_bars_the_run_beside_the_curated_reference():
    run = {"kind": "symmetric", "noise": 0.4, "per_class": {"bach": 0.9, "folk": 0.3}}
    ref = {"kind": "symmetric", "noise": 0.0, "per_class": {"bach": 1.0, "folk": 0.8}}
    fig = V.per_class_recall(run, reference=ref)
    assert [t.name for t in fig.data] == ["Curated labels", "40% wrong (symmetric)"]
    assert list(fig.data[0].x) == ["bach", "folk"] and list(fig.data[0].y) == [1.0, 0.8]
    assert list(fig.data[1].y) == [0.9, 0.3]
    assert fig.layout.yaxis.title.text == "Recall" and fig.layout.barmode == "group"
    alone = V.per_class_recall(run)
    assert len(alone.data) == 1 and list(alone.data[0].y) == [0.9, 0.3]
