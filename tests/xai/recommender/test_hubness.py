"""Hubness measures and reductions against hand-computed values on tiny data, and plain messages on bad input."""

import numpy as np
import pytest

from xai.errors import InputError, ParameterError
from xai.recommender import hubness as H


def star():
    """A hub at the origin and three leaves at radii 0.9, 1.0, 1.1, 120 degrees apart (leaves are > 1.6 apart)."""
    ang = np.deg2rad([0, 120, 240])
    r = np.array([0.9, 1.0, 1.1])
    leaves = np.c_[r * np.cos(ang), r * np.sin(ang)]
    return np.vstack([[0.0, 0.0], leaves]).astype(np.float32)


def test_k_occurrence_and_measures_by_hand():
    X = star()
    g = H.knn(X, 1)
    # every leaf's nearest is the hub; the hub's nearest is the closest leaf (item 1)
    assert g.indices[:, 0].tolist() == [1, 0, 0, 0]
    m = H.measures(g.top(1))
    nk = H.k_occurrence(g.top(1), 4)
    assert nk.tolist() == [3, 1, 0, 0]
    # N = [3, 1, 0, 0], mean 1: m2 = 1.5, m3 = 1.5 -> skewness 1.5 / 1.5**1.5
    assert m["skewness"] == pytest.approx(1 / np.sqrt(1.5))
    assert m["hub_occurrence"] == pytest.approx(3 / 4)  # the hub (N >= 2) holds 3 of 4 slots
    assert m["antihub_occurrence"] == pytest.approx(2 / 4)
    assert m["robinhood"] == pytest.approx(0.5 * (2 + 0 + 1 + 1) / 4)
    assert m["gini"] == pytest.approx((0 * -3 + 0 * -1 + 1 * 1 + 3 * 3) / (4 * 4))


def test_self_is_never_a_neighbour_and_mean_k_occurrence_is_k():
    X = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32)
    g = H.knn(X, 10, block=37)
    assert not (g.indices == np.arange(200)[:, None]).any()
    assert H.k_occurrence(g.top(10), 200).mean() == pytest.approx(10)
    # blocked exact search agrees with brute force
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(D, np.inf)
    assert np.array_equal(g.indices, np.argsort(D, axis=1, kind="stable")[:, :10])
    assert g.row_mean == pytest.approx(np.where(np.isinf(D), 0, D).sum(1) / 199, rel=1e-4)


def test_empirical_mp_by_hand_on_the_star():
    X = star()
    g = H.knn(X, 3)
    mp = H.mp_empirical(X, g)
    # MP(hub, leaf 1): both other leaves are farther from both than 0.9 -> 1 - 2/2 = 0
    assert mp[0, list(g.indices[0]).index(1)] == pytest.approx(0.0)
    # MP(leaf 1, leaf 2): the hub is near both; leaf 3 is farther from both -> 1 - 1/2
    assert mp[1, list(g.indices[1]).index(2)] == pytest.approx(0.5)


def _mp_formula(X):
    D = np.linalg.norm(X[:, None].astype(np.float64) - X[None], axis=2)
    n = len(X)
    M = np.zeros((n, n))
    for x in range(n):
        for y in range(n):
            if x == y:
                continue
            t = D[x, y]
            far = (D[x] > t) & (D[y] > t)
            far[[x, y]] = False
            M[x, y] = 1 - far.sum() / (n - 2)
    return D, M


def test_empirical_and_gaussian_mp_match_the_formula():
    from scipy.stats import norm

    X = np.random.default_rng(1).normal(size=(40, 5)).astype(np.float32)
    g = H.knn(X, 12)
    D, M = _mp_formula(X)
    mp = H.mp_empirical(X, g, block=7)
    assert mp == pytest.approx(np.take_along_axis(M, g.indices, axis=1), abs=1e-9)
    ind, sec = H.reduce(g, "mp_gauss")
    off = ~np.eye(40, dtype=bool)
    mu = np.array([D[i][off[i]].mean() for i in range(40)])
    sd = np.array([D[i][off[i]].std() for i in range(40)])
    Dk = np.take_along_axis(D, ind, axis=1)
    want = 1 - norm.sf(Dk, mu[:, None], sd[:, None]) * norm.sf(Dk, mu[ind], sd[ind])
    assert sec == pytest.approx(want, abs=1e-5)
    assert (np.diff(sec, axis=1) >= 0).all()  # re-ranked: nearest first


def test_local_scaling_nicdm_and_csls_by_formula():
    X = np.random.default_rng(2).normal(size=(30, 4)).astype(np.float32)
    g = H.knn(X, 10)
    d = g.distances.astype(np.float64)
    sig = d[:, 4]
    mu = d[:, :5].mean(1)
    for red, f in (("ls", lambda i, j, t: 1 - np.exp(-t * t / (sig[i] * sig[j]))),
                   ("nicdm", lambda i, j, t: t / np.sqrt(mu[i] * mu[j])),
                   ("csls", lambda i, j, t: 2 * t - mu[i] - mu[j])):
        ind, sec = H.reduce(g, red)
        for i in range(30):
            t = np.linalg.norm(X[i] - X[ind[i]], axis=1)
            assert sec[i] == pytest.approx(f(i, ind[i], t), abs=1e-5), red


def test_mutual_proximity_reduces_hubness_on_a_hubby_space():
    X = np.random.default_rng(3).normal(size=(1500, 64)).astype(np.float32)
    labels = np.arange(1500) % 3
    reps = {r.reduction: r for r in H.compare(X, labels, 10, ("none", "mp", "mp_gauss", "ls"))}
    s0 = reps["none"].measures["skewness"]
    assert s0 > 1.0
    for r in ("mp", "mp_gauss", "ls"):
        assert reps[r].measures["skewness"] < 0.6 * s0
    assert reps["none"].summary()["retrieval_precision"] is not None


def test_retrieval_quality_by_hand():
    ind = np.array([[1, 2], [0, 2], [0, 1], [2, 1]])
    labels = np.array([0, 0, 1, 1])
    q = H.retrieval_quality(ind, labels)
    # same-class shares: 1/2, 1/2, 0, 1/2
    assert q["precision_at_k"] == pytest.approx(1.5 / 4)
    # majority (ties to the nearer): 0 -> 0 ok, 1 -> 0 ok, 2 -> 0 wrong, 3 -> 1 ok
    assert q["knn_accuracy"] == pytest.approx(3 / 4)


def test_bad_input_gives_plain_messages():
    X = star()
    with pytest.raises(ParameterError, match="too many for 4 items"):
        H.analyse(X, None, k=4)
    bad = X.copy()
    bad[2, 0] = np.nan
    with pytest.raises(InputError, match="missing or infinite"):
        H.analyse(bad, None, k=1)
    dup = np.vstack([X, X[1:2]])
    with pytest.raises(InputError, match="exactly the same embedding"):
        H.analyse(dup, None, k=1)
    with pytest.raises(InputError, match="same class"):
        H.retrieval_quality(np.array([[1], [0], [1]]), np.zeros(3))
    rep = H.analyse(X, np.zeros(4), k=1)  # single class: measures still, retrieval explained in a note
    assert rep.retrieval is None and "same class" in rep.note
    with pytest.raises(ParameterError, match="no hubness reduction"):
        H.analyse(X, None, k=1, reduction="magic")


def test_approximate_path_reports_recall():
    X = np.random.default_rng(4).normal(size=(600, 8)).astype(np.float32)
    g = H.knn(X, 10, approximate=True)
    assert not g.exact and 0.8 <= g.recall <= 1.0
    assert not (g.indices == np.arange(600)[:, None]).any()
    rep = H.analyse(X, None, 5, "mp", graph=g)
    assert "Gaussian" in rep.note


def test_graph_and_report_round_trip_through_json():
    from xai.contract import fields_equal

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6)).astype(np.float32)
    labels = rng.integers(0, 3, 40)
    g = H.knn(X, 8)
    assert g.seconds >= 0 and fields_equal(g, H.Graph.from_json(g.to_json()))
    for r in (H.analyse(X, labels, 3, "mp", graph=g), H.analyse(X, None, 3, "none", graph=g)):
        back = H.Report.from_json(r.to_json())
        assert fields_equal(r, back) and back.summary() == r.summary()


def test_the_inverted_file_join_finds_the_true_neighbours_and_reports_its_recall(tmp_path):
    from bench.hubness import data

    X, labels = data(6000, seed=3)
    g = H.knn(X, 20, approximate=True, index="ivf", recall_sample=200)
    assert g.method.startswith("faiss IVF join") and not g.exact and g.recall10 >= 0.95 and g.recall >= 0.9
    assert not (g.indices == np.arange(len(X))[:, None]).any() and (g.indices >= 0).all()
    assert (np.diff(g.distances, axis=1) >= 0).all()
    exact = H.knn(X[:3000], 20, approximate=False)
    assert exact.recall10 is None
    # the vectors may stay on disk: a read-only memory map gives the same graph
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    g2 = H.knn(mm, 20, approximate=True, index="ivf", recall_sample=200, cache_dir=tmp_path)
    assert np.array_equal(g2.indices, g.indices) and g2.recall10 == g.recall10
    g3 = H.knn(mm, 20, approximate=True, index="ivf", recall_sample=200, cache_dir=tmp_path)  # from the cache
    assert g3.seconds == 0.0 and np.array_equal(g3.indices, g.indices)
    rep = H.analyse(X, labels, 10, "mp_gauss", graph=g)
    assert rep.recall10 == g.recall10 and rep.summary()["ann_recall10"] == g.recall10
    with pytest.raises(ParameterError, match="no approximate index 'annoy'"):
        H.knn(X, 20, approximate=True, index="annoy")


@pytest.mark.parametrize("reduction", ["mp_gauss", "ls", "nicdm", "csls"])
def test_reductions_block_by_block_equal_the_whole(reduction):
    X = np.random.default_rng(8).normal(size=(500, 12)).astype(np.float32)
    g = H.knn(X, 30, moments=False)
    whole = H.reduce(g, reduction, block=10_000)
    blocks = H.reduce(g, reduction, block=37)
    assert np.array_equal(whole[0], blocks[0]) and np.allclose(whole[1], blocks[1])
