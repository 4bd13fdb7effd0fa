"""LIME core: exact enumeration, the surrogate against sklearn, planted causes, bad input."""

import numpy as np
import pytest
import torch

from tests._fakes import FakeModel, scale_piece, two_voices
from xai.errors import InputError, ParameterError
from xai.local import lime
from xai.symbolic import predict


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_exact_enumeration_up_to_twelve_segments():
    masks, exact = lime.coalitions(5, 999, 0)
    assert exact and masks.shape == (32, 5) and masks[0].all() and not masks[-1].any()
    assert len({m.tobytes() for m in masks}) == 32
    masks, exact = lime.coalitions(13, 300, 0)
    assert not exact and masks.shape == (300, 13) and masks[0].all()


def test_kernel_matches_lime_cosine_distance(rng):
    from sklearn.metrics import pairwise_distances

    masks = rng.integers(0, 2, (50, 9)).astype(bool)
    masks[0] = True
    d = pairwise_distances(masks.astype(float), masks[:1].astype(float), metric="cosine").ravel()
    np.testing.assert_allclose(lime.kernel_weights(masks, 0.25), np.sqrt(np.exp(-(d**2) / 0.25**2)), atol=1e-12)


def test_weighted_ridge_matches_sklearn(rng):
    from sklearn.linear_model import Ridge

    X = rng.integers(0, 2, (200, 7)).astype(float)
    y = X @ rng.normal(size=7) + rng.normal(scale=0.1, size=200)
    w = rng.uniform(0.1, 1, 200)
    coef, b, r2 = lime.weighted_ridge(X, y, w, alpha=1.0)
    ref = Ridge(alpha=1.0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(coef, ref.coef_, atol=1e-9)
    assert b == pytest.approx(ref.intercept_, abs=1e-9)
    assert r2 == pytest.approx(ref.score(X, y, sample_weight=w), abs=1e-9)


@pytest.mark.parametrize("S,cause", [(6, 4), (12, 0), (20, 13), (40, 31)])
def test_planted_cause_is_ranked_first(S, cause):
    """A fake model that looks only at one segment: that segment must come first, exactly."""
    def score(masks):
        return np.where(masks[:, cause], 0.9, 0.1)

    f = lime.fit(score, S, samples=500, seed=3)
    assert int(f.ranking[0]) == cause
    assert f.exact == (S <= 12)
    others = np.delete(f.weights, cause)
    assert f.weights[cause] > 0.3 and np.all(np.abs(others) < 0.05)


def test_batches_and_progress():
    seen = []
    f = lime.fit(lambda m: m[:, 2].astype(float), 15, samples=100, batch_size=30,
                 progress=lambda fr, msg: seen.append(fr))
    assert seen[-1] == 1.0 and len(seen) == 4 and f.samples == 100


def test_bad_options():
    score = lambda m: m[:, 0].astype(float)  # noqa: E731
    with pytest.raises(ParameterError, match="more samples than segments"):
        lime.fit(score, 30, samples=20)
    with pytest.raises(ParameterError, match="kernel_width"):
        lime.fit(score, 4, kernel_width=0)
    with pytest.raises(InputError, match="fewer than two segments"):
        lime.fit(score, 1)
    with pytest.raises(ParameterError, match="no class 'jazz'"):
        lime.resolve_target(("a", "b"), "jazz")


def test_deletion_curves_and_stability():
    def score(m):
        return 0.5 * m[:, 1] + 0.3 * m[:, 3] + 0.2 * m[:, 0]

    d = lime.deletion_curves(score, {"good": np.array([1, 3, 0, 2]), "bad": np.array([2, 0, 3, 1])}, 4)
    assert d["k"] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(d["good"], [1.0, 0.5, 0.2, 0.0, 0.0])
    np.testing.assert_allclose(d["bad"], [1.0, 1.0, 0.8, 0.5, 0.0])
    st = lime.stability(score, 20, samples=200, kernel_width=0.25, seeds=[0, 1, 2], top_k=2)
    assert st["mean_jaccard"] == 1.0 and all(set(t) == {1, 3} for t in st["top"])
    assert lime.top_k_jaccard([np.array([0, 1]), np.array([1, 2])], 2) == pytest.approx(1 / 3)


# ------------------------------------------------------------------------------------------------ symbolic


class OneVoiceNet(torch.nn.Module):
    """Class 1 exactly when there are notes in pitch rows >= 64 in the first half of the window (a planted cause)."""

    def forward(self, x):
        z = 6.0 * (x[:, 1, 64 - 21 :, :32].sum(dim=(1, 2)) > 0).float() - 3.0
        return torch.stack([-z, z], dim=1)


def test_piece_planted_voice_is_first():
    # The fake model only looks at high notes in the first half of its window = bars 1-2 of voice 2.
    piece = two_voices(4)
    model = FakeModel(OneVoiceNet(), classes=("no", "yes"))
    r = lime.explain_piece(piece, model, "yes", segments="bars-voices", start_bar=1, n_bars=4,
                           bars_per_segment=2, samples=200, stability_seeds=2)
    assert r.n_segments == 4 and r.fit.exact
    assert r.ranked(1)[0]["label"] == "bars 1–2, Voice 2"
    assert r.rankings["notes"].shape == (4,)
    assert r.deletion["lime"][1] < 0.1  # removing it switches the class off


def test_piece_score_matches_classify():
    piece = scale_piece(8, parts=3)
    model = FakeModel()
    r = lime.explain_piece(piece, model, "high", start_bar=1, n_bars=8, samples=300, stability_seeds=2)
    full = predict.classify(r.excerpt, model).piece_probabilities[r.target]
    assert r.probability == pytest.approx(full) and r.deletion["lime"][0] == pytest.approx(full)
    top = r.fit.top(2)
    reduced = predict.classify(r.segment_excerpt(top, keep=False), model).piece_probabilities[r.target]
    assert r.deletion["lime"][2] == pytest.approx(reduced, abs=1e-9)
    d = r.to_dict()
    assert d["segments"][0]["label"].startswith("bar") and "fidelity_warning" in d


def test_piece_registers_without_parts():
    r = lime.explain_piece(scale_piece(6), FakeModel(), "high", start_bar=1, n_bars=6, samples=200,
                           stability_seeds=1, n_registers=3)
    assert r.kind == "bars-registers" and "register" in r.segments[0]
    # a single voice rising: the high register of the last bars is what makes it "high"
    assert r.segments[int(r.fit.ranking[0])]["register"] == 2


def test_piece_bad_input():
    model = FakeModel()
    with pytest.raises(InputError, match="only one bar"):
        lime.explain_piece(scale_piece(1), model)
    with pytest.raises(ParameterError, match="no class 'jazz'"):
        lime.explain_piece(scale_piece(4), model, "jazz")
    with pytest.raises(ParameterError, match="more samples than segments"):
        lime.explain_piece(scale_piece(8, parts=4), model, "high", start_bar=1, n_bars=8, bars_per_segment=1,
                           samples=12)
