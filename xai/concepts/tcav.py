"""Testing with Concept Activation Vectors (TCAV): is the model sensitive to a concept a musician names?

A musician defines a concept by example excerpts ("homophonic texture", "walking bass"). At a chosen layer, a
linear classifier separates the layer activations of those excerpts from the activations of random excerpts;
the unit normal of its decision boundary, pointing towards the concept, is the concept activation vector
(CAV). The TCAV score of a class is the fraction of that class's excerpts whose class logit increases when
the layer's activations are nudged along the CAV (a positive directional derivative). Because a direction
learnt from a handful of examples can score high by chance, the whole procedure is repeated against many
random sets, compared with the scores of random-vs-random CAVs by a two-sided Welch t-test, corrected for
the number of (class, layer) tests, and discarded when the CAVs cannot tell the concept from random excerpts.

This module is array-level: it takes piano-roll stacks (N, 2, 88, 64) and a torch network, and knows nothing
about the concept library (:mod:`xai.concepts.library`) or the app. Everything that depends on chance is drawn from
one seeded generator before any work starts, so the same ``random_state`` gives the same numbers.

Speed. The expensive parts are forward and backward passes, so each is done once: activations of the concept
examples and of the random excerpts that the runs draw, and activations plus class-logit gradients of the
class examples, for all requested layers in one pass per batch. Every run then only fits a small linear
model (n << D) and takes dot products with the stored gradients.

References
----------
Kim, B., Wattenberg, M., Gilmer, J., Cai, C., Wexler, J., Viegas, F., Sayres, R. (2018). Interpretability
Beyond Feature Attribution: Quantitative Testing with Concept Activation Vectors (TCAV). ICML.
Foscarin, F., Hoedt, K., Praher, V., Flexer, A., Widmer, G. (2022). Concept-Based Techniques for
"Musicologist-friendly" Explanations in a Deep Music Classifier. ISMIR.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

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
]

CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")
CLASSIFIERS = ("logistic", "sgd")
MIN_SET_SIZE = 4  # the smallest concept / random set that still leaves examples to train and to test on

Progress = Callable[[float, str], None]


# --------------------------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------------------------


def _opt(default, *, low=None, high=None, choices=None, help: str = ""):
    return field(default=default, metadata={"low": low, "high": high, "choices": choices, "help": help})


@dataclass(frozen=True)
class TCAVOptions:
    """Options of a TCAV experiment, each with the bounds or choices a page can build its widget from.

    Use :meth:`spec` to list them (name, type, default, bounds/choices, help); invalid values raise
    :class:`~xai.errors.ParameterError` when the options are created.
    """

    n_random: int = _opt(20, low=2, high=500, help="Random sets the concept is tested against (runs).")
    cav_test_fraction: float = _opt(
        0.33, low=0.1, high=0.5, help="Share of concept and random excerpts held out to measure CAV accuracy."
    )
    classifier: str = _opt(
        "logistic", choices=CLASSIFIERS, help="Linear model that finds the CAV: logistic regression or SGD (hinge)."
    )
    alpha: float = _opt(0.01, low=1e-6, high=100.0, help="L2 regularisation strength of the linear model.")
    alpha_significance: float = _opt(
        0.05, low=1e-4, high=0.5, help="Significance level for the corrected p-values."
    )
    correction: str = _opt(
        "holm", choices=CORRECTIONS, help="Multiple-comparison correction across the (class, layer) tests."
    )
    min_cav_accuracy: float = _opt(
        0.6, low=0.5, high=1.0, help="A layer whose CAVs are not more accurate than this cannot be significant."
    )
    max_examples: int = _opt(200, low=MIN_SET_SIZE, high=10_000, help="Most excerpts used per set.")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            _check(f.name, getattr(self, f.name), f.type, f.metadata)

    @classmethod
    def spec(cls) -> list[dict]:
        """The options as plain data: ``name``, ``type``, ``default``, ``low``, ``high``, ``choices``, ``help``."""
        return [
            {"name": f.name, "type": f.type, "default": f.default} | dict(f.metadata) for f in dataclasses.fields(cls)
        ]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _check(name: str, value, kind: str, meta: Mapping) -> None:
    if meta.get("choices"):
        if value not in meta["choices"]:
            allowed = ", ".join(repr(c) for c in meta["choices"])
            raise ParameterError(f"The '{name}' parameter must be one of {allowed}, got {value!r}.")
        return
    low, high = meta["low"], meta["high"]
    if kind == "int":
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and low <= value <= high
        word = "an int"
    else:
        ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
        ok = ok and np.isfinite(value) and low <= value <= high
        word = "a number"
    if not ok:
        raise ParameterError(f"The '{name}' parameter must be {word} in [{low:g}, {high:g}], got {value!r}.")


# --------------------------------------------------------------------------------------------------------------
# Activations and gradients
# --------------------------------------------------------------------------------------------------------------


class _Enough(Exception):
    """Raised from a hook to skip the rest of a forward pass once every requested layer has been seen."""


def _modules(net: torch.nn.Module, layers: Sequence[str]) -> dict[str, torch.nn.Module]:
    named = dict(net.named_modules())
    missing = [name for name in layers if name not in named or not name]
    if missing:
        raise ParameterError(f"This model has no layer called '{missing[0]}'.")
    return {name: named[name] for name in layers}


def _activations(
    net: torch.nn.Module,
    X: np.ndarray,
    layers: Sequence[str],
    *,
    with_grads: bool = False,
    outputs: Sequence[int] | None = None,
    batch_size: int = 128,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """Flattened outputs of several layers in one pass per batch, and optionally the logits' gradients there.

    Returns ``acts[layer]`` (N, D_layer) and, with ``with_grads``, ``grads[layer]`` (N, len(outputs), D_layer):
    the gradient of each requested logit with respect to the layer output, one backward pass per logit.
    """
    mods = _modules(net, layers)
    X = np.asarray(X, dtype=np.float32)
    captured: dict[str, torch.Tensor] = {}

    def hook_for(name):
        def hook(_module, _inputs, out):
            if not isinstance(out, torch.Tensor):
                raise ParameterError(f"The layer '{name}' does not output a single tensor, so it cannot be used.")
            if name in captured:
                raise ParameterError(
                    f"The layer '{name}' runs more than once per input, so its activation is ambiguous; pick another."
                )
            if with_grads and not out.requires_grad:  # frozen weights: make the output a leaf we can differentiate
                out = out.detach().requires_grad_(True)
            captured[name] = out
            if not with_grads and len(captured) == len(mods):
                raise _Enough
            return out

        return hook

    acts: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    grads: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    handles = [m.register_forward_hook(hook_for(name)) for name, m in mods.items()]
    was_training = net.training
    net.eval()  # dropout off, batch-norm statistics fixed: each example's gradient is its own
    try:
        for i in range(0, len(X), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(X[i : i + batch_size]))
            if xb.ndim == 4:  # oneDNN's convolutions run ~25% faster on channels-last input (measured, 2 cores)
                xb = xb.contiguous(memory_format=torch.channels_last)
            captured.clear()
            if not with_grads:
                with torch.inference_mode():
                    try:
                        net(xb)
                    except _Enough:
                        pass
                for name in layers:
                    acts[name].append(captured[name].reshape(len(xb), -1).numpy().astype(np.float32, copy=False))
                continue
            with torch.enable_grad():
                logits = net(xb)
                if logits.ndim != 2:
                    raise ParameterError("The model must return one row of class logits per input.")
                idx = range(logits.shape[1]) if outputs is None else outputs
                hs = [captured[name] for name in layers]
                per_out = []
                for k in idx:
                    g = torch.autograd.grad(logits[:, k].sum(), hs, retain_graph=True, allow_unused=True)
                    per_out.append([torch.zeros_like(h) if gi is None else gi for gi, h in zip(g, hs)])
            for j, name in enumerate(layers):
                acts[name].append(hs[j].detach().reshape(len(xb), -1).numpy().astype(np.float32, copy=False))
                grads[name].append(
                    torch.stack([p[j].reshape(len(xb), -1) for p in per_out], dim=1).numpy().astype(np.float32)
                )
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)

    def cat(chunks: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) if v else np.zeros((0, 0), np.float32) for k, v in chunks.items()}

    return cat(acts), (cat(grads) if with_grads else None)


def layer_activations(
    net: torch.nn.Module,
    X: np.ndarray,
    layer: str,
    *,
    with_grads: bool = False,
    outputs: Sequence[int] | None = None,
    batch_size: int = 128,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Activations of one layer for a stack of inputs, and optionally every class logit's gradient there.

    A forward hook on ``dict(net.named_modules())[layer]`` captures the layer's output, flattened
    (channels x pitch x time) to D values per input. Without gradients the forward pass stops at the layer.
    The network is run in eval mode (and put back in the mode it was in).

    Parameters
    ----------
    net : torch.nn.Module
        Maps (B, ...) inputs to (B, C) class logits.
    X : np.ndarray
        Inputs, e.g. piano rolls (N, 2, 88, 64).
    layer : str
        A module name, e.g. ``"block3"``.
    with_grads : bool
        Also return the gradients of the class logits with respect to the layer output.
    outputs : sequence of int, optional
        Which logits to differentiate (default: all C, in order).
    batch_size : int
        Inputs per forward pass.

    Returns
    -------
    acts : np.ndarray
        (N, D) float32.
    grads : np.ndarray or None
        (N, C, D) float32 with ``with_grads``, else None.
    """
    acts, grads = _activations(net, X, [layer], with_grads=with_grads, outputs=outputs, batch_size=batch_size)
    return acts[layer], (grads[layer] if grads is not None else None)


def _is_nonnegative(module: torch.nn.Module) -> bool:
    """Structural check: the module is, or ends in (last registered child), a ReLU-like activation."""
    if isinstance(module, (torch.nn.ReLU, torch.nn.ReLU6, torch.nn.Softplus, torch.nn.Sigmoid)):
        return True
    children = list(module.children())
    return bool(children) and _is_nonnegative(children[-1])


def layer_info(
    net: torch.nn.Module, layers: Sequence[str], *, input_shape: Sequence[int], default: str | None = None
) -> list[dict]:
    """What each addressable layer looks like: name, output shape, channels, non-negativity, default.

    ``nonnegative`` is decided from the structure (the layer is or ends in a ReLU-like module), which is what
    concept discovery (NMF) needs; the output shape comes from one forward pass on a silent input.
    """
    mods = _modules(net, layers)
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [
        m.register_forward_hook(lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:])))
        for name, m in mods.items()
    ]
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode():
            net(torch.zeros((1, *input_shape)))
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    return [
        {
            "name": name,
            "shape": list(shapes[name]),
            "channels": int(shapes[name][0]),
            "size": int(np.prod(shapes[name])),
            "nonnegative": _is_nonnegative(mods[name]),
            "default": name == default,
        }
        for name in layers
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
    from scipy import stats

    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 1.0 if a[0] == b[0] else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return 1.0 if np.isnan(p) else p


# --------------------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TCAVResult:
    """TCAV scores of one concept for several classes and layers, with their random-concept statistics.

    Arrays are indexed ``[target, layer, run]`` (``targets`` and ``layers`` give the order). ``scores`` are
    sign-count TCAV scores of the concept's CAVs (concept vs random set i, or concept vs ``relative_to``),
    ``random_scores`` those of random-vs-random CAVs (the null distribution); ``magnitudes`` are Kim et al.'s
    magnitude variant (the positive part of the directional derivatives over their absolute sum).
    ``cav_accuracies`` are held-out accuracies of the concept CAVs per ``[layer, run]``.

    ``cavs_`` maps each layer to one unit CAV (flattened channels x pitch x time): the mean of the runs' unit
    CAVs, renormalised, i.e. the concept's direction against the random pool as a whole rather than against
    one random set. :func:`concept_strip` takes it.

    ``sets_`` records which excerpts each run used, as (R, m) row indices: ``'positive'`` into the concept
    examples (concept A), ``'negative'`` into the random pool (or into concept B's examples for a relative
    result), ``'null_positive'`` and ``'null_negative'`` into the random pool; and ``'class_<target>'`` (N,)
    into each target's excerpts. A page can show the random excerpts a result is relative to.
    """

    concept: str
    layers: tuple[str, ...]
    targets: tuple[str, ...]
    scores: np.ndarray  # (T, L, R)
    random_scores: np.ndarray  # (T, L, R)
    magnitudes: np.ndarray  # (T, L, R)
    random_magnitudes: np.ndarray  # (T, L, R)
    p_values: np.ndarray  # (T, L)
    p_corrected: np.ndarray  # (T, L)
    significant: np.ndarray  # (T, L) bool
    cav_accuracies: np.ndarray  # (L, R)
    random_cav_accuracies: np.ndarray  # (L, R)
    options: TCAVOptions
    random_state: int
    n_concept: int  # excerpts per concept (and random) set in each run
    n_class: tuple[int, ...]  # class excerpts scored, per target
    relative_to: str | None = None
    cavs_: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    sets_: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_random(self) -> int:
        return int(self.scores.shape[2])

    @property
    def tcav_mean(self) -> np.ndarray:
        return self.scores.mean(axis=2)

    @property
    def tcav_std(self) -> np.ndarray:
        return self.scores.std(axis=2, ddof=1) if self.n_random > 1 else np.zeros(self.scores.shape[:2])

    @property
    def random_mean(self) -> np.ndarray:
        return self.random_scores.mean(axis=2)

    @property
    def random_std(self) -> np.ndarray:
        return self.random_scores.std(axis=2, ddof=1) if self.n_random > 1 else np.zeros(self.scores.shape[:2])

    @property
    def cav_accuracy(self) -> np.ndarray:
        """(L, 2): mean and standard deviation of the concept CAVs' held-out accuracy per layer."""
        return np.stack([self.cav_accuracies.mean(axis=1), self.cav_accuracies.std(axis=1)], axis=1)

    def _index(self, target: str, layer: str) -> tuple[int, int]:
        if target not in self.targets:
            raise ParameterError(f"The 'target' parameter must be one of {', '.join(self.targets)}, got {target!r}.")
        if layer not in self.layers:
            raise ParameterError(f"The 'layer' parameter must be one of {', '.join(self.layers)}, got {layer!r}.")
        return self.targets.index(target), self.layers.index(layer)

    def cell(self, target: str, layer: str) -> dict:
        """Everything about one (target, layer) test, arrays included."""
        t, j = self._index(target, layer)
        return {
            "scores": self.scores[t, j],
            "random_scores": self.random_scores[t, j],
            "magnitudes": self.magnitudes[t, j],
            "random_magnitudes": self.random_magnitudes[t, j],
            "tcav_mean": float(self.tcav_mean[t, j]),
            "tcav_std": float(self.tcav_std[t, j]),
            "random_mean": float(self.random_mean[t, j]),
            "random_std": float(self.random_std[t, j]),
            "p_value": float(self.p_values[t, j]),
            "p_corrected": float(self.p_corrected[t, j]),
            "significant": bool(self.significant[t, j]),
            "cav_accuracy": (float(self.cav_accuracy[j, 0]), float(self.cav_accuracy[j, 1])),
        }

    def to_records(self) -> list[dict]:
        """One JSON-ready dict per (target, layer), the shape of ``python -m xai tcav --json``."""
        out = []
        for t, target in enumerate(self.targets):
            for j, layer in enumerate(self.layers):
                out.append(
                    {
                        "concept": self.concept,
                        "relative_to": self.relative_to,
                        "target": target,
                        "layer": layer,
                        "tcav_mean": round(float(self.tcav_mean[t, j]), 6),
                        "tcav_std": round(float(self.tcav_std[t, j]), 6),
                        "random_mean": round(float(self.random_mean[t, j]), 6),
                        "p_value": float(self.p_values[t, j]),
                        "p_corrected": float(self.p_corrected[t, j]),
                        "significant": bool(self.significant[t, j]),
                        "cav_accuracy": round(float(self.cav_accuracy[j, 0]), 6),
                        "n_random": self.n_random,
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
        if acc <= self.options.min_cav_accuracy:
            return (
                f"At {layer}, the model's activations hardly tell '{self.concept}' excerpts from {baseline} ones "
                f"(the concept direction is right for only {round(100 * acc)}% of held-out excerpts), so the score "
                f"for {target} ({pct}%) says nothing either way: the concept may not be represented at this layer, "
                f"or its examples may not differ clearly enough from the {baseline} excerpts."
            )
        head = f"In {pct}% of the {target} excerpts, nudging {layer}'s activations {towards} raises the {target} score"
        chosen = (f"the examples chosen for '{self.concept}' and '{self.relative_to}'" if self.relative_to
                  else "the concept examples and the random excerpts chosen")
        caveat = (
            "This says the model is sensitive to this direction, not that the concept causes the prediction; "
            f"it is relative to {chosen}."
        )
        if c["significant"]:
            more = "more" if c["tcav_mean"] > c["random_mean"] else "less"
            return (
                f"{head} — {more} often than for random directions ({rnd}%; {p_txt}{corr}). {caveat}"
            )
        return (
            f"{head}, but random directions do so about as often ({rnd}%; {p_txt}{corr}), so this is no evidence "
            f"that the model relies on '{self.concept}' for {target} at this layer. It does not show that the model "
            f"ignores it either: other examples, more runs or another layer may tell."
        )


# --------------------------------------------------------------------------------------------------------------
# The experiment
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """One run's draws: which excerpts form the two sets of each fit, and which of them are held out."""

    pos: np.ndarray  # indices into the positive set (concept, or concept A)
    neg: np.ndarray  # indices into the negative set (random pool, or concept B)
    null_pos: np.ndarray  # indices into the random pool
    null_neg: np.ndarray  # indices into the random pool, disjoint from null_pos
    test: np.ndarray  # bool (m,), held-out positions of each set (same mask for both sides of a fit)
    null_test: np.ndarray
    seed: int  # for the SGD classifier


def _as_stack(name: str, X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim < 2:
        raise InputError(f"The {name} must be a stack of excerpts (N, ...), got an array of shape {X.shape}.")
    return X


def _test_mask(rng: np.random.Generator, m: int, fraction: float) -> np.ndarray:
    n_test = min(max(1, int(round(fraction * m))), m - 1)
    mask = np.zeros(m, dtype=bool)
    mask[rng.choice(m, n_test, replace=False)] = True
    return mask


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


def _logistic_newton(F: np.ndarray, y: np.ndarray, alpha: float, *, max_iter: int = 100) -> tuple[np.ndarray, float]:
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


def _fit_cav(pos: np.ndarray, neg: np.ndarray, test: np.ndarray, options: TCAVOptions, seed: int):
    """Fit one linear concept classifier; return its unit normal (towards ``pos``) and held-out accuracy.

    Features are centred and divided by one global scale (their root mean square), not standardised per
    unit: a per-unit scaling would change the direction of the normal in activation space, and nearly silent
    ReLU units would dominate it; a single scale only makes ``alpha`` mean the same at every layer.

    There are far fewer excerpts (n) than activation values (D), and both solvers keep their weights in the
    span of the training excerpts (the representer theorem for the penalised logistic loss; SGD from zero for
    the hinge loss). So the fit runs on the n x r coordinates ``F`` of the excerpts in an orthonormal basis of
    that span (from the eigendecomposition of their Gram matrix) and the weights are mapped back to D values:
    the same classifier as a fit on all D features, without iterating over them.
    """
    tr = ~test
    Xtr = np.concatenate([pos[tr], neg[tr]]).astype(np.float64)
    ytr = np.r_[np.ones(tr.sum()), np.zeros(tr.sum())]
    Xte = np.concatenate([pos[test], neg[test]]).astype(np.float64)
    yte = np.r_[np.ones(test.sum()), np.zeros(test.sum())]
    mu = Xtr.mean(axis=0)
    Xtr -= mu
    scale = float(np.sqrt(np.mean(Xtr**2))) or 1.0
    Xtr /= scale
    s, U = np.linalg.eigh(Xtr @ Xtr.T)
    keep = s > 1e-10 * max(float(s[-1]), 1e-300)
    U, s = U[:, keep], s[keep]
    F = U * np.sqrt(s)  # coordinates of the training excerpts in the basis V = Xtr^T U / sqrt(s)
    if options.classifier == "logistic":
        beta, b = _logistic_newton(F, ytr, options.alpha)
    else:
        from sklearn.linear_model import SGDClassifier

        clf = SGDClassifier(alpha=options.alpha, max_iter=1000, tol=1e-3, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on tiny, separable sets
            clf.fit(F, ytr)
        beta, b = clf.coef_[0], float(clf.intercept_[0])
    w = Xtr.T @ (U @ (beta / np.sqrt(s)))  # weights on the scaled features, D values
    acc = float(np.mean((((Xte - mu) / scale) @ w + b > 0) == (yte == 1)))
    norm = float(np.linalg.norm(w))
    return (w / norm if norm > 0 else w).astype(np.float32), acc


def _sign_and_magnitude(grads: np.ndarray, cavs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Directional derivatives of every class example along every CAV -> per-CAV sign-count and magnitude."""
    d = grads @ cavs.T  # (N, R)
    sign = (d > 0).mean(axis=0)
    total = np.abs(d).sum(axis=0)
    pos = np.clip(d, 0, None).sum(axis=0)
    mag = np.divide(pos, total, out=np.zeros_like(pos), where=total > 0)
    return sign, mag


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
    """Class-logit gradients of class excerpts, kept between TCAV runs (LRU, bounded in bytes).

    They depend on the model, the excerpts, the layer and the class only, not on the concept, and are the
    slow part of a run (one forward and backward pass over every class excerpt), so testing a second concept
    reuses them. Keys hold a fingerprint of the weights, so a changed model never gets stale gradients.
    """

    def __init__(self, max_bytes: int = 256 * 2**20):
        self.max_bytes = max_bytes
        self._store: OrderedDict[tuple, dict[str, np.ndarray]] = OrderedDict()

    @staticmethod
    def fingerprint(net: torch.nn.Module, X: np.ndarray) -> tuple[str, str]:
        h = hashlib.blake2b(digest_size=16)
        for p in net.state_dict().values():
            h.update(p.detach().cpu().numpy().tobytes())
        return h.hexdigest(), hashlib.blake2b(np.ascontiguousarray(X).tobytes(), digest_size=16).hexdigest()

    def get(self, key):
        if key in self._store:
            self._store.move_to_end(key)
            return self._store[key]
        return None

    def put(self, key, value: dict[str, np.ndarray]) -> None:
        self._store[key] = value
        while len(self._store) > 1 and sum(a.nbytes for v in self._store.values() for a in v.values()) > self.max_bytes:
            self._store.popitem(last=False)

    def clear(self) -> None:
        self._store.clear()


_GRADIENTS = _GradientCache()


def _class_gradients(net, X: np.ndarray, layers, output: int, *, batch_size: int) -> dict[str, np.ndarray]:
    """Gradient of one class logit at each layer for each excerpt, (N, D) per layer, memoised."""
    key = (*_GradientCache.fingerprint(net, X), tuple(layers), output)
    hit = _GRADIENTS.get(key)
    if hit is not None:
        return hit
    _, g = _activations(net, X, layers, with_grads=True, outputs=[output], batch_size=batch_size)
    value = {layer: g[layer][:, 0] for layer in layers}
    _GRADIENTS.put(key, value)
    return value


def _experiment(
    net,
    pos_X: np.ndarray,
    neg_X: np.ndarray | None,
    *,
    name: str,
    relative_to: str | None,
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
    _modules(net, layers)
    pos_X = _as_stack("concept examples", pos_X)
    neg_X = None if neg_X is None else _as_stack("examples of the second concept", neg_X)
    shapes = {pos_X.shape[1:], pool.shape[1:]} | ({neg_X.shape[1:]} if neg_X is not None else set())
    shapes |= {np.shape(class_X[t])[1:] for t in targets}
    if len(shapes) > 1:
        raise InputError("The concept, random and class excerpts do not all have the same shape.")
    n_pos = len(pos_X)
    n_neg = len(neg_X) if neg_X is not None else n_pos
    m = min(n_pos, n_neg, len(pool) // 2, options.max_examples)
    for what, n in (("concept", n_pos), ("second concept", n_neg)):
        if n < MIN_SET_SIZE:
            raise InputError(f"The {what} has {n} example excerpts; TCAV needs at least {MIN_SET_SIZE}.")
    if m < MIN_SET_SIZE:
        raise InputError(f"The random pool has {len(pool)} excerpts; TCAV needs at least {2 * MIN_SET_SIZE}.")

    rng = np.random.default_rng(random_state)
    # Every draw happens here, before any work, so results depend on random_state only.
    class_idx = {}
    for t in targets:
        n = len(class_X[t])
        cap = options.max_examples
        class_idx[t] = np.sort(rng.choice(n, cap, replace=False)) if n > cap else np.arange(n)
    runs = []
    for _ in range(options.n_random):
        pos = rng.choice(n_pos, m, replace=False) if n_pos > m else np.arange(n_pos)
        two = rng.choice(len(pool), 2 * m, replace=False)
        if neg_X is None:
            neg, null_pos, null_neg = two[:m], two[m:], two[:m]  # concept and null CAVs share random set i
        else:
            neg = rng.choice(n_neg, m, replace=False) if n_neg > m else np.arange(n_neg)
            null_pos, null_neg = two[m:], two[:m]
        runs.append(
            _Run(pos, neg, null_pos, null_neg, _test_mask(rng, m, options.cav_test_fraction),
                 _test_mask(rng, m, options.cav_test_fraction), int(rng.integers(2**31 - 1)))
        )

    # One pass over each set of excerpts, all layers at once; only the pool excerpts some run uses.
    used = np.unique(np.concatenate([np.r_[r.null_pos, r.null_neg] for r in runs]))  # null_neg is neg without B
    where = np.full(len(pool), -1)
    where[used] = np.arange(used.size)
    pos_acts, _ = _activations(net, pos_X, layers, batch_size=batch_size)
    pool_acts, _ = _activations(net, pool[used], layers, batch_size=batch_size)
    neg_acts = _activations(net, neg_X, layers, batch_size=batch_size)[0] if neg_X is not None else pool_acts
    class_grads = {}
    for i, t in enumerate(targets):
        if progress is not None:
            progress(0.0, f"Reading the {t} excerpts through the model ({i + 1} of {len(targets)})")
        class_grads[t] = _class_gradients(net, np.asarray(class_X[t])[class_idx[t]], layers, classes.index(t),
                                          batch_size=batch_size)

    T, L, R = len(targets), len(layers), options.n_random
    scores, rscores = np.zeros((T, L, R)), np.zeros((T, L, R))
    mags, rmags = np.zeros((T, L, R)), np.zeros((T, L, R))
    accs, raccs = np.zeros((L, R)), np.zeros((L, R))
    cavs_ = {}
    for j, layer in enumerate(layers):
        P, N, Q = pos_acts[layer], neg_acts[layer], pool_acts[layer]
        cav, rcav = [], []
        for r, run in enumerate(runs):
            neg_rows = N[where[run.neg]] if neg_X is None else N[run.neg]
            with _one_blas_thread():
                c, accs[j, r] = _fit_cav(P[run.pos], neg_rows, run.test, options, run.seed)
                rc, raccs[j, r] = _fit_cav(Q[where[run.null_pos]], Q[where[run.null_neg]], run.null_test, options,
                                           run.seed)
            cav.append(c)
            rcav.append(rc)
            if progress is not None:
                progress((j * R + r + 1) / (L * R), f"{layer}: run {r + 1} of {R}")
        cav, rcav = np.stack(cav), np.stack(rcav)
        mean = cav.mean(axis=0)
        cavs_[layer] = (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)
        for t, target in enumerate(targets):
            G = class_grads[target][layer]
            scores[t, j], mags[t, j] = _sign_and_magnitude(G, cav)
            rscores[t, j], rmags[t, j] = _sign_and_magnitude(G, rcav)
        del pos_acts[layer]

    pvals = np.array([[_welch_p(scores[t, j], rscores[t, j]) for j in range(L)] for t in range(T)])
    pcorr = corrections(pvals, options.correction)
    accurate = accs.mean(axis=1) > options.min_cav_accuracy
    significant = (pcorr < options.alpha_significance) & accurate[None, :]
    return TCAVResult(
        concept=name,
        layers=layers,
        targets=targets,
        scores=scores,
        random_scores=rscores,
        magnitudes=mags,
        random_magnitudes=rmags,
        p_values=pvals,
        p_corrected=pcorr,
        significant=significant,
        cav_accuracies=accs,
        random_cav_accuracies=raccs,
        options=options,
        random_state=int(random_state),
        n_concept=int(m),
        n_class=tuple(int(class_idx[t].size) for t in targets),
        relative_to=relative_to,
        cavs_=cavs_,
        sets_={
            "positive": np.stack([r.pos for r in runs]),
            "negative": np.stack([r.neg for r in runs]),
            "null_positive": np.stack([r.null_pos for r in runs]),
            "null_negative": np.stack([r.null_neg for r in runs]),
        } | {f"class_{t}": class_idx[t] for t in targets},
    )


def score(
    net: torch.nn.Module,
    concept_X: np.ndarray,
    *,
    class_X: Mapping[str, np.ndarray],
    random_X: np.ndarray,
    layers: Sequence[str] | str,
    targets: Sequence[str] | str,
    classes: Sequence[str],
    name: str = "concept",
    options: TCAVOptions = TCAVOptions(),
    random_state: int = 0,
    progress: Progress | None = None,
    batch_size: int = 128,
) -> TCAVResult:
    """TCAV scores of a concept for some classes at some layers, tested against random concepts.

    In each of ``options.n_random`` runs, a random set of m excerpts (m = the concept's size, capped by
    ``max_examples`` and half the pool) is drawn from ``random_X``, concept and random activations are split
    into train and held-out parts, and a linear classifier's unit normal towards the concept is the run's CAV.
    Its TCAV score for a target is the fraction of that class's excerpts whose target-logit gradient at the
    layer has a positive dot product with the CAV. The null distribution comes from as many random-vs-random
    CAVs (set i against a second, disjoint random set). The concept and null scores are compared by a
    two-sided Welch t-test per (target, layer); the p-values are corrected across all (target, layer) tests
    with ``options.correction``; a result is significant when the corrected p-value is below
    ``options.alpha_significance`` and the concept CAVs' mean held-out accuracy at that layer is above
    ``options.min_cav_accuracy``. The same random sets are used at every layer.

    Parameters
    ----------
    net : torch.nn.Module
        The classifier: inputs -> (B, C) logits, C = ``len(classes)``.
    concept_X : np.ndarray
        The concept's example excerpts (N, 2, 88, 64).
    class_X : mapping of class name -> np.ndarray
        Excerpts of each target class, whose gradients are scored (at most ``max_examples`` each are used).
    random_X : np.ndarray
        The pool random sets are drawn from; it should not contain the concept's examples.
    layers, targets : str or sequence of str
        Module names of ``net`` and class names (from ``classes``).
    classes : sequence of str
        The names of the model's outputs, in logit order.
    name : str
        The concept's name, for the result and its sentences.
    options : TCAVOptions
    random_state : int
        Seed of every random draw (random sets, train/test splits, SGD).
    progress : callable(fraction, message), optional
        Called after each run.

    Returns
    -------
    TCAVResult
    """
    return _experiment(net, concept_X, None, name=name, relative_to=None, class_X=class_X, random_X=random_X,
                       layers=layers, targets=targets, classes=classes, options=options, random_state=random_state,
                       progress=progress, batch_size=batch_size)


def relative_score(
    net: torch.nn.Module,
    concept_a_X: np.ndarray,
    concept_b_X: np.ndarray,
    *,
    class_X: Mapping[str, np.ndarray],
    random_X: np.ndarray,
    layers: Sequence[str] | str,
    targets: Sequence[str] | str,
    classes: Sequence[str],
    names: tuple[str, str] = ("A", "B"),
    options: TCAVOptions = TCAVOptions(),
    random_state: int = 0,
    progress: Progress | None = None,
    batch_size: int = 128,
) -> TCAVResult:
    """Relative TCAV: does nudging towards concept A *rather than B* raise a class's score?

    The CAV of each run separates A's activations (positive) from B's instead of from random excerpts, so it
    asks about the contrast between two concepts a musician would oppose ("imitative vs homophonic"). In each
    run both concepts are subsampled to m excerpts (m = the smaller concept, capped by ``max_examples`` and
    half the random pool) without replacement and split into train and held-out parts; when both have m or
    fewer examples, only the split varies between runs. Significance is judged against the same null as
    :func:`score`: random-vs-random CAVs from disjoint random sets of m excerpts, compared by a two-sided Welch
    t-test (which allows the two distributions different spreads) and corrected across (target, layer) tests.
    A score well above the null's means the class gradient points towards A more than a random direction
    does; well below means towards B. The result's ``concept`` is A and ``relative_to`` is B.

    Parameters are those of :func:`score`, with two sets of concept examples and their ``names``.
    """
    return _experiment(net, concept_a_X, concept_b_X, name=names[0], relative_to=names[1], class_X=class_X,
                       random_X=random_X, layers=layers, targets=targets, classes=classes, options=options,
                       random_state=random_state, progress=progress, batch_size=batch_size)


def concept_strip(
    net: torch.nn.Module, piece_X: np.ndarray, cav: np.ndarray, layer: str, *, batch_size: int = 128
) -> np.ndarray:
    """Where in a piece does the model see the concept? Cosine similarity of each window's activation with a CAV.

    Parameters
    ----------
    piece_X : np.ndarray
        The piece's windows (N, 2, 88, 64), e.g. from :func:`xai.symbolic.music.encode`.
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
