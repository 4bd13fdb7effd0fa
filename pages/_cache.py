"""The one place with Streamlit caches: models, parsed pieces, predictions, engravings, audio and TCAV results.

Pieces and predictions are not hashable, so every cached function is keyed on plain values (the file's
SHA-256 and name, a model name, bar or beat numbers) and takes the object itself as a leading-underscore
argument, which Streamlit leaves out of the key.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from models import registry
from xai import views
from xai.concepts import library as concepts
from xai.concepts import tcav
from xai.symbolic import examples, music, predict, score
from xai.symbolic import io as xio


def piece_key(piece: music.Piece) -> str:
    """A cache key that names a piece by its file: SHA-256 and name (the name picks the format)."""
    src = piece.source
    if src is None:
        return f"untitled:{id(piece)}"
    return f"{src.sha256}:{src.name}"


@st.cache_resource(show_spinner="Loading the model…")
def model(name: str) -> registry.Model:
    """A shipped model, loaded once per server."""
    return registry.load(name)


@st.cache_data(show_spinner=False, max_entries=32)
def _piece(sha256: str, filename: str, _data: bytes) -> music.Piece:
    return xio.load_bytes(_data, filename)


def load_upload(data: bytes, filename: str) -> music.Piece:
    """An uploaded file as a Piece (validated by :func:`xai.symbolic.io.load_bytes`), cached by content and name."""
    return _piece(hashlib.sha256(data).hexdigest(), filename, data)


def load_example(name: str) -> music.Piece:
    """One of the bundled example pieces, through the same loader as an upload."""
    path: Path = examples.example_path(name)
    data = path.read_bytes()
    return _piece(hashlib.sha256(data).hexdigest(), path.name, data)


@st.cache_data(show_spinner=False, max_entries=64)
def classify(key: str, model_name: str, _piece: music.Piece) -> predict.Prediction:
    """The model's prediction for a piece (``key`` from :func:`piece_key`)."""
    return predict.classify(_piece, model(model_name))


@st.cache_data(show_spinner=False, max_entries=64)
def engrave(
    key: str,
    start_bar: int | None,
    end_bar: int | None,
    _piece: music.Piece,
    *,
    max_pages: int | None = None,
    width: int = 2100,
    scale: int = 35,
) -> list[str]:
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
    return {hashlib.sha256(p.read_bytes()).hexdigest(): name for name, p in examples.EXAMPLES.items()}


@st.cache_resource(show_spinner="Loading the random excerpts and the class excerpts…")
def tcav_inputs() -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """The shipped random pool, the piece each pool row came from, and the held-out excerpts per class.

    Held once per server: the pool alone is some 20 MB, which :func:`xai.concepts.library.random_pool` copies per call.
    """
    return concepts.random_pool(), concepts.random_pool_sources(), concepts.class_examples()


_TCAV_KEEP = 16  # results kept per server; each holds its CAVs (a few MB at the widest layer)


class Held:
    """Results held in memory for the whole server, least recently used dropped past ``keep``.

    For results whose computation feeds an ``st.progress`` bar made outside the call (or can be cancelled),
    which Streamlit's replay of cached elements does not allow, and which need not be copied on every rerun,
    as ``st.cache_data`` would. Thread-safe: sessions run in threads.
    """

    def __init__(self, keep: int):
        self.keep = int(keep)
        self._store: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The held value for ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._store:
                return None
            self._store.move_to_end(key)
            return self._store[key]

    def put(self, key, value) -> None:
        with self._lock:
            self._store[key] = value
            self._store.move_to_end(key)
            while len(self._store) > self.keep:
                self._store.popitem(last=False)

    def pop(self, key) -> None:
        with self._lock:
            self._store.pop(key, None)

    def get_or_compute(self, key, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """``(value, was_held)``: the held value, else ``compute()`` held and returned. An error is not held."""
        with self._lock:
            if key in self._store:
                self._store.move_to_end(key)
                return self._store[key], True
        value = compute()
        self.put(key, value)
        return value, False


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
def concept_strip(
    key: str, model_name: str, layer: str, cav_key: str, hop: float, _piece: music.Piece, _cav: np.ndarray
) -> tuple[list[music.Window], np.ndarray]:
    """The piece's windows (every ``hop`` quarters) and each one's cosine similarity with a CAV of ``layer``."""
    wins, X = music.encode(_piece, hop=hop)
    return wins, tcav.concept_strip(model(model_name).net, X, _cav, layer)


@st.cache_data(show_spinner=False, max_entries=32)
def concept_baseline(model_name: str, layer: str, cav_key: str, _cav: np.ndarray) -> float:
    """The mean cosine similarity of the random pool's excerpts with a CAV: what 'no concept' looks like."""
    pool, _, _ = tcav_inputs()
    return float(np.mean(tcav.concept_strip(model(model_name).net, pool, _cav, layer)))


# --- audio (pages/audio.py) ---------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16)
def _audio_clip(sha256: str, filename: str, _data: bytes):
    from xai.audio import clip as audio

    return audio.load_audio_bytes(_data, filename)


def load_audio_upload(data: bytes, filename: str):
    """An uploaded recording as a Clip (validated by :func:`xai.audio.clip.load_audio_bytes`), cached by content."""
    return _audio_clip(hashlib.sha256(data).hexdigest(), filename, data)


def _clip_key(clip) -> str:
    return clip.source.sha256 if clip.source is not None else f"clip:{id(clip)}"


@st.cache_data(show_spinner="Listening…", max_entries=32)
def _classify_audio(key: str, model_name: str, _clip):
    from xai.audio import predict as audio_predict

    return audio_predict.classify_audio(_clip, model(model_name))


def classify_audio(clip, model_name: str):
    """An audio model's prediction over time for a recording, cached by the file's SHA-256 and the model."""
    return _classify_audio(_clip_key(clip), model_name, clip)


@st.cache_data(show_spinner=False, max_entries=16)
def _audio_spectrogram(key: str, model_name: str, seconds: float, _clip):
    from xai.audio import predict as audio_predict

    return audio_predict.model_spectrogram(_clip, model(model_name), max_seconds=seconds)


def audio_spectrogram(clip, model_name: str, seconds: float):
    """The model's log filter-bank of the first ``seconds`` of a recording."""
    return _audio_spectrogram(_clip_key(clip), model_name, seconds, clip)


@st.cache_data(show_spinner=False)
def audio_filterbanks(model_name: str):
    """(mel bank, the model's learned bank, FFT bin frequencies) for the filter-bank figure."""
    from models import audio_nets

    net = model(model_name).net
    freqs = np.linspace(0, audio_nets.SAMPLE_RATE / 2, audio_nets.N_FFT // 2 + 1)
    return audio_nets.mel_filterbank(), net.front.filters().detach().numpy(), freqs


@st.cache_data(show_spinner="Transcribing with basic-pitch…", max_entries=8)
def _transcription(key: str, _clip):
    from xai.audio import transcribe

    return transcribe.transcribe(_clip)


def transcription(clip):
    """basic-pitch's transcription of a recording as a Piece marked '(transcribed)', cached by the file."""
    return _transcription(_clip_key(clip), clip)


# --- discovered concepts (pages/discover.py) ---------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the excerpts for concept discovery…")
def discovery_excerpts():
    """The shipped excerpt corpus of concept discovery (:func:`xai.concepts.discovery.load_excerpts`), once per server."""
    from xai.concepts import discovery

    return discovery.load_excerpts()


_DISCOVERY_KEEP = 24  # results held per server; each holds presence maps of a few MB


def discovery_result(key: tuple, find: Callable[[], tuple[Any, str]]) -> tuple[Any, str]:
    """A discovery by its key (model, weights, layer, method, K, classes, seed), held in memory once found.

    ``find`` returns ``(result or None, status)`` (:func:`xai.concepts.discovery.cached`); only found results are held,
    so a result computed later (on this page or by the CLI) is picked up (see :class:`Held`).
    """
    store = _held("discovery", _DISCOVERY_KEEP)
    value = store.get(key)
    if value is not None:
        return value
    value = find()
    if value[0] is not None:
        store.put(key, value)
    return value


@st.cache_data(show_spinner=False, max_entries=256)
def excerpt_audio(excerpts_sha: str, index: int, start: float | None, end: float | None, _excerpts) -> bytes:
    """WAV bytes (mono, 22.05 kHz) of an excerpt of the discovery set, or of a span of its beats."""
    return views.listening_wav(music.render_audio(_excerpts.piece(index), start, end))


@st.cache_data(show_spinner=False, max_entries=64)
def corpus_bars(piece_id: str, start_bar: int, end_bar: int) -> list[str]:
    """SVG pages of some bars of a music21 corpus piece (parsed and engraved on demand, kept on disk)."""
    from xai.symbolic import corpus

    return corpus.engrave_bars(piece_id, start_bar, end_bar)


def discovery_forget(key: tuple) -> None:
    """Drop one held discovery (before holding a fuller result under the same key)."""
    _held("discovery", _DISCOVERY_KEEP).pop(key)


@st.cache_data(show_spinner=False)
def discovery_channels(model_name: str, layer: str) -> int:
    """Channels of a layer of a model (the most concepts it can hold)."""
    info = tcav.layer_info(model(model_name).net, [layer], input_shape=(2, music.N_PITCHES, 64))
    return int(info[0]["channels"])


def discovery_key(disc) -> str:
    """A short identity of a discovery's concepts (layer, method, K and the concept directions themselves)."""
    import hashlib

    h = hashlib.sha256(np.ascontiguousarray(disc.components_, dtype=np.float32).tobytes()).hexdigest()[:16]
    return f"{disc.layer}_{disc.method}_k{disc.n_concepts}_{h}"


@st.cache_data(show_spinner="Looking for the concepts in the piece…", max_entries=16)
def concepts_in_piece(piece_key_: str, model_name: str, disc_key: str, _piece: music.Piece, _disc):
    """Where a discovery's concepts sit in a piece (:func:`xai.concepts.discovery.in_piece`)."""
    from xai.concepts import discovery

    return discovery.in_piece(model(model_name), _disc, _piece)


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
    from xai.attacks import robustness as adversarial_study

    return adversarial_study.load_shipped()


def robustness_study() -> dict | None:
    """The shipped robustness study (assets/adversarial/robustness.json), or None; reread when the file changes."""
    path = registry.ASSETS.parent / "adversarial" / "robustness.json"
    return _robustness_study(path.stat().st_mtime) if path.exists() else None


@st.cache_data(show_spinner=False, max_entries=64)
def rendered_piece(key: str, _piece: music.Piece) -> bytes:
    """WAV bytes of a whole (edited) piece, keyed by a caller-made key of its notes."""
    return music.render_audio(_piece)


@st.cache_resource(show_spinner="Loading the label-noise lab's excerpts…")
def label_noise_subset() -> dict:
    """The label-noise lab's shipped training/test excerpts (read-only; shared by every session)."""
    from models.label_noise import load_subset

    return load_subset()


# --- recommender hubness (pages/hubness.py) ----------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the recommender's embeddings…")
def hubness_embedding(name: str):
    """A shipped embedding space with its items' metadata (read-only; shared by every session)."""
    from xai.recommender import embeddings

    return embeddings.load(name)


@st.cache_data(show_spinner="Finding every item's nearest neighbours…", max_entries=16)
def hubness_reports(name: str, k: int) -> list:
    """Hubness and retrieval of embedding ``name`` at ``k`` under every reduction (one shared k-NN graph)."""
    from xai.recommender import hubness

    emb = hubness_embedding(name)
    return hubness.compare(emb.vectors, emb.labels, k)


@st.cache_data(show_spinner="Rendering…", max_entries=128)
def hubness_item_wav(name: str, item: int) -> bytes:
    """WAV bytes of one item of an embedding space (audio clips re-rendered from their score)."""
    from xai.recommender import embeddings

    return embeddings.item_wav(hubness_embedding(name), item)


@st.cache_resource(show_spinner="Preparing the recommender for the attack…", max_entries=4)
def hub_attack_collection(name: str, defence: str):
    """The attack's view of the collection (pairwise distances, k-NN and MP lists) for one defence."""
    from xai.recommender import hub_attack

    return hub_attack.Collection(hubness_embedding(name).vectors, defence=defence)


@st.cache_data(show_spinner=False, max_entries=16)
def hub_attack_demo(name: str, item: int, eps: float, steps: int, _progress=None) -> dict:
    """Attack one song against the undefended and the MP-defended recommender: results and waveforms."""
    import numpy as np

    from xai.recommender import embeddings, hub_attack

    emb = hubness_embedding(name)
    net = model(name).net
    for p in net.parameters():
        p.requires_grad_(False)
    x, exact = embeddings.clip_waveform(emb, item)
    opts = hub_attack.AttackOptions(eps=eps, steps=steps)
    out = {"exact_clip": exact, "original": x, "options": opts}
    for i, d in enumerate(hub_attack.DEFENCES):
        prog = None if _progress is None else (lambda f, m, i=i, d=d: _progress((i + f) / 2, f"defence {d}: {m}"))
        res, adv = hub_attack.attack(net, hub_attack_collection(name, d), [item], x[None], opts, progress=prog,
                                     keep_waveforms=True)
        out[d] = {"result": res[0], "adversarial": np.asarray(adv[0])}
    return out
