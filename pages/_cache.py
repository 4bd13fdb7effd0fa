"""Streamlit caches: models, parsed pieces, predictions, engravings, TCAV, discovery, LIME and attack results
(recordings, the label-noise lab and the recommender: :mod:`pages._cache_audio`).

Pieces and predictions are not hashable, so every cached function is keyed on plain values (the file's
bytes or SHA-256 and name, a model name, bar or beat numbers) and takes the object itself as a
leading-underscore argument, which Streamlit leaves out of the key; a recording (Clip) is hashed by its file's
SHA-256. The computing itself is in ``xai``: each function here only decides what is kept and for how long.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from models import registry
from xai import views
from xai.attacks import robustness
from xai.concepts import discovery, tcav
from xai.concepts import library as concepts
from xai.held import Held
from xai.symbolic import corpus, examples, music, predict, score
from xai.symbolic import io as xio

piece_key = music.piece_key  # the cache key of a piece: its file's SHA-256 and name


@st.cache_resource(show_spinner="Loading the model…")
def model(name: str) -> registry.Model:
    """A shipped model, loaded once per server."""
    return registry.load(name)


@st.cache_data(show_spinner=False, max_entries=32)
def load_upload(data: bytes, filename: str) -> music.Piece:
    """An uploaded file as a Piece (validated by :func:`xai.symbolic.io.load_bytes`), cached by content and name."""
    return xio.load_bytes(data, filename)


def load_example(name: str) -> music.Piece:
    """One of the bundled example pieces, through the same loader as an upload, under its real title."""
    piece = load_upload(*examples.example_file(name))
    info = examples.example_info(name)
    if info.get("annotations") is not None:  # an ASAP performance: its bars from its beat annotations
        piece = xio.with_annotations_file(piece, info["annotations"])
    title = info.get("piece_title")
    return dataclasses.replace(piece, title=title) if title and title != piece.title else piece


@st.cache_data(show_spinner=False, max_entries=64)
def classify(key: str, model_name: str, _piece: music.Piece) -> predict.Prediction:
    """The model's prediction for a piece (``key`` from :func:`piece_key`)."""
    return predict.classify(_piece, model(model_name))


@st.cache_data(show_spinner=False, max_entries=64)
def engrave(key: str, start_bar: int | None, end_bar: int | None, _piece: music.Piece, *,
            max_pages: int | None = None, width: int = 2100, scale: int = 35) -> list[str]:
    """SVG pages of the score of a piece, or of some of its bars (see :func:`xai.symbolic.score.engrave`)."""
    return score.engrave(_piece, start_bar=start_bar, end_bar=end_bar, max_pages=max_pages, width=width, scale=scale)


@st.cache_data(show_spinner=False, max_entries=64)
def audio(key: str, start: float | None, end: float | None, _piece: music.Piece) -> bytes:
    """WAV bytes (mono, 22.05 kHz) of the piece between two beats, or all of it."""
    return views.listening_wav(music.render_audio(_piece, start, end))


@st.cache_data(show_spinner=False, max_entries=128)
def example_audio(fingerprint: str, _example: concepts.Example) -> bytes:
    """WAV bytes of a concept example on its own (``fingerprint``: :meth:`~xai.concepts.library.Example.fingerprint`)."""
    return views.listening_wav(music.render_audio(_example.to_piece()))


@st.cache_data(show_spinner=False)
def bundled_sources() -> dict[str, str]:
    """SHA-256 -> name of every bundled example piece, to find the file a concept example was cut from."""
    return examples.by_sha256()


@st.cache_resource(show_spinner="Loading the random excerpts and the class excerpts…")
def tcav_inputs(model_name: str = "composer") -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """A model's shipped random pool, the piece each pool row came from, and the held-out excerpts per class.

    Held once per server and model: the pool alone is some 20 MB, which
    :func:`xai.concepts.library.tcav_sets` copies per call.
    """
    return concepts.tcav_sets(model(model_name))


_TCAV_KEEP = 16  # results kept per server; each holds its CAVs (a few MB at the widest layer)


@st.cache_resource(show_spinner=False)
def _held(name: str, keep: int) -> Held:
    """The server's one :class:`Held` store of each name."""
    return Held(keep)


def tcav_result(key: tuple, compute: Callable[[], Any]) -> tuple[Any, bool]:
    """A TCAV result by its key (concept, targets, layers, options, seed, weights), computed once per server.

    Returns ``(result, was_cached)``. The last :data:`_TCAV_KEEP` results are kept (see :class:`Held`).
    """
    return _held("tcav", _TCAV_KEEP).get_or_compute(key, compute)


@st.cache_data(show_spinner=False, max_entries=32)
def concept_strip(key: str, model_name: str, layer: str, cav_key: str, hop: float, _piece: music.Piece,
                  _cav: np.ndarray) -> tuple[list[music.Window], np.ndarray]:
    """The piece's windows (every ``hop`` quarters; the model's own for one that reads seconds) and each one's
    cosine similarity with a CAV of ``layer``."""
    m = model(model_name)
    wins, X = music.encode(_piece, hop=hop) if music.input_spec(m).grid == "quarters" else music.encode_for(_piece, m)
    return wins, tcav.concept_strip(X, model(model_name).net, cav=_cav, layer=layer)


@st.cache_data(show_spinner=False, max_entries=32)
def concept_baseline(model_name: str, layer: str, cav_key: str, _cav: np.ndarray) -> float:
    """The mean cosine similarity of the random pool's excerpts with a CAV: what 'no concept' looks like."""
    pool, _, _ = tcav_inputs(model_name)
    return float(np.mean(tcav.concept_strip(pool, model(model_name).net, cav=_cav, layer=layer)))


# --- discovered concepts (pages/discover.py) ---------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the excerpts for concept discovery…")
def discovery_excerpts(model_name: str | None = None):
    """A model's shipped excerpt corpus of concept discovery (:func:`xai.concepts.discovery.load_excerpts`), once per
    server."""
    return discovery.load_excerpts(model=model_name)


_DISCOVERY_KEEP = 24  # results held per server; each holds presence maps of a few MB


def discovery_result(key: tuple, find: Callable[[], tuple[Any, str]]) -> tuple[Any, str]:
    """A discovery by its key (model, weights, layer, method, K, classes, seed), held in memory once found.

    ``find`` returns ``(result or None, status)`` (:func:`xai.concepts.discovery.cached`); only found results are held,
    so a result computed later (on this page or by the CLI) is picked up (see :class:`Held`).
    """
    return _held("discovery", _DISCOVERY_KEEP).get_or_find(key, find)


@st.cache_data(show_spinner=False, max_entries=256)
def excerpt_audio(excerpts_sha: str, index: int, start: float | None, end: float | None, _excerpts) -> bytes:
    """WAV bytes (mono, 22.05 kHz) of an excerpt of the discovery set, or of a span of its beats."""
    return views.listening_wav(music.render_audio(_excerpts.piece(index), start, end))


@st.cache_data(show_spinner=False, max_entries=64)
def corpus_bars(piece_id: str, start_bar: int, end_bar: int) -> list[str]:
    """SVG pages of some bars of a music21 corpus piece (parsed and engraved on demand, kept on disk)."""
    return corpus.engrave_bars(piece_id, start_bar, end_bar)


def discovery_forget(key: tuple) -> None:
    """Drop one held discovery (before holding a fuller result under the same key)."""
    _held("discovery", _DISCOVERY_KEEP).pop(key)


@st.cache_data(show_spinner=False)
def discovery_channels(model_name: str, layer: str) -> int:
    """Channels of a layer of a model (the most concepts it can hold)."""
    return discovery.layer_channels(model(model_name), layer)


def discovery_key(disc) -> str:
    """A short identity of a discovery's concepts (layer, method, K and the concept directions themselves)."""
    return discovery.identity(disc)


@st.cache_data(show_spinner="Looking for the concepts in the piece…", max_entries=16)
def concepts_in_piece(piece_key_: str, model_name: str, disc_key: str, _piece: music.Piece, _disc):
    """Where a discovery's concepts sit in a piece (:func:`xai.concepts.discovery.in_piece`)."""
    return discovery.in_piece(_piece, model(model_name), discovery=_disc)


# --- LIME (pages/lime.py) ---------------------------------------------------------------------------------------
_LIME_KEEP = 16


def lime_result(key: tuple, compute: Callable[[], Any]) -> tuple[Any, bool]:
    """A LIME explanation by its key (input hash, model, options), held in memory once computed: (result, cached).

    An error is not held, so the page can show it and try again (see :class:`Held`).
    """
    return _held("lime", _LIME_KEEP).get_or_compute(key, compute)


def lime_peek(key: tuple) -> Any | None:
    """The held explanation for a key, or None (without computing)."""
    return _held("lime", _LIME_KEEP).get(key)


@st.cache_data(show_spinner=False, max_entries=64)
def lime_piece_audio(key: str, ids: tuple[int, ...], keep: bool, _result) -> bytes:
    """WAV bytes of a LIME excerpt with only the segments ``ids`` (keep) or without them (``key``: the result's)."""
    return views.listening_wav(music.render_audio(_result.segment_excerpt(list(ids), keep=keep)))


# --- captum attributions (pages/attribute.py) --------------------------------------------------------------------
_ATTRIBUTION_KEEP = 16


def attribution_result(key: tuple, compute: Callable[[], Any]) -> tuple[Any, bool]:
    """An attribution by its key (input hash, model, class, window, options), held once computed: (result, cached).
    An error or a cancelled run is not held (see :class:`Held`)."""
    return _held("attribution", _ATTRIBUTION_KEEP).get_or_compute(key, compute)


def attribution_peek(key: tuple) -> Any | None:
    """The held attribution for a key, or None (without computing)."""
    return _held("attribution", _ATTRIBUTION_KEEP).get(key)


# --- adversarial attacks (pages/attack.py) -----------------------------------------------------------------------

_ATTACK_KEEP = 16


def attack_result(key: tuple, compute: Callable[[], Any]) -> tuple[Any, bool]:
    """An attack result (waveform, symbolic or one-clip sweep) by its key (input hash, model, options), computed
    once per server. Returns ``(result, was_cached)``; a cancelled run raises and is not held (see :class:`Held`)."""
    return _held("attack", _ATTACK_KEEP).get_or_compute(key, compute)


def attack_cached(key: tuple):
    """The stored attack result for ``key``, or None."""
    return _held("attack", _ATTACK_KEEP).get(key)


@st.cache_data(show_spinner=False, max_entries=4)
def _robustness_study(mtime: float) -> dict | None:
    return robustness.load_shipped()


def robustness_study() -> dict | None:
    """The shipped robustness study (assets/adversarial/robustness.json), or None; reread when the file changes."""
    path = robustness.shipped_path()
    return _robustness_study(path.stat().st_mtime) if path.exists() else None


@st.cache_data(show_spinner=False, max_entries=4)
def _robustness_seeds(mtime: float) -> dict | None:
    return robustness.load_seed_study()


def robustness_seeds() -> dict | None:
    """The shipped study over training seeds (assets/adversarial/robustness_seeds.json), or None."""
    path = robustness.seeds_path()
    return _robustness_seeds(path.stat().st_mtime) if path.exists() else None


@st.cache_data(show_spinner=False, max_entries=64)
def rendered_piece(key: str, _piece: music.Piece) -> bytes:
    """WAV bytes of a whole (edited) piece, keyed by a caller-made key of its notes."""
    return music.render_audio(_piece)
