"""LIME core: exact enumeration, the surrogate against sklearn, planted causes, bad options, checks, results."""

import subprocess
import sys

import numpy as np
import pytest

from xai.contract import fields_equal, resolve_target
from xai.errors import InputError, ParameterError
from xai.local import core


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_exact_enumeration_up_to_twelve_segments():
    masks, exact = core.coalitions(5, 999, 0)
    assert exact and masks.shape == (32, 5) and masks[0].all() and not masks[-1].any()
    assert len({m.tobytes() for m in masks}) == 32
    masks, exact = core.coalitions(13, 300, 0)
    assert not exact and masks.shape == (300, 13) and masks[0].all()


def test_kernel_matches_lime_cosine_distance(rng):
    from sklearn.metrics import pairwise_distances

    masks = rng.integers(0, 2, (50, 9)).astype(bool)
    masks[0] = True
    d = pairwise_distances(masks.astype(float), masks[:1].astype(float), metric="cosine").ravel()
    np.testing.assert_allclose(core.kernel_weights(masks, 0.25), np.sqrt(np.exp(-(d**2) / 0.25**2)), atol=1e-12)


def test_weighted_ridge_matches_sklearn(rng):
    from sklearn.linear_model import Ridge

    X = rng.integers(0, 2, (200, 7)).astype(float)
    y = X @ rng.normal(size=7) + rng.normal(scale=0.1, size=200)
    w = rng.uniform(0.1, 1, 200)
    coef, b, r2 = core.weighted_ridge(X, y, w, alpha=1.0)
    ref = Ridge(alpha=1.0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(coef, ref.coef_, atol=1e-9)
    assert b == pytest.approx(ref.intercept_, abs=1e-9)
    assert r2 == pytest.approx(ref.score(X, y, sample_weight=w), abs=1e-9)


@pytest.mark.parametrize("S,cause", [(6, 4), (12, 0), (20, 13), (40, 31)])
def test_planted_cause_is_ranked_first(S, cause):
    """A fake model that looks only at one segment: that segment must come first, exactly."""
    def score(masks):
        return np.where(masks[:, cause], 0.9, 0.1)

    f = core.fit(score, S, samples=500, random_state=3)
    assert int(f.ranking[0]) == cause
    assert f.exact == (S <= 12)
    others = np.delete(f.weights, cause)
    assert f.weights[cause] > 0.3 and np.all(np.abs(others) < 0.05)


def test_batches_and_progress():
    seen = []
    f = core.fit(lambda m: m[:, 2].astype(float), 15, samples=100, batch_size=30,
                 progress=lambda fr, msg: seen.append(fr))
    assert seen[-1] == 1.0 and len(seen) == 4 and f.samples == 100


def test_bad_options():
    score = lambda m: m[:, 0].astype(float)  # noqa: E731
    with pytest.raises(ParameterError, match="more samples than segments"):
        core.fit(score, 30, samples=20)
    with pytest.raises(ParameterError, match="kernel_width"):
        core.fit(score, 4, kernel_width=0)
    with pytest.raises(InputError, match="fewer than two segments"):
        core.fit(score, 1)
    with pytest.raises(ParameterError, match="no class 'jazz'"):
        resolve_target("jazz", ("a", "b"))


def test_deletion_curves_and_stability():
    def score(m):
        return 0.5 * m[:, 1] + 0.3 * m[:, 3] + 0.2 * m[:, 0]

    d = core.deletion_curves(score, {"good": np.array([1, 3, 0, 2]), "bad": np.array([2, 0, 3, 1])}, 4)
    assert d["k"] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(d["good"], [1.0, 0.5, 0.2, 0.0, 0.0])
    np.testing.assert_allclose(d["bad"], [1.0, 1.0, 0.8, 0.5, 0.0])
    st = core.stability(score, 20, samples=200, kernel_width=0.25, seeds=[0, 1, 2], top_k=2)
    assert st["mean_jaccard"] == 1.0 and all(set(t) == {1, 3} for t in st["top"])
    assert core.top_k_jaccard([np.array([0, 1]), np.array([1, 2])], 2) == pytest.approx(1 / 3)


def test_fit_round_trips_through_json():
    f = core.fit(lambda m: m[:, 3] * 0.8 + 0.1, 15, samples=100, random_state=2)
    assert fields_equal(f, type(f).from_json(f.to_json()))


def test_options_are_declared_once_with_the_library_bounds():
    spec = {s["name"]: s for s in core.LimeOptions.spec()}
    assert (spec["samples"]["low"], spec["samples"]["high"], spec["samples"]["default"]) == (10, 100_000, 1000)
    assert spec["random_state"]["default"] == 0 and "seed" not in spec
    with pytest.raises(ParameterError, match="'samples' parameter must be an int in \\[10, 100000\\]"):
        core.LimeOptions(samples=5)
    assert core.lime_options(samples=None, top_k=4) == core.LimeOptions(top_k=4)


def test_segments_and_core_do_not_import_the_lime_module():
    """xai.local.segments builds on xai.local.core, never on xai.local.lime (which re-exports both): no cycle."""
    code = "import sys, xai.local.segments; assert 'xai.local.lime' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
