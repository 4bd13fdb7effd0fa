"""Testing with Concept Activation Vectors (TCAV): is the model sensitive to a concept a musician names?

A musician defines a concept by example excerpts ("homophonic texture", "walking bass"). At a chosen layer, a
linear classifier separates the layer activations of those excerpts from the activations of random excerpts;
the unit normal of its decision boundary, pointing towards the concept, is the concept activation vector
(CAV). The TCAV score of a class is the fraction of that class's excerpts whose class logit increases when
the layer's activations are nudged along the CAV (a positive directional derivative). Because a direction
learnt from a handful of examples can score high by chance, the concept is compared with many random sets of
excerpts tested in exactly the same way (the null distribution, as in Kim et al.), every run resamples the
examples by piece (so runs are exchangeable and held-out examples come from other pieces), a layer whose CAVs
are no more accurate than random sets' is not tested, and the p-values are corrected for the number of
(class, layer) tests. :mod:`xai.concepts.sanity` measures the false-positive rate this gives.

This module is array-level: it takes piano-roll stacks (N, 2, 88, 64) and a torch network, and knows nothing
about the concept library (:mod:`xai.concepts.library`) or the app. Everything that depends on chance is drawn from
one seeded generator before any work starts, so the same ``random_state`` gives the same numbers.

Speed. The expensive parts are forward and backward passes, so each is done once (and kept between
experiments): activations of the concept examples and of the random pool, and class-logit gradients of the
class examples, for all requested layers in one pass per batch. Every fit then works on inner products of
those (:mod:`xai.concepts._kernel`): an n x n problem, n ~ 50, whatever the layer's size.

References
----------
Kim, B., Wattenberg, M., Gilmer, J., Cai, C., Wexler, J., Viegas, F., Sayres, R. (2018). Interpretability
Beyond Feature Attribution: Quantitative Testing with Concept Activation Vectors (TCAV). ICML.
Foscarin, F., Hoedt, K., Praher, V., Flexer, A., Widmer, G. (2022). Concept-Based Techniques for
"Musicologist-friendly" Explanations in a Deep Music Classifier. ISMIR.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats

from xai.concepts import _kernel
from xai.concepts.layers import activations, layer_activations, layer_info, modules
from xai.concepts.options import CLASSIFIERS, CORRECTIONS, MIN_SET_SIZE, TCAVOptions
from xai.contract import Progress, Result
from xai.errors import InputError, ParameterError

__all__ = [
    "TCAVOptions",
    "TCAVResult",
    "layer_activations",
    "layer_info",
    "score",
    "relative_score",
    "concept_strip",
    "corrections",
    "CORRECTIONS",
    "CLASSIFIERS",
    "null_p_value",
    "empirical_p_value",
    "bootstrap_interval",
    "random_accuracy_bound",
    "examples_needed",
]

# --------------------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------------------


def corrections(pvalues, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons; returns adjusted p-values in the input's shape and order.

    ``'bonferroni'`` multiplies by the number of tests m; ``'holm'`` is Holm's step-down version of it
    (the k-th smallest p-value times m - k + 1, made monotone); ``'fdr_bh'`` is Benjamini-Hochberg's
    step-up false-discovery-rate adjustment (the k-th smallest times m / k, made monotone from the top);
    ``'none'`` returns them unchanged. Adjusted values are capped at 1.
    """
    if method not in CORRECTIONS:
        allowed = ", ".join(map(repr, CORRECTIONS))
        raise ParameterError(f"The 'correction' parameter must be one of {allowed}, got {method!r}.")
    p = np.asarray(pvalues, dtype=float)
    flat = p.ravel()
    m = flat.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(flat * m, 1.0).reshape(p.shape)
    order = np.argsort(flat, kind="stable")
    ranked = flat[order]
    k = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(ranked * (m - k + 1), 1.0))
    else:  # fdr_bh
        adj = np.minimum.accumulate((ranked * m / k)[::-1])[::-1]
        adj = np.minimum(adj, 1.0)
    out = np.empty(m)
    out[order] = adj
    return out.reshape(p.shape)


def _welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Welch t-test p-value; defined also when both samples are constant."""
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 1.0 if a[0] == b[0] else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return 1.0 if np.isnan(p) else p


def null_p_value(value: float, null: np.ndarray) -> float:
    """Two-sided p-value of one statistic against a sample of its null distribution (a prediction-interval t-test).

    The concept's statistic and each of the K random sets' statistics are computed the same way, so under the
    null hypothesis (the concept is no different from a random set of excerpts) ``value`` is one more draw from
    the distribution ``null`` samples. ``t = (value - mean) / (sd * sqrt(1 + 1/K))`` then has a t distribution
    with K - 1 degrees of freedom when that distribution is normal (the test of a new observation against a
    sample, as for a prediction interval). A permutation rank would need no normality but cannot go below
    1 / (K + 1), too coarse for a Holm correction over many (class, layer) tests; the false-positive rate this
    test actually has on the shipped model is measured by :mod:`xai.concepts.sanity`.
    """
    null = np.asarray(null, dtype=float)
    null = null[np.isfinite(null)]
    if not np.isfinite(value) or null.size < 2:
        return 1.0
    sd = float(null.std(ddof=1))
    diff = float(value) - float(null.mean())
    if sd == 0:
        return 1.0 if diff == 0 else 0.0
    t = diff / (sd * np.sqrt(1 + 1 / null.size))
    return float(2 * stats.t.sf(abs(t), df=null.size - 1))


def empirical_p_value(value: float, null: np.ndarray) -> float:
    """Two-sided permutation p-value: the share of the null at least as far from its median as ``value`` (+1)."""
    null = np.asarray(null, dtype=float)
    null = null[np.isfinite(null)]
    if not np.isfinite(value) or null.size == 0:
        return 1.0
    med = float(np.median(null))
    return float((1 + np.sum(np.abs(null - med) >= abs(value - med) - 1e-12)) / (null.size + 1))


def bootstrap_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (Efron): the middle ``level`` share of the runs' scores."""
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    q = (1 - level) / 2
    return float(np.quantile(x, q)), float(np.quantile(x, 1 - q))


def random_accuracy_bound(null_accuracies: np.ndarray, level: float = 0.95) -> float:
    """The held-out accuracy a CAV must beat to do better than random sets' CAVs at the same layer.

    The upper ``level`` prediction bound of the random sets' accuracies (one-sided, t with K - 1 degrees of
    freedom): what a random set of excerpts, tested as the concept is, reaches in all but 5 % of cases.
    """
    a = np.asarray(null_accuracies, dtype=float)
    a = a[np.isfinite(a)]
    if a.size < 2:
        return 1.0
    return float(a.mean() + stats.t.ppf(level, a.size - 1) * a.std(ddof=1) * np.sqrt(1 + 1 / a.size))


def examples_needed(sizes: np.ndarray, accuracies: np.ndarray, target: float) -> float | None:
    """Training examples at which a learning curve ``accuracy = a + b log(size)`` reaches ``target``; None if never.

    The variance of a CAV falls roughly as 1 / N (Nicolson et al. 2024), and held-out accuracy grows about
    logarithmically over the small sizes a musician collects, so the fitted curve gives the order of magnitude of
    the examples a layer would need -- a hint, not a promise. None when accuracy does not grow with the examples.
    """
    n = np.asarray(sizes, dtype=float)
    a = np.asarray(accuracies, dtype=float)
    ok = np.isfinite(a) & (n > 0)
    if ok.sum() < 2:
        return None
    slope, intercept = np.polyfit(np.log(n[ok]), a[ok], 1)
    if slope <= 1e-3:
        return None
    if intercept + slope * np.log(n[ok].max()) >= target:
        return float(n[ok].max())
    return float(np.exp((target - intercept) / slope))


# --------------------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TCAVResult(Result):
    """TCAV scores of one concept for several classes and layers, tested against random sets of excerpts.

    ``scores`` / ``magnitudes`` ``[target, layer, run]`` are the concept's sign-count and magnitude TCAV scores
    in each run (each run resamples the concept's examples by piece and draws new random counter-examples);
    ``random_scores`` / ``random_magnitudes`` ``[target, layer, k]`` are the mean scores of K random sets of
    excerpts tested exactly as the concept is (same sizes, same runs, same counter-examples): the null
    distribution of the concept's mean score. ``p_values`` compare the concept's mean sign-count score with
    that null (:func:`null_p_value`), ``p_magnitude`` the mean magnitude score; ``effect_size`` is the distance
    from the null's mean in null standard deviations; ``ci`` the 95 % bootstrap interval of the run scores.

    ``cav_accuracies`` ``[layer, run]`` are the concept CAVs' accuracies on held-out examples from other pieces,
    ``random_cav_accuracies`` ``[layer, k]`` the random sets' mean accuracies; ``cav_threshold`` is the bound a
    layer's mean accuracy must beat (:func:`random_accuracy_bound`) and ``cav_better`` whether it does. A layer
    that does not cannot tell the concept from random excerpts: its cells get no score and no test.
    ``learning_curve`` ``[layer, size]`` holds held-out accuracies with ``learning_sizes`` training examples.

    ``cavs_`` maps each layer to one unit CAV (flattened channels x pitch x time, the mean of the runs' unit
    CAVs). ``sets_`` records the rows each concept run trained on (``'positive'``/``'negative'``, (R, m) into
    the concept examples / the counter-examples' source) and the class excerpts scored (``'class_<target>'``).
    """

    concept: str
    layers: tuple[str, ...]
    targets: tuple[str, ...]
    scores: np.ndarray  # (T, L, R)
    random_scores: np.ndarray  # (T, L, K)
    magnitudes: np.ndarray  # (T, L, R)
    random_magnitudes: np.ndarray  # (T, L, K)
    p_values: np.ndarray  # (T, L)
    p_corrected: np.ndarray  # (T, L)
    significant: np.ndarray  # (T, L) bool
    cav_accuracies: np.ndarray  # (L, R)
    random_cav_accuracies: np.ndarray  # (L, K)
    options: TCAVOptions
    random_state: int
    n_concept: int  # excerpts per concept (and random) set in each run, training and held out together
    n_class: tuple[int, ...]  # class excerpts scored, per target
    relative_to: str | None = None
    p_magnitude: np.ndarray | None = None  # (T, L)
    effect_size: np.ndarray | None = None  # (T, L)
    ci: np.ndarray | None = None  # (T, L, 2)
    cav_threshold: np.ndarray | None = None  # (L,)
    cav_better: np.ndarray | None = None  # (L,) bool
    learning_sizes: np.ndarray | None = None  # (S,)
    learning_curve: np.ndarray | None = None  # (L, S)
    n_pieces: int | None = None  # pieces the concept's examples come from
    cavs_: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    sets_: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_random(self) -> int:
        """Random sets in the null distribution (K)."""
        return int(self.random_scores.shape[2])

    @property
    def n_runs(self) -> int:
        """Runs of the concept (and of each random set)."""
        return int(self.scores.shape[2])

    @property
    def tcav_mean(self) -> np.ndarray:
        """(T, L) mean TCAV score over the runs."""
        return self.scores.mean(axis=2)

    @property
    def tcav_std(self) -> np.ndarray:
        """(T, L) standard deviation of the TCAV scores over the runs."""
        return self.scores.std(axis=2, ddof=1) if self.n_runs > 1 else np.zeros(self.scores.shape[:2])

    @property
    def random_mean(self) -> np.ndarray:
        """(T, L) mean score of the random sets (the null's centre)."""
        return self.random_scores.mean(axis=2)

    @property
    def random_std(self) -> np.ndarray:
        """(T, L) standard deviation of the random sets' scores (the null's spread)."""
        return self.random_scores.std(axis=2, ddof=1) if self.n_random > 1 else np.zeros(self.scores.shape[:2])

    @property
    def cav_accuracy(self) -> np.ndarray:
        """(L, 2): mean and standard deviation of the concept CAVs' held-out accuracy per layer."""
        a = self.cav_accuracies
        return np.stack([_nanmean(a, axis=1), np.nan_to_num(np.nanstd(a, axis=1)) if a.size else a[:, 0]], axis=1)

    def _index(self, target: str, layer: str) -> tuple[int, int]:
        if target not in self.targets:
            raise ParameterError(f"The 'target' parameter must be one of {', '.join(self.targets)}, got {target!r}.")
        if layer not in self.layers:
            raise ParameterError(f"The 'layer' parameter must be one of {', '.join(self.layers)}, got {layer!r}.")
        return self.targets.index(target), self.layers.index(layer)

    def _better(self, j: int) -> bool:
        if self.cav_better is None:  # a result made before the random baseline: the fixed floor
            return bool(self.cav_accuracy[j, 0] > self.options.min_cav_accuracy)
        return bool(self.cav_better[j])

    def more_examples(self, layer: str) -> int | None:
        """Roughly how many more examples the layer's learning curve says would beat random sets; None if unclear."""
        j = self.layers.index(layer)
        if self.learning_curve is None or self.cav_threshold is None:
            return None
        need = examples_needed(self.learning_sizes, self.learning_curve[j], float(self.cav_threshold[j]) + 0.02)
        if need is None:
            return None
        total = need / (1 - self.options.cav_test_fraction)
        if total > 20 * self.n_concept:
            return None
        return max(0, int(np.ceil(total - self.n_concept)))

    def cell(self, target: str, layer: str) -> dict:
        """Everything about one (target, layer) test, arrays included."""
        t, j = self._index(target, layer)
        nan = float("nan")
        ci = self.ci[t, j] if self.ci is not None else (nan, nan)
        return {
            "scores": self.scores[t, j],
            "random_scores": self.random_scores[t, j],
            "magnitudes": self.magnitudes[t, j],
            "random_magnitudes": self.random_magnitudes[t, j],
            "tcav_mean": float(self.tcav_mean[t, j]),
            "tcav_std": float(self.tcav_std[t, j]),
            "ci": (float(ci[0]), float(ci[1])),
            "magnitude_mean": float(self.magnitudes[t, j].mean()),
            "random_mean": float(self.random_mean[t, j]),
            "random_std": float(self.random_std[t, j]),
            "p_value": float(self.p_values[t, j]),
            "p_magnitude": float(self.p_magnitude[t, j]) if self.p_magnitude is not None else nan,
            "effect_size": float(self.effect_size[t, j]) if self.effect_size is not None else nan,
            "p_corrected": float(self.p_corrected[t, j]),
            "significant": bool(self.significant[t, j]),
            "cav_accuracy": (float(self.cav_accuracy[j, 0]), float(self.cav_accuracy[j, 1])),
            "random_cav_accuracy": float(_nanmean(self.random_cav_accuracies[j])),
            "cav_threshold": float(self.cav_threshold[j]) if self.cav_threshold is not None else nan,
            "cav_better": self._better(j),
        }

    def to_records(self) -> list[dict]:
        """One JSON-ready dict per (target, layer), the shape of ``python -m xai tcav --json``."""
        out = []
        for target in self.targets:
            for layer in self.layers:
                c = self.cell(target, layer)
                out.append(
                    {
                        "concept": self.concept,
                        "relative_to": self.relative_to,
                        "target": target,
                        "layer": layer,
                        "tcav_mean": round(c["tcav_mean"], 6),
                        "tcav_std": round(c["tcav_std"], 6),
                        "tcav_ci": [round(v, 6) for v in c["ci"]],
                        "magnitude_mean": round(c["magnitude_mean"], 6),
                        "random_mean": round(c["random_mean"], 6),
                        "random_std": round(c["random_std"], 6),
                        "effect_size": round(c["effect_size"], 6),
                        "p_value": c["p_value"],
                        "p_magnitude": c["p_magnitude"],
                        "p_corrected": c["p_corrected"],
                        "significant": c["significant"],
                        "cav_accuracy": round(c["cav_accuracy"][0], 6),
                        "random_cav_accuracy": round(c["random_cav_accuracy"], 6),
                        "cav_better_than_random": c["cav_better"],
                        "more_examples": None if c["cav_better"] else self.more_examples(layer),
                        "n_random": self.n_random,
                        "n_runs": self.n_runs,
                    }
                )
        return out

    def interpretation(self, target: str, layer: str) -> str:
        """A plain sentence for a musician: what the score means for this class and layer, and what it does not."""
        c = self.cell(target, layer)
        pct, rnd = round(100 * c["tcav_mean"]), round(100 * c["random_mean"])
        towards = f"towards '{self.concept}'" + (f" rather than '{self.relative_to}'" if self.relative_to else "")
        p = c["p_corrected"]
        p_txt = "p<0.001" if p < 0.001 else f"p={p:.3f}" if p < 0.1 else f"p={p:.2f}"
        corr = "" if self.options.correction == "none" else " after correction"
        acc = c["cav_accuracy"][0]
        baseline = f"'{self.relative_to}'" if self.relative_to else "random"
        if not c["cav_better"]:
            more = self.more_examples(layer)
            hint = (f" A learning curve over the examples suggests roughly {more} more examples (from other pieces) "
                    "might help." if more else
                    " More examples of the same kind do not look likely to help at this layer." if more is None
                    else "")
            return (
                f"This layer cannot tell the concept from {baseline} excerpts: at {layer}, the model's activations "
                f"hardly tell '{self.concept}' excerpts from {baseline} ones (the concept direction sorts "
                f"{round(100 * acc)}% of held-out excerpts from other pieces right, no better than directions "
                f"learnt from random sets of excerpts, {round(100 * c['random_cav_accuracy'])}%), so there is no "
                f"score for {target} here: the concept may not be represented at this layer, or its examples may "
                f"not differ clearly enough from the {baseline} excerpts.{hint}"
            )
        head = f"In {pct}% of the {target} excerpts, nudging {layer}'s activations {towards} raises the {target} score"
        lo, hi = c["ci"]
        band = f" (95% interval over runs {round(100 * lo)}–{round(100 * hi)}%)" if np.isfinite(lo) else ""
        chosen = (f"the examples chosen for '{self.concept}' and '{self.relative_to}'" if self.relative_to
                  else "the concept examples and the random excerpts chosen")
        caveat = (
            "This says the model is sensitive to this direction, not that the concept causes the prediction; "
            f"it is relative to {chosen}."
        )
        if c["significant"]:
            more = "more" if c["tcav_mean"] > c["random_mean"] else "less"
            return (
                f"{head}{band} — {more} often than for random directions (random sets of excerpts: {rnd}%; "
                f"{p_txt}{corr}). {caveat}"
            )
        return (
            f"{head}{band}, but random directions do so about as often (random sets of excerpts: {rnd}%; "
            f"{p_txt}{corr}), so this is no evidence that the model relies on '{self.concept}' for {target} at "
            "this layer. It does not show that the model ignores it either: other examples, more runs or another "
            "layer may tell."
        )


def _nanmean(a: np.ndarray, axis=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


# --------------------------------------------------------------------------------------------------------------
# The experiment
# --------------------------------------------------------------------------------------------------------------


def _as_stack(name: str, X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim < 2:
        raise InputError(f"The {name} must be a stack of excerpts (N, ...), got an array of shape {X.shape}.")
    return X


def _one_blas_thread():
    """Run the small linear algebra of the fits on one BLAS thread.

    The matrices are tiny (n x n, n ~ 100): a multi-threaded BLAS only adds hand-over cost, and on a busy
    machine its spinning threads made an eigendecomposition 250x slower (48 ms instead of 0.2 ms) in our
    measurements. threadpoolctl ships with scikit-learn.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return contextlib.nullcontext()
    return threadpool_limits(1)
def _prepare(
    class_X: Mapping[str, np.ndarray],
    random_X,
    layers,
    targets,
    classes,
    options: TCAVOptions,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], np.ndarray]:
    if not isinstance(options, TCAVOptions):
        raise ParameterError(f"The 'options' parameter must be a TCAVOptions, got {type(options).__name__}.")
    layers = (layers,) if isinstance(layers, str) else tuple(layers)
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    classes = tuple(classes)
    if not layers:
        raise ParameterError("The 'layers' parameter must name at least one layer.")
    if not targets:
        raise ParameterError("The 'targets' parameter must name at least one class.")
    for t in targets:
        if t not in classes:
            raise ParameterError(
                f"The 'targets' parameter must name classes of the model ({', '.join(classes)}), got {t!r}."
            )
        if t not in class_X or len(class_X[t]) == 0:
            raise InputError(f"There are no example excerpts of the class '{t}' to score.")
    pool = _as_stack("random pool", random_X)
    if len(pool) < 2 * MIN_SET_SIZE:
        raise InputError(
            f"The random pool has {len(pool)} excerpts; TCAV needs at least {2 * MIN_SET_SIZE} to draw random sets."
        )
    return layers, targets, classes, pool


class _GradientCache:
    """Class-logit gradients of class excerpts, kept between TCAV runs (LRU, bounded in bytes), thread-safe.

    They depend on the model, the excerpts, the layer and the class only, not on the concept, and are the
    slow part of a run (one forward and backward pass over every class excerpt), so testing a second concept
    reuses them. Keys hold a fingerprint of the weights, so a changed model never gets stale gradients.

    One cache serves every browser session of a server, each in its own thread: a lock guards every read and
    write of the store, and the arrays handed out are read-only, so no caller can change another's gradients.
    """

    def __init__(self, max_bytes: int = 256 * 2**20):
        self.max_bytes = max_bytes
        self._store: OrderedDict[tuple, dict[str, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def fingerprint(net: torch.nn.Module, X: np.ndarray) -> tuple[str, str]:
        """Hashes of the network's weights and of the excerpts: what the gradients depend on besides layer and class."""
        h = hashlib.blake2b(digest_size=16)
        for p in net.state_dict().values():
            h.update(p.detach().cpu().numpy().tobytes())
        return h.hexdigest(), hashlib.blake2b(np.ascontiguousarray(X).tobytes(), digest_size=16).hexdigest()

    def get(self, key):
        """The stored gradients for ``key`` (marked most recently used), or None."""
        with self._lock:
            if key in self._store:
                self._store.move_to_end(key)
                return self._store[key]
            return None

    def put(self, key, value: dict[str, np.ndarray]) -> None:
        """Store gradients (made read-only), dropping the least recently used entries beyond ``max_bytes``."""
        for a in value.values():
            a.flags.writeable = False
        with self._lock:
            self._store[key] = value
            while len(self._store) > 1 and self._nbytes() > self.max_bytes:
                self._store.popitem(last=False)

    def _nbytes(self) -> int:
        return sum(a.nbytes for v in self._store.values() for a in v.values())

    def clear(self) -> None:
        """Forget every stored gradient."""
        with self._lock:
            self._store.clear()


_GRADIENTS = _GradientCache()


def _class_gradients(net, X: np.ndarray, layers, output: int, *, batch_size: int) -> dict[str, np.ndarray]:
    """Gradient of one class logit at each layer for each excerpt, (N, D) per layer, memoised.

    Two threads asking for the same gradients at once may both compute them (the lock is not held during the
    passes, which would serialise every session's experiments); both get equal arrays and one is kept.
    """
    key = (*_GradientCache.fingerprint(net, X), tuple(layers), output)
    hit = _GRADIENTS.get(key)
    if hit is not None:
        return hit
    _, g = activations(net, X, layers, with_grads=True, outputs=[output], batch_size=batch_size)
    value = {layer: np.ascontiguousarray(g[layer][:, 0]) for layer in layers}
    _GRADIENTS.put(key, value)
    return value


_ACTIVATIONS = _GradientCache(max_bytes=512 * 2**20)


def _cached_activations(net, X: np.ndarray, layers, *, batch_size: int) -> dict[str, np.ndarray]:
    """Activations of excerpts at several layers, (N, D) per layer, memoised per layer like the gradients.

    The random pool is read at every experiment (and by every random concept of the sanity suite), so its
    passes are kept; only the layers not yet stored are computed, in one pass.
    """
    fp = _GradientCache.fingerprint(net, X)
    out, missing = {}, []
    for layer in layers:
        hit = _ACTIVATIONS.get((*fp, layer))
        if hit is None:
            missing.append(layer)
        else:
            out[layer] = hit["acts"]
    if missing:
        acts, _ = activations(net, X, missing, batch_size=batch_size)
        for layer in missing:
            value = {"acts": np.ascontiguousarray(acts[layer])}
            _ACTIVATIONS.put((*fp, layer), value)
            out[layer] = value["acts"]
    return out


@dataclass(frozen=True)
class _Plan:
    """Every draw of an experiment, made before any work so that results depend on the seed only."""

    m: int  # rows per set in a run, training and held out together
    concept: list  # R _kernel.Fit
    null: list  # K lists of R _kernel.Fit
    curve_sizes: np.ndarray  # training rows per side of the learning curve
    curve: list  # per size, a list of Fits (the first runs' rows, cut to the size)
    class_idx: dict


CURVE_RUNS = 5  # concept runs re-fitted at each learning-curve size
CURVE_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def _plan(rng, *, pos_codes, neg_codes, pool_codes, offsets, class_sizes, options: TCAVOptions) -> _Plan:
    """Draw the random sets and every run's rows (see :mod:`xai.concepts._kernel` for the scheme)."""
    class_idx = {}
    for t, n in class_sizes.items():
        cap = options.max_examples
        class_idx[t] = np.sort(rng.choice(n, cap, replace=False)) if n > cap else np.arange(n)
    pos_pieces = _kernel.by_piece(offsets["pos"] + np.arange(pos_codes.size), pos_codes)
    neg_pieces = (_kernel.by_piece(offsets["neg"] + np.arange(neg_codes.size), neg_codes)
                  if neg_codes is not None else None)
    null_half, neg_half = _kernel.split_pool(rng, _kernel.by_piece(offsets["pool"] + np.arange(pool_codes.size),
                                                                    pool_codes))
    rows = [sum(p.size for p in half) for half in (null_half, neg_half)]
    sizes = [pos_codes.size, options.max_examples, *rows] + ([neg_codes.size] if neg_codes is not None else [])
    m = int(min(sizes))
    if m < MIN_SET_SIZE:
        raise InputError(
            f"The random pool has {pool_codes.size} excerpts left once the concept's pieces are set aside; TCAV "
            f"needs at least {2 * MIN_SET_SIZE} to draw random sets."
        )
    m_test = min(max(1, int(round(options.cav_test_fraction * m))), m - 1)
    m_train = m - m_test
    R, K = options.n_runs, options.n_random
    counter = [_kernel.disjoint_sets(rng, neg_half, (m_train, m_test)) for _ in range(R)]

    def seed() -> int:
        return int(rng.integers(2**31 - 1))

    concept = []
    for r in range(R):
        tr, te = _kernel.bootstrap(rng, pos_pieces, m_train, m_test)
        ntr, nte = _kernel.bootstrap(rng, neg_pieces, m_train, m_test) if neg_pieces is not None else counter[r]
        concept.append(_kernel.Fit(tr, ntr, te, nte, seed()))
    null = []
    for _ in range(K):
        pieces = _kernel.random_concept(rng, null_half, m)
        fits = []
        for r in range(R):
            tr, te = _kernel.bootstrap(rng, pieces, m_train, m_test)
            fits.append(_kernel.Fit(tr, counter[r][0], te, counter[r][1], seed()))
        null.append(fits)
    curve_sizes = np.unique([max(2, int(round(q * m_train))) for q in CURVE_FRACTIONS])
    curve = [[_kernel.Fit(f.train_pos[:s], f.train_neg[:s], f.test_pos, f.test_neg, f.seed)
              for f in concept[:CURVE_RUNS]] for s in curve_sizes]
    return _Plan(m, concept, null, curve_sizes, curve, class_idx)


def _read(net, stacks, class_X, plan: _Plan, layers, targets, classes, progress, batch_size):
    """Activations of every stacked excerpt and the class-logit gradients of each target's scored excerpts."""
    acts = [_cached_activations(net, X, layers, batch_size=batch_size) for X in stacks]
    class_grads = {}
    for i, t in enumerate(targets):
        if progress is not None:
            progress(0.0, f"Reading the {t} excerpts through the model ({i + 1} of {len(targets)})")
        class_grads[t] = _class_gradients(net, np.asarray(class_X[t])[plan.class_idx[t]], layers, classes.index(t),
                                          batch_size=batch_size)
    return acts, class_grads


def _fit_layer(j: int, layer: str, A: np.ndarray, grads: list, plan: _Plan, options: TCAVOptions, out: dict,
               progress) -> np.ndarray:
    """Fit the concept's and every random set's CAVs at one layer into ``out``; return the concept's mean unit CAV."""
    A0 = A - A.mean(axis=0)  # a common shift: the fits centre on their own training rows anyway
    K = (A0 @ A0.T).astype(np.float64)
    GA = [(g @ A0.T).astype(np.float64) for g in grads]
    dim = A.shape[1]
    kw = {"dim": dim, "classifier": options.classifier, "alpha": options.alpha}
    L = out["scores"].shape[1]
    with _one_blas_thread():
        unit = np.zeros(dim)
        for r, f in enumerate(plan.concept):
            tr, a, out["accs"][j, r], derivs = _kernel.fit(K, GA, f, **kw)
            for t, d in enumerate(derivs):
                out["scores"][t, j, r], out["mags"][t, j, r] = _kernel.sign_and_magnitude(d)
            w = A0[tr].T @ a - A0[tr].mean(axis=0) * a.sum()
            unit += w / (np.linalg.norm(w) or 1.0)
        n_null = len(plan.null)
        for k, fits in enumerate(plan.null):
            res = [_kernel.fit(K, GA, f, **kw) for f in fits]
            out["raccs"][j, k] = _nanmean(np.array([x[2] for x in res]))
            for t in range(len(GA)):
                sm = np.array([_kernel.sign_and_magnitude(x[3][t]) for x in res])
                out["rscores"][t, j, k], out["rmags"][t, j, k] = sm.mean(axis=0)
            if progress is not None:
                progress((j * n_null + k + 1) / (L * n_null), f"{layer}: random set {k + 1} of {n_null}")
        for s, fits in enumerate(plan.curve):
            out["curve"][j, s] = _nanmean(np.array([_kernel.fit(K, GA, f, **kw)[2] for f in fits]))
    return (unit / (np.linalg.norm(unit) or 1.0)).astype(np.float32)


def _statistics(out: dict, options: TCAVOptions) -> dict:
    """p-values, effect sizes, intervals and the random-accuracy gate from the fitted scores (see TCAVResult)."""
    T, L, _ = out["scores"].shape
    mean = out["scores"].mean(axis=2)
    null_sd = out["rscores"].std(axis=2, ddof=1) if out["rscores"].shape[2] > 1 else np.zeros((T, L))
    stats_ = {
        "p_values": np.array([[null_p_value(mean[t, j], out["rscores"][t, j]) for j in range(L)] for t in range(T)]),
        "p_magnitude": np.array([[null_p_value(out["mags"][t, j].mean(), out["rmags"][t, j]) for j in range(L)]
                                 for t in range(T)]),
        "effect_size": np.divide(mean - out["rscores"].mean(axis=2), null_sd, out=np.zeros((T, L)),
                                 where=null_sd > 0),
        "ci": np.array([[bootstrap_interval(out["scores"][t, j]) for j in range(L)] for t in range(T)]),
        "cav_threshold": np.array([random_accuracy_bound(out["raccs"][j]) for j in range(L)]),
    }
    acc = _nanmean(out["accs"], axis=1)
    better = (acc > stats_["cav_threshold"]) & (acc > options.min_cav_accuracy)
    stats_["cav_better"] = np.asarray(better, dtype=bool)
    # Holm (or the chosen correction) over the tests that are made: layers whose CAVs beat random ones.
    tested = np.broadcast_to(stats_["cav_better"][None, :], (T, L))
    pcorr = np.ones((T, L))
    if tested.any():
        pcorr[tested] = corrections(stats_["p_values"][tested], options.correction)
    stats_["p_corrected"] = pcorr
    stats_["significant"] = tested & (pcorr < options.alpha_significance)
    return stats_


def _experiment(
    pos_X: np.ndarray,
    neg_X: np.ndarray | None,
    net,
    *,
    name: str,
    relative_to: str | None,
    groups: tuple,
    class_X,
    random_X,
    layers,
    targets,
    classes,
    options: TCAVOptions,
    random_state: int,
    progress: Progress | None,
    batch_size: int,
) -> TCAVResult:
    layers, targets, classes, pool = _prepare(class_X, random_X, layers, targets, classes, options)
    modules(net, layers)
    pos_X = _as_stack("concept examples", pos_X)
    neg_X = None if neg_X is None else _as_stack("examples of the second concept", neg_X)
    shapes = {pos_X.shape[1:], pool.shape[1:]} | ({neg_X.shape[1:]} if neg_X is not None else set())
    shapes |= {np.shape(class_X[t])[1:] for t in targets}
    if len(shapes) > 1:
        raise InputError("The concept, random and class excerpts do not all have the same shape.")
    for what, X in (("concept", pos_X), ("second concept", neg_X)):
        if X is not None and len(X) < MIN_SET_SIZE:
            raise InputError(f"The {what} has {len(X)} example excerpts; TCAV needs at least {MIN_SET_SIZE}.")
    pos_g, neg_g, pool_g = groups
    pos_codes = _kernel.group_codes(pos_g, len(pos_X))
    neg_codes = _kernel.group_codes(neg_g, len(neg_X)) if neg_X is not None else None
    # A random set never shares a piece with the concept(s): pool rows of their pieces are set aside.
    taken = {str(g) for gs in (pos_g, neg_g) if gs is not None for g in gs}
    keep = (np.array([str(g) not in taken for g in pool_g], dtype=bool) if pool_g is not None
            else np.ones(len(pool), dtype=bool))
    pool_codes = _kernel.group_codes(None if pool_g is None else np.asarray(pool_g, dtype=object)[keep],
                                     int(keep.sum()))
    n_neg = 0 if neg_X is None else len(neg_X)
    offsets = {"pos": 0, "neg": len(pos_X), "pool": len(pos_X) + n_neg}
    plan = _plan(np.random.default_rng(random_state), pos_codes=pos_codes, neg_codes=neg_codes,
                 pool_codes=pool_codes, offsets=offsets, class_sizes={t: len(class_X[t]) for t in targets},
                 options=options)
    stacks = [pos_X] + ([neg_X] if neg_X is not None else []) + [pool]
    acts, class_grads = _read(net, stacks, class_X, plan, layers, targets, classes, progress, batch_size)
    T, L, R, K = len(targets), len(layers), options.n_runs, options.n_random
    out = {k: np.zeros((T, L, R)) for k in ("scores", "mags")} | {k: np.zeros((T, L, K)) for k in ("rscores", "rmags")}
    out |= {"accs": np.zeros((L, R)), "raccs": np.zeros((L, K)), "curve": np.zeros((L, plan.curve_sizes.size))}
    cavs_ = {}
    for j, layer in enumerate(layers):
        A = np.concatenate([a[layer] for a in acts[:-1]] + [acts[-1][layer][keep]])
        cavs_[layer] = _fit_layer(j, layer, A, [class_grads[t][layer] for t in targets], plan, options, out,
                                  progress)
    st = _statistics(out, options)
    return TCAVResult(
        concept=name, layers=layers, targets=targets, scores=out["scores"], random_scores=out["rscores"],
        magnitudes=out["mags"], random_magnitudes=out["rmags"], p_values=st["p_values"],
        p_corrected=st["p_corrected"], significant=st["significant"], cav_accuracies=out["accs"],
        random_cav_accuracies=out["raccs"], options=options, random_state=int(random_state), n_concept=plan.m,
        n_class=tuple(int(plan.class_idx[t].size) for t in targets), relative_to=relative_to,
        p_magnitude=st["p_magnitude"], effect_size=st["effect_size"], ci=st["ci"],
        cav_threshold=st["cav_threshold"], cav_better=st["cav_better"], learning_sizes=plan.curve_sizes,
        learning_curve=out["curve"], n_pieces=int(np.unique(pos_codes).size), cavs_=cavs_,
        sets_={
            "positive": np.stack([f.train_pos for f in plan.concept]),
            "negative": np.stack([f.train_neg for f in plan.concept]) - (offsets["neg"] if neg_X is not None
                                                                        else offsets["pool"]),
        } | {f"class_{t}": plan.class_idx[t] for t in targets},
    )


def score(
    concept_X: np.ndarray,
    net: torch.nn.Module,
    *,
    class_X: Mapping[str, np.ndarray],
    random_X: np.ndarray,
    layers: Sequence[str] | str,
    targets: Sequence[str] | str,
    classes: Sequence[str],
    name: str = "concept",
    concept_groups: Sequence[str] | None = None,
    random_groups: Sequence[str] | None = None,
    options: TCAVOptions = TCAVOptions(),
    random_state: int = 0,
    progress: Progress | None = None,
    batch_size: int = 128,
) -> TCAVResult:
    """TCAV scores of a concept for some classes at some layers, tested against random concepts.

    The test follows Kim et al. (2018) with a null distribution built as the original TCAV builds it, and
    with resampling over pieces so that runs are exchangeable. In each of ``options.n_runs`` runs the concept's
    examples are resampled with replacement over the pieces they come from (m excerpts in all, m = the
    concept's size capped by ``max_examples`` and the pool), the pieces left out give held-out examples, and
    a fresh random set of counter-examples is drawn from ``random_X`` (other pieces for training and held-out).
    A linear classifier's unit normal towards the concept is the run's CAV; its sign-count TCAV score for a
    target is the share of that class's excerpts whose target-logit gradient at the layer has a positive dot
    product with the CAV (the magnitude score weighs them by size). ``options.n_random`` random sets of
    excerpts -- each made of whole pieces, like a concept -- go through exactly the same runs, against the
    same counter-examples; their mean scores are the null distribution, and the concept's mean score is
    tested against it (:func:`null_p_value`). The held-out accuracy of the concept's CAVs must beat the random
    sets' (:func:`random_accuracy_bound`), else the layer cannot tell the concept from random excerpts and its
    cells are not tested; the other p-values are corrected together with ``options.correction`` (Holm by
    default) and compared with ``options.alpha_significance``. The same draws are used at every layer.

    Parameters
    ----------
    concept_X : np.ndarray
        The concept's example excerpts (N, 2, 88, 64).
    net : torch.nn.Module
        The classifier: inputs -> (B, C) logits, C = ``len(classes)``.
    class_X : mapping of class name -> np.ndarray
        Excerpts of each target class, whose gradients are scored (at most ``max_examples`` each are used).
    random_X : np.ndarray
        The pool random sets are drawn from.
    layers, targets : str or sequence of str
        Module names of ``net`` and class names (from ``classes``).
    classes : sequence of str
        The names of the model's outputs, in logit order.
    name : str
        The concept's name, for the result and its sentences.
    concept_groups, random_groups : sequence of str, optional
        The piece each concept example / pool excerpt comes from (default: each excerpt its own piece). Runs
        resample and hold out whole pieces, and pool excerpts from the concept's pieces are never used.
    options : TCAVOptions
    random_state : int
        Seed of every random draw (random sets, resamples, held-out splits, SGD).
    progress : callable(fraction, message), optional
        Called after each random set at each layer.

    Returns
    -------
    TCAVResult
    """
    return _experiment(concept_X, None, net, name=name, relative_to=None,
                       groups=(concept_groups, None, random_groups), class_X=class_X, random_X=random_X,
                       layers=layers, targets=targets, classes=classes, options=options, random_state=random_state,
                       progress=progress, batch_size=batch_size)


def relative_score(
    concept_a_X: np.ndarray,
    concept_b_X: np.ndarray,
    net: torch.nn.Module,
    *,
    class_X: Mapping[str, np.ndarray],
    random_X: np.ndarray,
    layers: Sequence[str] | str,
    targets: Sequence[str] | str,
    classes: Sequence[str],
    names: tuple[str, str] = ("A", "B"),
    groups: tuple[Sequence[str] | None, Sequence[str] | None] = (None, None),
    random_groups: Sequence[str] | None = None,
    options: TCAVOptions = TCAVOptions(),
    random_state: int = 0,
    progress: Progress | None = None,
    batch_size: int = 128,
) -> TCAVResult:
    """Relative TCAV: does nudging towards concept A *rather than B* raise a class's score?

    The CAV of each run separates A's activations (positive) from B's instead of from random excerpts, so it
    asks about the contrast between two concepts a musician would oppose ("imitative vs homophonic"). In each
    run both concepts are resampled by piece (as the concept of :func:`score` is). Significance is
    judged against the same null as :func:`score`: random sets of excerpts tested against random
    counter-examples. A score well above the null's means the class gradient points towards A more than a
    random direction does; well below means towards B. The result's ``concept`` is A and ``relative_to`` is B.

    Parameters are those of :func:`score`, with two sets of concept examples, their ``names`` and the pieces
    their examples come from (``groups``).
    """
    return _experiment(concept_a_X, concept_b_X, net, name=names[0], relative_to=names[1],
                       groups=(groups[0], groups[1], random_groups), class_X=class_X,
                       random_X=random_X, layers=layers, targets=targets, classes=classes, options=options,
                       random_state=random_state, progress=progress, batch_size=batch_size)


def concept_strip(
    piece_X: np.ndarray, net: torch.nn.Module, *, cav: np.ndarray, layer: str, batch_size: int = 128
) -> np.ndarray:
    """Where in a piece does the model see the concept? Cosine similarity of each window's activation with a CAV.

    Parameters
    ----------
    piece_X : np.ndarray
        The piece's windows (N, 2, 88, 64), e.g. from :func:`xai.symbolic.music.encode`.
    net : torch.nn.Module
        The classifier the CAV was computed for.
    cav : np.ndarray
        A CAV of ``layer`` (e.g. ``result.cavs_[layer]``), D values.
    layer : str
        The layer the CAV was computed at.

    Returns
    -------
    np.ndarray
        (N,) values in [-1, 1]; 0 for a window whose activation is all zero.
    """
    acts, _ = layer_activations(net, _as_stack("piece windows", piece_X), layer, batch_size=batch_size)
    v = np.asarray(cav, dtype=np.float32).ravel()
    if acts.shape[1] != v.size:
        raise ParameterError(
            f"The CAV has {v.size} values but the layer '{layer}' has {acts.shape[1]}; use a CAV of the same layer."
        )
    norms = np.linalg.norm(acts, axis=1) * (np.linalg.norm(v) or 1.0)
    dots = acts @ v
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0).astype(np.float64)
