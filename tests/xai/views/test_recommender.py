"""Figures of the recommender view: what each figure draws (traces, axis titles, the numbers themselves)."""

import numpy as np
import pytest

from xai.views import recommender as V


def _axis_title(axis) -> str:
    return axis.title.text


def test_k_occurrence_histogram_counts_items_per_nk_one_outline_per_reduction():
    nks = {"none": np.array([0, 0, 1, 3, 3, 3]), "mp": np.array([1, 1, 1, 2, 2, 1])}
    fig = V.k_occurrence_histogram(nks, 1, titles={"none": "None", "mp": "Mutual Proximity"})
    assert [t.name for t in fig.data] == ["None", "Mutual Proximity"]
    none = fig.data[0]
    assert list(none.x) == [0, 1, 2, 3]
    np.testing.assert_array_equal(none.y, [2, 1, np.nan, 3])  # no item with N_k = 2: a gap, not a zero
    np.testing.assert_array_equal(fig.data[1].y, [np.nan, 4, 2, np.nan])
    assert _axis_title(fig.layout.xaxis) == "k-occurrence N_1 (in how many other items' top-1 lists)"
    assert _axis_title(fig.layout.yaxis) == "items" and fig.layout.yaxis.type == "log"
    assert fig.layout.title.text == "k-occurrence distribution (k = 1)"
    assert fig.layout.shapes[0].x0 == pytest.approx(1.5)  # the hub line at N_k >= 2k


def test_tradeoff_places_each_reduction_at_its_skewness_and_precision():
    rows = [{"reduction": "none", "skewness": 2.5, "retrieval_precision": 0.41, "knn_accuracy": 0.5},
            {"reduction": "mp", "skewness": 0.3, "retrieval_precision": 0.44, "knn_accuracy": 0.52},
            {"reduction": "ls", "skewness": 0.1, "retrieval_precision": None, "knn_accuracy": None}]
    fig = V.tradeoff(rows, titles={"mp": "MP"})
    assert [t.name for t in fig.data] == ["none", "MP"]  # a row without precision is left out
    assert (fig.data[1].x[0], fig.data[1].y[0]) == (0.3, 0.44)
    assert "k-NN accuracy 0.520" in fig.data[1].hovertemplate
    assert _axis_title(fig.layout.xaxis) == "skewness of N_k (lower: fewer hubs)"
    assert _axis_title(fig.layout.yaxis) == "same-class precision at k"


def test_hub_shares_bars_hubs_beside_all_items():
    shares = [{"name": "bach", "hubs": 0.5, "all": 0.2}, {"name": "folk", "hubs": 0.1, "all": 0.3}]
    fig = V.hub_shares(shares, what="Classes")
    assert [t.type for t in fig.data] == ["bar", "bar"]
    assert [t.name for t in fig.data] == ["among the hubs", "among all items"]
    assert list(fig.data[0].x) == ["bach", "folk"] and list(fig.data[0].y) == [0.5, 0.1]
    assert list(fig.data[1].y) == [0.2, 0.3]
    assert fig.layout.title.text == "Classes of the biggest hubs" and fig.layout.barmode == "group"
    assert _axis_title(fig.layout.yaxis) == "share"


def test_midlevel_z_colours_features_above_and_below_the_mean():
    fig = V.midlevel_z({"note_density": 1.2, "register": -0.4})
    bar = fig.data[0]
    assert bar.orientation == "h" and list(bar.x) == [1.2, -0.4] and list(bar.y) == ["note density", "register"]
    assert bar.marker.color[0] != bar.marker.color[1]
    assert _axis_title(fig.layout.xaxis) == "hubs' mean, in standard deviations from all items"


def test_nk_trace_steps_are_checks_times_check_every():
    fig = V.nk_trace({"none": [2, 5, 11], "mp": [2, 3]}, check_every=5, need=25)
    assert [t.name for t in fig.data] == ["none", "mp"]
    assert list(fig.data[0].x) == [0, 5, 10] and list(fig.data[0].y) == [2, 5, 11]
    assert list(fig.data[1].x) == [0, 5]
    assert fig.layout.shapes[0].y0 == 25  # the hub threshold
    assert _axis_title(fig.layout.xaxis) == "attack step"
    assert _axis_title(fig.layout.yaxis) == "N_k of the attacked song"


def test_measure_rows_one_row_per_reduction_with_its_title():
    from xai.recommender import hubness

    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(60, 8)).astype(np.float32), np.repeat([0, 1, 2], 20)
    reports = hubness.compare(X, labels, 5, reductions=("none", "mp"))
    rows = V.measure_rows(reports, titles={"mp": "Mutual proximity"})
    assert [r["reduction"] for r in rows] == ["none", "Mutual proximity"]
    for r, rep in zip(rows, reports):
        d = rep.summary()
        assert r["skewness"] == d["skewness"] and r["k-NN accuracy"] == d["knn_accuracy"]
        assert r["biggest N_k"] == d["max_k_occurrence"] and len(r) == 9
