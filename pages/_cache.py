"""The one place with Streamlit caches: loaded models, parsed pieces, predictions, engravings and audio.

Pieces and predictions are not hashable, so every cached function is keyed on plain values (the file's
SHA-256 and name, a model name, bar or beat numbers) and takes the object itself as a leading-underscore
argument, which Streamlit leaves out of the key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from models import registry
from xai import examples, music, predict, score, views
from xai import io as xio


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
    """An uploaded file as a Piece (validated by :func:`xai.io.load_bytes`), cached by content and name."""
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
    """SVG pages of the score of a piece, or of some of its bars (see :func:`xai.score.engrave`)."""
    return score.engrave(_piece, start_bar=start_bar, end_bar=end_bar, max_pages=max_pages, width=width, scale=scale)


@st.cache_data(show_spinner=False, max_entries=64)
def audio(key: str, start: float | None, end: float | None, _piece: music.Piece) -> bytes:
    """WAV bytes (mono, 22.05 kHz) of the piece between two beats, or all of it."""
    return views.listening_wav(music.render_audio(_piece, start, end))
