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

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from xai.concepts import factorise as factorisation
from xai.concepts.excerpts import ASSETS, EXCERPTS_FILE, ExcerptSet, composer_of, load_excerpts
from xai.concepts.factorise import ntd_hals as _ntd_hals  # noqa: F401 - kept for bench/discovery.py
from xai.concepts.layers import layer_activations, layer_info
from xai.concepts.options import METHODS, DiscoveryOptions
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
]

METHOD_NAMES = {"nmf": "NMF", "ntd": "NTD"}
DEFAULT_KS = (1, 2, 4, 6, 8, 12, 16, 24, 32)
DEFAULT_CONFIGS = tuple((layer, method, 8) for layer in ("block3", "block4") for method in METHODS)
MIN_PER_CONCEPT = 2  # excerpts per concept: fewer and a factorisation can give each excerpt its own concept
MIN_EXCERPTS = 8
FORMAT_VERSION = 1
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
        Fidelity of factorisations with other K (same method, layer, excerpts, seed), when measured.
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

    @property
    def n_excerpts(self) -> int:
        """Excerpts the concepts were found in."""
        return int(self.presence_.shape[0])

    @property
    def scores_(self) -> np.ndarray:
        """(N, K): how present each concept is in each excerpt, the mean of its presence map (as ICE ranks)."""
        return self.presence_.mean(axis=(2, 3))

    @property
    def title(self) -> str:
        """A heading: method, K and layer."""
        return f"{METHOD_NAMES.get(self.method, self.method)}, K = {self.n_concepts}, layer {self.layer}"

    def importance(self, concept: int) -> dict[str, float]:
        """{class: importance} of one concept."""
        return {c: float(v) for c, v in zip(self.classes, self.importance_[:, concept])}

    def curve(self) -> list[dict]:
        """The fidelity curve with this result's own K included, sorted by K."""
        points = {int(p["n_concepts"]): p for p in self.fidelity_curve_}
        if self.fidelity_ is not None:
            points[self.n_concepts] = self.fidelity_
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
            "weights_sha256": self.weights_sha256,
            "concepts": [],
        }
        for k in range(self.n_concepts):
            rows = top_excerpts(self, k, n=top, excerpts=excerpts)
            keys = ("piece", "start_bar", "end_bar", "score") if excerpts is not None else ("excerpt", "score")
            out["concepts"].append({
                "id": k + 1,
                "importance": {c: round(v, 6) for c, v in self.importance(k).items()},
                "top_excerpts": [{key: r[key] for key in keys} for r in rows],
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
            if meta.get("format") != "musicxai.discovery" or meta.get("version") != FORMAT_VERSION:
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


def discover(
    model,
    X: np.ndarray,
    *,
    layer: str,
    n_concepts: int,
    method: str = "nmf",
    y=None,
    random_state: int = 0,
    max_iter: int = 400,
    tol: float = 1e-4,
    excerpt_rank: int = 0,
    ntd_solver: str = "hals",
    excerpt_index=None,
    excerpts_sha256: str = "",
    batch_size: int = 64,
    progress: Progress | None = None,
) -> Discovery:
    """Find ``n_concepts`` concepts in a layer's feature maps over the excerpts ``X``.

    The layer's maps of all excerpts are factorised by NMF or NTD (see the module docstring). Each concept's
    **importance** for class c follows ICE's estimate: the change of the class-c logit when one unit of the
    concept (its unit-length direction p_k, added at every pitch x time position of the layer) is added,

        importance[c, k] = mean over the excerpts n of class c of  sum over positions (h, w) of
                           < d logit_c(x_n) / d A[:, h, w],  p_k >

    i.e. the directional derivative of the logit along the concept, computed exactly by back-propagation
    (ICE estimates it by finite differences). Positive: more of the concept, more of the class. With no
    labels, or for a class with no excerpts in ``X``, the mean runs over all excerpts (``importance_basis_``).

    Parameters
    ----------
    model
        A :class:`models.registry.Model` (or anything with ``net``, ``classes`` and ``weights_sha256``).
    X : np.ndarray
        Piano rolls (N, 2, 88, 64); uint8 or float.
    layer : str
        A module name of the network whose output is a non-negative (channels, pitch, time) map, e.g. 'block3'.
    n_concepts : int
        K, from 1 to the layer's channels.
    method : {'nmf', 'ntd'}
    y : array of int, optional
        Class of each excerpt (index into ``model.classes``), for the per-class importance.
    random_state : int
        Seed of the factorisation's start.
    max_iter, tol : int, float
        Iterations and stopping tolerance of the factorisation.
    excerpt_rank : int
        NTD only: rank of the excerpt mode (0: 4 K, at most N).
    ntd_solver : {'hals', 'tensorly'}
        NTD only: our HALS (default) or tensorly's ``non_negative_tucker_hals`` (the reference, slower).
    excerpt_index : array of int, optional
        Row of each excerpt in the :class:`ExcerptSet` it came from (kept with the result).
    excerpts_sha256 : str
        Hash of that set (kept with the result, so a cache can tell sets apart).
    batch_size : int
        Excerpts per forward/backward pass.
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
    if ntd_solver not in ("hals", "tensorly"):
        raise ParameterError(f"The 'ntd_solver' parameter must be one of 'hals', 'tensorly', got {ntd_solver!r}.")
    report = progress or no_progress
    t0 = time.perf_counter()
    net = _net(model)
    X = _check_inputs(X, n_concepts)
    shape = _layer_shape(net, layer, X.shape[1:])
    if n_concepts > shape[0]:
        raise ParameterError(
            f"The 'n_concepts' parameter must be at most the layer's channels: '{layer}' has {shape[0]}, so it "
            f"cannot hold {n_concepts} concepts."
        )
    classes = tuple(getattr(model, "classes", ()))
    Xf = np.asarray(X, dtype=np.float32)
    acts, gsum = _layer_data(net, Xf, layer, shape, grads=True, batch_size=batch_size,
                             progress=lambda f, m: report(0.3 * f, m))
    if not classes:
        classes = tuple(str(c) for c in range(gsum.shape[1]))
    labels = _labels(y, len(Xf), len(classes))
    t_fact = time.perf_counter()
    P, S, info, core, factors = factorisation.factorise(
        acts, n_concepts, method=method, max_iter=max_iter, tol=tol, excerpt_rank=excerpt_rank,
        random_state=random_state, solver=ntd_solver, progress=lambda f, m: report(0.3 + 0.65 * f, m),
    )
    t_fact = time.perf_counter() - t_fact
    report(0.96, "Explained variance and importance…")
    ev = factorisation.explained_variance(acts, S, P)
    proj = np.einsum("ncd,kd->nck", gsum, P)  # (N, classes, K): each logit's derivative along each concept
    importance = np.empty((len(classes), n_concepts))
    basis = []
    for c in range(len(classes)):
        mine = labels == c
        basis.append("class" if mine.any() else "all")
        importance[c] = proj[mine, c].mean(axis=0) if mine.any() else proj[:, c].mean(axis=0)
    report(1.0, "Done")
    return Discovery(
        method=method,
        layer=layer,
        n_concepts=int(n_concepts),
        components_=P,
        presence_=S,
        explained_variance_=float(ev),
        importance_=importance,
        importance_basis_=tuple(basis),
        classes=classes,
        labels_=labels,
        excerpt_index_=np.arange(len(Xf)) if excerpt_index is None else np.asarray(excerpt_index, dtype=np.int64),
        weights_sha256=str(getattr(model, "weights_sha256", "")),
        excerpts_sha256=excerpts_sha256,
        data_sha256=_array_hash(Xf),
        random_state=int(random_state),
        params={
            "model": str(getattr(model, "name", "")),
            "options": opts.to_dict() | ({"ntd_solver": ntd_solver} if method == "ntd" else {}),
            "layer_shape": list(shape),
            "window_quarters": X.shape[-1] / music.STEPS_PER_QUARTER,
            "factorisation": info,
            "seconds_factorisation": round(t_fact, 3),
            "seconds_total": round(time.perf_counter() - t0, 3),
        },
        core_=core,
        factors_=tuple(factors),
    )


# --------------------------------------------------------------------------------------------------------------
# Fidelity
# --------------------------------------------------------------------------------------------------------------


def _predict(net: torch.nn.Module, X: np.ndarray, *, layer: str | None = None, recon: np.ndarray | None = None,
             batch_size: int = 128) -> np.ndarray:
    """Predicted class of each input; with ``recon``, the layer's output is replaced by it (a forward hook)."""
    held: dict[str, torch.Tensor] = {}
    handle = None
    if recon is not None:
        module = dict(net.named_modules())[layer]

        def hook(_m, _inp, out):
            return held["x"].to(dtype=out.dtype).reshape(out.shape)

        handle = module.register_forward_hook(hook)
    was_training = net.training
    net.eval()
    out = []
    try:
        with torch.inference_mode():
            for i in range(0, len(X), batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(X[i : i + batch_size], dtype=np.float32))
                if recon is not None:
                    held["x"] = torch.from_numpy(np.ascontiguousarray(recon[i : i + batch_size]))
                out.append(net(xb).argmax(dim=1).numpy())
    finally:
        if handle is not None:
            handle.remove()
        net.train(was_training)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _fidelity_point(K, y, original, reconstructed, ev) -> dict:
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
    }


def _project(acts: np.ndarray, P: np.ndarray, *, max_iter: int = 400) -> np.ndarray:
    """Presence maps of new maps on fixed concept directions: non-negative least squares at every position."""
    from sklearn.decomposition import non_negative_factorization

    N, C, h, w = acts.shape
    V = acts.transpose(0, 2, 3, 1).reshape(-1, C).astype(np.float64)
    W, _, _ = non_negative_factorization(V, H=P.astype(np.float64), n_components=P.shape[0], update_H=False,
                                         solver="cd", max_iter=max_iter)
    return W.reshape(N, h, w, -1).transpose(0, 3, 1, 2).astype(np.float32)


def fidelity(model, X: np.ndarray, y, *, layer: str, discovery: Discovery, batch_size: int = 128) -> dict:
    """How much of the model's accuracy survives when ``layer`` is replaced by its K-concept reconstruction.

    The layer's output for each excerpt is replaced (by a forward hook) with ``sum_k S[n, k] * p_k``, the
    reconstruction from the concepts alone, and the rest of the network runs as usual. On the excerpts the
    concepts were found in, S is the factorisation's own presence maps; on other excerpts, it is fitted by
    non-negative least squares on the fixed concept directions.

    Returns
    -------
    dict
        ``n_concepts``; ``accuracy`` (with the reconstruction) and ``original_accuracy`` (without) on the
        labelled excerpts; ``retained`` (their ratio); ``agreement`` (share of excerpts whose predicted class
        is unchanged); ``explained_variance`` of the reconstruction on these excerpts; ``n_excerpts``.
    """
    net = _net(model)
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y if y is not None else np.full(len(X), -1))
    if discovery.layer != layer:
        raise ParameterError(f"These concepts were found at layer '{discovery.layer}', not '{layer}'.")
    shape = _layer_shape(net, layer, X.shape[1:])
    acts, _ = _layer_data(net, X, layer, shape, grads=False, batch_size=batch_size)
    if discovery.data_sha256 and _array_hash(X) == discovery.data_sha256:
        S = discovery.presence_
    else:
        S = _project(acts, discovery.components_)
    recon = factorisation.reconstruct(S, discovery.components_)
    ev = factorisation.explained_variance(acts, S, discovery.components_)
    return _fidelity_point(discovery.n_concepts, y, _predict(net, X, batch_size=batch_size),
                           _predict(net, X, layer=layer, recon=recon, batch_size=batch_size), ev)


def fidelity_curve(
    model,
    X: np.ndarray,
    y,
    *,
    layer: str,
    method: str = "nmf",
    ks: Sequence[int] | None = None,
    random_state: int = 0,
    max_iter: int = 400,
    tol: float = 1e-4,
    excerpt_rank: int = 0,
    batch_size: int = 128,
    progress: Progress | None = None,
) -> list[dict]:
    """:func:`fidelity` of a fresh factorisation for each K in ``ks``: how many concepts the layer needs.

    The layer's maps are read once; each K is factorised with the same method, seed and options. Without
    ``ks``, :data:`DEFAULT_KS` up to the layer's channels and half the excerpts.
    """
    report = progress or no_progress
    net = _net(model)
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y if y is not None else np.full(len(X), -1))
    shape = _layer_shape(net, layer, X.shape[1:])
    if ks is None:
        ks = [k for k in DEFAULT_KS if k <= shape[0] and MIN_PER_CONCEPT * k <= len(X)]
    ks = sorted({int(k) for k in ks})
    for k in ks:
        DiscoveryOptions(method=method, n_concepts=k, max_iter=max_iter, tol=tol, excerpt_rank=excerpt_rank)
        if k > shape[0]:
            raise ParameterError(f"K = {k} is more than the {shape[0]} channels of layer '{layer}'.")
    _check_inputs(X, max(ks) if ks else 1)
    acts, _ = _layer_data(net, X, layer, shape, grads=False, batch_size=batch_size,
                          progress=lambda f, m: report(0.1 * f, m))
    original = _predict(net, X, batch_size=batch_size)
    out = []
    for j, k in enumerate(ks):
        lo, hi = 0.1 + 0.9 * j / len(ks), 0.1 + 0.9 * (j + 1) / len(ks)
        t0 = time.perf_counter()
        P, S, _, _, _ = factorisation.factorise(acts, k, method=method, max_iter=max_iter, tol=tol, excerpt_rank=excerpt_rank,
                                   random_state=random_state,
                                   progress=lambda f, m, lo=lo, hi=hi, k=k: report(lo + (hi - lo) * f, f"K = {k}: {m}"))
        point = _fidelity_point(k, y, original, _predict(net, X, layer=layer, recon=factorisation.reconstruct(S, P),
                                                         batch_size=batch_size), factorisation.explained_variance(acts, S, P))
        point["seconds"] = round(time.perf_counter() - t0, 3)
        out.append(point)
    report(1.0, "Done")
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

    ``presence`` is (windows, K, pitch cells, time cells) on the layer's grid, found by non-negative least
    squares on the fixed concept directions (as :func:`fidelity` does for new excerpts); ``strength`` is its
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


def in_piece(model, discovery: Discovery, piece: music.Piece, *, hop: float = music.HOP_QUARTERS,
             batch_size: int = 64) -> PiecePresence:
    """Find a discovery's concepts in any piece (an upload, an example, a transcribed recording).

    The piece is cut into the model's bar-aligned windows, run to the discovery's layer, and each position's
    activation is explained by the fixed concept directions (non-negative least squares). Raises InputError for
    a piece without notes and ParameterError for a model whose layer differs from the discovery's.
    """
    if piece.n_notes == 0:
        raise InputError("This piece has no notes, so there is nothing to look for concepts in.")
    net = _net(model)
    if discovery.layer not in getattr(model, "layers", (discovery.layer,)):
        raise ParameterError(f"These concepts were found at layer '{discovery.layer}', which this model does not "
                             f"have.")
    wins, X = music.encode(piece, length=float(discovery.params.get("window_quarters", music.WINDOW_QUARTERS)),
                           hop=hop)
    X = np.ascontiguousarray(X, dtype=np.float32)
    shape = _layer_shape(net, discovery.layer, X.shape[1:])
    acts, _ = _layer_data(net, X, discovery.layer, shape, grads=False, batch_size=batch_size)
    if acts.shape[1] != discovery.components_.shape[1]:
        raise ParameterError(f"These concepts were found in a layer with {discovery.components_.shape[1]} channels; "
                             f"this model's '{discovery.layer}' has {acts.shape[1]}.")
    S = _project(acts, discovery.components_)
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


def _stem(model_name: str, layer: str, method: str, K: int, seed: int, classes, excerpts_sha: str) -> str:
    subset = "all" if not classes else "+".join(sorted(classes))
    raw = f"{model_name}_{layer}_{method}_k{K}_seed{seed}_{subset}_{excerpts_sha[:12]}"
    return "".join(ch if ch.isalnum() or ch in "-_+." else "_" for ch in raw)


def _model_labels(excerpts: ExcerptSet, rows: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """The excerpts' classes as indices into the model's classes (-1 where the model has no such class)."""
    lookup = {c: i for i, c in enumerate(classes)}
    return np.array([lookup.get(excerpts.classes[int(k)], -1) for k in excerpts.labels[rows]], dtype=np.int64)


def cached(
    model,
    excerpts: ExcerptSet,
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
    progress: Progress | None = None,
    **options,
) -> tuple[Discovery | None, str]:
    """A discovery over an excerpt set: from the user's cache, else the shipped results, else computed.

    A stored result counts only if it was made with this model's weights (``weights_sha256``) on this excerpt
    set; one made by other weights is never returned, and is recomputed (status 'recomputed'). A computed
    result comes with :func:`fidelity` at its K (and the :func:`fidelity_curve` with ``curve``) and is written to
    :func:`cache_dir` (never to the shipped folder).

    Parameters
    ----------
    model, excerpts
        The model and the excerpt set.
    layer, method, n_concepts, random_state
        As :func:`discover`.
    classes : sequence of str, optional
        Factorise only the excerpts of these classes (None: all).
    curve : bool
        Also measure fidelity for other K (``ks``, default :data:`DEFAULT_KS`); slower.
    compute : bool
        With False, only look up (returns ``(None, 'missing' | 'stale')`` when nothing usable is stored).
    shipped : path or None
        Folder of the precomputed results (None: do not look there).
    progress : callable(fraction, message), optional
    **options
        ``max_iter``, ``tol``, ``excerpt_rank`` for :func:`discover`.

    Returns
    -------
    (Discovery or None, status)
        status is one of 'cached', 'shipped', 'computed', 'computed-unsaved', 'recomputed', 'stale', 'missing';
        :func:`status_message` turns it into a sentence.
    """
    known = {f.name for f in dataclasses.fields(DiscoveryOptions)}
    DiscoveryOptions(method=method, n_concepts=n_concepts, **{k: v for k, v in options.items() if k in known})
    name = str(getattr(model, "name", "model"))
    stem = _stem(name, layer, method, n_concepts, random_state, classes, excerpts.sha256)
    stale = False
    for where, folder in (("cached", cache_dir()), ("shipped", shipped)):
        if folder is None:
            continue
        found = Discovery.load(folder, stem)
        if found is None:
            continue
        if found.weights_sha256 != getattr(model, "weights_sha256", "") or found.excerpts_sha256 != excerpts.sha256:
            stale = True
            continue
        if curve and not found.fidelity_curve_:
            continue  # asked for the curve, which this one lacks: compute it below
        return found, where
    if not compute:
        return None, "stale" if stale else "missing"
    report = progress or no_progress
    rows = excerpts.rows(classes=classes)
    X = excerpts.rolls(rows)
    y = _model_labels(excerpts, rows, getattr(model, "classes", excerpts.classes))
    share = 0.45 if curve else 0.9
    disc = discover(model, X, y=y, layer=layer, n_concepts=n_concepts, method=method, random_state=random_state,
                    excerpt_index=rows, excerpts_sha256=excerpts.sha256,
                    progress=lambda f, m: report(share * f, m), **options)
    report(share, "Measuring fidelity…")
    fid = fidelity(model, X, y, layer=layer, discovery=disc)
    points: list[dict] = []
    if curve:
        others = [k for k in (ks or DEFAULT_KS) if k != n_concepts]
        shape = disc.params["layer_shape"]
        others = [k for k in others if k <= shape[0] and MIN_PER_CONCEPT * k <= len(X)]
        if others:
            points = fidelity_curve(model, X, y, layer=layer, method=method, ks=others, random_state=random_state,
                                    progress=lambda f, m: report(share + 0.05 + (0.95 - share) * f, m), **options)
    params = disc.params | {"classes_used": list(classes) if classes else "all"}
    disc = replace(disc, fidelity_=fid, fidelity_curve_=tuple(points), params=params)
    report(1.0, "Done")
    try:
        disc.save(cache_dir(), stem)
    except OSError:
        return disc, "computed-unsaved"
    return disc, "recomputed" if stale else "computed"


def precompute(
    model,
    excerpts: ExcerptSet,
    *,
    configs: Sequence[tuple[str, str, int]] = DEFAULT_CONFIGS,
    out: str | os.PathLike = ASSETS,
    random_state: int = 0,
    curve: bool = True,
    progress: Callable[[str], None] = print,
) -> list[dict]:
    """Compute (layer, method, K) results over all excerpts with their fidelity curves and write them to ``out``.

    This is what ships in ``assets/discovery`` (``python -m xai discover --precompute``), so a fresh install
    browses the default concepts at once. Returns one summary per configuration.
    """
    out = Path(out)
    summary = []
    for layer, method, k in configs:
        t0 = time.perf_counter()
        progress(f"{layer} {method} K={k}…")
        disc, _ = cached(model, excerpts, layer=layer, method=method, n_concepts=k, random_state=random_state,
                         curve=curve, shipped=None)
        stem = _stem(str(getattr(model, "name", "model")), layer, method, k, random_state, None, excerpts.sha256)
        js = disc.save(out, stem)
        size = js.stat().st_size + js.with_suffix(".npz").stat().st_size
        rec = {"layer": layer, "method": method, "n_concepts": k, "explained_variance": disc.explained_variance_,
               "fidelity": disc.fidelity_, "seconds": round(time.perf_counter() - t0, 1),
               "seconds_factorisation": disc.params.get("seconds_factorisation"), "bytes": size,
               "files": [js.name, js.with_suffix(".npz").name]}
        progress(json.dumps(rec))
        summary.append(rec)
    return summary


def concept_label(k: int) -> str:
    """How concept ``k`` (0-based) is named in the app: 'Concept 1' for k = 0."""
    return f"Concept {int(k) + 1}"
