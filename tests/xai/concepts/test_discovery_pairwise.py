"""xai.concepts.discovery, pairwise mode (Foscarin et al. 2022): two classes, their logits, swapped pairs; and the
shipped piano_composer results."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests._fakes import FakeModel, RollNet, excerpt_set
from xai.concepts import browse, discovery
from xai.contract import fields_equal
from xai.errors import ParameterError


@pytest.fixture(scope="module")
def small_set():
    return excerpt_set()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path))
    return tmp_path


def _pairwise(small_set, pair, **kw):
    model = FakeModel(RollNet())
    d, status = discovery.cached(small_set, model, layer="feat", n_concepts=3, pair=pair, shipped=None, **kw)
    return model, d, status


def test_swapping_the_pair_flips_the_sign_of_every_concept(cache, small_set):
    _, ab, _ = _pairwise(small_set, ("low", "high"))
    _, ba, _ = _pairwise(small_set, ("high", "low"))
    assert ab.pair_ == ("low", "high") and ba.pair_ == ("high", "low")
    assert np.array_equal(ab.components_, ba.components_)  # the same excerpts, the same seed: the same concepts
    assert np.any(np.abs(ab.pair_importance_) > 1e-3)
    assert np.allclose(ab.pair_importance_, -ba.pair_importance_)
    assert np.array_equal(ab.suggested_, ba.suggested_)
    # suggested = the two logits move in opposite directions
    lo, hi = ab.importance_[0], ab.importance_[1]
    assert np.array_equal(ab.suggested_, np.sign(lo) * np.sign(hi) < 0)
    assert ab.importance_basis_ == ("pair", "pair") and ab.importance_.shape == (2, 3)


def test_pairwise_fidelity_is_a_share_and_judged_on_two_logits(cache, small_set):
    _, d, _ = _pairwise(small_set, ("low", "high"), holdout=0.34)
    for f in (d.fidelity_, d.heldout_fidelity_):
        for key in ("accuracy", "original_accuracy", "agreement", "chance_accuracy", "chance_agreement"):
            assert 0.0 <= f[key] <= 1.0, (key, f[key])
    assert d.heldout_fidelity_["chance_accuracy"] >= 0.5  # two classes: a constant answer is right half the time
    s = d.summary(small_set, top=2)
    assert s["pair"] == ["low", "high"] and s["contrast"] is True
    assert all(set(c) >= {"pair_importance", "suggested"} for c in s["concepts"])
    assert all(set(c["importance"]) == {"low", "high"} for c in s["concepts"])
    json.dumps(s)


def test_the_exact_importance_is_the_papers_finite_difference(cache, small_set):
    model, d, _ = _pairwise(small_set, ("high", "low"), holdout=0.0)
    X = small_set.rolls(d.excerpt_index_)
    fd = discovery.finite_difference(X, model, discovery=d, eps=1e-3)  # rows: high, low
    exact = d.importance_[[d.classes.index("high"), d.classes.index("low")]]
    assert fd.shape == exact.shape == (2, 3)
    assert np.allclose(fd, exact, rtol=1e-2, atol=1e-3), (fd, exact)


def test_a_pairwise_result_round_trips_json_and_disk(cache, small_set):
    _, d, _ = _pairwise(small_set, ("high", "low"))
    back = discovery.Discovery.from_json(d.to_json())
    assert fields_equal(back, d) and back.pair_ == ("high", "low")
    assert np.array_equal(back.pair_importance_, d.pair_importance_)
    stem = next((cache / "discovery").glob("*high_vs_low*.json")).stem  # the order is part of the name
    again = discovery.Discovery.load(cache / "discovery", stem)
    assert again.pair_ == ("high", "low") and np.allclose(again.pair_importance_, d.pair_importance_)
    found, status = discovery.cached(small_set, FakeModel(RollNet()), layer="feat", n_concepts=3, pair=("high", "low"),
                                     shipped=None)
    assert status == "cached" and found.pair_ == ("high", "low")


def test_a_bad_pair_is_refused_in_a_sentence(cache, small_set):
    model = FakeModel(RollNet())
    with pytest.raises(ParameterError, match="exactly two different"):
        discovery.cached(small_set, model, layer="feat", n_concepts=2, pair=("low", "low"))
    with pytest.raises(ParameterError, match="no class 'mid'"):
        discovery.cached(small_set, model, layer="feat", n_concepts=2, pair=("low", "mid"))
    with pytest.raises(ParameterError, match="exactly two different"):
        discovery.discover(small_set.rolls(), model, layer="feat", n_concepts=2, pair=("low",))


def test_the_summary_table_names_the_pair_and_the_suggested_concepts(cache, small_set):
    _, d, _ = _pairwise(small_set, ("low", "high"))
    rows = browse.summaries(d, small_set, n=4)
    assert all("low − high" in r and r["suggested"] in ("yes", "") for r in rows)
    assert [r["suggested"] == "yes" for r in rows] == d.suggested_.tolist()
    assert browse.Settings.of(d) == browse.Settings("feat", "nmf", 3, ("low", "high"), 0, True)


def test_timing_estimates_come_from_measurements(small_set):
    s = browse.Settings(layer="feat", method="ntd")
    browse.record_timing("ntd", False, 12.0, 24)
    per, where = browse.per_excerpt(FakeModel(RollNet()), small_set, s, curve=False)
    assert per == pytest.approx(0.5) and where == "measured on this server"
    assert browse.duration(40) == "about 40 seconds" and browse.duration(600) == "about 10 minutes"
    assert "about 10 seconds" in browse.estimate(FakeModel(RollNet()), small_set, s, 20, curve=False)


# ------------------------------------------------------------------------------ the shipped piano_composer results

def _piano():
    from models import registry

    if "piano_composer" not in registry.available():
        pytest.skip("piano_composer is not shipped")
    return registry.load("piano_composer")


@pytest.fixture(scope="module")
def piano():
    model = _piano()
    return model, discovery.load_excerpts(model="piano_composer")


def test_the_shipped_piano_excerpts_are_the_models_windows_of_held_out_works(piano):
    from xai.symbolic import io, music

    model, ex = piano
    assert ex.classes == model.classes and ex.grid == "seconds"
    assert ex.rolls().shape[1:] == (2, music.N_PITCHES, 200)
    held_works = set(model.card["split"]["held_out_works"].values())
    assert {ex.meta["works"][p] for p in ex.meta["heldout_pieces"]} == held_works
    fitted = [p for p in set(ex.piece_ids) if p not in ex.meta["heldout_pieces"]]
    assert not {ex.meta["works"][p] for p in fitted} & held_works  # no work on both sides
    # The stored rolls are exactly what the model reads from the shipped example of the same performance.
    rows = [i for i, p in enumerate(ex.piece_ids) if p == "Chopin/Etudes_op_10/3/SunMeiting08.mid"]
    wins, X = music.encode_for(io.load(_example("chopin_etude_op10_no3_SunMeiting08.mid")), model)
    starts = np.array([w.start_second for w in wins])
    for i in rows[:5]:
        k = int(np.argmin(np.abs(starts - ex.seconds(i)[0])))
        assert abs(starts[k] - ex.seconds(i)[0]) < 1e-3
        assert np.array_equal(ex.rolls([i])[0], X[k])
    assert "bars" in ex.citation(rows[0]) and ":" in ex.citation(rows[0])  # bars and clock time


def _example(name):
    from xai._paths import ASSETS

    return ASSETS / "examples" / "piano" / name


def test_the_shipped_piano_results_load_and_match_the_model(piano):
    model, ex = piano
    stems = sorted(p.stem for p in discovery.ASSETS.glob("piano_composer_*.json"))
    assert any("_all_" in s and "block4_nmf_k8" in s for s in stems)
    assert any("_all_" in s and "block3_nmf_k8" in s for s in stems)
    assert any("_vs_" in s for s in stems)
    for stem in stems:
        d = discovery.Discovery.load(discovery.ASSETS, stem)
        assert d is not None, stem
        assert d.classes == model.classes and d.weights_sha256 == model.weights_sha256
        assert d.excerpts_sha256 == ex.sha256 and d.presence_.shape[0] == len(d.excerpt_index_)
        assert d.heldout_fidelity_ is not None and 0 <= d.heldout_fidelity_["accuracy"] <= 1
        assert float(d.params["window_seconds"]) == 20.0
        held = np.isin(np.asarray(ex.piece_ids)[d.excerpt_index_], ex.meta["heldout_pieces"])
        assert np.array_equal(held, d.heldout_)
        if "_vs_" in stem:
            a, b = d.pair_
            assert f"{a}_vs_{b}" in stem and set(np.asarray(ex.class_names)[d.excerpt_index_]) == {a, b}
            assert d.suggested_.shape == (d.n_concepts,)
        found, status = discovery.cached(ex, model, layer=d.layer, n_concepts=d.n_concepts, pair=d.pair_,
                                         compute=False)
        assert status in ("shipped", "cached") and found is not None
