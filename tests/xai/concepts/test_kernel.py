"""xai.concepts._kernel: TCAV's CAV fits in the excerpts' span agree with sklearn / numpy fits on raw features, and
its piece-aware sampling never lets a piece sit on both sides of a split."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from xai.concepts import _kernel as K


def _pieces(sizes) -> list[np.ndarray]:
    starts = np.cumsum([0, *sizes[:-1]])
    return [np.arange(s, s + n) for s, n in zip(starts, sizes, strict=True)]


def _piece_of(pieces) -> dict[int, int]:
    return {int(r): i for i, p in enumerate(pieces) for r in p}


def test_logistic_newton_matches_sklearn_on_the_same_objective(rng):
    n, alpha = 60, 0.05
    F = rng.normal(size=(n, 4))
    y = (F @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 + rng.normal(scale=0.8, size=n) > 0).astype(float)
    beta, b = K.logistic_newton(F, y, alpha)
    # mean log-loss + alpha/2 |beta|^2  ==  (sum log-loss + 1/(2C) |beta|^2) / n  with C = 1 / (n alpha)
    ref = LogisticRegression(C=1.0 / (n * alpha), tol=1e-12, max_iter=10_000).fit(F, y)
    np.testing.assert_allclose(beta, ref.coef_[0], atol=1e-5)
    assert b == pytest.approx(ref.intercept_[0], abs=1e-5)


def test_a_cav_fitted_from_the_gram_matrix_is_the_fit_on_the_raw_activations(rng):
    n, dim, alpha = 40, 6, 0.01
    X = rng.normal(size=(n, dim)) + 5.0  # shifted: the fit centres on the training mean itself
    y = np.r_[np.ones(n // 2), np.zeros(n // 2)]
    X[: n // 2, 0] += 1.5  # the concept side leans along unit 0
    tr_pos, tr_neg = np.arange(0, 16), np.arange(20, 36)
    f = K.Fit(train_pos=tr_pos, train_neg=tr_neg, test_pos=np.arange(16, 20), test_neg=np.arange(36, 40), seed=0)
    G = rng.normal(size=(3, dim))  # three gradients of one target
    rows, a, acc, derivs = K.fit(X @ X.T, [G @ X.T], f, dim=dim, classifier="logistic", alpha=alpha)
    assert rows.tolist() == [*tr_pos, *tr_neg]
    Xtr = X[rows]
    Xc = Xtr - Xtr.mean(axis=0)
    scale = np.sqrt(np.mean(Xc**2))  # one global scale, the root mean square of the centred features
    beta, b = K.logistic_newton(Xc / scale, y[rows], alpha)
    cav = Xc.T @ a  # the CAV in activation space
    np.testing.assert_allclose(cav / scale, beta, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(derivs[0], G @ cav, rtol=1e-8)  # directional derivatives along the CAV
    te = np.r_[16:20, 36:40]
    dec = ((X[te] - Xtr.mean(axis=0)) / scale) @ beta + b
    assert acc == pytest.approx(np.mean((dec > 0) == (y[te] == 1)))
    assert cav[0] > 0  # towards the concept side


def test_sgd_cavs_point_the_same_way_and_no_held_out_rows_give_nan(rng):
    X = rng.normal(size=(30, 4))
    X[:15, 1] += 4.0
    f = K.Fit(np.arange(15), np.arange(15, 30), np.zeros(0, int), np.zeros(0, int), seed=3)
    rows, a, acc, _ = K.fit(X @ X.T, [], f, dim=4, classifier="sgd", alpha=0.01)
    cav = (X[rows] - X[rows].mean(axis=0)).T @ a
    assert np.isnan(acc) and np.argmax(np.abs(cav)) == 1 and cav[1] > 0


def test_sign_and_magnitude_scores():
    assert K.sign_and_magnitude(np.array([1.0, -1.0, 2.0, 0.0])) == (0.5, 0.75)
    assert K.sign_and_magnitude(np.zeros(3)) == (0.0, 0.0)
    assert K.sign_and_magnitude(np.array([-1.0, -3.0])) == (0.0, 0.0)


def test_group_codes_fall_back_to_excerpts_without_two_pieces():
    assert K.group_codes(None, 3).tolist() == [0, 1, 2]
    assert K.group_codes(["a", "a", "a"], 3).tolist() == [0, 1, 2]
    codes = K.group_codes(["b", "a", "b", "c"], 4)
    assert codes[0] == codes[2] and len(set(codes.tolist())) == 3
    with pytest.raises(ValueError, match="2 piece names for 3 excerpts"):
        K.group_codes(["a", "b"], 3)
    assert [p.tolist() for p in K.by_piece(np.array([10, 11, 12, 13]), codes)] == [[11], [10, 12], [13]]


def test_bootstrap_holds_out_only_rows_of_pieces_never_drawn(rng):
    pieces = _pieces([3, 5, 2, 4, 6, 1, 3])
    owner = _piece_of(pieces)
    for _ in range(20):
        train, test = K.bootstrap(rng, pieces, 10, 5)
        assert train.size == 10 and test.size <= 5 and len(set(test.tolist())) == test.size
        assert not {owner[r] for r in train} & {owner[r] for r in test}


def test_disjoint_sets_split_and_random_concepts_use_whole_pieces(rng):
    pieces = _pieces([4, 4, 4, 4, 4, 4])
    owner = _piece_of(pieces)
    a, b = K.disjoint_sets(rng, pieces, (6, 9))
    assert (a.size, b.size) == (6, 9) and not {owner[r] for r in a} & {owner[r] for r in b}
    short = K.disjoint_sets(rng, pieces, (20, 10))
    assert short[0].size == 20 and short[1].size == 4  # the pieces ran out: the last set is smaller
    halves = K.split_pool(rng, _pieces([5, 1, 1, 1, 1, 1]))
    sizes = [sum(p.size for p in h) for h in halves]
    assert sum(sizes) == 10 and abs(sizes[0] - sizes[1]) <= 5  # greedy: never off by more than the largest piece
    assert sorted(int(p[0]) for h in halves for p in h) == [0, 5, 6, 7, 8, 9]  # every piece once, whole
    even = K.split_pool(rng, _pieces([2] * 8))
    assert [sum(p.size for p in h) for h in even] == [8, 8]
    concept = K.random_concept(rng, pieces, 10)
    assert sum(p.size for p in concept) == 10 and len(concept) == 3
    assert len({owner[int(p[0])] for p in concept}) == 3
