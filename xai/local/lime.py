"""LIME over musical segments: which bars, voices, registers, time-frequency cells or stems a prediction rests on.

LIME (Ribeiro et al. 2016) explains one prediction by switching segments of the input off at random,
asking the model again, and fitting a weighted linear surrogate: a segment's weight is how much the class
probability moves, locally, when it is there. Praher et al. (ISMIR 2021, "On the veracity of local,
model-agnostic explanations in audio classification") show that LIME often misses what really drove a
prediction and that its fidelity (R^2) cannot tell a right explanation from a wrong one. So every explanation
here comes with a trivial baseline on the same segments (the loudest / busiest segments, and a random order),
a deletion check (how the probability falls as the top-k segments are removed), and a stability score
(agreement of the top-k over several seeds).

The core, :func:`fit`, only sees coalitions: boolean masks (n, S), True = segment kept. It follows
``lime.lime_base.LimeBase`` as ``lime_image`` calls it: uniform random coalitions with the first row all on,
distance = cosine distance to the all-on vector, kernel sqrt(exp(-d^2 / w^2)) (w = 0.25), weighted ridge
(alpha 1, unpenalised intercept), weighted R^2 as fidelity. With at most :data:`EXACT_MAX` segments it
enumerates every coalition instead of sampling. Segmentations (:mod:`xai.local.segments`) turn a coalition into model
input as one tensor operation per batch (a matrix product of the masks with the segments' piano rolls,
stems or spectrogram cells), never one Python composition per sample.

Explainers: :func:`explain_piece` (symbolic model; bars x voices or bars x registers),
:func:`explain_audio` (audio model; time x frequency bands of its log filter-bank), :func:`explain_stems`
(audio model on a rendered score; one exact, listenable stem per part).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from xai.errors import InputError, ParameterError, check_int

__all__ = [
    "EXACT_MAX", "LimeFit", "fit", "coalitions", "kernel_weights", "weighted_ridge",
    "TimeBandGrid", "Explanation", "AudioLime", "explain_audio", "explain_piece", "explain_stems",
    "deletion_curves", "stability", "random_ranking", "top_k_jaccard", "DEFAULTS", "OFF_MODES", "SEGMENT_KINDS",
]

EXACT_MAX = 12  # up to 2**12 = 4096 coalitions: enumerate them all instead of sampling
MAX_SEGMENTS = 200
OFF_MODES = ("mean", "zero", "noise")
SEGMENT_KINDS = ("bars-voices", "bars-registers", "time-bands", "stems")
Progress = Callable[[float, str], None]


def _noop(fraction: float, message: str) -> None:  # the default progress callback
    pass


# Defaults from the stability measurement (``python bench/lime.py --stability-only``, saved with its rule in
# bench/results/lime_stability.json): mean top-3 Jaccard over 5 seeds on the shipped models was, for 250 / 500 /
# 1000 / 2000 samples, 0.53 / 0.63 / 0.73 / 0.70 (style_audio, 5 x 4 cells, 2 recordings) and 0.63 / 0.73 / 0.74 /
# 0.86 (composer, 8 bars x voices, 4 pieces). No size up to the cost budget of 1000 reaches 0.8, so 1000: LIME's
# top-3 is only moderately stable, which is why every explanation shows its own stability score.
# Kernel width 0.25 as in lime / audioLIME / veracity.
DEFAULTS = {
    "symbolic": {"samples": 1000, "kernel_width": 0.25, "top_k": 3, "stability_seeds": 5},
    "audio": {"samples": 1000, "kernel_width": 0.25, "top_k": 3, "stability_seeds": 5},
}


# --------------------------------------------------------------------------------------------------------------
# the generic core


@dataclass(frozen=True)
class LimeFit:
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
        return [int(i) for i in self.ranking[:k]]

    def to_dict(self) -> dict:
        return {"weights": [float(w) for w in self.weights], "intercept": float(self.intercept),
                "r2": float(self.r2), "ranking": [int(i) for i in self.ranking], "samples": int(self.samples),
                "exact": bool(self.exact)}


def coalitions(n_segments: int, samples: int, seed: int) -> tuple[np.ndarray, bool]:
    """The coalitions to ask the model about: (masks (n, S) bool, exact).

    S <= :data:`EXACT_MAX`: all 2**S coalitions, all-on first (then ``samples`` is ignored). Otherwise
    ``samples`` uniform random coalitions, the first one all on (as lime_image does).
    """
    S = n_segments
    if S <= EXACT_MAX:
        codes = np.arange(2**S - 1, -1, -1, dtype=np.int64)  # all-on first
        return ((codes[:, None] >> np.arange(S)[None, :]) & 1).astype(bool), True
    rng = np.random.default_rng(seed)
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


def _check_options(n_segments: int, samples: int, kernel_width: float, seed: int) -> None:
    check_int("samples", samples, 10, 100_000)
    check_int("seed", seed, 0, 2**31 - 1)
    if not isinstance(kernel_width, (int, float)) or not 0.01 <= float(kernel_width) <= 10.0:
        raise ParameterError(f"The 'kernel_width' parameter must be a number in [0.01, 10], got {kernel_width!r}.")
    if n_segments < 2:
        raise InputError("There are fewer than two segments to compare, so LIME has nothing to rank; "
                         "choose a longer span or finer segments.")
    if n_segments > MAX_SEGMENTS:
        raise ParameterError(f"There are {n_segments} segments; at most {MAX_SEGMENTS} can be explained at once. "
                             "Choose a shorter span or coarser segments.")
    if n_segments > EXACT_MAX and samples < n_segments + 1:
        raise ParameterError(f"With {n_segments} segments LIME needs more samples than segments "
                             f"(at least {n_segments + 1}), got {samples}.")


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
        kernel_width: float = 0.25, seed: int = 0, batch_size: int = 32, progress: Progress | None = None,
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
    samples, kernel_width, seed
        Number of random coalitions, LIME's kernel width on the cosine distance, and the seed of the sampling.
    progress : callable(fraction, message), optional

    Returns
    -------
    LimeFit
    """
    _check_options(n_segments, samples, kernel_width, seed)
    check_int("batch_size", batch_size, 1, 1_000_000)
    progress = progress or _noop
    masks, exact = coalitions(n_segments, samples, seed)
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


class _Call:
    """Bind a network's method as a module for tracing (``net.from_spectrogram`` is not ``forward``)."""

    def __new__(cls, net, method: str):
        import torch

        class Call(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x):
                return getattr(self.net, method)(x)

        return Call().eval()


def fast(net, method: str, example):
    """``net.<method>`` for batched inference: a frozen TorchScript trace, BatchNorm folded into the
    convolutions and oneDNN kernels (``torch.jit.optimize_for_inference``), about 3x faster on a CPU.

    Checked once against the plain call on ``example`` (a small batch); any failure or a difference above
    1e-4 falls back to the plain method, so results never depend on the trace. Cached per network.
    """
    import warnings

    import torch

    plain = getattr(net, method)
    if os.environ.get("MUSICXAI_NO_JIT"):
        return plain
    try:
        store = _FAST.setdefault(net, {})
    except TypeError:
        return plain
    if method in store:
        return store[method]
    fn = plain
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            was_training = net.training
            net.eval()
            traced = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(_Call(net, method), example)))
            net.train(was_training)
            ref, got = plain(example), traced(example)
            if ref.shape == got.shape and float((ref - got).abs().max()) < 1e-4:
                fn = traced
    except Exception:  # a network that cannot be traced (data-dependent control flow): the plain call
        fn = plain
    store[method] = fn
    return fn


# --------------------------------------------------------------------------------------------------------------
# checks beside every explanation: baselines, deletion, stability


def random_ranking(n_segments: int, seed: int) -> np.ndarray:
    """A random order of the segments: the floor any explanation must beat."""
    return np.random.default_rng(seed + 7919).permutation(n_segments)


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
    y = _score_all(score_fn, masks, batch_size, _noop, "Deletion check")
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
    progress = progress or _noop
    if n_segments <= EXACT_MAX:
        return {"seeds": list(seeds), "top_k": top_k, "mean_jaccard": 1.0, "exact": True,
                "top": [first.top(top_k)] if first is not None else []}
    fits = [first] if first is not None else []
    todo = seeds[len(fits):]
    for j, s in enumerate(todo):
        def step(f, m, j=j, s=s):
            progress((j + f) / len(todo), f"Stability: seed {s} ({j + 1} of {len(todo)})")
        fits.append(fit(score_fn, n_segments, samples=samples, kernel_width=kernel_width, seed=s,
                        batch_size=batch_size, progress=step))
    return {"seeds": list(seeds), "top_k": top_k, "exact": False,
            "mean_jaccard": top_k_jaccard([f.ranking for f in fits], top_k), "top": [f.top(top_k) for f in fits]}


# --------------------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, eq=False)
class Explanation:
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
        return self.classes[self.target]

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    def ranked(self, k: int | None = None) -> list[dict]:
        """Segments from the most positive LIME weight down, each with its weight."""
        ids = self.fit.ranking if k is None else self.fit.ranking[:k]
        return [dict(self.segments[i], weight=float(self.fit.weights[i])) for i in ids]

    def deletion_area(self) -> dict:
        """Mean probability over the deletion curve per ranking (lower = the ranking finds what matters sooner)."""
        return {n: float(np.mean(v)) for n, v in self.deletion.items() if n != "k"}

    def to_dict(self) -> dict:
        def seg(i):
            return dict(self.segments[i], weight=round(float(self.fit.weights[i]), 6),
                        **{self.baseline_name: round(float(self.amount[i]), 6)})

        return {
            "kind": self.kind, "model": self.model, "title": self.title, "target": self.target_name,
            "probability": round(self.probability, 6), "probability_all_removed": round(self.empty_probability, 6),
            "options": self.options,
            "fidelity_r2": round(self.fit.r2, 6),
            "fidelity_warning": "R^2 says how well a straight line fits the model near this input, not whether "
                                "the ranking names what the model relies on.",
            "exact": self.fit.exact, "samples": self.fit.samples, "intercept": round(self.fit.intercept, 6),
            "segments": [seg(int(i)) for i in self.fit.ranking],
            "rankings": {n: [int(i) for i in r] for n, r in self.rankings.items()},
            "deletion": self.deletion,
            "deletion_mean": {n: round(v, 6) for n, v in self.deletion_area().items()},
            "stability": self.stability,
        }


@dataclass(frozen=True, eq=False)
class AudioLime(Explanation):
    """A LIME explanation of an audio model over time x frequency-band cells of its log filter-bank."""

    grid: TimeBandGrid | None = None
    start_s: float = 0.0
    waveform: np.ndarray | None = field(default=None, repr=False)  # the explained 4-s window
    spectrogram: np.ndarray | None = field(default=None, repr=False)  # (bands, frames) log filter-bank
    off: str = "mean"


def _finish(kind, model, target, probability, lime_fit, segments, amount, baseline_name, score_fn, *, seed,
            samples, kernel_width, top_k, stability_seeds, batch_size, progress, options, title="", cls=Explanation,
            **extra) -> Explanation:
    """Baselines, deletion check and stability around a fitted explanation (shared by every explainer)."""
    S = len(segments)
    rankings = {"lime": lime_fit.ranking, baseline_name: np.argsort(-np.asarray(amount), kind="stable"),
                "random": random_ranking(S, seed)}
    progress(0.0, "Stability over seeds…")
    stab = stability(score_fn, S, samples=samples, kernel_width=kernel_width,
                     seeds=[seed + i for i in range(stability_seeds)], top_k=min(top_k, S), batch_size=batch_size,
                     progress=progress, first=lime_fit)
    progress(1.0, "Deletion check…")
    dele = deletion_curves(score_fn, rankings, S, batch_size=batch_size)
    empty = float(score_fn(np.zeros((1, S), dtype=bool))[0])
    return cls(kind=kind, model=model.name, classes=tuple(model.classes), target=int(target),
               probability=float(probability), fit=lime_fit, segments=tuple(segments), amount=np.asarray(amount),
               baseline_name=baseline_name, rankings=rankings, deletion=dele, stability=stab, options=options,
               title=title, empty_probability=empty, **extra)


def resolve_target(classes, target) -> int:
    """A class index from a name or an index; a plain message when the class does not exist."""
    classes = tuple(classes)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if 0 <= int(target) < len(classes):
            return int(target)
        raise ParameterError(f"The class number {target} is out of range; the model has {len(classes)} classes.")
    if isinstance(target, str) and target in classes:
        return classes.index(target)
    raise ParameterError(f"There is no class '{target}' in this model; its classes are: {', '.join(classes)}.")


# --------------------------------------------------------------------------------------------------------------
# audio: time x frequency bands of the model's log filter-bank


@dataclass(frozen=True)
class TimeBandGrid:
    """A grid of n_time x n_bands cells over a (bands, frames) spectrogram; segment id = t * n_bands + b.

    Frames and filter-bank bands are split as evenly as possible (leftovers spread over the cells, so every
    frame and every band belongs to a cell; unlike audioLIME, no band is left permanently off).
    ``hop_s`` and ``band_hz`` ((bands,) centre frequencies) only serve the labels.
    """

    n_time: int
    n_bands: int
    frames: int
    bands: int
    hop_s: float = 512 / 22050
    band_hz: tuple = ()
    offset_s: float = 0.0

    @property
    def n_segments(self) -> int:
        return self.n_time * self.n_bands

    def time_edges(self) -> np.ndarray:
        return np.linspace(0, self.frames, self.n_time + 1).round().astype(int)

    def band_edges(self) -> np.ndarray:
        return np.linspace(0, self.bands, self.n_bands + 1).round().astype(int)

    def index(self) -> np.ndarray:
        """(bands, frames) int array: the segment id of every cell of the spectrogram."""
        t = np.searchsorted(self.time_edges(), np.arange(self.frames), side="right") - 1
        b = np.searchsorted(self.band_edges(), np.arange(self.bands), side="right") - 1
        return b[:, None] + self.n_bands * t[None, :]

    def mask(self, ids) -> np.ndarray:
        """(bands, frames) bool: True on the cells of the given segments."""
        return np.isin(self.index(), np.asarray(list(ids), dtype=int))

    def hz_edges(self) -> np.ndarray:
        """Lower/upper frequency of each band group (midpoints between the centres of neighbouring bands)."""
        c = np.asarray(self.band_hz, dtype=float) if len(self.band_hz) == self.bands else np.arange(self.bands, dtype=float)
        mids = np.concatenate([[max(0.0, c[0] - (c[1] - c[0]) / 2)], (c[1:] + c[:-1]) / 2, [c[-1] + (c[-1] - c[-2]) / 2]])
        e = self.band_edges()
        return np.stack([mids[e[:-1]], mids[e[1:]]], axis=1)

    def segments(self) -> list[dict]:
        te, hz = self.time_edges(), self.hz_edges()
        out = []
        for t in range(self.n_time):
            for b in range(self.n_bands):
                s0 = self.offset_s + te[t] * self.hop_s
                s1 = self.offset_s + te[t + 1] * self.hop_s
                lo, hi = float(hz[b, 0]), float(hz[b, 1])
                out.append({"id": t * self.n_bands + b, "time": t, "band": b, "start_s": round(float(s0), 3),
                            "end_s": round(float(s1), 3), "low_hz": round(lo, 1), "high_hz": round(hi, 1),
                            "label": f"{s0:.1f}–{s1:.1f} s, {_hz(lo)}–{_hz(hi)}"})
        return out


def _hz(f: float) -> str:
    return f"{f / 1000:.1f} kHz" if f >= 1000 else f"{f:.0f} Hz"


def _window(waveform: np.ndarray, start_s: float, sr: int, n: int) -> np.ndarray:
    x = np.asarray(waveform, dtype=np.float32).reshape(-1)
    s = int(round(start_s * sr))
    if start_s < 0 or (x.size and s >= x.size):
        raise ParameterError(f"The window start {start_s:g} s is outside the recording "
                             f"({x.size / sr:.1f} s long).")
    out = np.zeros(n, dtype=np.float32)
    seg = x[s : s + n]
    out[: seg.size] = seg
    return out


def _softmax_target(logits, target: int) -> np.ndarray:
    import torch

    return torch.softmax(logits.float(), dim=1)[:, target].double().numpy()


def explain_audio(model, waveform: np.ndarray, target: int | str | None = None, *, n_time: int = 5, n_bands: int = 4,
                  off: str = "mean", samples: int | None = None, kernel_width: float | None = None, seed: int = 0,
                  start_s: float = 0.0, top_k: int = 3, stability_seeds: int | None = None, batch_size: int = 32,
                  progress: Progress | None = None) -> AudioLime:
    """LIME over time x frequency-band cells of an audio model's log filter-bank (the veracity paper's grid).

    A 4-s window of ``waveform`` (22,050 Hz) from ``start_s`` is turned into the model's spectrogram once
    (``net.spectrogram``); a coalition replaces the switched-off cells by ``off``: 'mean' (the clip's mean
    log energy, veracity's choice), 'zero' (silence: the log of zero power) or 'noise' (one fixed draw of
    Gaussian noise with the clip's mean and spread); the batch goes through ``net.from_spectrogram``.
    ``target`` None = the predicted class. The baseline ranks cells by their energy.
    """
    import torch

    from xai.audio.dataset import CLIP_SAMPLES, SAMPLE_RATE

    progress = progress or _noop
    d = DEFAULTS["audio"]
    samples = d["samples"] if samples is None else samples
    kernel_width = d["kernel_width"] if kernel_width is None else kernel_width
    stability_seeds = d["stability_seeds"] if stability_seeds is None else stability_seeds
    check_int("n_time", n_time, 1, 20)
    check_int("n_bands", n_bands, 1, 16)
    check_int("stability_seeds", stability_seeds, 1, 20)
    check_int("top_k", top_k, 1, 50)
    if off not in OFF_MODES:
        raise ParameterError(f"'off' must be one of {', '.join(OFF_MODES)}, got {off!r}.")
    _check_options(n_time * n_bands, samples, kernel_width, seed)
    x = _window(waveform, start_s, SAMPLE_RATE, CLIP_SAMPLES)
    if float(np.max(np.abs(x))) < 1e-3:  # -60 dBFS, as xai.audio.clip refuses silent files
        raise InputError(f"The 4-s window from {start_s:g} s is silent, so there is nothing to explain; "
                         "choose another start.")
    net = model.net
    net.eval()
    with torch.inference_mode():
        spec = net.spectrogram(torch.from_numpy(x)[None])[0].float()  # (bands, frames)
        probs = torch.softmax(net.from_spectrogram(spec[None]).float(), dim=1)[0].numpy()
    t_idx = int(np.argmax(probs)) if target is None else resolve_target(model.classes, target)
    bands, frames = spec.shape
    if n_bands > bands or n_time > frames:
        raise ParameterError(f"The grid {n_time} x {n_bands} is finer than the spectrogram ({frames} frames x "
                             f"{bands} bands).")
    front = getattr(net, "front", None)
    centres = tuple(float(c) for c in front.band_centres_hz()) if hasattr(front, "band_centres_hz") else ()
    grid = TimeBandGrid(n_time, n_bands, frames, bands, hop_s=getattr(front, "hop", 512) / SAMPLE_RATE,
                        band_hz=centres, offset_s=float(start_s))
    idx = torch.from_numpy(grid.index())
    base = _off_spectrogram(spec, off, seed)

    forward = fast(net, "from_spectrogram", spec[None].repeat(2, 1, 1))

    def score(masks: np.ndarray) -> np.ndarray:
        keep = torch.from_numpy(np.asarray(masks, dtype=bool))[:, idx]  # (n, bands, frames), one gather
        with torch.inference_mode():
            return _softmax_target(forward(torch.where(keep, spec, base)), t_idx)

    lime_fit = fit(score, grid.n_segments, samples=samples, kernel_width=kernel_width, seed=seed,
                   batch_size=batch_size, progress=progress)
    power = torch.exp(spec).double()
    energy = torch.zeros(grid.n_segments, dtype=torch.float64).index_add_(0, idx.reshape(-1), power.reshape(-1)).numpy()
    options = {"segments": "time-bands", "n_time": n_time, "n_bands": n_bands, "off": off, "samples": samples,
               "kernel_width": kernel_width, "seed": seed, "start_s": start_s, "top_k": top_k,
               "stability_seeds": stability_seeds}
    return _finish("time-bands", model, t_idx, float(probs[t_idx]), lime_fit, grid.segments(), energy, "energy",
                   score, seed=seed, samples=samples, kernel_width=kernel_width, top_k=top_k,
                   stability_seeds=stability_seeds, batch_size=batch_size, progress=progress, options=options,
                   cls=AudioLime, grid=grid, start_s=float(start_s), waveform=x, spectrogram=spec.numpy(), off=off)


def _off_spectrogram(spec, off: str, seed: int):
    """What a switched-off cell holds (a (bands, frames) tensor or a scalar tensor)."""
    import torch

    from models.audio_nets import LOG_EPS

    if off == "mean":
        return spec.mean()
    if off == "zero":
        return torch.tensor(float(np.log(LOG_EPS)), dtype=spec.dtype)
    g = torch.Generator().manual_seed(int(seed))
    return spec.mean() + spec.std() * torch.randn(spec.shape, generator=g, dtype=spec.dtype)


def sonify_cells(waveform: np.ndarray, grid: TimeBandGrid, ids, *, keep: bool = True, n_fft: int = 1024,
                 hop: int = 512, sr: int = 22050) -> np.ndarray:
    """The waveform with only the given cells (keep=True) or everything but them (keep=False), to listen to.

    The cells' seconds and Hz ranges are cut out of the STFT (same frames as the model's spectrogram) and
    resynthesised; the parts add back up to the window.
    """
    import torch

    x = torch.from_numpy(np.asarray(waveform, dtype=np.float32))
    win = torch.hann_window(n_fft)
    Z = torch.stft(x, n_fft, hop, window=win, center=True, return_complex=True)  # (bins, frames)
    freqs = np.linspace(0, sr / 2, Z.shape[0])
    m = np.zeros(Z.shape, dtype=bool)
    te, hz = grid.time_edges(), grid.hz_edges()
    hz_lo = hz[:, 0].copy()
    hz_hi = hz[:, 1].copy()
    hz_lo[0], hz_hi[-1] = 0.0, sr / 2 + 1  # the outer bands reach the ends of the spectrum
    for i in ids:
        t, b = divmod(int(i), grid.n_bands)
        f = (freqs >= hz_lo[b]) & (freqs < hz_hi[b])
        m[f, te[t] : min(te[t + 1], Z.shape[1])] = True
    if not keep:
        m = ~m
    y = torch.istft(Z * torch.from_numpy(m), n_fft, hop, window=win, center=True, length=x.numel())
    return y.numpy()


def explain_piece(*args, **kwargs):
    """LIME over bars x voices or bars x registers of a piece (see :func:`xai.local.segments.explain_piece`)."""
    from xai.local.segments import explain_piece as _explain

    return _explain(*args, **kwargs)


def explain_stems(*args, **kwargs):
    """LIME over the rendered parts of a score for an audio model (see :func:`xai.local.segments.explain_stems`)."""
    from xai.local.segments import explain_stems as _explain

    return _explain(*args, **kwargs)
