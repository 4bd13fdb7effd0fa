"""xai.concepts.discovery: planted concepts are recovered by NMF and NTD; importance, fidelity, excerpts, cache, bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from tests._fakes import FakeModel, MapNet, RollNet, excerpt_set, planted
from xai.concepts import discovery
from xai.contract import fields_equal
from xai.errors import InputError, ParameterError


def _match(found: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Cosine similarity of each true pattern with the found direction it is matched to (Hungarian)."""
    t = true / np.linalg.norm(true, axis=1, keepdims=True)
    f = found / np.maximum(np.linalg.norm(found, axis=1, keepdims=True), 1e-12)
    sim = t @ f.T
    r, c = linear_sum_assignment(-sim)
    return sim[r, c]


@pytest.fixture
def maps(rng):
    return planted(rng)


@pytest.fixture
def map_model(maps):
    V, P, _ = maps
    return FakeModel(MapNet(np.stack([P[0] - P[1], P[1] - P[0]])))


# ------------------------------------------------------------------------------------------- planted structure


@pytest.mark.parametrize("method", discovery.METHODS)
def test_planted_patterns_are_recovered(maps, map_model, method):
    V, P, S = maps
    d = discovery.discover(V, map_model, layer="feat", n_concepts=4, method=method)
    assert d.components_.shape == (4, V.shape[1]) and d.presence_.shape == (len(V), 4, 6, 5)
    assert np.all(_match(d.components_, P) > 0.9), _match(d.components_, P)
    assert d.explained_variance_ > 0.95


def test_tensorly_ntd_recovers_the_same_patterns(maps, map_model):
    V, P, _ = maps
    d = discovery.discover(V, map_model, layer="feat", n_concepts=4, method="ntd", ntd_solver="tensorly", max_iter=300)
    assert np.all(_match(d.components_, P) > 0.9)
    assert d.params["factorisation"]["solver"] == "tensorly"


@pytest.mark.parametrize("method", discovery.METHODS)
def test_concepts_are_unit_nonnegative_ordered_and_rebuild_the_maps(maps, map_model, method):
    V, _, _ = maps
    d = discovery.discover(V, map_model, layer="feat", n_concepts=4, method=method, random_state=3)
    assert np.allclose(np.linalg.norm(d.components_, axis=1), 1.0, atol=1e-5)
    assert d.components_.min() >= 0 and d.presence_.min() >= 0
    mass = d.presence_.sum(axis=(0, 2, 3))
    assert np.all(np.diff(mass) <= 1e-6)  # concept 1 is the most present
    recon = np.einsum("nkhw,kc->nchw", d.presence_, d.components_)
    assert np.linalg.norm(recon - V) / np.linalg.norm(V) < 0.15
    again = discovery.discover(V, map_model, layer="feat", n_concepts=4, method=method, random_state=3)
    assert np.array_equal(again.components_, d.components_)  # seeded
    if method == "ntd":
        core, f = d.core_, d.factors_
        rebuilt = np.einsum("abcd,na,kb,hc,wd->nkhw", core, f[0], np.eye(4), f[2], f[3])
        assert np.allclose(rebuilt, d.presence_, rtol=1e-3, atol=1e-4)
        assert np.allclose(f[1].T, d.components_, atol=1e-5)


def test_importance_is_the_logit_derivative_along_the_concept(maps, map_model):
    """MapNet: logit_c = W_c . mean(map), so the summed gradient is W_c and importance[c, k] = W_c . p_k."""
    V, P, _ = maps
    y = np.arange(len(V)) % 2
    d = discovery.discover(V, map_model, y=y, layer="feat", n_concepts=4)
    W = map_model.net.fc.weight.detach().numpy()
    assert np.allclose(d.importance_, W @ d.components_.T, atol=1e-4)
    assert d.importance_basis_ == ("class", "class")
    k0 = int(np.argmax(d.components_ @ (P[0] / np.linalg.norm(P[0]))))  # the concept that is pattern 0
    assert d.importance_[1, k0] < 0 < d.importance_[0, k0]  # class 0's head points along pattern 0
    only_low = discovery.discover(V, map_model, y=np.zeros(len(V), int), layer="feat", n_concepts=4)
    assert only_low.importance_basis_ == ("class", "all")


# ------------------------------------------------------------------------------------------------- fidelity


def test_fidelity_keeps_accuracy_with_enough_concepts_and_drops_with_one(maps, map_model):
    V, _, _ = maps
    y = discovery._predict(map_model.net, V)  # the model's own answers: original accuracy is 1
    assert 0 < y.sum() < len(y)
    full = discovery.discover(V, map_model, layer="feat", n_concepts=4)
    f = discovery.fidelity(V, map_model, y=y, layer="feat", discovery=full)
    assert f["original_accuracy"] == 1.0 and f["accuracy"] >= 0.97 and f["agreement"] >= 0.97
    one = discovery.discover(V, map_model, layer="feat", n_concepts=1)
    f1 = discovery.fidelity(V, map_model, y=y, layer="feat", discovery=one)
    assert f1["accuracy"] <= 0.8 and f1["accuracy"] < f["accuracy"]
    curve = discovery.fidelity_curve(V, map_model, y=y, layer="feat", ks=(1, 2, 4))
    assert [p["n_concepts"] for p in curve] == [1, 2, 4]
    assert curve[-1]["accuracy"] >= 0.97 and curve[0]["accuracy"] <= 0.8
    assert curve[0]["explained_variance"] < curve[-1]["explained_variance"]


def test_fidelity_on_new_excerpts_projects_them_on_the_concepts(rng, map_model):
    V, _, _ = planted(np.random.default_rng(440), N=120)  # same patterns as the fixture (same seed), more excerpts
    d = discovery.discover(V[:80], map_model, layer="feat", n_concepts=4)
    y = discovery._predict(map_model.net, V[80:])
    f = discovery.fidelity(V[80:], map_model, y=y, layer="feat", discovery=d)
    assert f["n_excerpts"] == 40 and f["accuracy"] >= 0.95 and f["explained_variance"] > 0.9


# ------------------------------------------------------------------------------------------------ bad input


def test_more_concepts_than_channels_is_refused(maps, map_model):
    with pytest.raises(ParameterError, match="16 channels|has 16"):
        discovery.discover(maps[0], map_model, layer="feat", n_concepts=17)


def test_a_layer_with_negative_values_is_refused(maps, map_model):
    with pytest.raises(InputError, match="negative values"):
        discovery.discover(maps[0] - 0.5, map_model, layer="feat", n_concepts=4)


def test_too_few_excerpts_is_refused(maps, map_model):
    with pytest.raises(InputError, match="at least 8 excerpts.*only 5"):
        discovery.discover(maps[0][:5], map_model, layer="feat", n_concepts=4)
    with pytest.raises(InputError, match="at least 12"):
        discovery.discover(maps[0][:10], map_model, layer="feat", n_concepts=6)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"method": "pca"}, "'method' parameter must be one of"),
        ({"n_concepts": 0}, r"'n_concepts' parameter must be an int in \[1"),
        ({"layer": "nope"}, "no layer called 'nope'"),
        ({"layer": "fc"}, "no pitch x time map"),
        ({"max_iter": 0}, "'max_iter'"),
    ],
)
def test_bad_options_raise_parameter_errors(maps, map_model, kw, match):
    args = {"layer": "feat", "n_concepts": 4} | kw
    with pytest.raises(ParameterError, match=match):
        discovery.discover(maps[0], map_model, **args)


# ------------------------------------------------------------------------------- excerpts, regions, upsampling


def test_top_and_least_excerpts_rank_by_mean_presence(maps, map_model):
    V, _, _ = maps
    y = np.arange(len(V)) % 2
    d = discovery.discover(V, map_model, y=y, layer="feat", n_concepts=4)
    top = discovery.top_excerpts(d, 0, n=5)
    least = discovery.top_excerpts(d, 0, n=5, least=True)
    scores = d.scores_[:, 0]
    assert [r["score"] for r in top] == sorted((r["score"] for r in top), reverse=True)
    assert top[0]["score"] == pytest.approx(scores.max(), abs=1e-5)
    assert least[0]["score"] == pytest.approx(scores.min(), abs=1e-5)
    high = discovery.top_excerpts(d, 0, n=50, classes=["high"])
    assert {r["class"] for r in high} == {"high"} and len(high) == 40
    with pytest.raises(ParameterError, match="composer"):
        discovery.top_excerpts(d, 0, composers=["bach"])
    with pytest.raises(ParameterError, match="concept"):
        discovery.top_excerpts(d, 4)
    with pytest.raises(ParameterError, match="no class 'mid'"):
        discovery.top_excerpts(d, 0, classes=["mid"])


def test_concept_region_spans_the_time_steps_where_the_concept_is_strong():
    d = discovery.Discovery(
        method="nmf", layer="feat", n_concepts=1, components_=np.ones((1, 2)), presence_=np.zeros((1, 1, 3, 8)),
        explained_variance_=1.0, importance_=np.zeros((1, 1)), importance_basis_=("all",), classes=("a",),
        labels_=np.zeros(1, int), excerpt_index_=np.zeros(1, int), params={"window_quarters": 16.0},
    )
    d.presence_[0, 0, 1, 3:5] = [1.0, 0.8]
    d.presence_[0, 0, 2, 6] = 0.2
    reg = discovery.concept_region(d, 0, 0)
    assert (reg["start_beat"], reg["end_beat"]) == (6.0, 10.0)  # steps 3-4 of 8 over 16 quarters
    assert len(reg["profile"]) == 8


def test_upsample_reaches_the_roll_grid():
    m = np.zeros((11, 8), np.float32)
    m[5, 3] = 1.0
    up = discovery.upsample(m)
    assert up.shape == (88, 64) and up.min() >= 0
    r, c = np.unravel_index(np.argmax(up), up.shape)
    assert 40 <= r <= 47 and 24 <= c <= 31  # inside the cell it came from
    assert discovery.upsample(np.stack([m, m])).shape == (2, 88, 64)


# ------------------------------------------------------------------------------------------ excerpt sets, cache


@pytest.fixture
def small_set():
    return excerpt_set()


def test_cache_stores_results_and_ignores_those_of_other_weights(tmp_path, monkeypatch, small_set):
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path / "cache"))
    model = FakeModel(RollNet())
    kw = {"layer": "feat", "method": "nmf", "n_concepts": 3, "shipped": None}
    assert discovery.cached(small_set, model, compute=False, **kw) == (None, "missing")
    first, status = discovery.cached(small_set, model, **kw)
    assert status == "computed" and first.fidelity_["n_concepts"] == 3
    files = sorted(p.suffix for p in (tmp_path / "cache" / "discovery").iterdir())
    assert files == [".json", ".npz"]
    meta = json.loads(next((tmp_path / "cache" / "discovery").glob("*.json")).read_text())
    assert meta["weights_sha256"] == "weights-1"
    again, status = discovery.cached(small_set, model, **kw)
    assert status == "cached"
    assert np.allclose(again.presence_, first.presence_, rtol=1e-2, atol=1e-3)  # float16 on disk
    assert np.allclose(again.components_, first.components_)
    assert again.importance(0) == first.importance(0)

    retrained = FakeModel(RollNet(seed=1), sha="weights-2")
    assert discovery.cached(small_set, retrained, compute=False, **kw) == (None, "stale")
    fresh, status = discovery.cached(small_set, retrained, **kw)
    assert status == "recomputed" and "model changed" in discovery.status_message(status)
    assert fresh.weights_sha256 == "weights-2"
    assert not np.allclose(fresh.components_, first.components_)


def test_shipped_results_are_used_only_for_the_same_weights(tmp_path, monkeypatch, small_set):
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path / "cache"))
    model = FakeModel(RollNet())
    summary = discovery.precompute(small_set, model, configs=[("feat", "nmf", 2)], out=tmp_path / "shipped",
                                   curve=True, progress=lambda m: None)
    assert summary[0]["fidelity"]["n_concepts"] == 2 and summary[0]["bytes"] > 0
    for p in (tmp_path / "cache" / "discovery").iterdir():
        p.unlink()
    got, status = discovery.cached(small_set, model, layer="feat", n_concepts=2, compute=False,
                                   shipped=tmp_path / "shipped")
    assert status == "shipped" and len(got.curve()) > 1
    assert [p["n_concepts"] for p in got.curve()] == sorted(p["n_concepts"] for p in got.curve())
    other = FakeModel(RollNet(), sha="another")
    assert discovery.cached(small_set, other, layer="feat", n_concepts=2, compute=False,
                            shipped=tmp_path / "shipped")[1] == "stale"


def test_a_class_subset_is_factorised_alone(tmp_path, monkeypatch, small_set):
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path / "cache"))
    model = FakeModel(RollNet())
    d, _ = discovery.cached(small_set, model, layer="feat", n_concepts=2, classes=["high"], shipped=None)
    rows = small_set.rows(classes=["high"])
    assert np.array_equal(d.excerpt_index_, rows) and set(d.labels_) == {1}
    assert d.importance_basis_ == ("all", "class")
    top = discovery.top_excerpts(d, 0, n=3, excerpts=small_set, composers=["bach"])
    assert top and all(r["composer"] == "bach" and r["piece"].startswith("bach/") for r in top)
    reg = discovery.concept_region(d, top[0]["row"], 0, excerpts=small_set)
    assert reg["start_bar"] <= reg["end_bar"] and 0 <= reg["start_beat"] < reg["end_beat"] <= 16


def test_torch_threads_are_left_alone(maps, map_model):
    before = torch.get_num_threads()
    discovery.discover(maps[0], map_model, layer="feat", n_concepts=2)
    assert torch.get_num_threads() == before


# ------------------------------------------------------------------------------------------- shipped assets


def test_shipped_excerpts_and_precomputed_results_fit_the_shipped_model(tmp_path, monkeypatch):
    from models import registry

    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path))
    model = registry.load("composer")
    ex = discovery.load_excerpts()
    assert ex.classes == model.classes and len(ex) >= 600
    assert set(np.bincount(ex.labels)) <= set(range(100, 151))
    for layer, method, k in discovery.DEFAULT_CONFIGS:
        d, status = discovery.cached(ex, model, layer=layer, method=method, n_concepts=k, compute=False)
        assert status == "shipped", (layer, method, status)
        assert d.n_excerpts == len(ex) and d.fidelity_ is not None and len(d.curve()) >= 5
        assert d.fidelity_["original_accuracy"] > 0.8


def test_in_piece_finds_shipped_concepts_in_a_new_piece_where_they_are():
    from models import registry
    from xai.symbolic import examples, io

    model = registry.load("composer")
    disc = discovery.Discovery.load(discovery.ASSETS, "composer_block3_nmf_k8_seed0_all_0c8f8e2a4a65")
    piece = io.load(examples.example_path("folk: EmpressClog"))
    found = discovery.in_piece(piece, model, discovery=disc)
    assert found.presence.shape == (len(found.windows), 8, *disc.presence_.shape[2:])
    assert np.all(found.presence >= 0)
    # the projection reproduces the factorisation on its own excerpts: project the shipped excerpts' first rows
    ex = discovery.load_excerpts()
    rows = disc.excerpt_index_[:4]
    acts, _ = discovery._layer_data(model.net, ex.rolls(rows), "block3",
                                    discovery._layer_shape(model.net, "block3", (2, 88, 64)), grads=False)
    S = discovery._project(acts, disc.components_)
    assert np.corrcoef(S.ravel(), disc.presence_[:4].ravel())[0, 1] > 0.95
    k = 0
    assert found.strength[found.strongest(k), k] == found.strength[:, k].max()


def test_in_piece_refuses_a_piece_without_notes():
    from dataclasses import replace

    from tests._fakes import scale_piece

    p = scale_piece(2)
    empty = replace(p, onsets=p.onsets[:0], durations=p.durations[:0], pitches=p.pitches[:0],
                    velocities=p.velocities[:0], parts=p.parts[:0])
    with pytest.raises(InputError, match="no notes"):
        discovery.in_piece(empty, None, discovery=None)


@pytest.mark.parametrize("method", discovery.METHODS)
def test_discovery_round_trips_through_json(maps, map_model, method):
    d = discovery.discover(maps[0], map_model, layer="feat", n_concepts=3, method=method)
    d = replace(d, fidelity_=discovery.fidelity(maps[0], map_model, y=None, layer="feat", discovery=d))
    back = discovery.Discovery.from_json(d.to_json())
    assert fields_equal(d, back)
    assert back.title == d.title and np.array_equal(back.scores_, d.scores_)



# ------------------------------------------------------------------------------------------- held out (issue 15)


def test_ntd_projects_its_own_excerpts_onto_their_presence(maps, map_model):
    V = maps[0]
    d = discovery.discover(V, map_model, layer="feat", n_concepts=4, method="ntd", max_iter=300)
    S = discovery.project(V, d)  # MapNet's layer 'feat' is the maps themselves
    assert S.shape == d.presence_.shape
    assert np.corrcoef(S.ravel(), d.presence_.ravel())[0, 1] > 0.95


def test_cached_fits_on_some_pieces_and_measures_the_others(tmp_path, monkeypatch, small_set):
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path))
    model = FakeModel(RollNet())
    d, _ = discovery.cached(small_set, model, layer="feat", n_concepts=2, holdout=0.34, shipped=None, curve=True,
                            ks=(1, 3))
    pieces = np.asarray(small_set.piece_ids)[d.excerpt_index_]
    assert d.n_excerpts == len(small_set) and d.heldout_.any() and not set(pieces[d.heldout_]) & set(pieces[d.fitted_])
    h = d.heldout_fidelity_
    assert h["n_excerpts"] == int(d.heldout_.sum()) and d.fidelity_["n_excerpts"] == int(d.fitted_.sum())
    assert 0 <= h["random_accuracy"] <= 1 and h["chance_accuracy"] >= 0.5  # two classes: a constant answer
    assert all("heldout" in p for p in d.curve())
    back = discovery.Discovery.load(tmp_path / "discovery", next((tmp_path / "discovery").glob("*.json")).stem)
    assert np.array_equal(back.heldout_, d.heldout_) and back.heldout_fidelity_ == h


def test_two_class_mode_needs_two_classes_and_judges_by_their_logits(tmp_path, monkeypatch, small_set):
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path))
    model = FakeModel(RollNet())
    with pytest.raises(ParameterError, match="exactly two"):
        discovery.cached(small_set, model, layer="feat", n_concepts=2, classes=["low"], contrast=True)
    d, _ = discovery.cached(small_set, model, layer="feat", n_concepts=2, classes=["low", "high"], contrast=True,
                            shipped=None)
    assert d.params["contrast"] is True and d.params["classes_used"] == ["low", "high"]
    s = d.summary(small_set, top=2)
    assert s["contrast"] is True and s["heldout_fidelity"]["chance_accuracy"] >= 0.5


def test_flags_mark_duplicates_and_class_detectors(maps, map_model):
    V = maps[0]
    y = (np.arange(len(V)) % 2).astype(int)
    d = discovery.discover(V, map_model, y=y, layer="feat", n_concepts=3)
    P = d.components_.copy()
    P[2] = P[0] * 0.99 + 0.01 * P[1]  # concept 3 nearly concept 1
    labels = np.where(d.scores_[:, 1] > np.median(d.scores_[:, 1]), 1, 0)  # concept 2's top excerpts: class 1
    marks = discovery.flags(replace(d, components_=P, labels_=labels), n_top=10)
    assert marks[0]["duplicates"] == [2] and marks[2]["duplicates"] == [0] and not marks[1]["duplicates"]
    assert marks[1]["class_detector"] and marks[1]["top_class"] == d.classes[1]
    assert any("near-duplicate" in n for n in marks[0]["notes"])


def test_the_old_model_first_order_of_cached_still_works(tmp_path, monkeypatch, small_set):
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path))
    with pytest.warns(DeprecationWarning, match="excerpts first"):
        d, status = discovery.cached(FakeModel(RollNet()), small_set, layer="feat", n_concepts=2, shipped=None)
    assert status == "computed" and d.n_excerpts == len(small_set)


