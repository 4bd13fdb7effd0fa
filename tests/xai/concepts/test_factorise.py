"""xai.concepts.factorise: NMF and NTD of non-negative maps, on small planted tensors (no model, no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from xai.concepts import factorise as fz
from xai.errors import ParameterError


def _planted(rng, *, n=12, c=6, h=3, w=4, k=3):
    """Maps that are exactly k non-negative channel patterns times non-negative presence maps."""
    P = rng.uniform(size=(k, c)) * (rng.uniform(size=(k, c)) > 0.4) + np.eye(k, c)
    S = rng.uniform(size=(n, k, h, w)) * np.array([3.0, 1.0, 0.3])[None, :k, None, None]
    return fz.reconstruct(S, P), S, P


def _nmf(acts, k, **kw):
    return fz.factorise(acts, k, method="nmf", max_iter=2000, tol=1e-8, excerpt_rank=0, random_state=0, **kw)


def test_reconstruct_and_explained_variance_follow_their_formulas(rng):
    S, P = rng.uniform(size=(5, 2, 3, 4)), rng.uniform(size=(2, 6))
    A = fz.reconstruct(S, P)
    assert A.shape == (5, 6, 3, 4) and A.dtype == np.float32
    np.testing.assert_allclose(A[2, :, 1, 3], S[2, :, 1, 3] @ P, rtol=1e-6)
    assert fz.explained_variance(A, S, P) == pytest.approx(1.0, abs=1e-6)
    noisy = A + rng.normal(scale=0.1, size=A.shape).astype(np.float32)
    mean = noisy.mean(axis=(0, 2, 3), keepdims=True)
    expected = 1 - np.square(noisy - A).sum() / np.square(noisy - mean).sum()
    assert fz.explained_variance(noisy, S, P) == pytest.approx(expected, rel=1e-5)
    assert fz.explained_variance(noisy, S, P, chunk=2) == pytest.approx(expected, rel=1e-5)  # chunks change nothing
    assert fz.explained_variance(np.ones((2, 1, 1, 1), np.float32), np.zeros((2, 1, 1, 1)), np.ones((1, 1))) == 0.0


def test_nmf_recovers_planted_maps_with_unit_directions_most_present_first(rng):
    acts, _, _ = _planted(rng)
    seen = []
    P, S, info, core, factors = _nmf(acts, 3, progress=lambda f, m: seen.append(f))
    assert P.shape == (3, 6) and S.shape == (12, 3, 3, 4) and core is None and factors == ()
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0, rtol=1e-5)
    assert (P >= 0).all() and (S >= 0).all()
    presence = S.sum(axis=(0, 2, 3))
    assert np.all(np.diff(presence) <= 0)  # ordered by how present each concept is
    assert fz.explained_variance(acts, S, P) > 0.999 and info["n_iter"] >= 1 and seen == [0.0, 1.0]
    one = _nmf(acts, 1)
    assert fz.explained_variance(acts, one[1], one[0]) < 0.99  # one concept cannot explain three


def test_nmf_projection_finds_the_presence_of_new_maps_on_fixed_directions(rng):
    acts, _, _ = _planted(rng)
    P, S, *_ = _nmf(acts, 3)
    again = fz.nmf_project(acts, P, max_iter=2000)
    assert again.shape == S.shape and again.dtype == np.float32
    np.testing.assert_allclose(fz.reconstruct(again, P), fz.reconstruct(S, P), atol=2e-3)


def test_ntd_fits_projects_its_own_excerpts_and_refuses_too_large_an_excerpt_rank(rng):
    acts, _, _ = _planted(rng, n=10)
    P, S, info, core, factors = fz.factorise(acts, 3, method="ntd", max_iter=300, tol=1e-7, excerpt_rank=0,
                                              random_state=0)
    assert info["ranks"] == [10, 3, 3, 4] and info["solver"] == "hals"  # excerpt rank min(N, 4 K)
    assert core.shape == (10, 3, 3, 4) and [f.shape for f in factors] == [(10, 10), (6, 3), (3, 3), (4, 4)]
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0, rtol=1e-5)
    assert fz.explained_variance(acts, S, P) > 0.95
    W, S2 = fz.ntd_project(acts, core, factors, max_iter=1000)
    assert W.shape == (10, 10) and (W >= 0).all()
    assert fz.explained_variance(acts, S2, P) > 0.95  # a projected excerpt is explained as a fitted one is
    with pytest.raises(ParameterError, match="'excerpt_rank'.*at most the number of excerpts \\(10\\)"):
        fz.factorise(acts, 3, method="ntd", max_iter=10, tol=1e-4, excerpt_rank=11, random_state=0)
