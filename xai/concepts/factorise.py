"""The factorisations behind concept discovery: NMF of a layer's maps (as ICE) and non-negative Tucker (NTD).

Array-level and torch-free: they take the layer's non-negative activations, (N, channels, pitch, time), and
return the concept directions, their presence maps and what the solver did. :mod:`xai.concepts.discovery`
runs them on a model's layer.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence

import numpy as np

from xai.contract import Progress
from xai.errors import ParameterError

__all__ = ["factorise", "reconstruct", "explained_variance", "ntd_hals", "nmf_project", "ntd_project"]


def _noop(_f: float, _m: str) -> None:
    return None


def _nmf(acts: np.ndarray, K: int, *, max_iter: int, tol: float, random_state: int) -> tuple[np.ndarray, ...]:
    """NMF of the (excerpt, pitch, time) x channel matrix; returns (P (K, C), S (N, K, h, w), info)."""
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    N, C, h, w = acts.shape
    V = acts.transpose(0, 2, 3, 1).reshape(-1, C)
    est = NMF(n_components=K, init="nndsvda", solver="cd", max_iter=max_iter, tol=tol, random_state=random_state)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        W = est.fit_transform(V)
    converged = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    S = W.reshape(N, h, w, K).transpose(0, 3, 1, 2).astype(np.float32)
    return est.components_.astype(np.float32), S, {"n_iter": int(est.n_iter_), "converged": converged}


def _dot_first(A: np.ndarray, U: np.ndarray) -> np.ndarray:
    """``A`` with its first axis contracted with the columns of ``U`` (I, r): shape (r, *A.shape[1:])."""
    return (U.T @ A.reshape(A.shape[0], -1)).reshape((U.shape[1],) + A.shape[1:])


def _mode(A: np.ndarray, U: np.ndarray, axis: int) -> np.ndarray:
    """The mode product A x_axis U^T (axis keeps its place, its size becomes U's columns)."""
    if axis == 0:
        return _dot_first(A, U)
    moved = np.ascontiguousarray(np.moveaxis(A, axis, 0))
    return np.moveaxis(_dot_first(moved, U), 0, axis)


def _unfold(A: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(A, axis, 0).reshape(A.shape[axis], -1)


def _hals_columns(U: np.ndarray, P: np.ndarray, Q: np.ndarray, eps: float) -> None:
    """One sweep of HALS over the columns of U for min |X - U Z|² with P = X Zᵀ, Q = Z Zᵀ (in place)."""
    for j in range(U.shape[1]):
        if Q[j, j] > 0:
            U[:, j] = np.maximum(eps, U[:, j] + (P[:, j] - U @ Q[:, j]) / Q[j, j])


def ntd_hals(
    T: np.ndarray,
    ranks: tuple[int, int, int, int],
    *,
    max_iter: int,
    tol: float,
    random_state: int,
    progress: Progress = _noop,
) -> tuple[np.ndarray, list[np.ndarray], dict]:
    """Non-negative Tucker decomposition of a 4-way tensor (excerpts, channels, pitch, time).

    Factors are updated by HALS (hierarchical alternating least squares, one column at a time) and the core by
    the multiplicative rule of Kim & Choi (2007), starting from a seeded uniform draw, as tensorly's
    ``non_negative_tucker_hals`` does; it differs in keeping the tensor unfolded along the excerpt and channel
    modes once, and computing every mode product from those, so no step forms the full reconstruction (the
    error comes from the core and Gram matrices). On the shipped model's layers this is several times faster
    (``bench/discovery.py`` compares both). Stops when the relative error improves by less than ``tol``.
    """
    eps = 1e-12
    rng = np.random.default_rng(random_state)
    T = np.asarray(T, dtype=np.float32)
    N, C, H, W = T.shape
    T_ex = T.reshape(N, C, H, W)
    T_ch = np.ascontiguousarray(T.transpose(1, 0, 2, 3))  # channels first
    norm2 = float(np.square(T, dtype=np.float64).sum())
    U = [rng.uniform(0.0, 1.0, (n, r)).astype(np.float32) for n, r in zip(T.shape, ranks)]
    G = rng.uniform(0.0, 1.0, ranks).astype(np.float32)
    # Scale the start so its reconstruction has about the data's size (else the first sweeps only rescale).
    recon_norm = np.sqrt(float(np.square(_tucker(G, U), dtype=np.float64).sum()))
    G *= np.float32(np.sqrt(norm2) / max(recon_norm, eps))
    errors: list[float] = []
    converged = False
    for it in range(max_iter):
        gram = [u.T @ u for u in U]
        # channels (the concepts): T x0 U0 x2 U2 x3 U3, unfolded along channels, times the core's unfolding
        Y = _mode(_mode(_dot_first(T_ex, U[0]), U[2], 2), U[3], 3)  # (r0, C, r2, r3)
        GG = _mode(_mode(_mode(G, gram[0], 0), gram[2], 2), gram[3], 3)
        _hals_columns(U[1], _unfold(Y, 1) @ _unfold(G, 1).T, _unfold(GG, 1) @ _unfold(G, 1).T, eps)
        gram[1] = U[1].T @ U[1]
        Z = _dot_first(T_ch, U[1])  # (K, N, H, W): shared by the other modes
        # excerpts
        Y = _mode(_mode(Z, U[2], 2), U[3], 3)  # (K, N, r2, r3)
        GG = _mode(_mode(_mode(G, gram[1], 1), gram[2], 2), gram[3], 3)
        _hals_columns(U[0], _unfold(Y, 1) @ _unfold(G.transpose(1, 0, 2, 3), 1).T,
                      _unfold(GG, 0) @ _unfold(G, 0).T, eps)
        gram[0] = U[0].T @ U[0]
        ZN = _mode(Z, U[0], 1)  # (K, r0, H, W)
        Gt = G.transpose(1, 0, 2, 3)  # (K, r0, r2, r3), the layout of ZN
        # pitch
        Y = _mode(ZN, U[3], 3)
        GG = _mode(_mode(_mode(G, gram[0], 0), gram[1], 1), gram[3], 3)
        _hals_columns(U[2], _unfold(Y, 2) @ _unfold(Gt, 2).T, _unfold(GG, 2) @ _unfold(G, 2).T, eps)
        gram[2] = U[2].T @ U[2]
        # time
        Y = _mode(ZN, U[2], 2)
        GG = _mode(_mode(_mode(G, gram[0], 0), gram[1], 1), gram[2], 2)
        _hals_columns(U[3], _unfold(Y, 3) @ _unfold(Gt, 3).T, _unfold(GG, 3) @ _unfold(G, 3).T, eps)
        gram[3] = U[3].T @ U[3]
        # core: multiplicative update, then the error from |T|² - 2<G, T x U> + <G, G x Gram>
        num = _mode(_mode(ZN, U[2], 2), U[3], 3).transpose(1, 0, 2, 3)  # (r0, K, r2, r3)
        den = G
        for m in range(4):
            den = _mode(den, gram[m], m)
        G *= num / np.maximum(den, eps)
        den = G
        for m in range(4):
            den = _mode(den, gram[m], m)
        err2 = norm2 - 2.0 * float(np.sum(G * num, dtype=np.float64)) + float(np.sum(G * den, dtype=np.float64))
        errors.append(float(np.sqrt(max(err2, 0.0) / max(norm2, eps))))
        progress((it + 1) / max_iter, f"NTD iteration {it + 1}: relative error {errors[-1]:.4f}")
        if len(errors) > 1 and errors[-2] - errors[-1] < tol * errors[-2]:
            converged = True
            break
    return G, U, {"n_iter": len(errors), "converged": converged, "relative_error": errors[-1] if errors else None}


def _tucker(G: np.ndarray, U: Sequence[np.ndarray]) -> np.ndarray:
    """The full tensor of a Tucker decomposition: G x0 U0 x1 U1 x2 U2 x3 U3."""
    out = G
    for m, u in enumerate(U):
        out = _mode(out, u.T, m)
    return out


def _ntd_tensorly(T, ranks, *, max_iter, tol, random_state, progress=_noop):
    """The same decomposition by tensorly's ``non_negative_tucker_hals`` (the reference; slower)."""
    from tensorly.decomposition import non_negative_tucker_hals

    progress(0.0, "NTD (tensorly)…")
    (G, U), errors = non_negative_tucker_hals(
        np.asarray(T, dtype=np.float32), rank=list(ranks), n_iter_max=max_iter, init="random", tol=tol,
        random_state=random_state, return_errors=True,
    )
    progress(1.0, "NTD (tensorly) done")
    return np.asarray(G), [np.asarray(u) for u in U], {"n_iter": len(errors), "converged": len(errors) < max_iter,
                                                       "relative_error": float(errors[-1]) if len(errors) else None}


def _ntd(acts: np.ndarray, K: int, *, excerpt_rank: int, max_iter: int, tol: float, random_state: int,
         solver: str = "hals", progress: Progress = _noop):
    """NTD of the (excerpt, channel, pitch, time) tensor, ranks (excerpt_rank, K, pitch, time).

    Returns (P (K, C), S (N, K, h, w), info, core, factors): concept k's direction is column k of the channel
    factor; its presence maps are the core multiplied by the excerpt, pitch and time factors.
    """
    N, C, h, w = acts.shape
    ranks = (excerpt_rank, K, h, w)
    run = ntd_hals if solver == "hals" else _ntd_tensorly
    G, U, info = run(acts, ranks, max_iter=max_iter, tol=tol, random_state=random_state, progress=progress)
    S = _mode(_mode(_mode(G, U[0].T, 0), U[2].T, 2), U[3].T, 3)  # (N, K, h, w)
    info["ranks"] = list(ranks)
    info["solver"] = solver
    return U[1].T.astype(np.float32), S.astype(np.float32), info, G.astype(np.float32), [u.astype(np.float32) for u in U]


def factorise(acts, K, *, method, max_iter, tol, excerpt_rank, random_state, solver="hals", progress=_noop):
    """Concepts of one factorisation, normalised and ordered: (P, S, info, core, factors)."""
    N = acts.shape[0]
    core, factors = None, ()
    if method == "nmf":
        progress(0.0, f"NMF with {K} concepts…")
        P, S, info = _nmf(acts, K, max_iter=max_iter, tol=tol, random_state=random_state)
        progress(1.0, f"NMF done ({info['n_iter']} iterations)")
    else:
        r0 = excerpt_rank or min(N, 4 * K)
        if r0 > N:
            raise ParameterError(f"The 'excerpt_rank' parameter must be at most the number of excerpts ({N}), got {r0}.")
        P, S, info, core, factors = _ntd(acts, K, excerpt_rank=r0, max_iter=max_iter, tol=tol,
                                         random_state=random_state, solver=solver, progress=progress)
    # Unit-length directions (the maps take the scale), then the most present concept first.
    norms = np.linalg.norm(P, axis=1)
    norms[norms == 0] = 1.0
    P = P / norms[:, None]
    S = S * norms[None, :, None, None]
    order = np.argsort(-S.sum(axis=(0, 2, 3)), kind="stable")
    P, S = P[order], S[:, order]
    if core is not None:
        factors = list(factors)
        factors[1] = (factors[1] / norms[None, :])[:, order]
        core = (core * norms[None, :, None, None])[:, order]
        factors = tuple(factors)
    return np.ascontiguousarray(P, dtype=np.float32), np.ascontiguousarray(S, dtype=np.float32), info, core, factors


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the solver's convergence notice in projections: a few hundred sweeps on fixed directions is a
    close enough least-squares fit, and the notice would repeat for every piece a user opens."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def nmf_project(acts: np.ndarray, P: np.ndarray, *, max_iter: int = 400) -> np.ndarray:
    """Presence maps of new maps on fixed NMF directions: non-negative least squares at every position.

    Parameters
    ----------
    acts : np.ndarray
        (N, C, h, w) non-negative maps.
    P : np.ndarray
        (K, C) concept directions.
    max_iter : int
        Iterations of the coordinate-descent solver.

    Returns
    -------
    np.ndarray
        (N, K, h, w) presence maps, float32.
    """
    from sklearn.decomposition import non_negative_factorization

    N, C, h, w = acts.shape
    V = acts.transpose(0, 2, 3, 1).reshape(-1, C).astype(np.float64)
    with _quiet():
        W, _, _ = non_negative_factorization(V, H=P.astype(np.float64), n_components=P.shape[0], update_H=False,
                                             solver="cd", max_iter=max_iter)
    return W.reshape(N, h, w, -1).transpose(0, 3, 1, 2).astype(np.float32)


def ntd_project(acts: np.ndarray, core: np.ndarray, factors: Sequence[np.ndarray], *,
                max_iter: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """New excerpts in a fitted Tucker decomposition: their rows of the excerpt factor, and their presence maps.

    The core and the channel, pitch and time factors stay fixed; each new excerpt's map T_n is explained as
    ``G x0 u_n x1 U1 x2 U2 x3 U3`` with u_n >= 0 found by non-negative least squares (the basis
    ``G x1 U1 x2 U2 x3 U3`` is non-negative, so this is NMF with that basis held fixed). Its presence maps are
    then ``G x0 u_n x2 U2 x3 U3``, exactly as the fitted excerpts' are, so a held-out excerpt is scored the way
    NTD scores its own rather than by the per-position projection NMF uses.

    Parameters
    ----------
    acts : np.ndarray
        (N, C, h, w) non-negative maps.
    core : np.ndarray
        (r0, K, h, w) Tucker core.
    factors : sequence of np.ndarray
        The factors of the (excerpt, channel, pitch, time) modes; the excerpt factor is not used.
    max_iter : int
        Iterations of the coordinate-descent solver.

    Returns
    -------
    (np.ndarray, np.ndarray)
        The excerpt-factor rows (N, r0) and the presence maps (N, K, h, w), float32.
    """
    from sklearn.decomposition import non_negative_factorization

    G = np.asarray(core, dtype=np.float64)
    U = [np.asarray(f, dtype=np.float64) for f in factors]
    basis = _mode(_mode(_mode(G, U[1].T, 1), U[2].T, 2), U[3].T, 3)  # (r0, C, h, w)
    B = basis.reshape(basis.shape[0], -1)
    V = np.asarray(acts, dtype=np.float64).reshape(len(acts), -1)
    with _quiet():
        W, _, _ = non_negative_factorization(V, H=B, n_components=B.shape[0], update_H=False, solver="cd",
                                             max_iter=max_iter)
    S = _mode(_mode(_mode(G, W.T, 0), U[2].T, 2), U[3].T, 3)  # (N, K, h, w)
    return W.astype(np.float32), S.astype(np.float32)


def reconstruct(S: np.ndarray, P: np.ndarray) -> np.ndarray:
    """(N, K, h, w) presence x (K, C) directions -> (N, C, h, w) maps."""
    return np.einsum("nkhw,kc->nchw", S, P, optimize=True).astype(np.float32)


def explained_variance(acts: np.ndarray, S: np.ndarray, P: np.ndarray, chunk: int = 128) -> float:
    """1 - |A - reconstruction|^2 / |A - per-channel mean|^2 over all excerpts and positions (in chunks)."""
    mean = acts.mean(axis=(0, 2, 3), dtype=np.float64)[None, :, None, None]
    res = tot = 0.0
    for i in range(0, acts.shape[0], chunk):
        a = acts[i : i + chunk].astype(np.float64)
        res += float(np.square(a - reconstruct(S[i : i + chunk], P)).sum())
        tot += float(np.square(a - mean).sum())
    return 1.0 - res / tot if tot > 0 else 0.0
