"""LIME's core, shared by every segmentation: coalitions, the weighted surrogate, the checks beside it, the result.

The core, :func:`fit`, only sees coalitions: boolean masks (n, S), True = segment kept. It follows
``lime.lime_base.LimeBase`` as ``lime_image`` calls it: uniform random coalitions with the first row all on,
distance = cosine distance to the all-on vector, kernel sqrt(exp(-d^2 / w^2)) (w = 0.25), weighted ridge
(alpha 1, unpenalised intercept), weighted R^2 as fidelity. With at most :data:`EXACT_MAX` segments it
enumerates every coalition instead of sampling.

Beside every explanation (:func:`finish`): a trivial baseline ranking and a random order, a deletion check
(:func:`deletion_curves`) and a stability score over seeds (:func:`stability`), after Praher et al. (ISMIR 2021),
who show that LIME's fidelity cannot tell a right explanation from a wrong one.

This module imports neither :mod:`xai.local.lime` nor :mod:`xai.local.segments`: both build on it.
"""

from __future__ import annotations

import os
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xai.contract import Options, Progress, Result, no_progress, option
from xai.errors import InputError, ParameterError, check_int

__all__ = [
    "EXACT_MAX", "MAX_SEGMENTS", "LimeOptions", "LimeFit", "fit", "fit_scores", "coalitions", "kernel_weights",
    "weighted_ridge", "fast", "random_ranking", "deletion_curves", "top_k_jaccard", "stability", "Explanation",
    "finish", "check_segments", "lime_options",
]

EXACT_MAX = 12  # up to 2**12 = 4096 coalitions: enumerate them all instead of sampling
MAX_SEGMENTS = 200


# Defaults from the stability measurement (``python bench/lime.py --stability-only``, saved with its rule in
# bench/results/lime_stability.json): mean top-3 Jaccard over 5 seeds on the shipped models was, for 250 / 500 /
# 1000 / 2000 samples, 0.53 / 0.63 / 0.73 / 0.70 (style_audio, 5 x 4 cells, 2 recordings) and 0.63 / 0.73 / 0.74 /
# 0.86 (composer, 8 bars x voices, 4 pieces). No size up to the cost budget of 1000 reaches 0.8, so 1000: LIME's
# top-3 is only moderately stable, which is why every explanation shows its own stability score.
# Kernel width 0.25 as in lime / audioLIME / veracity.
@dataclass(frozen=True)
class LimeOptions(Options):
    """LIME's own options, the same for every segmentation (scores, recordings, stems).

    The page's widgets, the CLI's flags and the explainers' validation are all built from this declaration.
    """

    samples: int = option(1000, low=10, high=100_000,
                          help="Random coalitions asked. Ignored with 12 segments or fewer: then every coalition is "
                               "asked (exact). Default chosen from a stability measurement (bench/lime.py).")
    kernel_width: float = option(0.25, low=0.01, high=10.0,
                                 help="LIME's locality on the cosine distance to the whole input (lime's and the "
                                      "veracity paper's 0.25).")
    random_state: int = option(0, low=0, high=2**31 - 1, help="Seed of the sampling.")
    top_k: int = option(3, low=1, high=50,
                        help="How many top segments are played, outlined and compared across seeds.")
    stability_seeds: int = option(5, low=1, high=20,
                                  help="LIME is run again with this many seeds; their top-k agreement is shown.")


def lime_options(**values) -> LimeOptions:
    """LIME's options from keywords, None meaning the declared default (validated)."""
    return LimeOptions.from_dict({k: v for k, v in values.items() if v is not None})


# --------------------------------------------------------------------------------------------------------------
# the generic core


@dataclass(frozen=True)
class LimeFit(Result):
    """A fitted local surrogate: one weight per segment, its intercept and its weighted R^2 (fidelity).

    ``ranking`` lists segment ids from the most positive weight down (ties broken by id). ``exact`` is True when
    every coalition was enumerated (then ``samples`` = 2**S).
    """

    weights: np.ndarray  # (S,)
    intercept: float
    r2: float
    ranking: np.ndarray  # (S,) segment ids
    samples: int
    exact: bool

    def top(self, k: int) -> list[int]:
        """The ids of the k segments with the largest weights."""
        return [int(i) for i in self.ranking[:k]]


def coalitions(n_segments: int, samples: int, random_state: int) -> tuple[np.ndarray, bool]:
    """The coalitions to ask the model about: (masks (n, S) bool, exact).

    S <= :data:`EXACT_MAX`: all 2**S coalitions, all-on first (then ``samples`` is ignored). Otherwise
    ``samples`` uniform random coalitions, the first one all on (as lime_image does).
    """
    S = n_segments
    if S <= EXACT_MAX:
        codes = np.arange(2**S - 1, -1, -1, dtype=np.int64)  # all-on first
        return ((codes[:, None] >> np.arange(S)[None, :]) & 1).astype(bool), True
    rng = np.random.default_rng(random_state)
    masks = rng.integers(0, 2, size=(samples, S)).astype(bool)
    masks[0] = True
    return masks, False


def kernel_weights(masks: np.ndarray, kernel_width: float) -> np.ndarray:
    """LIME's sample weights: sqrt(exp(-d^2 / w^2)) with d the cosine distance of each coalition to all-on.

    For a coalition keeping k of S segments, cos = k / sqrt(k S), so d = 1 - sqrt(k / S) (1 for the empty
    coalition, as sklearn's cosine distance gives for a zero vector).
    """
    k = masks.sum(axis=1).astype(np.float64)
    d = 1.0 - np.sqrt(k / masks.shape[1])
    return np.sqrt(np.exp(-(d**2) / kernel_width**2))


def weighted_ridge(X: np.ndarray, y: np.ndarray, w: np.ndarray, *, alpha: float = 1.0) -> tuple[np.ndarray, float, float]:
    """Weighted ridge regression with an unpenalised intercept, as sklearn's Ridge(alpha) with sample_weight.

    Returns (coefficients, intercept, weighted R^2).
    """
    X = X.astype(np.float64)
    y = y.astype(np.float64)
    sw = w / w.sum()
    xm = sw @ X
    ym = float(sw @ y)
    Xc, yc = X - xm, y - ym
    A = (Xc * w[:, None]).T @ Xc + alpha * np.eye(X.shape[1])
    b = (Xc * w[:, None]).T @ yc
    coef = np.linalg.solve(A, b)
    intercept = ym - float(xm @ coef)
    resid = y - (X @ coef + intercept)
    ss_res = float(w @ resid**2)
    ss_tot = float(w @ (y - ym) ** 2)
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res <= 1e-12 else 0.0)
    return coef, intercept, r2


def _ranking(weights: np.ndarray) -> np.ndarray:
    return np.argsort(-np.asarray(weights), kind="stable")


def check_segments(n_segments: int, options: LimeOptions) -> None:
    """Refuse a segmentation LIME cannot rank with these options, with a plain sentence."""
    if n_segments < 2:
        raise InputError("There are fewer than two segments to compare, so LIME has nothing to rank; "
                         "choose a longer span or finer segments.")
    if n_segments > MAX_SEGMENTS:
        raise ParameterError(f"There are {n_segments} segments; at most {MAX_SEGMENTS} can be explained at once. "
                             "Choose a shorter span or coarser segments.")
    if n_segments > EXACT_MAX and options.samples < n_segments + 1:
        raise ParameterError(f"With {n_segments} segments LIME needs more samples than segments "
                             f"(at least {n_segments + 1}), got {options.samples}.")


def _score_all(score_fn, masks: np.ndarray, batch_size: int, progress: Progress, what: str) -> np.ndarray:
    out = np.empty(len(masks), dtype=np.float64)
    for i in range(0, len(masks), batch_size):
        mb = masks[i : i + batch_size]
        y = np.asarray(score_fn(mb), dtype=np.float64).reshape(-1)
        if y.shape[0] != len(mb):
            raise ValueError(f"score_fn returned {y.shape[0]} values for {len(mb)} coalitions")
        out[i : i + len(mb)] = y
        done = i + len(mb)
        progress(done / len(masks), f"{what}: {done} of {len(masks)} coalitions")
    return out


def fit(score_fn: Callable[[np.ndarray], np.ndarray], n_segments: int, *, samples: int = 1000,
        kernel_width: float = 0.25, random_state: int = 0, batch_size: int = 32, progress: Progress | None = None,
        alpha: float = 1.0) -> LimeFit:
    """Fit LIME's local linear surrogate over ``n_segments`` segments.

    Parameters
    ----------
    score_fn : callable
        ``score_fn(masks)`` with masks a bool array (n, S), True = segment kept, returns the target-class
        probability of each coalition, shape (n,). It is called in batches of ``batch_size`` (32: on a CPU the
        small CNNs here run 2-3x faster per sample in batches of 16-32 than of 256, which spill the caches).
    n_segments : int
        S. With S <= 12 every one of the 2**S coalitions is enumerated (exact; ``samples`` is ignored).
    samples, kernel_width, random_state
        Number of random coalitions, LIME's kernel width on the cosine distance, and the seed of the sampling
        (bounds in :class:`LimeOptions`).
    batch_size : int
        Coalitions per call of ``score_fn``.
    progress : callable(fraction, message), optional
        :data:`xai.contract.Progress`.
    alpha : float
        The ridge penalty.

    Returns
    -------
    LimeFit
    """
    opts = LimeOptions(samples=samples, kernel_width=kernel_width, random_state=random_state)
    check_segments(n_segments, opts)
    check_int("batch_size", batch_size, 1, 1_000_000)
    progress = progress or no_progress
    masks, exact = coalitions(n_segments, samples, random_state)
    y = _score_all(score_fn, masks, batch_size, progress, "Asking the model")
    return fit_scores(masks, y, kernel_width=kernel_width, exact=exact, alpha=alpha)


def fit_scores(masks: np.ndarray, y: np.ndarray, *, kernel_width: float = 0.25, exact: bool = False,
               alpha: float = 1.0) -> LimeFit:
    """The surrogate for coalitions already scored (what :func:`fit` does after asking the model)."""
    w = kernel_weights(masks, kernel_width)
    coef, intercept, r2 = weighted_ridge(masks.astype(np.float64), y, w, alpha=alpha)
    return LimeFit(weights=coef, intercept=float(intercept), r2=float(r2), ranking=_ranking(coef),
                   samples=int(len(masks)), exact=bool(exact))


# --------------------------------------------------------------------------------------------------------------
# fast batched inference

_FAST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _bound_call(net, method: str):
    """``net.<method>`` as a module for tracing (``net.from_spectrogram`` is not ``forward``)."""
    import torch  # lazily: the LIME core (fit, checks, results) is usable without torch

    class Call(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return getattr(self.net, method)(x)

    return Call().eval()


def _trace(net, method: str, example):
    """The traced, frozen and optimised call, or None when it cannot be traced or differs from the plain one."""
    import torch  # lazily, as above

    plain = getattr(net, method)
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            was_training = net.training
            net.eval()
            traced = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(_bound_call(net, method),
                                                                                       example)))
            net.train(was_training)
            ref, got = plain(example), traced(example)
            return traced if ref.shape == got.shape and float((ref - got).abs().max()) < 1e-4 else None
    except Exception:  # noqa: BLE001 - any failure to trace a network (data-dependent control flow, unsupported
        return None  # ops, TorchScript's own errors of many types) falls back to the plain call


def fast(net, method: str, example):
    """``net.<method>`` for batched inference: a frozen TorchScript trace, BatchNorm folded into the
    convolutions and oneDNN kernels (``torch.jit.optimize_for_inference``), about 3x faster on a CPU.

    Checked once against the plain call on ``example`` (a small batch); any failure or a difference above
    1e-4 falls back to the plain method, so results never depend on the trace. Cached per network.
    """
    plain = getattr(net, method)
    if os.environ.get("MUSICXAI_NO_JIT"):
        return plain
    try:
        store = _FAST.setdefault(net, {})
    except TypeError:
        return plain
    if method not in store:
        traced = _trace(net, method, example)
        store[method] = plain if traced is None else traced
    return store[method]


# --------------------------------------------------------------------------------------------------------------
# checks beside every explanation: baselines, deletion, stability


def random_ranking(n_segments: int, random_state: int) -> np.ndarray:
    """A random order of the segments: the floor any explanation must beat."""
    return np.random.default_rng(random_state + 7919).permutation(n_segments)


def deletion_curves(score_fn, rankings: dict[str, np.ndarray], n_segments: int, *, max_k: int | None = None,
                    batch_size: int = 32) -> dict:
    """The target probability as the top-k segments of each ranking are removed, k = 0..max_k.

    One batch of coalitions for all rankings. A ranking that names the segments the model really relies on
    makes the probability fall fastest. Returns {"k": [...], name: [p(k) ...], ...}.
    """
    K = n_segments if max_k is None else min(max_k, n_segments)
    names = list(rankings)
    masks = np.ones((len(names) * (K + 1), n_segments), dtype=bool)
    for r, name in enumerate(names):
        order = np.asarray(rankings[name])
        for k in range(1, K + 1):
            masks[r * (K + 1) + k, order[:k]] = False
    y = _score_all(score_fn, masks, batch_size, no_progress, "Deletion check")
    out: dict = {"k": list(range(K + 1))}
    for r, name in enumerate(names):
        out[name] = [float(v) for v in y[r * (K + 1) : (r + 1) * (K + 1)]]
    return out


def top_k_jaccard(rankings: list[np.ndarray], k: int) -> float:
    """Mean pairwise Jaccard similarity of the top-k sets of several rankings (1 = always the same segments)."""
    sets = [set(int(i) for i in r[:k]) for r in rankings]
    vals = [len(a & b) / len(a | b) for i, a in enumerate(sets) for b in sets[i + 1 :] if a | b]
    return float(np.mean(vals)) if vals else 1.0


def stability(score_fn, n_segments: int, *, samples: int, kernel_width: float, seeds: list[int], top_k: int,
              batch_size: int = 32, progress: Progress | None = None, first: LimeFit | None = None) -> dict:
    """Agreement of LIME's top-k over several sampling seeds: mean pairwise Jaccard and each seed's top-k.

    With exact enumeration the answer does not depend on the seed, so it is 1 without asking again.
    ``first`` is the fit for ``seeds[0]`` when it is already known.
    """
    progress = progress or no_progress
    if n_segments <= EXACT_MAX:
        return {"seeds": list(seeds), "top_k": top_k, "mean_jaccard": 1.0, "exact": True,
                "top": [first.top(top_k)] if first is not None else []}
    fits = [first] if first is not None else []
    todo = seeds[len(fits):]
    for j, s in enumerate(todo):
        def step(f, m, j=j, s=s):
            progress((j + f) / len(todo), f"Stability: seed {s} ({j + 1} of {len(todo)})")
        fits.append(fit(score_fn, n_segments, samples=samples, kernel_width=kernel_width, random_state=s,
                        batch_size=batch_size, progress=step))
    return {"seeds": list(seeds), "top_k": top_k, "exact": False,
            "mean_jaccard": top_k_jaccard([f.ranking for f in fits], top_k), "top": [f.top(top_k) for f in fits]}


# --------------------------------------------------------------------------------------------------------------
# results

FIDELITY_WARNING = ("R^2 says how well a straight line fits the model near this input, not whether the ranking "
                    "names what the model relies on.")


@dataclass(frozen=True, eq=False)
class Explanation(Result):
    """One LIME explanation with its checks: what a page draws and the CLI prints.

    ``segments`` describe each segment for a musician (``label``, plus bars/part/register or seconds/Hz);
    ``amount`` is the trivial baseline's measure per segment (notes for scores, energy for audio);
    ``rankings`` holds 'lime', the baseline ('notes' or 'energy') and 'random'; ``deletion`` the probability
    after removing each ranking's top-k; ``stability`` the top-k agreement over seeds.
    """

    kind: str
    model: str
    classes: tuple[str, ...]
    target: int
    probability: float  # of the target class on the whole (unperturbed) input
    fit: LimeFit
    segments: tuple[dict, ...]
    amount: np.ndarray  # (S,)
    baseline_name: str
    rankings: dict
    deletion: dict
    stability: dict
    options: dict
    title: str = ""
    empty_probability: float = float("nan")  # with every segment removed

    @property
    def target_name(self) -> str:
        """The explained class's name."""
        return self.classes[self.target]

    @property
    def n_segments(self) -> int:
        """How many segments were switched on and off."""
        return len(self.segments)

    def ranked(self, k: int | None = None) -> list[dict]:
        """Segments from the most positive LIME weight down, each with its weight."""
        ids = self.fit.ranking if k is None else self.fit.ranking[:k]
        return [dict(self.segments[i], weight=float(self.fit.weights[i])) for i in ids]

    def deletion_area(self) -> dict:
        """Mean probability over the deletion curve per ranking (lower = the ranking finds what matters sooner)."""
        return {n: float(np.mean(v)) for n, v in self.deletion.items() if n != "k"}

    def link_options(self) -> dict:
        """The numeric options as a share link carries them (``xai.classroom.share``'s 'lime' view): the seed
        keeps the name links have always used, ``seed``."""
        return {("seed" if k == "random_state" else k): v for k, v in self.options.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}

    def summary(self) -> dict:
        """The CLI's and the exports' JSON: the ranked segments with the baseline's measure, the checks, options."""
        def seg(i):
            return dict(self.segments[i], weight=round(float(self.fit.weights[i]), 6),
                        **{self.baseline_name: round(float(self.amount[i]), 6)})

        return {
            "kind": self.kind, "model": self.model, "title": self.title, "target": self.target_name,
            "probability": round(self.probability, 6), "probability_all_removed": round(self.empty_probability, 6),
            "options": self.options,
            "fidelity_r2": round(self.fit.r2, 6),
            "fidelity_warning": FIDELITY_WARNING,
            "exact": self.fit.exact, "samples": self.fit.samples, "intercept": round(self.fit.intercept, 6),
            "segments": [seg(int(i)) for i in self.fit.ranking],
            "rankings": {n: [int(i) for i in r] for n, r in self.rankings.items()},
            "deletion": self.deletion,
            "deletion_mean": {n: round(v, 6) for n, v in self.deletion_area().items()},
            "stability": self.stability,
        }


def finish(kind, model, target, probability, lime_fit, segments, amount, baseline_name, score_fn, *,
           options: LimeOptions, batch_size: int, progress: Progress, record: dict, title="", cls=Explanation,
           **extra) -> Explanation:
    """Baselines, deletion check and stability around a fitted explanation (shared by every explainer).

    ``record`` is what the result's ``options`` shows beside LIME's own options (the segmentation's settings).
    """
    S = len(segments)
    seed = options.random_state
    rankings = {"lime": lime_fit.ranking, baseline_name: np.argsort(-np.asarray(amount), kind="stable"),
                "random": random_ranking(S, seed)}
    progress(0.0, "Stability over seeds…")
    stab = stability(score_fn, S, samples=options.samples, kernel_width=options.kernel_width,
                     seeds=[seed + i for i in range(options.stability_seeds)], top_k=min(options.top_k, S),
                     batch_size=batch_size, progress=progress, first=lime_fit)
    progress(1.0, "Deletion check…")
    dele = deletion_curves(score_fn, rankings, S, batch_size=batch_size)
    empty = float(score_fn(np.zeros((1, S), dtype=bool))[0])
    return cls(kind=kind, model=model.name, classes=tuple(model.classes), target=int(target),
               probability=float(probability), fit=lime_fit, segments=tuple(segments), amount=np.asarray(amount),
               baseline_name=baseline_name, rankings=rankings, deletion=dele, stability=stab,
               options=record | options.to_dict(), title=title, empty_probability=empty, **extra)
