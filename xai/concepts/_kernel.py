"""TCAV's draws and CAV fits, done in the space spanned by the excerpts (private helpers of :mod:`xai.concepts.tcav`).

Draws. Every set of a run is drawn *by piece*: a concept's examples are resampled with replacement over the
pieces they come from (a bootstrap over pieces, so excerpts of one piece never sit on both sides of the
train/held-out split), the pieces left out of the resample (out of bag) give the held-out examples, and the
random counter-examples of a run come from pieces disjoint from each other. The random pool is split once,
by piece, into two halves: random *concepts* (the null) are drawn from one, random *counter-examples* from the
other, so a random concept never shares a piece with what it is contrasted with, exactly as a real concept.

Fits. With n excerpts (~50) and D activation values (~10^4), an L2-penalised linear model keeps its weights in
the span of its training excerpts (the representer theorem), so everything a run needs -- the fit, the held-out
accuracy, and the directional derivatives of the class logits along the CAV -- is computed from inner products:
the Gram matrix of the layer's activations and the products of the class gradients with the activations, both
computed once per layer. A fit then costs an n x n eigendecomposition and a few Newton steps, which is what lets
an experiment afford 50 random sets x 20 runs (Kim et al. 2018 used 500 random experiments).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__: list[str] = []


@dataclass(frozen=True)
class Fit:
    """Rows (into a layer's stacked activations) of one CAV fit: two training sides and two held-out sides."""

    train_pos: np.ndarray
    train_neg: np.ndarray
    test_pos: np.ndarray
    test_neg: np.ndarray
    seed: int


def group_codes(groups, n: int) -> np.ndarray:
    """Integer piece codes for n excerpts; each excerpt its own piece when ``groups`` is None or names one piece.

    With a single piece no held-out example can come from another piece, so the split falls back to excerpts.
    """
    if groups is None:
        return np.arange(n)
    g = np.asarray(list(groups), dtype=object).astype(str)
    if g.size != n:
        raise ValueError(f"{g.size} piece names for {n} excerpts")
    _, codes = np.unique(g, return_inverse=True)
    return codes if np.unique(codes).size >= 2 else np.arange(n)


def by_piece(rows: np.ndarray, codes: np.ndarray) -> list[np.ndarray]:
    """``rows`` grouped by their piece code, one array per piece (in code order)."""
    rows, codes = np.asarray(rows), np.asarray(codes)
    return [rows[codes == c] for c in np.unique(codes)]


def bootstrap(rng: np.random.Generator, pieces: list[np.ndarray], n_train: int, n_test: int):
    """A bootstrap over pieces: ``n_train`` rows from pieces drawn with replacement, held-out rows from the rest.

    Pieces are drawn until ``n_train`` rows are reached (the last piece's rows in a random order, cut to fit);
    up to ``n_test`` held-out rows are drawn from the pieces never drawn (out of bag; none if every piece was).
    """
    train: list[int] = []
    drawn = np.zeros(len(pieces), dtype=bool)
    while len(train) < n_train:
        p = int(rng.integers(len(pieces)))
        drawn[p] = True
        train.extend(rng.permutation(pieces[p]).tolist())
    oob = [pieces[p] for p in np.flatnonzero(~drawn)]
    oob_rows = np.concatenate(oob) if oob else np.zeros(0, dtype=np.int64)
    test = rng.choice(oob_rows, min(n_test, oob_rows.size), replace=False) if oob_rows.size else oob_rows
    return np.asarray(train[:n_train], dtype=np.int64), np.asarray(test, dtype=np.int64)


def disjoint_sets(rng: np.random.Generator, pieces: list[np.ndarray], sizes: tuple[int, ...]) -> list[np.ndarray]:
    """Sets of rows of the given sizes from pieces drawn without replacement, no piece in two sets."""
    order = rng.permutation(len(pieces))
    out, k = [], 0
    for size in sizes:
        rows: list[int] = []
        while len(rows) < size and k < len(order):
            rows.extend(rng.permutation(pieces[order[k]]).tolist())
            k += 1
        out.append(np.asarray(rows[:size], dtype=np.int64))
    return out


def split_pool(rng: np.random.Generator, pieces: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The pool's pieces in two halves of about equal rows: (random concepts' pieces, counter-examples' pieces)."""
    halves: tuple[list, list] = ([], [])
    rows = [0, 0]
    for p in rng.permutation(len(pieces)):
        h = 0 if rows[0] <= rows[1] else 1
        halves[h].append(pieces[p])
        rows[h] += pieces[p].size
    return halves


def random_concept(rng: np.random.Generator, pieces: list[np.ndarray], m: int) -> list[np.ndarray]:
    """A random concept of m rows made of whole pieces (the last one cut), as its pieces' rows."""
    out, n = [], 0
    for p in rng.permutation(len(pieces)):
        take = pieces[p][: m - n]
        out.append(take)
        n += take.size
        if n >= m:
            break
    return out


def logistic_newton(F: np.ndarray, y: np.ndarray, alpha: float, *, max_iter: int = 100) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by Newton's method: min mean log-loss + alpha/2 |beta|^2 (b free).

    F is small (n x r, r <= n), so each step solves an (r+1)-sized system; a backtracking line search keeps
    every step a descent step. Newton needs ~10-30 steps where L-BFGS needs hundreds on separable data.
    """
    n, r = F.shape
    A = np.hstack([F, np.ones((n, 1))])
    theta = np.zeros(r + 1)
    pen = np.r_[np.full(r, alpha), 0.0]

    def objective(th):
        f = A @ th
        return float(np.mean(np.logaddexp(0.0, f) - y * f) + 0.5 * np.sum(pen * th * th))

    obj = objective(theta)
    for _ in range(max_iter):
        p = 0.5 * (1.0 + np.tanh(0.5 * (A @ theta)))  # a sigmoid that cannot overflow
        grad = A.T @ (p - y) / n + pen * theta
        hess = (A.T * (p * (1.0 - p))) @ A / n + np.diag(pen + 1e-12)
        step = np.linalg.solve(hess, grad)
        decrement = float(grad @ step)
        if decrement < 1e-14:
            break
        t = 1.0
        while True:
            new = objective(theta - t * step)
            if new <= obj - 0.25 * t * decrement or t < 1e-10:
                break
            t *= 0.5
        theta, obj = theta - t * step, new
    return theta[:r], float(theta[r])


def fit(K: np.ndarray, GA: list[np.ndarray], f: Fit, *, dim: int, classifier: str, alpha: float):
    """One CAV in the excerpts' span: its coefficients, held-out accuracy and each target's directional derivatives.

    ``K`` is the Gram matrix of a layer's (shifted) activations and ``GA[t]`` the products of target t's class
    gradients with them. The features are centred on the training mean and divided by one global scale (their
    root mean square), as a fit on the D raw values would be: a per-unit scaling would turn the normal in
    activation space, and nearly silent ReLU units would dominate it. The CAV is ``sum_i a_i (x_i - mean)``
    (up to a positive factor) over the training rows, pointing towards the positive side.

    Returns ``(rows, a, accuracy, [derivatives (N_t,) per target])``; accuracy is NaN without held-out rows.
    """
    tr = np.r_[f.train_pos, f.train_neg]
    y = np.r_[np.ones(f.train_pos.size), np.zeros(f.train_neg.size)]
    Ktt = K[np.ix_(tr, tr)]
    rm = Ktt.mean(axis=0)
    tm = float(rm.mean())
    Kc = Ktt - rm[None, :] - rm[:, None] + tm
    scale2 = max(float(np.trace(Kc)) / (tr.size * dim), 1e-300)
    s, U = np.linalg.eigh(Kc / scale2)
    keep = s > 1e-10 * max(float(s[-1]), 1e-300)
    U, s = U[:, keep], s[keep]
    F = U * np.sqrt(s)
    if classifier == "logistic":
        beta, b = logistic_newton(F, y, alpha)
    else:
        from sklearn.linear_model import SGDClassifier

        clf = SGDClassifier(alpha=alpha, max_iter=1000, tol=1e-3, random_state=f.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on tiny, separable sets
            clf.fit(F, y)
        beta, b = clf.coef_[0], float(clf.intercept_[0])
    a = U @ (beta / np.sqrt(s))
    n_te = min(f.test_pos.size, f.test_neg.size)
    if n_te:
        te = np.r_[f.test_pos[:n_te], f.test_neg[:n_te]]
        Kx = K[np.ix_(te, tr)]
        dec = (Kx - Kx.mean(axis=1, keepdims=True) - rm[None, :] + tm) @ a / scale2 + b
        acc = float(np.mean((dec > 0) == np.r_[np.ones(n_te, bool), np.zeros(n_te, bool)]))
    else:
        acc = float("nan")
    derivs = [(g[:, tr] - g[:, tr].mean(axis=1, keepdims=True)) @ a for g in GA]
    return tr, a, acc, derivs


def sign_and_magnitude(d: np.ndarray) -> tuple[float, float]:
    """Sign-count TCAV score (share of positive directional derivatives) and Kim et al.'s magnitude score."""
    total = float(np.abs(d).sum())
    return float((d > 0).mean()), (float(np.clip(d, 0, None).sum()) / total if total > 0 else 0.0)
