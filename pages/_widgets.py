"""Widgets that several pages share: choosing a piece (a bundled example or an upload), showing figures and scores.

Each takes the page's widget key prefix, so the same widget on two pages keeps two states.
"""

from __future__ import annotations

import streamlit as st

from pages import _cache as cache
from xai import examples, music
from xai import io as xio

PLOT_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"]}


def choose_piece(prefix: str, *, upload_hint: str) -> music.Piece | None:
    """The piece the user picked, a bundled example or their own file (None while nothing is chosen).

    A file that cannot be read raises :class:`~xai.errors.InputError` with the loader's sentence.
    """
    sources = ["An example piece", "Your own file"] if examples.EXAMPLES else ["Your own file"]
    choice = st.radio("Piece", sources, horizontal=True, key=prefix + "source", label_visibility="collapsed")
    if choice == "An example piece":
        name = st.selectbox("Example", list(examples.EXAMPLES), key=prefix + "example")
        info = examples.example_info(name)
        st.caption(f"Held out from training. True style: **{info['class'] or 'unknown'}**. Source: {info['source']}.")
        with st.spinner("Reading the score…"):
            return cache.load_example(name)
    up = st.file_uploader(
        "Upload a score or MIDI file",
        type=[e.lstrip(".") for e in xio.SUPPORTED_EXTENSIONS],
        accept_multiple_files=False,
        key=prefix + "upload",
        help=f"MIDI, MusicXML, ABC or Humdrum, up to {xio.DEFAULT_LIMITS.max_bytes // 1_000_000} MB.",
    )
    if up is None:
        st.info(upload_hint)
        return None
    with st.spinner(f"Reading {up.name}…"):
        return cache.load_upload(up.getvalue(), up.name)


def chart(fig, key: str, **kw):
    """A figure from xai.views exactly as drawn there (the Streamlit theme would restyle its colours)."""
    return st.plotly_chart(fig, key=key, config=PLOT_CONFIG, theme=None, **kw)


def show_svgs(svgs: list[str], *, height: int | None = None) -> None:
    """Score pages as images (st.html would strip the SVG); a long score scrolls inside ``height`` pixels."""
    with st.container(height=height, border=False) if height else st.container():
        for svg in svgs:
            st.image(svg, width="stretch")
