"""Discovered concepts: factorise a layer's non-negative feature maps into a few concepts the model uses.

Nobody names these concepts in advance. At a ReLU layer every excerpt gives a feature map A (channels x pitch x
time, all values >= 0). Collected over a corpus of excerpts, the maps are factorised into K non-negative parts:

- **NMF** (as ICE, Zhang et al. 2021): the matrix of (excerpt, pitch, time) positions x channels is factorised
  as V ~ S P, S, P >= 0. Row k of P is concept k's *direction* in channel space; S holds how much of concept k
  sits at each position of each excerpt: its *presence map* over the excerpt, which can be drawn back onto the
  piano roll because the layer keeps the roll's pitch x time layout.
- **NTD** (non-negative Tucker decomposition, explored for music by Foscarin et al. 2022): the excerpt x channel
  x pitch x time tensor is factorised as a small core times one non-negative factor per mode. The channel
  factor has K columns, the concepts; multiplying the core by the excerpt, pitch and time factors gives the
  same (excerpt, concept, pitch, time) presence maps as NMF, so both methods share one result type and one
  set of views. Where NMF lets every position choose its own mix of concepts, NTD ties them to a few shared
  excerpt, pitch and time profiles (ranks ``excerpt_rank`` x K x pitch x time).

Each concept direction is scaled to unit length (its presence maps take the scale), and concepts are ordered
by how much of the layer they carry (the sum of their presence), so concept 1 is the most present.

A concept is then explained by

- its **importance** for each class (ICE's directional derivative, :func:`discover` says exactly how);
- the excerpts where it is **most** and **least** present (:func:`top_excerpts`), with its presence map over
  each, and the region of the excerpt where it is strongest (:func:`concept_region`) to listen to;
- the **fidelity** of the K concepts together (:func:`fidelity`, :func:`fidelity_curve`): the model's accuracy
  when the layer is replaced by its reconstruction from them, and the explained variance.

**Pairwise mode** (Foscarin et al. 2022's unsupervised protocol; ``cached(..., pair=(A, B))``, ``discover(...,
pair=)``): only the excerpts of two classes are factorised; each class's importance averages over all of them,
and a concept's effect on the *difference* of the two logits is :attr:`Discovery.pair_importance_` (A minus B;
concepts raising one logit and lowering the other are :attr:`Discovery.suggested_`); fidelity is judged by which
of the two logits is larger. The paper estimates the derivatives by a central finite difference (activations
shifted by ±1e-4 x the concept at every position); here they are exact, the limit of that difference
(:func:`finite_difference` computes the paper's estimate, and a test checks that both agree).

Results for the shipped model are cached on disk (``.npz`` + ``.json``, never pickles) under
``$MUSICXAI_CACHE/discovery`` and shipped precomputed in ``assets/discovery``; both are tied to the model's
weights hash and ignored (and recomputed) when the model has changed (:func:`cached`).

References
----------
Zhang, R., Madumal, P., Miller, T., Ehinger, K. A., Rubinstein, B. I. P. (2021). Invertible Concept-based
Explanations for CNN Models with Non-negative Concept Activation Vectors. AAAI.
Foscarin, F., Hoedt, K., Praher, V., Flexer, A., Widmer, G. (2022). Concept-Based Techniques for
"Musicologist-friendly" Explanations in a Deep Music Classifier. ISMIR.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from xai.concepts import factorise as factorisation
from xai.concepts.excerpts import ASSETS, EXCERPTS_FILE, ExcerptSet, composer_of, load_excerpts, split_by_piece
from xai.concepts.factorise import ntd_hals as _ntd_hals  # noqa: F401 - kept for bench/discovery.py
from xai.concepts.layers import layer_activations, layer_info
from xai.concepts.options import HOLDOUT, METHODS, DiscoveryOptions
from xai.contract import Progress, Result, jsonable, no_progress
from xai.errors import InputError, ParameterError
from xai.symbolic import music

__all__ = [
    "METHODS",
    "DEFAULT_KS",
    "ASSETS",
    "EXCERPTS_FILE",
    "DiscoveryOptions",
    "ExcerptSet",
    "Discovery",
    "load_excerpts",
    "composer_of",
    "discover",
    "fidelity",
    "fidelity_curve",
    "top_excerpts",
    "concept_region",
    "PiecePresence",
    "in_piece",
    "upsample",
    "cache_dir",
    "cached",
    "status_message",
    "precompute",
    "DEFAULT_CONFIGS",
    "project",
    "flags",
    "identity",
    "layer_channels",
    "split_by_piece",
    "concept_label",
    "finite_difference",
]

METHOD_NAMES = {"nmf": "NMF", "ntd": "NTD"}
DEFAULT_KS = (1, 2, 4, 6, 8, 12, 16, 24, 32)
DEFAULT_CONFIGS = tuple((layer, method, 8) for layer in ("block3", "block4") for method in METHODS)
MIN_PER_CONCEPT = 2  # excerpts per concept: fewer and a factorisation can give each excerpt its own concept
MIN_EXCERPTS = 8
FORMAT_VERSION = 2  # 2 adds the held-out excerpts and their fidelity; version 1 files still load (none held out)
READABLE_VERSIONS = (1, 2)
DUPLICATE_COSINE = 0.9  # concept directions closer than this are marked as near-duplicates
DETECTOR_SHARE = 0.9  # a concept whose top excerpts come from one class more often than this is a class detector
_NEG_TOL = 1e-6  # float noise around a ReLU's zero is not a negative activation


# --------------------------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------------
# The excerpt corpus
# --------------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Discovery(Result):
    """Concepts found at one layer over a set of excerpts, and what is known about them.

    Attributes
    ----------
    method : str
        'nmf' or 'ntd'.
    layer : str
        The layer factorised.
    n_concepts : int
        K.
    components_ : np.ndarray
        (K, channels): each concept's direction in the layer's channel space, unit length, non-negative.
    presence_ : np.ndarray
        (N, K, pitch, time) float32: how much of each concept sits at each position of each excerpt's feature
        map (the layer's map of excerpt n is approximately ``sum_k presence_[n, k] * components_[k]``).
    explained_variance_ : float
        1 - |A - Â|² / |A - mean|² over all excerpts and positions (A the layer's maps, Â their reconstruction
        from the K concepts, the mean taken per channel).
    importance_ : np.ndarray
        (classes, K): ICE's importance of each concept for each class, see :func:`discover`.
    importance_basis_ : tuple of str
        Per class, 'class' when its importance averages over that class's excerpts, 'all' when the set holds
        none of them (a one-class factorisation) and it averages over every excerpt.
    classes : tuple of str
        The model's classes (rows of ``importance_``).
    labels_ : np.ndarray
        (N,) the class of each excerpt (index into ``classes``; -1 if unknown).
    excerpt_index_ : np.ndarray
        (N,) the row of each excerpt in the :class:`ExcerptSet` it came from (``arange(N)`` for plain arrays).
    weights_sha256, excerpts_sha256, data_sha256 : str
        What the result was computed from: the model's weights, the excerpt set, the exact input array.
    random_state : int
    params : dict
        Options, layer shape, iterations, time taken, model name.
    core_, factors_ :
        NTD only: the Tucker core (excerpt rank, K, pitch, time) and the factor of each mode (excerpts,
        channels, pitch, time), scaled as ``components_`` and ``presence_`` are. Empty for NMF.
    fidelity_ : dict or None
        :func:`fidelity` of these K concepts on the same excerpts, when measured.
    fidelity_curve_ : tuple of dict
        Fidelity of factorisations with other K (same method, layer, excerpts, seed), when measured; each point
        holds the held-out fidelity under ``'heldout'`` when excerpts were held out.
    heldout_ : np.ndarray or None
        (N,) bool: the excerpts left out of the factorisation (whole pieces, :func:`~xai.concepts.excerpts.
        split_by_piece`); their presence maps are projections on the fixed concepts (:func:`project`). None when
        every excerpt was factorised.
    heldout_fidelity_ : dict or None
        :func:`fidelity` on the held-out excerpts, with its chance floors (``chance_accuracy``,
        ``random_accuracy``), when measured.
    """

    method: str
    layer: str
    n_concepts: int
    components_: np.ndarray = field(repr=False)
    presence_: np.ndarray = field(repr=False)
    explained_variance_: float
    importance_: np.ndarray = field(repr=False)
    importance_basis_: tuple[str, ...]
    classes: tuple[str, ...]
    labels_: np.ndarray = field(repr=False)
    excerpt_index_: np.ndarray = field(repr=False)
    weights_sha256: str = ""
    excerpts_sha256: str = ""
    data_sha256: str = ""
    random_state: int = 0
    params: dict = field(default_factory=dict, repr=False)
    core_: np.ndarray | None = field(default=None, repr=False)
    factors_: tuple[np.ndarray, ...] = field(default=(), repr=False)
    fidelity_: dict | None = None
    fidelity_curve_: tuple[dict, ...] = ()
    heldout_: np.ndarray | None = field(default=None, repr=False)
    heldout_fidelity_: dict | None = None

    @property
    def n_excerpts(self) -> int:
        """Excerpts the concepts were found in."""
        return int(self.presence_.shape[0])

    @property
    def fitted_(self) -> np.ndarray:
        """(N,) bool: the excerpts the factorisation was fitted on (all, unless some were held out)."""
        return np.ones(self.n_excerpts, dtype=bool) if self.heldout_ is None else ~np.asarray(self.heldout_, bool)

    @property
    def scores_(self) -> np.ndarray:
        """(N, K): how present each concept is in each excerpt, the mean of its presence map (as ICE ranks)."""
        return self.presence_.mean(axis=(2, 3))

    @property
    def window_quarters(self) -> float:
        """How long an excerpt is, in the quarters its piece is drawn in (16 unless the run recorded another)."""
        return float(self.params.get("window_quarters", 16.0))

    @property
    def title(self) -> str:
        """A heading: method, K and layer."""
        return f"{METHOD_NAMES.get(self.method, self.method)}, K = {self.n_concepts}, layer {self.layer}"

    def importance(self, concept: int) -> dict[str, float]:
        """{class: importance} of one concept (in the pairwise mode, of the two classes only)."""
        rows = [self.classes.index(c) for c in self.pair_] if self.pair_ else range(len(self.classes))
        return {self.classes[i]: float(self.importance_[i, concept]) for i in rows}

    @property
    def pair_(self) -> tuple[str, str] | None:
        """The two classes of the pairwise mode, in the order asked (None: all classes)."""
        pair = self.params.get("pair")
        return (str(pair[0]), str(pair[1])) if pair and self.params.get("contrast") else None

    @property
    def pair_importance_(self) -> np.ndarray | None:
        """(K,) pairwise mode: each concept's effect on the difference of the two logits (first minus second):
        positive, the concept pushes the answer towards the first class. None outside the pairwise mode."""
        if not self.pair_:
            return None
        a, b = (self.classes.index(c) for c in self.pair_)
        return self.importance_[a] - self.importance_[b]

    @property
    def suggested_(self) -> np.ndarray | None:
        """(K,) bool, pairwise mode: concepts whose importance has opposite signs for the two classes (raises one
        logit, lowers the other), the concepts Foscarin et al. (2022) suggest reading first."""
        if not self.pair_:
            return None
        a, b = (self.classes.index(c) for c in self.pair_)
        return np.sign(self.importance_[a]) * np.sign(self.importance_[b]) < 0

    def curve(self) -> list[dict]:
        """The fidelity curve with this result's own K included, sorted by K."""
        points = {int(p["n_concepts"]): p for p in self.fidelity_curve_}
        if self.fidelity_ is not None:
            held = {"heldout": self.heldout_fidelity_} if self.heldout_fidelity_ else {}
            points[self.n_concepts] = dict(self.fidelity_) | held
        return [points[k] for k in sorted(points)]

    def summary(self, excerpts: ExcerptSet | None = None, *, top: int = 5) -> dict:
        """The numbers as plain JSON data: per concept its importance and top excerpts, and the fidelity.

        What ``python -m xai discover --json`` prints; :meth:`to_dict` is the full, lossless record.
        """
        fid = dict(self.fidelity_) if self.fidelity_ is not None else {}
        if self.fidelity_curve_:
            fid["curve"] = self.curve()
        out = {
            "model": self.params.get("model", ""),
            "layer": self.layer,
            "method": self.method,
            "n_concepts": self.n_concepts,
            "random_state": self.random_state,
            "n_excerpts": self.n_excerpts,
            "classes_used": self.params.get("classes_used"),
            "explained_variance": round(float(self.explained_variance_), 6),
            "fidelity": fid,
            "heldout_fidelity": dict(self.heldout_fidelity_) if self.heldout_fidelity_ is not None else None,
            "contrast": bool(self.params.get("contrast", False)),
            "pair": list(self.pair_) if self.pair_ else None,
            "weights_sha256": self.weights_sha256,
            "concepts": [],
        }
        marks = flags(self)
        for k in range(self.n_concepts):
            rows = top_excerpts(self, k, n=top, excerpts=excerpts)
            keys = ("piece", "start_bar", "end_bar", "score") if excerpts is not None else ("excerpt", "score")
            pair = {"pair_importance": round(float(self.pair_importance_[k]), 6),
                    "suggested": bool(self.suggested_[k])} if self.pair_ else {}
            out["concepts"].append({
                "id": k + 1,
                "importance": {c: round(v, 6) for c, v in self.importance(k).items()},
                **pair,
                "top_excerpts": [{key: r[key] for key in keys} for r in rows],
                "flags": marks[k],
            })
        return out

    # -- storage: .npz for arrays, .json for the rest (written last: a .json means the pair is complete)

    def save(self, folder: str | os.PathLike, stem: str) -> Path:
        """Write ``stem.npz`` and ``stem.json`` under ``folder`` (presence maps as float16); returns the json path."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {
            "components": self.components_.astype(np.float32),
            "presence": self.presence_.astype(np.float16),
            "importance": self.importance_.astype(np.float64),
            "labels": self.labels_.astype(np.int64),
            "excerpt_index": self.excerpt_index_.astype(np.int64),
        }
        if self.core_ is not None:
            arrays["core"] = self.core_.astype(np.float32)
            arrays |= {f"factor_{m}": f.astype(np.float32) for m, f in enumerate(self.factors_)}
        if self.heldout_ is not None:
            arrays["heldout"] = np.asarray(self.heldout_, dtype=bool)
        meta = {
            "format": "musicxai.discovery",
            "version": FORMAT_VERSION,
            "method": self.method,
            "layer": self.layer,
            "n_concepts": self.n_concepts,
            "explained_variance": float(self.explained_variance_),
            "importance_basis": list(self.importance_basis_),
            "classes": list(self.classes),
            "weights_sha256": self.weights_sha256,
            "excerpts_sha256": self.excerpts_sha256,
            "data_sha256": self.data_sha256,
            "random_state": int(self.random_state),
            "params": self.params,
            "fidelity": self.fidelity_,
            "fidelity_curve": list(self.fidelity_curve_),
            "heldout_fidelity": self.heldout_fidelity_,
        }
        npz, js = folder / f"{stem}.npz", folder / f"{stem}.json"
        tmp = folder / f".{stem}.{os.getpid()}.tmp.npz"
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, npz)
        tmp_js = folder / f".{stem}.{os.getpid()}.tmp.json"
        tmp_js.write_text(json.dumps(jsonable(meta), indent=1, allow_nan=False), encoding="utf-8")
        os.replace(tmp_js, js)
        return js

    @classmethod
    def load(cls, folder: str | os.PathLike, stem: str) -> Discovery | None:
        """The result saved as ``stem`` under ``folder``; None when it is missing, unreadable or of another format."""
        folder = Path(folder)
        npz, js = folder / f"{stem}.npz", folder / f"{stem}.json"
        if not (npz.exists() and js.exists()):
            return None
        try:
            meta = json.loads(js.read_text(encoding="utf-8"))
            if meta.get("format") != "musicxai.discovery" or meta.get("version") not in READABLE_VERSIONS:
                return None
            with np.load(npz, allow_pickle=False) as z:
                a = {k: z[k] for k in z.files}
            core = a.get("core")
            factors = tuple(a[f"factor_{m}"] for m in range(4)) if core is not None else ()
            return cls(
                method=meta["method"],
                layer=meta["layer"],
                n_concepts=int(meta["n_concepts"]),
                components_=a["components"].astype(np.float32),
                presence_=a["presence"].astype(np.float32),
                explained_variance_=float(meta["explained_variance"]),
                importance_=a["importance"],
                importance_basis_=tuple(meta["importance_basis"]),
                classes=tuple(meta["classes"]),
                labels_=a["labels"],
                excerpt_index_=a["excerpt_index"],
                weights_sha256=meta["weights_sha256"],
                excerpts_sha256=meta["excerpts_sha256"],
                data_sha256=meta["data_sha256"],
                random_state=int(meta["random_state"]),
                params=meta["params"],
                core_=core,
                factors_=factors,
                fidelity_=meta.get("fidelity"),
                fidelity_curve_=tuple(meta.get("fidelity_curve") or ()),
                heldout_=a.get("heldout"),
                heldout_fidelity_=meta.get("heldout_fidelity"),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


# --------------------------------------------------------------------------------------------------------------
# Layer data
# --------------------------------------------------------------------------------------------------------------


def _net(model) -> torch.nn.Module:
    return getattr(model, "net", model)


def _layer_shape(net: torch.nn.Module, layer: str, input_shape: Sequence[int]) -> tuple[int, int, int]:
    """(channels, pitch, time) of a layer's output; ParameterError for a layer without a pitch x time map."""
    info = layer_info(net, [layer], input_shape=tuple(input_shape))[0]
    shape = tuple(info["shape"])
    if len(shape) != 3:
        raise ParameterError(
            f"The layer '{layer}' has no pitch x time map (its output has shape {list(shape)}), so concepts cannot "
            f"be drawn on the piano roll; pick a convolutional layer such as a block."
        )
    return shape  # type: ignore[return-value]


def _check_inputs(X, n_concepts: int, what: str = "excerpts") -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 4:
        raise InputError(f"The {what} must be a stack of piano rolls (N, 2, 88, 64), got an array of shape "
                         f"{list(X.shape)}.")
    need = max(MIN_EXCERPTS, MIN_PER_CONCEPT * n_concepts)
    if X.shape[0] < need:
        raise InputError(
            f"Discovering {n_concepts} concept{'s' if n_concepts != 1 else ''} needs at least {need} {what} "
            f"(at least {MIN_EXCERPTS}, and {MIN_PER_CONCEPT} per concept); only {X.shape[0]} "
            f"{'was' if X.shape[0] == 1 else 'were'} given. Use more excerpts or fewer concepts."
        )
    return X


def _array_hash(X: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(X, dtype=np.float32).tobytes()).hexdigest()


def _layer_data(
    net: torch.nn.Module,
    X: np.ndarray,
    layer: str,
    shape: tuple[int, int, int],
    *,
    grads: bool,
    batch_size: int = 64,
    progress: Progress = no_progress,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The layer's maps (N, C, h, w) and, with ``grads``, every class logit's gradient there summed over
    positions (N, classes, C): all that importance needs, without holding the full gradients."""
    N = X.shape[0]
    acts = np.empty((N, *shape), dtype=np.float32)
    gsum = None
    for i in range(0, N, batch_size):
        xb = np.asarray(X[i : i + batch_size], dtype=np.float32)
        a, g = layer_activations(net, xb, layer, with_grads=grads, batch_size=batch_size)
        lowest = float(a.min()) if a.size else 0.0
        if lowest < -_NEG_TOL:  # said at the first batch that shows it, not after the whole corpus
            raise InputError(
                f"The layer '{layer}' has negative values (down to {lowest:.3g}), so its maps cannot be split "
                f"into non-negative concepts. Pick a layer that ends in a ReLU, such as block1 to block4."
            )
        acts[i : i + len(xb)] = a.reshape(len(xb), *shape)
        if grads:
            g = g.reshape(len(xb), g.shape[1], shape[0], -1).sum(axis=3)
            if gsum is None:
                gsum = np.empty((N, g.shape[1], shape[0]), dtype=np.float32)
            gsum[i : i + len(xb)] = g
        progress(min(1.0, (i + len(xb)) / N), f"Reading layer {layer}: {i + len(xb)} of {N} excerpts")
    np.maximum(acts, 0.0, out=acts)  # float noise below zero
    if not np.any(acts > 0):
        raise InputError(f"The layer '{layer}' is silent (all zero) on these excerpts; there is nothing to factorise.")
    return acts, gsum


# --------------------------------------------------------------------------------------------------------------
# Factorisations
# --------------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------------------------


def _labels(y, N: int, n_classes: int) -> np.ndarray:
    if y is None:
        return np.full(N, -1, dtype=np.int64)
    y = np.asarray(y)
    if y.shape != (N,):
        raise InputError(f"There must be one class label per excerpt ({N}), got {y.size}.")
    y = y.astype(np.int64)
    if np.any(y >= n_classes):
        raise InputError(f"A class label is out of range: the model has {n_classes} classes.")
    return y


_FIT_OPTIONS = ("method", "n_concepts", "max_iter", "tol", "excerpt_rank")  # what discover() itself uses


def _window(model, steps: int) -> dict:
    """How long an excerpt is, in the quarters its piece is drawn in: a score model's window, or a performance
    model's seconds on the excerpt sets' time line of quarters at :data:`~xai.symbolic.music.DEFAULT_QPM`."""
    spec = music.input_spec(model)
    if spec.grid == "seconds":
        return {"window_quarters": spec.window * music.DEFAULT_QPM / 60.0, "window_seconds": spec.window}
    return {"window_quarters": steps / music.STEPS_PER_QUARTER}


def _checked(model, X, *, layer: str, opts: DiscoveryOptions, ntd_solver: str) -> tuple[np.ndarray, tuple]:
    """The inputs as float32 and the layer's (channels, pitch, time), after every check that needs no pass."""
    if ntd_solver not in ("hals", "tensorly"):
        raise ParameterError(f"The 'ntd_solver' parameter must be one of 'hals', 'tensorly', got {ntd_solver!r}.")
    X = _check_inputs(X, opts.n_concepts)
    shape = _layer_shape(_net(model), layer, X.shape[1:])
    if opts.n_concepts > shape[0]:
        raise ParameterError(
            f"The 'n_concepts' parameter must be at most the layer's channels: '{layer}' has {shape[0]}, so it "
            f"cannot hold {opts.n_concepts} concepts."
        )
    return np.asarray(X, dtype=np.float32), shape


def _importance(gsum: np.ndarray, P: np.ndarray, labels: np.ndarray, n_classes: int, *,
                pooled: bool = False) -> tuple[np.ndarray, tuple]:
    """ICE's importance (classes, K) from the position-summed logit gradients, and its basis per class.

    The change of the class-c logit when one unit of concept k (its unit-length direction p_k, added at every
    pitch x time position of the layer) is added::

        importance[c, k] = mean over the excerpts n of class c of  sum over positions (h, w) of
                           < d logit_c(x_n) / d A[:, h, w],  p_k >

    ICE estimates it by finite differences. With no labels, or for a class with no excerpts, the mean runs
    over all excerpts (basis 'all' instead of 'class'). ``pooled`` (the pairwise mode) averages every class's
    derivative over all the excerpts, as Foscarin et al. (2022) do for their two composers (basis 'pair').
    """
    proj = np.einsum("ncd,kd->nck", gsum, P)  # (N, classes, K): each logit's derivative along each concept
    importance = np.empty((n_classes, P.shape[0]))
    if pooled:
        return proj.mean(axis=0).astype(np.float64), ("pair",) * n_classes
    basis = []
    for c in range(n_classes):
        mine = labels == c
        basis.append("class" if mine.any() else "all")
        importance[c] = proj[mine, c].mean(axis=0) if mine.any() else proj[:, c].mean(axis=0)
    return importance, tuple(basis)


def _params(model, opts, ntd_solver: str, shape, n_steps: int, pair, info: dict, t_fact: float, t_total: float) -> dict:
    """What a discovery was run with and how long it took, kept beside its result."""
    return {
        "model": str(getattr(model, "name", "")),
        "options": {k: v for k, v in opts.to_dict().items() if k in _FIT_OPTIONS}
        | ({"ntd_solver": ntd_solver} if opts.method == "ntd" else {}),
        "layer_shape": list(shape), **_window(model, n_steps),
        **({"pair": list(pair), "contrast": True} if pair is not None else {}),
        "factorisation": info, "seconds_factorisation": round(t_fact, 3),
        "seconds_total": round(t_total, 3),
    }


def discover(X: np.ndarray, model, *, layer: str, n_concepts: int, method: str = "nmf", y=None,
             random_state: int = 0, max_iter: int = 400, tol: float = 1e-4, excerpt_rank: int = 0,
             ntd_solver: str = "hals", excerpt_index=None, excerpts_sha256: str = "", batch_size: int = 64,
             pair: Sequence[str] | None = None, progress: Progress | None = None) -> Discovery:
    """Find ``n_concepts`` concepts in a layer's feature maps over the excerpts ``X``.

    The layer's maps of all excerpts are factorised by NMF or NTD (see the module docstring). Each concept's
    **importance** for each class is ICE's: the derivative of the class logit along the concept, computed
    exactly by back-propagation (:func:`_importance` gives the formula). Positive: more of the concept, more
    of the class.
    The pairwise mode (``pair``) is the module docstring's.

    Parameters
    ----------
    X : np.ndarray
        Piano rolls (N, 2, 88, 64); uint8 or float.
    model
        A :class:`models.registry.Model` (or anything with ``net``, ``classes`` and ``weights_sha256``).
    layer : str
        A module whose output is a non-negative (channels, pitch, time) map, e.g. 'block3'.
    n_concepts, method, max_iter, tol, excerpt_rank
        As :class:`DiscoveryOptions` (K at most the layer's channels).
    y : array of int, optional
        Class of each excerpt (index into ``model.classes``), for the per-class importance.
    random_state : int
        Seed of the factorisation's start.
    ntd_solver : {'hals', 'tensorly'}
        NTD only: our HALS (default) or tensorly's ``non_negative_tucker_hals`` (the reference, slower).
    excerpt_index, excerpts_sha256
        Rows of the excerpts in the :class:`ExcerptSet` they came from, and its hash (kept with the result).
    batch_size : int
        Excerpts per forward/backward pass.
    pair : (str, str), optional
        The pairwise mode's two classes, in order.
    progress : callable(fraction, message), optional

    Returns
    -------
    Discovery

    Raises
    ------
    ParameterError
        A bad option; K larger than the layer's channels; a layer without a pitch x time map.
    InputError
        Too few excerpts (fewer than 8, or than 2 per concept); a layer with negative values.
    """
    opts = DiscoveryOptions(method=method, n_concepts=n_concepts, max_iter=max_iter, tol=tol, excerpt_rank=excerpt_rank)
    report = progress or no_progress
    t0 = time.perf_counter()
    Xf, shape = _checked(model, X, layer=layer, opts=opts, ntd_solver=ntd_solver)
    acts, gsum = _layer_data(_net(model), Xf, layer, shape, grads=True, batch_size=batch_size,
                             progress=lambda f, m: report(0.3 * f, m))
    classes = tuple(getattr(model, "classes", ())) or tuple(str(c) for c in range(gsum.shape[1]))
    if pair is not None:
        _outputs(model, pair, True)  # two different classes of the model, or a plain sentence
    labels = _labels(y, len(Xf), len(classes))
    t_fact = time.perf_counter()
    P, S, info, core, factors = factorisation.factorise(
        acts, n_concepts, method=method, max_iter=max_iter, tol=tol, excerpt_rank=excerpt_rank,
        random_state=random_state, solver=ntd_solver, progress=lambda f, m: report(0.3 + 0.65 * f, m),
    )
    t_fact = time.perf_counter() - t_fact
    report(0.96, "Explained variance and importance…")
    importance, basis = _importance(gsum, P, labels, len(classes), pooled=pair is not None)
    report(1.0, "Done")
    params = _params(model, opts, ntd_solver, shape, Xf.shape[-1], pair, info, t_fact, time.perf_counter() - t0)
    return Discovery(
        method=method, layer=layer, n_concepts=int(n_concepts), components_=P, presence_=S,
        explained_variance_=float(factorisation.explained_variance(acts, S, P)), importance_=importance,
        importance_basis_=basis, classes=classes, labels_=labels,
        excerpt_index_=np.arange(len(Xf)) if excerpt_index is None else np.asarray(excerpt_index, dtype=np.int64),
        weights_sha256=str(getattr(model, "weights_sha256", "")), excerpts_sha256=excerpts_sha256,
        data_sha256=_array_hash(Xf), random_state=int(random_state), params=params, core_=core,
        factors_=tuple(factors),
    )


# --------------------------------------------------------------------------------------------------------------
# Projection of new excerpts, and fidelity
# --------------------------------------------------------------------------------------------------------------


def _project(acts: np.ndarray, P: np.ndarray, *, max_iter: int = 400) -> np.ndarray:
    """Presence maps of new maps on fixed concept directions (NMF's projection; kept for the tests and bench)."""
    return factorisation.nmf_project(acts, P, max_iter=max_iter)


def project(acts: np.ndarray, discovery: Discovery) -> np.ndarray:
    """Presence maps (N, K, pitch, time) of new layer maps (N, C, pitch, time) on a discovery's fixed concepts.

    NMF: non-negative least squares at every position on the concept directions. NTD: the excerpt-factor row
    of each new excerpt by non-negative least squares with the core and the other factors fixed
    (:func:`~xai.concepts.factorise.ntd_project`), so new excerpts get presence maps of the same form as the
    fitted ones. An NTD result without its core (never the case for results made here) falls back to NMF's.
    """
    if discovery.method == "ntd" and discovery.core_ is not None and len(discovery.factors_) == 4:
        return factorisation.ntd_project(acts, discovery.core_, discovery.factors_)[1]
    return factorisation.nmf_project(acts, discovery.components_)


def _predict(net: torch.nn.Module, X: np.ndarray, *, layer: str | None = None, recon: np.ndarray | None = None,
             outputs: Sequence[int] | None = None, batch_size: int = 128) -> np.ndarray:
    """Predicted class of each input; with ``recon``, the layer's output is replaced by it (a forward hook).

    With ``outputs`` (class indices), the answer is the argmax over those logits only (the two-class mode).
    """
    held: dict[str, torch.Tensor] = {}
    handle = None
    if recon is not None:
        module = dict(net.named_modules())[layer]

        def hook(_m, _inp, out):
            return held["x"].to(dtype=out.dtype).reshape(out.shape)

        handle = module.register_forward_hook(hook)
    was_training = net.training
    net.eval()
    cols = None if outputs is None else torch.as_tensor(list(outputs), dtype=torch.long)
    out = []
    try:
        with torch.inference_mode():
            for i in range(0, len(X), batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(X[i : i + batch_size], dtype=np.float32))
                if recon is not None:
                    held["x"] = torch.from_numpy(np.ascontiguousarray(recon[i : i + batch_size]))
                logits = net(xb)
                pred = logits.argmax(dim=1) if cols is None else cols[logits[:, cols].argmax(dim=1)]
                out.append(pred.numpy())
    finally:
        if handle is not None:
            handle.remove()
        net.train(was_training)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _share_of_commonest(values: np.ndarray) -> float | None:
    values = np.asarray(values)
    if values.size == 0:
        return None
    return round(float(np.unique(values, return_counts=True)[1].max() / values.size), 6)


def _fidelity_point(K, y, original, reconstructed, ev) -> dict:
    """One fidelity measurement, with the floor a constant answer reaches (``chance_accuracy``, ``chance_agreement``)."""
    y = np.asarray(y)
    known = y >= 0
    acc = float(np.mean(reconstructed[known] == y[known])) if known.any() else float("nan")
    orig = float(np.mean(original[known] == y[known])) if known.any() else float("nan")
    return {
        "n_concepts": int(K),
        "accuracy": round(acc, 6),
        "original_accuracy": round(orig, 6),
        "retained": round(acc / orig, 6) if orig > 0 else None,
        "agreement": round(float(np.mean(reconstructed == original)), 6),
        "explained_variance": round(float(ev), 6),
        "n_excerpts": int(len(y)),
        "chance_accuracy": _share_of_commonest(y[known]),
        "chance_agreement": _share_of_commonest(original),
    }


def _random_floor(net, X, y, acts, K: int, *, layer: str, original, outputs, random_state: int,
                  batch_size: int) -> dict:
    """What K random concepts give: accuracy and agreement with the layer rebuilt from K random non-negative unit
    directions (projected as NMF's are). A fidelity no better than this says nothing about the concepts."""
    rng = np.random.default_rng([int(random_state), 7919, int(K)])
    R = rng.random((int(K), acts.shape[1]))
    R /= np.linalg.norm(R, axis=1, keepdims=True)
    S = factorisation.nmf_project(acts, R)
    pred = _predict(net, X, layer=layer, recon=factorisation.reconstruct(S, R), outputs=outputs,
                    batch_size=batch_size)
    known = np.asarray(y) >= 0
    return {"random_accuracy": round(float(np.mean(pred[known] == y[known])), 6) if known.any() else None,
            "random_agreement": round(float(np.mean(pred == original)), 6)}


def _measure(net, X, y, acts, S, P, *, layer: str, outputs=None, floor: bool = False, random_state: int = 0,
             original: np.ndarray | None = None, batch_size: int = 128) -> dict:
    """Fidelity of presence maps ``S`` on directions ``P`` over ``X`` whose layer maps are ``acts`` (``original``:
    the model's own answers, when already known)."""
    y = np.asarray(y if y is not None else np.full(len(X), -1))
    if original is None:
        original = _predict(net, X, outputs=outputs, batch_size=batch_size)
    recon = factorisation.reconstruct(S, P)
    point = _fidelity_point(P.shape[0], y, original,
                            _predict(net, X, layer=layer, recon=recon, outputs=outputs, batch_size=batch_size),
                            factorisation.explained_variance(acts, S, P))
    if floor:
        point |= _random_floor(net, X, y, acts, P.shape[0], layer=layer, original=original, outputs=outputs,
                               random_state=random_state, batch_size=batch_size)
    return point


def _outputs(model, classes: Sequence[str] | None, contrast: bool) -> list[int] | None:
    """The logits the two-class mode compares (indices into the model's classes), or None for all of them."""
    if not contrast:
        return None
    names = tuple(getattr(model, "classes", ()))
    if classes is None or len(classes) != 2 or len(set(classes)) != 2:
        raise ParameterError(f"The two-class mode needs exactly two different classes, got "
                             f"{', '.join(classes) if classes else 'none'}.")
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise ParameterError(f"There is no class '{unknown[0]}'; the classes are {', '.join(names)}.")
    return [names.index(c) for c in classes]


def fidelity(X: np.ndarray, model, *, discovery: Discovery, y=None, layer: str | None = None,
             outputs: Sequence[int] | None = None, floor: bool = False, batch_size: int = 128) -> dict:
    """How much of the model's accuracy survives when the layer is replaced by its K-concept reconstruction.

    The layer's output for each excerpt is replaced (by a forward hook) with ``sum_k S[n, k] * p_k``, the
    reconstruction from the concepts alone, and the rest of the network runs as usual. On the excerpts the
    concepts were found in, S is the factorisation's own presence maps; on other excerpts, it is their
    projection on the fixed concepts (:func:`project`: NMF's per position, NTD's through its core).

    Parameters
    ----------
    X : np.ndarray
        Piano rolls (N, 2, 88, 64).
    model
        The model the concepts were found in.
    discovery : Discovery
        The concepts.
    y : array of int, optional
        Class of each excerpt (index into the model's classes; -1 unknown).
    layer : str, optional
        Must be the discovery's layer (the default).
    outputs : sequence of int, optional
        Judge the answer by these logits only (the two-class mode).
    floor : bool
        Also measure what K random concepts give (``random_accuracy``, ``random_agreement``).
    batch_size : int

    Returns
    -------
    dict
        ``n_concepts``; ``accuracy`` (with the reconstruction) and ``original_accuracy`` (without) on the
        labelled excerpts; ``retained`` (their ratio); ``agreement`` (share of excerpts whose predicted class
        is unchanged); ``explained_variance`` of the reconstruction on these excerpts; ``n_excerpts``;
        ``chance_accuracy`` and ``chance_agreement`` (a constant answer's), and with ``floor`` the random ones.
    """
    net = _net(model)
    X = np.asarray(X, dtype=np.float32)
    layer = layer or discovery.layer
    if discovery.layer != layer:
        raise ParameterError(f"These concepts were found at layer '{discovery.layer}', not '{layer}'.")
    shape = _layer_shape(net, layer, X.shape[1:])
    acts, _ = _layer_data(net, X, layer, shape, grads=False, batch_size=batch_size)
    if discovery.data_sha256 and _array_hash(X) == discovery.data_sha256:
        S = discovery.presence_
    else:
        S = project(acts, discovery)
    return _measure(net, X, y, acts, S, discovery.components_, layer=layer, outputs=outputs, floor=floor,
                    random_state=discovery.random_state, batch_size=batch_size)


def finite_difference(X: np.ndarray, model, *, discovery: Discovery, classes: Sequence[str] | None = None,
                      eps: float = 1e-4, batch_size: int = 64) -> np.ndarray:
    """The paper's estimate of importance: a central finite difference of class logits along each concept.

    For each excerpt and concept k, the layer's output is shifted by ``+eps * p_k`` and by ``-eps * p_k`` at
    every position (a forward hook), and ``(logit(+) - logit(-)) / (2 eps)`` is averaged over the excerpts, as
    Foscarin et al. (2022) do. :func:`discover` computes the same derivative exactly by back-propagation; this
    is the check that both agree (up to float32 rounding and ReLU kinks within ``eps``).

    Returns
    -------
    np.ndarray
        (len(classes), K): rows in the order of ``classes`` (default: the discovery's ``pair_``, else all).
    """
    net = _net(model)
    names = tuple(discovery.classes)
    classes = tuple(classes or discovery.pair_ or names)
    cols = [names.index(c) for c in classes]
    module = dict(net.named_modules())[discovery.layer]
    shift: dict[str, torch.Tensor] = {}

    def hook(_m, _inp, out):
        return out + shift["d"].to(dtype=out.dtype).reshape(1, -1, *([1] * (out.dim() - 2)))

    X = np.asarray(X, dtype=np.float32)
    total = np.zeros((len(cols), discovery.n_concepts))
    handle = module.register_forward_hook(hook)
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode():
            for i in range(0, len(X), batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(X[i : i + batch_size]))
                for k, p in enumerate(discovery.components_):
                    d = torch.from_numpy(np.asarray(p, dtype=np.float32) * float(eps))
                    shift["d"] = d
                    up = net(xb)[:, cols].double()
                    shift["d"] = -d
                    down = net(xb)[:, cols].double()
                    total[:, k] += ((up - down) / (2.0 * float(eps))).sum(dim=0).numpy()
    finally:
        handle.remove()
        net.train(was_training)
    return total / max(len(X), 1)


def _curve_ks(ks, shape, n: int) -> list[int]:
    if ks is None:
        ks = [k for k in DEFAULT_KS if k <= shape[0] and MIN_PER_CONCEPT * k <= n]
    return sorted({int(k) for k in ks})


def fidelity_curve(
    X: np.ndarray,
    model,
    *,
    y=None,
    layer: str,
    method: str = "nmf",
    ks: Sequence[int] | None = None,
    random_state: int = 0,
    max_iter: int = 400,
    tol: float = 1e-4,
    excerpt_rank: int = 0,
    heldout_X: np.ndarray | None = None,
    heldout_y=None,
    outputs: Sequence[int] | None = None,
    batch_size: int = 128,
    progress: Progress | None = None,
) -> list[dict]:
    """:func:`fidelity` of a fresh factorisation for each K in ``ks``: how many concepts the layer needs.

    The layer's maps are read once; each K is factorised on ``X`` with the same method, seed and options. With
    ``heldout_X`` (excerpts of other pieces), each point also holds, under ``'heldout'``, the fidelity on them
    (projected on that K's concepts) and what K random concepts give there: in-sample and held-out curves side
    by side. Without ``ks``, :data:`DEFAULT_KS` up to the layer's channels and half the excerpts.
    """
    report = progress or no_progress
    net = _net(model)
    X = np.asarray(X, dtype=np.float32)
    shape = _layer_shape(net, layer, X.shape[1:])
    ks = _curve_ks(ks, shape, len(X))
    for k in ks:
        DiscoveryOptions(method=method, n_concepts=k, max_iter=max_iter, tol=tol, excerpt_rank=excerpt_rank)
        if k > shape[0]:
            raise ParameterError(f"K = {k} is more than the {shape[0]} channels of layer '{layer}'.")
    _check_inputs(X, max(ks) if ks else 1)
    acts, _ = _layer_data(net, X, layer, shape, grads=False, batch_size=batch_size,
                          progress=lambda f, m: report(0.1 * f, m))
    original = _predict(net, X, outputs=outputs, batch_size=batch_size)
    held = None
    if heldout_X is not None and len(heldout_X):
        hX = np.asarray(heldout_X, dtype=np.float32)
        held = (hX, heldout_y, _layer_data(net, hX, layer, shape, grads=False, batch_size=batch_size)[0],
                _predict(net, hX, outputs=outputs, batch_size=batch_size))
    out = []
    for j, k in enumerate(ks):
        lo, hi = 0.1 + 0.9 * j / len(ks), 0.1 + 0.9 * (j + 1) / len(ks)
        t0 = time.perf_counter()
        P, S, _, core, factors = factorisation.factorise(
            acts, k, method=method, max_iter=max_iter, tol=tol, excerpt_rank=excerpt_rank, random_state=random_state,
            progress=lambda f, m, lo=lo, hi=hi, k=k: report(lo + (hi - lo) * f, f"K = {k}: {m}"))
        point = _measure(net, X, y, acts, S, P, layer=layer, outputs=outputs, original=original,
                         batch_size=batch_size)
        if held is not None:
            hS = (factorisation.ntd_project(held[2], core, factors)[1] if core is not None
                  else factorisation.nmf_project(held[2], P))
            point["heldout"] = _measure(net, held[0], held[1], held[2], hS, P, layer=layer, outputs=outputs,
                                        floor=True, random_state=random_state, original=held[3],
                                        batch_size=batch_size)
        point["seconds"] = round(time.perf_counter() - t0, 3)
        out.append(point)
    report(1.0, "Done")
    return out


# --------------------------------------------------------------------------------------------------------------
# Duplicates and class detectors
# --------------------------------------------------------------------------------------------------------------


def flags(discovery: Discovery, *, n_top: int = 20, duplicate_cosine: float = DUPLICATE_COSINE,
          detector_share: float = DETECTOR_SHARE) -> list[dict]:
    """Per concept, what makes it suspect: a near-duplicate of another concept, or a mere class detector.

    Two concepts are **near-duplicates** when the cosine of their directions exceeds ``duplicate_cosine`` (both
    are non-negative, so the cosine is in [0, 1]); the factorisation then split one pattern in two. A concept is
    a **class detector** when more than ``detector_share`` of its ``n_top`` most present excerpts come from
    one class: it re-finds a label instead of a pattern shared across classes (the shipped set has equal
    classes, so one class's share is 1/6 by chance).

    Returns
    -------
    list of dict
        Per concept: ``duplicates`` (0-based indices of the concepts it nearly duplicates), ``max_cosine`` (with
        any other concept), ``top_class`` and ``top_class_share`` (among its top excerpts, labelled ones only),
        ``class_detector`` (bool) and ``notes`` (plain sentences, empty when nothing is suspect).
    """
    P = np.asarray(discovery.components_, dtype=np.float64)
    unit = P / np.maximum(np.linalg.norm(P, axis=1, keepdims=True), 1e-12)
    cos = unit @ unit.T
    np.fill_diagonal(cos, -np.inf)
    out = []
    for k in range(discovery.n_concepts):
        dup = [int(j) for j in np.flatnonzero(cos[k] > duplicate_cosine)]
        top = [r["class"] for r in top_excerpts(discovery, k, n=n_top) if r["class"] is not None]
        counts = collections.Counter(top).most_common(1)
        cls, share = (counts[0][0], counts[0][1] / len(top)) if counts else (None, 0.0)
        detector = bool(top) and share > detector_share
        notes = [f"near-duplicate of {', '.join(concept_label(j) for j in dup)} (cosine "
                 f"{max(cos[k, j] for j in dup):.2f})"] if dup else []
        if detector:
            notes.append(f"class detector: {share:.0%} of its top {len(top)} excerpts are {cls}")
        out.append({"duplicates": dup, "max_cosine": round(float(cos[k].max()), 4) if discovery.n_concepts > 1
                    else None, "top_class": cls, "top_class_share": round(float(share), 4),
                    "class_detector": detector, "notes": notes})
    return out


# --------------------------------------------------------------------------------------------------------------
# Reading a concept: its excerpts, its region, its map on the roll
# --------------------------------------------------------------------------------------------------------------


def _check_concept(discovery: Discovery, concept: int) -> int:
    if isinstance(concept, bool) or not isinstance(concept, (int, np.integer)) or not 0 <= concept < discovery.n_concepts:
        raise ParameterError(
            f"The 'concept' parameter must be an int in [0, {discovery.n_concepts - 1}], got {concept!r}."
        )
    return int(concept)


def top_excerpts(
    discovery: Discovery,
    concept: int,
    *,
    n: int = 8,
    least: bool = False,
    classes: Sequence[str] | None = None,
    composers: Sequence[str] | None = None,
    excerpts: ExcerptSet | None = None,
) -> list[dict]:
    """The excerpts where a concept is most present (or, with ``least``, least present).

    Presence is the mean of the concept's presence map over the excerpt (as ICE ranks). Among equally
    (un)present excerpts, the order is a fixed shuffle (seeded by the result's seed), so the least present
    are not simply the first excerpts of the set.

    Parameters
    ----------
    discovery : Discovery
    concept : int
        Concept index, 0 to K-1.
    n : int
        How many.
    least : bool
        The least present instead of the most.
    classes, composers : sequence of str, optional
        Keep only excerpts of these classes / composers (composers need ``excerpts``).
    excerpts : ExcerptSet, optional
        The set the result was computed on; adds piece, bars, composer to each row.

    Returns
    -------
    list of dict
        ``row`` (in the result), ``excerpt`` (in the set), ``score``, ``class``, and with ``excerpts``:
        ``piece``, ``start_bar``, ``end_bar``, ``composer``, ``citation``.
    """
    k = _check_concept(discovery, concept)
    score = discovery.scores_[:, k]
    keep = np.ones(discovery.n_excerpts, dtype=bool)
    if classes is not None:
        unknown = sorted(set(classes) - set(discovery.classes))
        if unknown:
            raise ParameterError(f"There is no class '{unknown[0]}'; the classes are {', '.join(discovery.classes)}.")
        wanted = [discovery.classes.index(c) for c in classes]
        keep &= np.isin(discovery.labels_, wanted)
    if composers is not None:
        if excerpts is None:
            raise ParameterError("Filtering by composer needs the excerpt set ('excerpts').")
        comp = np.asarray(excerpts.composers)[discovery.excerpt_index_]
        keep &= np.isin(comp, list(composers))
    rows = np.flatnonzero(keep)
    tie = np.random.default_rng(discovery.random_state).permutation(discovery.n_excerpts)[rows]
    s = score[rows]
    order = np.lexsort((tie, s)) if least else np.lexsort((tie, -s))
    out = []
    for r in rows[order[: max(int(n), 0)]]:
        lab = int(discovery.labels_[r])
        rec = {"row": int(r), "excerpt": int(discovery.excerpt_index_[r]), "score": round(float(score[r]), 6),
               "class": discovery.classes[lab] if lab >= 0 else None}
        if excerpts is not None:
            i = rec["excerpt"]
            rec |= {"piece": excerpts.piece_ids[i], "start_bar": int(excerpts.start_bar[i]),
                    "end_bar": int(excerpts.end_bar[i]), "composer": excerpts.composers[i],
                    "citation": excerpts.citation(i)}
        out.append(rec)
    return out


@dataclass(frozen=True, eq=False)
class PiecePresence:
    """Where a discovery's concepts sit in one piece: its bar-aligned windows and each concept's presence map.

    ``presence`` is (windows, K, pitch cells, time cells) on the layer's grid, the projection of the windows'
    maps on the fixed concepts (:func:`project`, as :func:`fidelity` does for new excerpts); ``strength`` is its
    peak per window and concept, on the same scale as the shipped excerpts' ``presence_``.
    """

    piece: music.Piece
    windows: tuple[music.Window, ...]
    presence: np.ndarray

    @property
    def strength(self) -> np.ndarray:
        """(windows, K): each concept's peak presence in each window; 0 for silent windows."""
        if self.presence.size == 0:
            return np.zeros((len(self.windows), self.presence.shape[1] if self.presence.ndim > 1 else 0))
        return self.presence.max(axis=(2, 3))

    def strongest(self, concept: int) -> int:
        """Index of the sounding window where ``concept`` is strongest."""
        s = self.strength[:, int(concept)].copy()
        s[[w.n_notes == 0 for w in self.windows]] = -np.inf
        return int(np.argmax(s))


def in_piece(piece: music.Piece, model, *, discovery: Discovery, hop: float = music.HOP_QUARTERS,
             batch_size: int = 64) -> PiecePresence:
    """Find a discovery's concepts in any piece (an upload, an example, a transcribed recording).

    The piece is cut into the model's bar-aligned windows, run to the discovery's layer, and each window's
    maps are projected on the fixed concepts (:func:`project`: NMF's per position, NTD's through its core).
    Raises InputError for a piece without notes and ParameterError for a model whose layer differs from the
    discovery's.
    """
    if piece.n_notes == 0:
        raise InputError("This piece has no notes, so there is nothing to look for concepts in.")
    net = _net(model)
    if discovery.layer not in getattr(model, "layers", (discovery.layer,)):
        raise ParameterError(f"These concepts were found at layer '{discovery.layer}', which this model does not "
                             f"have.")
    if music.input_spec(model).grid == "seconds":  # a model that reads seconds: its own windows
        wins, X = music.encode_for(piece, model)
    else:
        wins, X = music.encode(piece, length=float(discovery.params.get("window_quarters", music.WINDOW_QUARTERS)),
                               hop=hop)
    X = np.ascontiguousarray(X, dtype=np.float32)
    shape = _layer_shape(net, discovery.layer, X.shape[1:])
    acts, _ = _layer_data(net, X, discovery.layer, shape, grads=False, batch_size=batch_size)
    if acts.shape[1] != discovery.components_.shape[1]:
        raise ParameterError(f"These concepts were found in a layer with {discovery.components_.shape[1]} channels; "
                             f"this model's '{discovery.layer}' has {acts.shape[1]}.")
    S = project(acts, discovery)
    silent = np.array([w.n_notes == 0 for w in wins])
    S[silent] = 0.0
    return PiecePresence(piece=piece, windows=tuple(wins), presence=S)


def concept_region(
    discovery: Discovery, row: int, concept: int, *, threshold: float = 0.75, excerpts: ExcerptSet | None = None
) -> dict:
    """The part of an excerpt where a concept is strongest: the span to listen to.

    The concept's presence over time (its map's maximum over pitch) is cut at ``threshold`` times its peak;
    the span runs from the first to the last time step above it. With ``excerpts``, the span is widened to
    whole bars of the excerpt, so it can be played and cited by bar number.

    Returns
    -------
    dict
        ``start_beat``, ``end_beat`` (quarters from the excerpt's start), ``profile`` (presence per time step)
        and, with ``excerpts``, ``start_bar`` and ``end_bar``.
    """
    k = _check_concept(discovery, concept)
    length = float(discovery.params.get("window_quarters", music.WINDOW_QUARTERS))
    prof = discovery.presence_[int(row), k].max(axis=0)  # over pitch
    w = prof.size
    step = length / w
    if prof.max() <= 0:
        start, end = 0.0, length
    else:
        above = np.flatnonzero(prof >= threshold * prof.max())
        start, end = above[0] * step, (above[-1] + 1) * step
    out = {"start_beat": float(start), "end_beat": float(end), "profile": [round(float(v), 4) for v in prof]}
    if excerpts is not None:
        i = int(discovery.excerpt_index_[int(row)])
        piece = excerpts.piece(i)
        bars = piece.bar_starts
        s = float(bars[bars <= start + 1e-9].max()) if np.any(bars <= start + 1e-9) else 0.0
        later = bars[bars >= end - 1e-9]
        e = float(later.min()) if later.size else length
        e = min(max(e, s + step), length)
        out |= {"start_beat": s, "end_beat": e, "start_bar": piece.bar_at(s), "end_bar": piece.bar_at(e - 1e-6)}
    return out


def upsample(maps: np.ndarray, shape: tuple[int, int] = (music.N_PITCHES, 64)) -> np.ndarray:
    """Presence maps (..., pitch, time) resized to the piano roll's grid (bilinear, as the layer's cells centre)."""
    maps = np.asarray(maps, dtype=np.float32)
    lead = maps.shape[:-2]
    t = torch.from_numpy(np.ascontiguousarray(maps.reshape(-1, 1, *maps.shape[-2:])))
    up = torch.nn.functional.interpolate(t, size=tuple(shape), mode="bilinear", align_corners=False)
    return np.clip(up.numpy().reshape(*lead, *shape), 0.0, None)


# --------------------------------------------------------------------------------------------------------------
# Cache and precomputed results
# --------------------------------------------------------------------------------------------------------------

STATUS = {
    "shipped": "Precomputed results that ship with the app, made with this model's weights.",
    "cached": "Loaded from your results cache.",
    "computed": "Computed now and kept in your results cache.",
    "computed-unsaved": "Computed now; your results cache could not be written, so it will be computed again "
                        "next time.",
    "recomputed": "Recomputed because the model changed: the stored results were made with other weights, so "
                  "they were not shown.",
    "stale": "Stored results for these settings were made by another version of the model (other weights), so "
             "they are not shown; run the factorisation again.",
    "missing": "Not computed yet for these settings.",
}


def status_message(status: str) -> str:
    """A plain sentence for a status of :func:`cached`."""
    return STATUS.get(status, status)


def cache_dir() -> Path:
    """Where computed results are kept: ``$MUSICXAI_CACHE/discovery`` (default ``~/.cache/musicxai``)."""
    return Path(os.environ.get("MUSICXAI_CACHE", Path.home() / ".cache" / "musicxai")) / "discovery"


def _stem(model_name: str, layer: str, method: str, K: int, seed: int, classes, excerpts_sha: str, *,
          holdout: float = HOLDOUT, contrast: bool = False) -> str:
    """The file stem of a stored result; the default hold-out adds nothing, so the shipped names stay as they were."""
    subset = "all" if not classes else "_vs_".join(classes) if contrast else "+".join(sorted(classes))
    held = "" if float(holdout) == HOLDOUT else f"_ho{round(float(holdout) * 100)}"
    raw = f"{model_name}_{layer}_{method}_k{K}_seed{seed}_{subset}{held}_{excerpts_sha[:12]}"
    return "".join(ch if ch.isalnum() or ch in "-_+." else "_" for ch in raw)


def _model_labels(excerpts: ExcerptSet, rows: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """The excerpts' classes as indices into the model's classes (-1 where the model has no such class)."""
    lookup = {c: i for i, c in enumerate(classes)}
    return np.array([lookup.get(excerpts.classes[int(k)], -1) for k in excerpts.labels[rows]], dtype=np.int64)


def _data_first(excerpts, model) -> tuple[ExcerptSet, object]:
    """(excerpts, model), also from a caller still on the old model-first order (warned, then accepted)."""
    if isinstance(model, ExcerptSet) and not isinstance(excerpts, ExcerptSet):
        warnings.warn("discovery.cached takes the excerpts first and the model second.", DeprecationWarning,
                      stacklevel=3)
        return model, excerpts
    return excerpts, model


def _lookup(excerpts: ExcerptSet, model, stem: str, opts: DiscoveryOptions, *, shipped, curve: bool):
    """A usable stored result and where it was found, else (None, None); and whether one was stale."""
    stale = False
    for where, folder in (("cached", cache_dir()), ("shipped", shipped)):
        found = Discovery.load(folder, stem) if folder is not None else None
        if found is None:
            continue
        if found.weights_sha256 != getattr(model, "weights_sha256", "") or found.excerpts_sha256 != excerpts.sha256:
            stale = True
            continue
        legacy = "holdout" not in found.params  # made before held-out fidelity existed: shown, marked unmeasured
        if (not legacy and float(found.params["holdout"]) != opts.holdout) or \
                bool(found.params.get("contrast", False)) != opts.contrast:
            continue  # made under other settings: compute it anew
        if curve and not found.fidelity_curve_:
            continue  # asked for the curve, which this one lacks: compute it below
        return found, where, stale
    return None, None, stale


def _with_heldout(disc: Discovery, rows: np.ndarray, held_rows: np.ndarray, S_held: np.ndarray,
                  W_held: np.ndarray | None, labels: np.ndarray, data_sha256: str) -> Discovery:
    """The discovery over every row of ``rows``: fitted excerpts as factorised, held-out ones projected."""
    is_held = np.isin(rows, held_rows)
    presence = np.empty((len(rows), *disc.presence_.shape[1:]), dtype=np.float32)
    presence[~is_held], presence[is_held] = disc.presence_, S_held
    factors = disc.factors_
    if disc.core_ is not None and W_held is not None:
        excerpt_factor = np.empty((len(rows), factors[0].shape[1]), dtype=np.float32)
        excerpt_factor[~is_held], excerpt_factor[is_held] = factors[0], W_held
        factors = (excerpt_factor, *factors[1:])
    return replace(disc, presence_=presence, labels_=labels, excerpt_index_=np.asarray(rows, dtype=np.int64),
                   heldout_=is_held, factors_=factors, data_sha256=data_sha256)


def _split(excerpts: ExcerptSet, rows: np.ndarray, opts: DiscoveryOptions, random_state: int) -> tuple:
    """Fit and held-out rows; everything is fitted when holding pieces out would leave too few excerpts.

    A set that names its held-out pieces (``meta['heldout_pieces']``: the piano set's works the model never saw)
    holds out exactly those whenever ``holdout`` > 0; another set holds out that share of each class's pieces.
    """
    named = excerpts.meta.get("heldout_pieces")
    if named and opts.holdout > 0:
        held = np.isin(np.asarray(excerpts.piece_ids, dtype=object)[rows], list(named))
        fit_rows, held_rows = rows[~held], rows[held]
    else:
        fit_rows, held_rows = split_by_piece(excerpts, rows, holdout=opts.holdout, random_state=random_state)
    if len(fit_rows) < max(MIN_EXCERPTS, MIN_PER_CONCEPT * opts.n_concepts) or len(held_rows) == 0:
        return rows, rows[:0]
    return fit_rows, held_rows


def _compute(excerpts: ExcerptSet, model, *, layer: str, opts: DiscoveryOptions, random_state: int, classes,
             curve: bool, ks, extra: dict, report: Progress) -> Discovery:
    """Factorise the fitted pieces' excerpts, project the held-out ones, and measure fidelity on both."""
    net, names = _net(model), tuple(getattr(model, "classes", excerpts.classes))
    outputs = _outputs(model, classes, opts.contrast)
    rows = excerpts.rows(classes=classes)
    fit_rows, held_rows = _split(excerpts, rows, opts, random_state)
    X, y = excerpts.rolls(fit_rows), _model_labels(excerpts, fit_rows, names)
    share = 0.45 if curve else 0.85
    fit_opts = {"max_iter": opts.max_iter, "tol": opts.tol, "excerpt_rank": opts.excerpt_rank} | extra
    disc = discover(X, model, y=y, layer=layer, n_concepts=opts.n_concepts, method=opts.method,
                    random_state=random_state, excerpt_index=fit_rows, excerpts_sha256=excerpts.sha256,
                    pair=tuple(classes) if opts.contrast else None, progress=lambda f, m: report(share * f, m),
                    **fit_opts)
    report(share, "Measuring fidelity…")
    fid = fidelity(X, model, discovery=disc, y=y, outputs=outputs)
    held_fid, hX, hy = None, None, None
    if len(held_rows):
        report(share + 0.03, f"Projecting the {len(held_rows)} held-out excerpts…")
        hX, hy = excerpts.rolls(held_rows), _model_labels(excerpts, held_rows, names)
        acts, _ = _layer_data(net, hX, layer, tuple(disc.params["layer_shape"]), grads=False)
        W = None
        if disc.core_ is not None:
            W, S = factorisation.ntd_project(acts, disc.core_, disc.factors_)
        else:
            S = factorisation.nmf_project(acts, disc.components_)
        held_fid = _measure(net, hX, hy, acts, S, disc.components_, layer=layer, outputs=outputs, floor=True,
                            random_state=random_state)
        disc = _with_heldout(disc, rows, held_rows, S, W, _model_labels(excerpts, rows, names),
                             _array_hash(excerpts.rolls(rows)))
    points = _curve(X, y, hX, hy, model, disc, opts, random_state=random_state, ks=ks, outputs=outputs,
                    report=lambda f, m: report(share + 0.05 + (0.95 - share) * f, m)) if curve else []
    params = disc.params | {
        "classes_used": list(classes) if classes else "all", "holdout": opts.holdout, "contrast": opts.contrast,
        "n_fitted": len(fit_rows), "n_heldout": len(held_rows),
        "heldout_pieces": len(set(np.asarray(excerpts.piece_ids, dtype=object)[held_rows].tolist())),
        "options": opts.to_dict() | ({"ntd_solver": extra.get("ntd_solver", "hals")} if opts.method == "ntd" else {}),
    }
    return replace(disc, fidelity_=fid, fidelity_curve_=tuple(points), heldout_fidelity_=held_fid, params=params)


def _curve(X, y, hX, hy, model, disc: Discovery, opts: DiscoveryOptions, *, random_state: int, ks, outputs,
           report: Progress) -> list[dict]:
    """The fidelity curve for the other K (in-sample, and held out when excerpts were held out)."""
    shape = disc.params["layer_shape"]
    others = [k for k in (ks or DEFAULT_KS) if k != opts.n_concepts]
    others = [k for k in others if k <= shape[0] and MIN_PER_CONCEPT * k <= len(X)]
    if not others:
        return []
    return fidelity_curve(X, model, y=y, layer=disc.layer, method=opts.method, ks=others, random_state=random_state,
                          max_iter=opts.max_iter, tol=opts.tol, excerpt_rank=opts.excerpt_rank, heldout_X=hX,
                          heldout_y=hy, outputs=outputs, progress=report)


def cached(
    excerpts: ExcerptSet,
    model,
    *,
    layer: str,
    method: str = "nmf",
    n_concepts: int = 8,
    random_state: int = 0,
    classes: Sequence[str] | None = None,
    curve: bool = False,
    ks: Sequence[int] | None = None,
    compute: bool = True,
    shipped: str | os.PathLike | None = ASSETS,
    pair: Sequence[str] | None = None,
    progress: Progress | None = None,
    **options,
) -> tuple[Discovery | None, str]:
    """A discovery over an excerpt set: from the user's cache, else the shipped results, else computed.

    A stored result counts only if it was made with this model's weights (``weights_sha256``) on this excerpt
    set; one made by other weights is never returned, and is recomputed (status 'recomputed'). A computed
    result is fitted on the excerpts of most pieces and projects those of the others (``holdout``, split by
    piece within each class, seeded by ``random_state``); it comes with :func:`fidelity` at its K on the fitted
    excerpts (``fidelity_``) and on the held-out ones with its chance floors (``heldout_fidelity_``), the
    :func:`fidelity_curve` with ``curve``, and is written to :func:`cache_dir` (never to the shipped folder).

    Parameters
    ----------
    excerpts, model
        The excerpt set and the model.
    layer, method, n_concepts, random_state
        As :func:`discover`; ``random_state`` also seeds the held-out split.
    classes : sequence of str, optional
        Factorise only the excerpts of these classes (None: all).
    pair : (str, str), optional
        The pairwise mode (Foscarin et al. 2022): only the excerpts of these two classes, importance as the
        effect on their two logits, fidelity on which of the two the model prefers. The same as
        ``classes=pair, contrast=True``; the order says which class the difference of logits favours.
    curve : bool
        Also measure fidelity for other K (``ks``, default :data:`DEFAULT_KS`); slower.
    ks : sequence of int, optional
    compute : bool
        With False, only look up (returns ``(None, 'missing' | 'stale')`` when nothing usable is stored).
    shipped : path or None
        Folder of the precomputed results (None: do not look there).
    progress : callable(fraction, message), optional
    **options
        The other :class:`DiscoveryOptions` (``max_iter``, ``tol``, ``excerpt_rank``, ``holdout``, ``contrast``:
        the two-class mode, which needs two ``classes``), and ``ntd_solver``, ``batch_size`` for :func:`discover`.

    Returns
    -------
    (Discovery or None, status)
        status is one of 'cached', 'shipped', 'computed', 'computed-unsaved', 'recomputed', 'stale', 'missing';
        :func:`status_message` turns it into a sentence.
    """
    excerpts, model = _data_first(excerpts, model)
    if pair is not None:
        classes, options = tuple(pair), options | {"contrast": True}
    known = {f.name for f in dataclasses.fields(DiscoveryOptions)}
    opts = DiscoveryOptions(method=method, n_concepts=n_concepts, **{k: v for k, v in options.items() if k in known})
    extra = {k: v for k, v in options.items() if k not in known}
    if opts.contrast:
        _outputs(model, classes, True)  # two classes of the model, said before anything is read
    stem = _stem(str(getattr(model, "name", "model")), layer, method, n_concepts, random_state, classes,
                 excerpts.sha256, holdout=opts.holdout, contrast=opts.contrast)
    found, where, stale = _lookup(excerpts, model, stem, opts, shipped=shipped, curve=curve)
    if found is not None:
        return found, where
    if not compute:
        return None, "stale" if stale else "missing"
    report = progress or no_progress
    disc = _compute(excerpts, model, layer=layer, opts=opts, random_state=random_state, classes=classes,
                    curve=curve, ks=ks, extra=extra, report=report)
    report(1.0, "Done")
    try:
        disc.save(cache_dir(), stem)
    except OSError:
        return disc, "computed-unsaved"
    return disc, "recomputed" if stale else "computed"


def precompute(
    excerpts: ExcerptSet,
    model,
    *,
    configs: Sequence[tuple] = DEFAULT_CONFIGS,
    out: str | os.PathLike = ASSETS,
    random_state: int = 0,
    curve: bool = True,
    ks: Sequence[int] | None = None,
    progress: Callable[[str], None] = print,
) -> list[dict]:
    """Compute (layer, method, K[, pair]) results with their fidelity curves and write them to ``out``.

    This is what ships in ``assets/discovery`` (``python -m xai discover --precompute``), so a fresh install
    browses the default concepts at once; each is fitted on the default share of pieces and measured on the
    held-out rest. A fourth item, two class names, makes that configuration the pairwise mode. ``ks``: the other
    K of the fidelity curve (default :data:`DEFAULT_KS`). Returns one summary per configuration.
    """
    out = Path(out)
    summary = []
    for layer, method, k, *rest in configs:
        pair = tuple(rest[0]) if rest and rest[0] else None
        t0 = time.perf_counter()
        progress(f"{layer} {method} K={k}" + (f" {' vs '.join(pair)}" if pair else "") + "…")
        disc, _ = cached(excerpts, model, layer=layer, method=method, n_concepts=k, random_state=random_state,
                         curve=curve, ks=ks, shipped=None, pair=pair)
        stem = _stem(str(getattr(model, "name", "model")), layer, method, k, random_state, pair, excerpts.sha256,
                     contrast=pair is not None)
        js = disc.save(out, stem)
        size = js.stat().st_size + js.with_suffix(".npz").stat().st_size
        rec = {"layer": layer, "method": method, "n_concepts": k, "pair": list(pair) if pair else None,
               "explained_variance": disc.explained_variance_,
               "fidelity": disc.fidelity_, "heldout_fidelity": disc.heldout_fidelity_,
               "seconds": round(time.perf_counter() - t0, 1),
               "seconds_factorisation": disc.params.get("seconds_factorisation"), "bytes": size,
               "files": [js.name, js.with_suffix(".npz").name]}
        progress(json.dumps(rec))
        summary.append(rec)
    return summary


def identity(discovery: Discovery) -> str:
    """A short identity of a discovery's concepts (layer, method, K and the concept directions themselves), for
    keys of caches that hold what was computed from them."""
    h = hashlib.sha256(np.ascontiguousarray(discovery.components_, dtype=np.float32).tobytes()).hexdigest()[:16]
    return f"{discovery.layer}_{discovery.method}_k{discovery.n_concepts}_{h}"


def layer_channels(model, layer: str) -> int:
    """Channels of a layer of a model: the most concepts a factorisation of it can hold."""
    info = layer_info(_net(model), [layer], input_shape=(2, music.N_PITCHES, 64))
    return int(info[0]["channels"])


def concept_label(k: int) -> str:
    """How concept ``k`` (0-based) is named in the app: 'Concept 1' for k = 0."""
    return f"Concept {int(k) + 1}"
