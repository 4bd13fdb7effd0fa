"""Hubness of a k-nearest-neighbour recommender: k-occurrence measures, hubness reduction, retrieval quality.

A recommender that answers "songs like this one" with the k nearest items in an embedding space suffers from
*hubness* in high dimensions: a few items (hubs) turn up in very many k-NN lists, many (anti-hubs) in none.

Definitions (as in scikit-hubness and Feldbauer et al. 2018; self is never its own neighbour):

- k-occurrence N_k(x): in how many other items' k-NN lists x appears. Its mean is always k.
- skewness S_k: third standardised moment of N_k (population formula, ``scipy.stats.skew(bias=True)``).
- hub: N_k >= hub_size * k (hub_size = 2). hub occurrence: share of all n*k neighbour slots held by hubs.
- anti-hub: N_k = 0. anti-hub occurrence: share of items that are anti-hubs.
- Robin Hood index: (1/2) * sum |N_k - k| / (n k): the share of slots to move from rich to poor items.
- Gini index of N_k (sorted O(n log n) formula).

Hubness reduction re-ranks each item's m candidate neighbours (m >> k, exact or approximate) by a secondary
distance, then keeps the top k:

- ``mp`` (empirical Mutual Proximity, Schnitzer et al. 2012): MP(x, y) = 1 - |{j != x, y : d(x,j) > d_xy and
  d(y,j) > d_xy}| / (n - 2), counted over *all* n items (exactly, by inclusion-exclusion: items near x are among
  x's candidates; items near y are counted in a second blocked pass over sorted distance rows). Only candidate
  pairs get an MP value: a pair outside x's top-m is never recommended to x. That is the one approximation to the
  full O(n^3) all-pairs MP, which can move an item from beyond the m-th neighbour into the top k: on the shipped
  composer embedding (n = 897, k = 10, m = 50), 98.7 % of the top-10 lists agree with full all-pairs MP
  (tests/xai/test_hubness_embeddings.py).
- ``mp_gauss``: MP with independent Gaussians, 1 - SF_x(d_xy) SF_y(d_xy), each item's mean and standard
  deviation from all its n-1 distances (exact path) or from its m candidate distances (approximate path).
- ``ls``: local scaling, 1 - exp(-d_xy^2 / (sigma_x sigma_y)), sigma = distance to the ls_k-th neighbour.
- ``nicdm``: d_xy / sqrt(mu_x mu_y), mu = mean distance to the ls_k nearest neighbours.
- ``csls``: cross-domain similarity local scaling on similarity s = -d: 2 d_xy - r_x - r_y, r = mean distance to
  the ls_k nearest neighbours (Conneau et al. 2018).

Exact neighbours are computed blockwise (memory O(block * n), never an n x n matrix). Above ``EXACT_MAX`` items
(or on request) an approximate index (faiss) gives the candidates; its recall against exact search is measured on
a sample of queries and reported (recall@m of the candidates and recall@10 of the top 10):

- up to ``IVF_MIN`` items, HNSW (a graph index);
- from ``IVF_MIN`` items (collections of a million), an inverted-file join: k-means cells of about
  ``IVF_CELL`` items, each item's ``IVF_PROBE`` nearest cells probed, and exact distances within them computed as
  one matrix product per cell (every item that probes a cell is a query against it), keeping a running top-m per
  item. Memory is O(n m) for the candidate lists plus one cell's block; the vectors can be a read-only memory map
  (``np.load(path, mmap_mode="r")``), read one cell at a time. The reductions then work on the candidate lists
  block by block (Gaussian MP and the others: O(n m) memory; empirical MP needs every item's full distance row and
  is used only on the exact path).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from xai.contract import Progress, Result
from xai.errors import InputError, ParameterError

__all__ = ["Graph", "Report", "REDUCTIONS", "check_vectors", "knn", "reduce", "k_occurrence", "measures",
           "retrieval_quality", "analyse", "neighbours_of"]

REDUCTIONS = ("none", "mp", "mp_gauss", "ls", "nicdm", "csls")
REDUCTION_TITLES = {"none": "none (Euclidean)", "mp": "Mutual Proximity (empirical)",
                    "mp_gauss": "Mutual Proximity (Gaussian)", "ls": "local scaling", "nicdm": "NICDM",
                    "csls": "CSLS"}
EXACT_MAX = 10_000
IVF_MIN = 100_000  # from here on the approximate index is the inverted-file join (HNSW below)
IVF_CELL = 1_000  # items per k-means cell of the inverted-file join
# Cells probed per item. Recall@10 on the synthetic bench data (bench/hubness.py): 4 probes give 0.99 at 200k items
# but 0.84 at 1M (more cells, so more true neighbours across a boundary); 8 give 0.97 at 1M (12: 0.996), measured on
# 300 sampled queries. One round of neighbours' neighbours (NN-descent) on top of 4 probes reached only 0.89 at 1M.
IVF_PROBE = 8
REDUCE_BLOCK = 65_536  # rows re-ranked at a time (bounded memory for a million items)
HUB_SIZE = 2.0
LS_K = 5
DEFAULT_CANDIDATES = 50


@dataclass(frozen=True)
class Graph(Result):
    """Each item's m candidate neighbours, nearest first (self excluded), with what reductions need."""

    indices: np.ndarray  # (n, m) int64
    distances: np.ndarray  # (n, m) float32, ascending per row
    exact: bool = True
    method: str = "exact"
    row_mean: np.ndarray | None = None  # (n,) mean distance to all other items (exact path only)
    row_std: np.ndarray | None = None
    recall: float | None = None  # approximate path: recall@m against exact search on a sample
    seconds: float = 0.0
    recall10: float | None = None  # approximate path: recall@10 of the 10 nearest candidates, same sample

    @property
    def n(self) -> int:
        """How many items."""
        return int(self.indices.shape[0])

    @property
    def m(self) -> int:
        """How many candidate neighbours per item."""
        return int(self.indices.shape[1])

    def top(self, k: int) -> np.ndarray:
        """Each item's k nearest candidates, (n, k)."""
        return self.indices[:, :k]


# --- input checks ------------------------------------------------------------------------------------------------


def check_vectors(X, *, duplicates: bool = True) -> np.ndarray:
    """(n, d) float32 embedding, or a plain message: NaNs, too few items, identical items."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[0] < 3 or X.shape[1] < 1:
        raise InputError(f"An embedding needs at least 3 items with one number each; got an array of shape {X.shape}.")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise InputError(f"{int(bad.sum())} item(s) of the embedding have missing or infinite values (NaN), e.g. "
                         f"item {int(np.flatnonzero(bad)[0])}; the recommender cannot place them.")
    if duplicates:
        rows = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()
        _, first, counts = np.unique(rows, return_index=True, return_counts=True)
        if (counts > 1).any():
            dup = int(first[np.argmax(counts > 1)])
            same = np.flatnonzero(rows == rows[dup])
            raise InputError(f"{int((counts[counts > 1] - 1).sum())} item(s) have exactly the same embedding as "
                             f"another (e.g. items {int(same[0])} and {int(same[1])}), so their neighbours are ties; "
                             "remove the duplicates first.")
    return X


def check_k(k: int, n: int, what: str = "k") -> int:
    """``k`` as an int in [1, n - 1], or a plain message naming ``what``."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"The number of neighbours '{what}' must be a whole number of at least 1, got {k!r}.")
    if k >= n:
        raise ParameterError(f"'{what}' = {k} neighbours is too many for {n} items: it must be less than {n} "
                             "(an item is never its own neighbour).")
    return int(k)


def _check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ParameterError(f"There is no hubness reduction '{reduction}'; choose one of {', '.join(REDUCTIONS)}.")
    return reduction


# --- k-NN ---------------------------------------------------------------------------------------------------------


def _block_distances(X: np.ndarray, sq: np.ndarray, s: int, e: int) -> np.ndarray:
    """Euclidean distances of rows s:e to all rows, (e - s, n) float32; self set to +inf."""
    D2 = sq[s:e, None] + sq[None, :] - 2.0 * (X[s:e] @ X.T)
    np.maximum(D2, 0.0, out=D2)
    D = np.sqrt(D2, out=D2)
    D[np.arange(e - s), np.arange(s, e)] = np.inf
    return D


def _block_size(n: int, budget_bytes: int = 64 << 20) -> int:
    return int(max(16, min(n, budget_bytes // (8 * max(n, 1)))))


INDEXES = ("hnsw", "ivf")


def _as_vectors(X) -> np.ndarray:
    """float32 rows; a float32 memory map stays one (the IVF join reads it a cell at a time)."""
    if isinstance(X, np.memmap) and X.dtype == np.float32 and X.ndim == 2:
        return X
    return np.ascontiguousarray(X, dtype=np.float32)


def _content_hash(X: np.ndarray, rows: int = 65_536) -> str:
    h = hashlib.sha256(f"{X.shape}".encode())
    for s in range(0, X.shape[0], rows):  # blockwise: a memory-mapped million items is never copied whole
        h.update(np.ascontiguousarray(X[s:s + rows]).tobytes())
    return h.hexdigest()[:16]


def knn(X, m: int = DEFAULT_CANDIDATES, *, approximate: bool | None = None, moments: bool = True,
        block: int | None = None, recall_sample: int = 500, random_state: int = 0, cache_dir: Path | None = None,
        index: str | None = None, progress: Progress | None = None) -> Graph:
    """Each item's ``m`` nearest other items (Euclidean).

    Exact and blocked up to :data:`EXACT_MAX` items (or when ``approximate`` is False), else approximate with its
    recall measured on ``recall_sample`` queries against exact search: faiss HNSW below :data:`IVF_MIN` items,
    the inverted-file join from there on (``index`` = "hnsw" or "ivf" chooses). ``cache_dir`` keeps the graph
    on disk, keyed by the vectors' content.
    """
    X = _as_vectors(X)
    n = X.shape[0]
    m = check_k(m, n, "candidates")
    if approximate is None:
        approximate = n > EXACT_MAX
    if index is not None and index not in INDEXES:
        raise ParameterError(f"There is no approximate index '{index}'; choose one of {', '.join(INDEXES)}.")
    kind = (index or ("ivf" if n >= IVF_MIN else "hnsw")) if approximate else "exact"
    key = None
    if cache_dir is not None:
        tag = "ann" if kind == "hnsw" else kind
        key = Path(cache_dir) / f"knn_{_content_hash(X)}_{n}_{m}_{tag}_{int(moments)}_{random_state}.npz"
        if key.exists():
            z = np.load(key)
            return Graph(indices=z["indices"], distances=z["distances"], exact=not approximate,
                         method=str(z["method"]), row_mean=z["row_mean"] if "row_mean" in z.files else None,
                         row_std=z["row_std"] if "row_std" in z.files else None,
                         recall=float(z["recall"]) if "recall" in z.files else None, seconds=0.0,
                         recall10=float(z["recall10"]) if "recall10" in z.files else None)
    t0 = time.perf_counter()
    if kind == "exact":
        g = _exact(X, m, moments=moments, block=block, progress=progress)
    elif kind == "hnsw":
        g = _ann(X, m, recall_sample=recall_sample, random_state=random_state)
    else:
        g = _ivf(X, m, recall_sample=recall_sample, random_state=random_state, progress=progress)
    g = dataclasses.replace(g, seconds=time.perf_counter() - t0)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        extra = {k: v for k, v in (("row_mean", g.row_mean), ("row_std", g.row_std)) if v is not None}
        for name in ("recall", "recall10"):
            if getattr(g, name) is not None:
                extra[name] = np.float64(getattr(g, name))
        tmp = key.with_name(key.name + ".part.npz")
        np.savez(tmp, indices=g.indices, distances=g.distances, method=np.array(g.method), **extra)
        tmp.replace(key)  # a killed run never leaves half a cache file
    return g


def _exact(X: np.ndarray, m: int, *, moments: bool, block: int | None, progress: Progress | None = None) -> Graph:
    n = X.shape[0]
    sq = np.einsum("ij,ij->i", X, X)
    b = block or _block_size(n)
    ind = np.empty((n, m), np.int64)
    dist = np.empty((n, m), np.float32)
    mean = np.empty(n, np.float64) if moments else None
    std = np.empty(n, np.float64) if moments else None
    for s in range(0, n, b):
        e = min(n, s + b)
        D = _block_distances(X, sq, s, e)
        part = np.argpartition(D, m - 1, axis=1)[:, :m]
        pd = np.take_along_axis(D, part, axis=1)
        order = np.argsort(pd, axis=1, kind="stable")
        ind[s:e] = np.take_along_axis(part, order, axis=1)
        dist[s:e] = np.take_along_axis(pd, order, axis=1)
        if moments:
            D[np.arange(e - s), np.arange(s, e)] = 0.0
            s1 = D.sum(axis=1, dtype=np.float64)
            s2 = np.einsum("ij,ij->i", D, D, dtype=np.float64)
            mean[s:e] = s1 / (n - 1)
            std[s:e] = np.sqrt(np.maximum(s2 / (n - 1) - mean[s:e] ** 2, 0.0))
        if progress:
            progress(e / n, f"nearest neighbours: {e} of {n} items")
    return Graph(indices=ind, distances=dist, exact=True, method="exact", row_mean=mean, row_std=std)


def _faiss():
    try:
        import faiss
    except ImportError as e:  # pragma: no cover - faiss-cpu is pinned in requirements.txt
        raise InputError("The approximate index (faiss-cpu) is not installed; use exact search.") from e
    return faiss


def _ann(X: np.ndarray, m: int, *, recall_sample: int, random_state: int, hnsw_m: int = 16, ef_search: int = 64) -> Graph:
    faiss = _faiss()
    n, d = X.shape
    index = faiss.IndexHNSWFlat(d, hnsw_m)
    index.hnsw.efConstruction = 40
    index.add(X)
    ef = max(ef_search, m + 1)
    index.hnsw.efSearch = ef
    D2, nn = index.search(X, m + 1)
    # drop self (usually column 0; if the index missed self, drop the last column instead)
    selfcol = nn == np.arange(n)[:, None]
    keep = ~selfcol
    keep[~selfcol.any(axis=1), m] = False
    ind = nn[keep].reshape(n, m).astype(np.int64)
    dist = np.sqrt(np.maximum(D2[keep].reshape(n, m), 0)).astype(np.float32)
    recall, recall10 = _recall(X, ind, recall_sample=recall_sample, random_state=random_state)
    return Graph(indices=ind, distances=dist, exact=False, method=f"faiss HNSW (M={hnsw_m}, efSearch={ef})",
                 recall=recall, recall10=recall10)


def _recall(X: np.ndarray, ind: np.ndarray, *, recall_sample: int, random_state: int,
            block: int = 64) -> tuple[float, float]:
    """recall@m of the candidate lists and recall@10 of their first 10, against exact search on a seeded sample
    of queries (blocked: ``block`` x n distances at a time)."""
    n, m = ind.shape
    k10 = min(10, m)
    rng = np.random.default_rng(random_state)
    q = np.sort(rng.choice(n, size=min(recall_sample, n), replace=False))
    sq = np.einsum("ij,ij->i", X, X) if n < IVF_MIN else None
    hits = hits10 = 0
    for s in range(0, q.size, block):
        qb = q[s:s + block]
        if sq is not None:
            Dq = sq[qb, None] + sq[None, :] - 2.0 * (np.asarray(X[qb]) @ X.T)
            Dq[np.arange(qb.size), qb] = np.inf
            order = np.argsort(Dq, axis=1, kind="stable")[:, :m]
        else:  # a million items: faiss's blocked brute force (BLAS + a heap), never a block x n matrix at once
            _, nn = _faiss().knn(np.ascontiguousarray(X[qb]), X, m + 1)
            order = np.array([[j for j in row if j != qi][:m] for row, qi in zip(nn, qb, strict=True)])
        for i, qi in enumerate(qb):
            hits += np.intersect1d(order[i], ind[qi]).size
            hits10 += np.intersect1d(order[i, :k10], ind[qi, :k10]).size
    return hits / (q.size * m), hits10 / (q.size * k10)


def _ivf(X: np.ndarray, m: int, *, recall_sample: int, random_state: int, cell: int = IVF_CELL,
         probe: int = IVF_PROBE, progress: Progress | None = None) -> Graph:
    """The inverted-file join (see the module docstring): k-means cells, each item's ``probe`` nearest cells."""
    faiss = _faiss()
    n, d = X.shape
    nlist = int(max(1, min(n // max(cell, 1), 65_536)))
    probe = int(min(probe, nlist))
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))
    km = faiss.Kmeans(d, nlist, niter=10, seed=int(random_state), max_points_per_centroid=64)
    km.train(np.ascontiguousarray(X[sample]))
    # each item's probed cells, nearest first (its own cell is the first)
    cells = np.empty((n, probe), np.int64)
    for s in range(0, n, REDUCE_BLOCK):
        cells[s:s + REDUCE_BLOCK] = faiss.knn(np.ascontiguousarray(X[s:s + REDUCE_BLOCK]), km.centroids, probe)[1]
    own = cells[:, 0]
    members = np.argsort(own, kind="stable")
    mstart = np.searchsorted(own[members], np.arange(nlist + 1))
    flat = cells.ravel()
    asks = np.argsort(flat, kind="stable")
    astart = np.searchsorted(flat[asks], np.arange(nlist + 1))
    del flat, cells
    k1 = m + 1  # self is found too (at distance 0) and dropped at the end
    best_d = np.full((n, k1), np.inf, np.float32)
    best_i = np.full((n, k1), -1, np.int64)
    for c in range(nlist):
        L = members[mstart[c]:mstart[c + 1]]
        Q = asks[astart[c]:astart[c + 1]] // probe
        if L.size == 0 or Q.size == 0:
            continue
        dq, iq = faiss.knn(np.ascontiguousarray(X[Q]), np.ascontiguousarray(X[L]), int(min(k1, L.size)))
        cd = np.concatenate([best_d[Q], dq], axis=1)
        ci = np.concatenate([best_i[Q], np.where(iq >= 0, L[np.maximum(iq, 0)], -1)], axis=1)
        part = np.argpartition(cd, k1 - 1, axis=1)[:, :k1]
        best_d[Q] = np.take_along_axis(cd, part, axis=1)
        best_i[Q] = np.take_along_axis(ci, part, axis=1)
        if progress and (c % 50 == 0 or c == nlist - 1):
            progress((c + 1) / nlist, f"approximate neighbours: cell {c + 1} of {nlist}")
    ind = np.empty((n, m), np.int64)
    dist = np.empty((n, m), np.float32)
    for s in range(0, n, REDUCE_BLOCK):
        e = min(n, s + REDUCE_BLOCK)
        bd, bi = best_d[s:e], best_i[s:e]
        bd[bi == np.arange(s, e)[:, None]] = np.inf  # self
        order = np.argsort(bd, axis=1, kind="stable")[:, :m]
        ind[s:e] = np.take_along_axis(bi, order, axis=1)
        dist[s:e] = np.sqrt(np.maximum(np.take_along_axis(bd, order, axis=1), 0))
    del best_d, best_i
    short = int((ind < 0).sum())
    if short:
        raise InputError(f"The approximate index found fewer than {m} neighbours for some items ({short} slots "
                         "empty): the collection is too small or too clustered for it; use exact search.")
    recall, recall10 = _recall(X, ind, recall_sample=recall_sample, random_state=random_state)
    return Graph(indices=ind, distances=dist, exact=False,
                 method=f"faiss IVF join ({nlist} k-means cells, {probe} probed per item)", recall=recall,
                 recall10=recall10)


# --- hubness reduction ------------------------------------------------------------------------------------------


def reduce(graph: Graph, reduction: str, X=None, *, ls_k: int = LS_K, block: int | None = None,
           progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Re-rank each item's candidates by the secondary distance: (indices, secondary distances), (n, m) each,
    nearest first. ``X`` (the vectors) is needed for exact empirical MP."""
    _check_reduction(reduction)
    ind = graph.indices
    if reduction == "none":
        return ind, graph.distances.astype(np.float64)
    ls_k = min(ls_k, graph.m)
    if reduction == "mp":
        if X is None or not graph.exact:
            reduction = "mp_gauss"  # empirical MP counts over all items: it needs the exact path and the vectors
        else:
            sec = mp_empirical(np.ascontiguousarray(X, np.float32), graph, block=block, progress=progress)
            dist = graph.distances.astype(np.float64)
            order = _order(sec, dist)
            return np.take_along_axis(ind, order, axis=1), np.take_along_axis(sec, order, axis=1)
    # The candidate-list reductions: one number per item first (O(n)), then the rows block by block, so a million
    # items with 50 candidates never hold more than the (n, m) outputs and one block of temporaries.
    per_item = _item_scales(graph, reduction, ls_k)
    out_ind = np.empty(ind.shape, np.int64)
    out_sec = np.empty(ind.shape, np.float64)
    rows = REDUCE_BLOCK if block is None else max(1, int(block))
    for s in range(0, graph.n, rows):
        e = min(graph.n, s + rows)
        bi, bd = ind[s:e], graph.distances[s:e].astype(np.float64)
        sec = _secondary(reduction, bd, bi, s, per_item)
        order = _order(sec, bd)
        out_ind[s:e] = np.take_along_axis(bi, order, axis=1)
        out_sec[s:e] = np.take_along_axis(sec, order, axis=1)
    return out_ind, out_sec


def _item_scales(graph: Graph, reduction: str, ls_k: int) -> tuple[np.ndarray, ...]:
    """Each item's scale for a candidate-list reduction: (mu, sd) for Gaussian MP, sigma for LS, mu for NICDM,
    r for CSLS; from the candidate distances, blockwise."""
    n = graph.n
    if reduction == "mp_gauss" and graph.row_mean is not None:
        return graph.row_mean, np.maximum(graph.row_std, 1e-12)
    a = np.empty(n, np.float64)
    b = np.empty(n, np.float64) if reduction == "mp_gauss" else None
    for s in range(0, n, REDUCE_BLOCK):
        d = graph.distances[s:s + REDUCE_BLOCK].astype(np.float64)
        if reduction == "mp_gauss":
            a[s:s + REDUCE_BLOCK], b[s:s + REDUCE_BLOCK] = d.mean(axis=1), d.std(axis=1)
        elif reduction == "ls":
            a[s:s + REDUCE_BLOCK] = d[:, ls_k - 1]
        else:  # nicdm, csls: mean distance to the ls_k nearest
            a[s:s + REDUCE_BLOCK] = d[:, :ls_k].mean(axis=1)
    if reduction == "mp_gauss":
        return a, np.maximum(b, 1e-12)
    return (a if reduction == "csls" else np.maximum(a, 1e-12),)


def _secondary(reduction: str, dist: np.ndarray, ind: np.ndarray, start: int, scales) -> np.ndarray:
    """The secondary distance of a block of rows (``start`` = its first item) from the per-item scales."""
    rows = np.arange(start, start + dist.shape[0])
    if reduction == "mp_gauss":
        from scipy.special import ndtr

        mu, sd = scales
        sf_x = ndtr(-(dist - mu[rows, None]) / sd[rows, None])
        sf_y = ndtr(-(dist - mu[ind]) / sd[ind])
        return 1.0 - sf_x * sf_y
    (v,) = scales
    if reduction == "ls":
        return 1.0 - np.exp(-(dist**2) / (v[rows, None] * v[ind]))
    if reduction == "nicdm":
        return dist / np.sqrt(v[rows, None] * v[ind])
    return 2.0 * dist - v[rows, None] - v[ind]  # csls


def _order(sec: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Row-wise order by secondary distance, ties broken by the primary distance (stable, deterministic)."""
    o = np.argsort(dist, axis=1, kind="stable")
    s = np.take_along_axis(sec, o, axis=1)
    return np.take_along_axis(o, np.argsort(s, axis=1, kind="stable"), axis=1)


def mp_empirical(X: np.ndarray, graph: Graph, *, block: int | None = None, progress: Progress | None = None) -> np.ndarray:
    """Exact empirical MP distance of every candidate pair (x, graph.indices[x, r]), counted over all n items.

    far_both = (n - 2) - near_x - near_y + near_both, where near_x = #{j != x, y: d(x,j) <= d_xy} (all of them are
    x's candidates, since d_xy <= x's m-th distance), near_both likewise among x's candidates (an m x m distance
    block per x), and near_y = #{j != x, y: d(y,j) <= d_xy} from y's full sorted distance row, recomputed blockwise.
    Memory O(block * n + n * m); time O(n^2 (d + log n) + n m^2 d).
    """
    n, m = graph.n, graph.m
    ind, dist = graph.indices, graph.distances
    near_x = np.empty((n, m), np.int64)
    # near_x: candidates of x (other than y) no farther than y; near_both: among x's candidates j != y with d(x,j) <= t, those with d(y,j) <= t
    near_both = np.empty((n, m), np.int64)
    bx = max(1, (32 << 20) // (m * m * 8))
    for s in range(0, n, bx):
        e = min(n, s + bx)
        C = X[ind[s:e]]  # (b, m, d)
        csq = np.einsum("bmd,bmd->bm", C, C)
        G = csq[:, :, None] + csq[:, None, :] - 2.0 * np.matmul(C, C.transpose(0, 2, 1))
        Dc = np.sqrt(np.maximum(G, 0.0))  # Dc[b, r, s] = d(y_r, j_s)
        t = dist[s:e, :, None]  # (b, m, 1) threshold d_xy for row r
        close_x = dist[s:e, None, :] <= t  # (b, m, m): j_s no farther from x than y_r
        both = close_x & (Dc <= t)
        eye = np.eye(m, dtype=bool)[None]
        near_both[s:e] = (both & ~eye).sum(axis=2)
        near_x[s:e] = close_x.sum(axis=2) - 1  # the "- 1" drops y itself
    # near_y: counted on y's full row; queries grouped by y
    flat_y, flat_t = ind.ravel(), dist.ravel().astype(np.float32)
    order = np.argsort(flat_y, kind="stable")
    ys, ts = flat_y[order], flat_t[order]
    starts = np.searchsorted(ys, np.arange(n + 1))
    counts = np.empty(ys.size, np.int64)
    sq = np.einsum("ij,ij->i", X, X)
    b = block or _block_size(n, 32 << 20)
    for s in range(0, n, b):
        e = min(n, s + b)
        D = _block_distances(X, sq, s, e)  # self = inf: never counted
        D.sort(axis=1)
        for r in range(e - s):
            lo, hi = starts[s + r], starts[s + r + 1]
            if hi > lo:
                counts[lo:hi] = np.searchsorted(D[r], ts[lo:hi], side="right")
        if progress:
            progress(e / n, f"Mutual Proximity: {e} of {n} items")
    near_y = np.empty(ys.size, np.int64)
    near_y[order] = counts - 1  # x itself is at distance d_xy from y
    near_y = near_y.reshape(n, m)
    far_both = (n - 2) - near_x - near_y + near_both
    return 1.0 - far_both / (n - 2)


# --- measures -----------------------------------------------------------------------------------------------------


def k_occurrence(indices: np.ndarray, n: int) -> np.ndarray:
    """N_k: how often each of n items occurs in the k-NN lists (rows of ``indices``)."""
    return np.bincount(np.asarray(indices).ravel(), minlength=n)


def skewness(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    sd = x.std()
    return float(((x - x.mean()) ** 3).mean() / sd**3) if sd > 0 else 0.0


def gini(x: np.ndarray) -> float:
    x = np.sort(np.asarray(x, dtype=np.float64))
    n, total = x.size, x.sum()
    if total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def measures(indices: np.ndarray, n: int | None = None, *, hub_size: float = HUB_SIZE) -> dict:
    """Hubness measures of a k-NN index array (n, k): skewness, hub/anti-hub occurrence, Robin Hood, Gini."""
    indices = np.asarray(indices)
    n = n or indices.shape[0]
    k = indices.shape[1]
    nk = k_occurrence(indices, n)
    hubs = nk >= hub_size * k
    total = nk.sum()
    return {
        "k": int(k), "n": int(n),
        "skewness": skewness(nk),
        "hub_occurrence": float(nk[hubs].sum() / total) if total else 0.0,
        "antihub_occurrence": float(np.mean(nk == 0)),
        "robinhood": float(0.5 * np.abs(nk - nk.mean()).sum() / total) if total else 0.0,
        "gini": gini(nk),
        "n_hubs": int(hubs.sum()),
        "max_k_occurrence": int(nk.max()),
        "hub_size": float(hub_size),
    }


def retrieval_quality(indices: np.ndarray, labels: np.ndarray) -> dict:
    """Same-class precision at k and leave-one-out k-NN accuracy (majority vote, ties to the nearer class)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if classes.size < 2:
        raise InputError("Every item belongs to the same class, so same-class precision and k-NN accuracy say "
                         "nothing about the recommendations.")
    nb = labels[np.asarray(indices)]
    same = nb == labels[:, None]
    k = nb.shape[1]
    # votes weighted 1 + tiny rank bonus: a tie goes to the class of the nearer neighbour
    w = 1.0 + 1e-3 * (k - np.arange(k)) / k
    lab_idx = np.searchsorted(classes, nb)
    votes = np.zeros((nb.shape[0], classes.size))
    np.add.at(votes, (np.repeat(np.arange(nb.shape[0]), k), lab_idx.ravel()), np.tile(w, nb.shape[0]))
    pred = classes[votes.argmax(axis=1)]
    return {"precision_at_k": float(same.mean()), "knn_accuracy": float(np.mean(pred == labels))}


# --- one analysis ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report(Result):
    """Hubness and retrieval of one embedding at one k under one reduction."""

    k: int
    n: int
    reduction: str
    measures: dict
    retrieval: dict | None
    k_occurrence: np.ndarray = field(repr=False)
    neighbours: np.ndarray = field(repr=False)  # (n, k) recommendations
    method: str = "exact"
    recall: float | None = None
    candidates: int = DEFAULT_CANDIDATES
    note: str = ""
    seconds: float = 0.0
    recall10: float | None = None  # approximate path: recall@10 of the candidates' first 10

    def summary(self, *, arrays: bool = False) -> dict:
        """The measures as one flat dict of plain values (the CLI's JSON, the page's table and trade-off plot)."""
        d = {"k": self.k, "n": self.n, "reduction": self.reduction, **self.measures,
             "retrieval_precision": None if self.retrieval is None else self.retrieval["precision_at_k"],
             "knn_accuracy": None if self.retrieval is None else self.retrieval["knn_accuracy"],
             "method": self.method, "ann_recall": self.recall, "ann_recall10": self.recall10, "candidates": self.candidates, "note": self.note,
             "seconds": round(self.seconds, 3)}
        if arrays:
            d["k_occurrence"] = self.k_occurrence.tolist()
        return d

    def hubs(self, top: int = 10) -> list[tuple[int, int]]:
        """The ``top`` items with the largest k-occurrence: (item, N_k)."""
        order = np.argsort(-self.k_occurrence, kind="stable")[:top]
        return [(int(i), int(self.k_occurrence[i])) for i in order]


def analyse(X, labels, k: int = 10, reduction: str = "none", *, graph: Graph | None = None,
            candidates: int = DEFAULT_CANDIDATES, hub_size: float = HUB_SIZE, approximate: bool | None = None,
            progress: Progress | None = None) -> Report:
    """k-NN recommendations of every item, their hubness measures and same-class retrieval quality."""
    t0 = time.perf_counter()
    _check_reduction(reduction)
    if graph is None:
        X = check_vectors(X)
    n = X.shape[0] if graph is None else graph.n
    k = check_k(k, n)
    m = min(max(candidates, k), n - 1)
    g = graph if graph is not None else knn(X, m, approximate=approximate, progress=progress)
    if g.m < k:
        raise ParameterError(f"Only {g.m} candidate neighbours were computed; k = {k} needs at least k.")
    ind, _ = reduce(g, reduction, X, progress=progress)
    nb = ind[:, :k]
    note = ""
    if reduction == "mp" and not g.exact:
        note = "approximate index: Mutual Proximity uses the Gaussian model over each item's candidates"
    retrieval = None
    if labels is not None:
        try:
            retrieval = retrieval_quality(nb, labels)
        except InputError as e:
            note = (note + "; " if note else "") + str(e)
    return Report(k=k, n=n, reduction=reduction, measures=measures(nb, n, hub_size=hub_size), retrieval=retrieval,
                  k_occurrence=k_occurrence(nb, n), neighbours=nb, method=g.method, recall=g.recall, candidates=g.m,
                  note=note, seconds=time.perf_counter() - t0, recall10=g.recall10)


def compare(X, labels, k: int = 10, reductions=REDUCTIONS, *, candidates: int = DEFAULT_CANDIDATES,
            progress: Progress | None = None) -> list[Report]:
    """:func:`analyse` for several reductions on one shared candidate graph (computed once)."""
    X = check_vectors(X)
    k = check_k(k, X.shape[0])
    g = knn(X, min(max(candidates, k), X.shape[0] - 1), progress=progress)
    return [analyse(X, labels, k, r, graph=g) for r in reductions]


def neighbours_of(X, q, k: int, *, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest items of a query vector q (e.g. an uploaded clip's embedding): (indices, distances)."""
    X = np.asarray(X, np.float32)
    q = np.asarray(q, np.float32).ravel()
    if q.size != X.shape[1] or not np.isfinite(q).all():
        raise InputError("The query's embedding does not fit this embedding space (wrong size or missing values).")
    k = check_k(k, X.shape[0] + 1)
    d = np.sqrt(np.maximum(((X - q) ** 2).sum(axis=1), 0))
    if exclude is not None:
        d[exclude] = np.inf
    order = np.argsort(d, kind="stable")[:k]
    return order, d[order]


def report_dict(r: Report) -> dict:
    """Every field of a report as a dict (arrays kept as arrays)."""
    return asdict(r)
