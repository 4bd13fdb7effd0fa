"""Classify a piece: which style the model hears, where in the piece, and the excerpts it is surest about.

Input is an uploaded file or a bundled example. Everything slow is cached in ``pages._cache``; every figure
comes from ``xai.views``. Any :class:`~xai.errors.XaiError` (a bad file, a missing model) is shown once as a
plain sentence and the page stays usable for the next upload.
"""

import html
import json
import re

import numpy as np
import pandas as pd
import streamlit as st

from pages import _cache as cache
from pages._nav import require_entrypoint
from pages._share import piece_state, restore_piece, restored_state, share_panel
from pages._widgets import PLOT_CONFIG, choose_piece
from xai import views
from xai.errors import InputError, XaiError
from xai.export import finding as fmod
from xai.export import report

K = "cls_"  # widget key prefix of this page
N_HIGHLIGHT = 3
SCORE_PAGES = 3  # pages of the whole score to engrave; long pieces run to dozens
MAX_LISTEN_SECONDS = 300.0  # the whole-piece player stops after this many seconds


def _reading(pred) -> str:
    """The answer in one or two plain sentences (HTML), with a warning when the model is unsure."""
    p = np.asarray(pred.piece_probabilities)
    order = np.argsort(-p)
    top = html.escape(pred.classes[order[0]])
    text = f"The model hears this as <b><i>{top}</i></b> (p = {p[order[0]]:.2f})."
    if len(order) > 1:
        text += f" Next comes <i>{html.escape(pred.classes[order[1]])}</i> ({p[order[1]]:.2f})."
        if p[order[0]] < 2.0 / len(p) or p[order[0]] - p[order[1]] < 0.1:
            text += " It is <b>unsure</b>: no style stands out clearly."
    return text


def _piece_summary(piece, pred) -> str:
    src = piece.source
    fmt = {"midi": "MIDI", "musicxml": "MusicXML", "abc": "ABC", "humdrum": "Humdrum"}.get(
        src.format if src else "", "unknown format"
    )
    n_bars = len(piece.bar_numbers)
    secs = piece.duration_seconds
    length = f"{int(secs // 60)}:{int(round(secs % 60)):02d}"
    parts = len(piece.part_names)
    return (
        f"{fmt} · {n_bars} bars (bars {piece.bar_numbers.min()}–{piece.bar_numbers.max()}) · {length} min · "
        f"{parts} part{'s' if parts != 1 else ''} · {piece.n_notes:,} notes · {len(pred.windows)} windows"
    )


def _chart(fig, key: str) -> None:
    """A figure from xai.views exactly as drawn there (the Streamlit theme would restyle its colours)."""
    st.plotly_chart(fig, key=K + key, config=PLOT_CONFIG, theme=None)


def _show_svgs(svgs: list[str], *, height: int | None = None) -> None:
    """Score pages as images (st.html would strip the SVG); a long score scrolls inside ``height`` pixels."""
    with st.container(height=height, border=False) if height else st.container():
        for svg in svgs:
            st.image(svg, width="stretch")


def _results(piece, pred) -> None:
    key = cache.piece_key(piece)
    colors = views.class_colors(pred.classes)
    top = pred.label
    st.subheader(piece.title)
    st.caption(_piece_summary(piece, pred))

    left, right = st.columns([2, 3], gap="large")
    with left:
        st.markdown(
            f'<div style="border-left:6px solid {colors[top]};padding-left:10px;font-size:1.15rem">'
            f"{_reading(pred)}</div>",
            unsafe_allow_html=True,
        )
        _chart(views.probability_bars(pred), "bars")
    with right:
        _chart(views.prediction_timeline(pred), "timeline")
        st.caption(
            "Each column is one window of the piece (the excerpt length the model reads; windows overlap by "
            "half). Its colours share out the model's belief among the styles. Grey columns are silent."
        )

    st.markdown("### Where in the piece")
    best = pred.most_confident(N_HIGHLIGHT)
    sounding = [i for i, lab in enumerate(pred.window_labels()) if lab is not None]
    options = best + [i for i in sounding if i not in best]
    if st.session_state.get(K + "pending_window") in options:  # the window a share link names
        st.session_state[K + "window"] = st.session_state.pop(K + "pending_window")
    sel = st.selectbox(
        "Window to hear and read",
        options,
        format_func=lambda i: ("★ " if i in best else "") + views.window_caption(pred, i),
        key=K + "window",
        help="★ marks the windows the model is most confident about (outlined and numbered on the piano roll).",
    )
    _chart(views.piano_roll(piece, prediction=pred, highlight=best, selected=sel), "roll")
    st.caption(
        "Notes by part (darker where a note starts), bar numbers along the top. The bands above the notes are "
        "the model's windows, coloured by the style it hears in each (stronger colour = surer). Outlined and "
        "numbered: its most confident windows; shaded: the window you picked. Drag to select, double-click to "
        "zoom out."
    )

    w = pred.windows[sel]
    listen, read = st.columns([1, 2], gap="large")
    with listen:
        st.markdown(f"**Hear {views.bars_text(w.start_bar, w.end_bar)}**")
        with st.spinner("Synthesising the excerpt…"):
            st.audio(cache.audio(key, w.start_beat, w.end_beat, piece), format="audio/wav")
        st.caption("Played with a General MIDI piano sound, at the file's tempo.")
        whole_audio = st.empty()  # filled last: synthesising a long piece takes seconds
    with read:
        st.markdown(f"**Read {views.bars_text(w.start_bar, w.end_bar)}**")
        if piece.source is not None and piece.source.is_scored:
            try:
                with st.spinner("Engraving the bars…"):
                    # A narrower page than the whole score's: fewer bars a line, so the excerpt reads larger.
                    _show_svgs(cache.engrave(key, int(w.start_bar), int(w.end_bar), piece, width=1400, scale=40))
            except InputError as e:
                st.warning(str(e))
        else:
            st.info("MIDI files have no written score; the piano roll above shows the notes of this window.")

    if piece.source is not None and piece.source.is_scored:
        with st.expander(f"The whole score (first {SCORE_PAGES} pages at most)"):
            try:
                with st.spinner("Engraving the score…"):
                    svgs = cache.engrave(key, None, None, piece, max_pages=SCORE_PAGES)
                _show_svgs(svgs, height=900 if len(svgs) > 1 else None)
            except InputError as e:
                st.warning(str(e))

    st.markdown("### Window by window")
    df = pd.DataFrame(views.window_rows(pred))
    st.dataframe(
        df,
        hide_index=True,
        column_order=["window", "bars", "label", "confidence", *pred.classes],
        column_config={
            "window": st.column_config.NumberColumn("#", width="small"),
            "bars": st.column_config.TextColumn("Bars"),
            "label": st.column_config.TextColumn("Style heard"),
            "confidence": st.column_config.ProgressColumn("Confidence", min_value=0.0, max_value=1.0, format="%.2f"),
            **{c: st.column_config.NumberColumn(c, format="%.2f") for c in pred.classes},
        },
        key=K + "table",
    )
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in piece.title)[:60] or "piece"
    c1, c2, _ = st.columns([1, 1, 2])
    c1.download_button(
        "Table (CSV)",
        df.to_csv(index=False).encode("utf-8"),
        icon=":material/download:",
        file_name=f"{stem}_{pred.model}_windows.csv",
        mime="text/csv",
        key=K + "csv",
        on_click="ignore",
    )
    c2.download_button(
        "Prediction (JSON)",
        json.dumps(pred.to_dict(), indent=1).encode("utf-8"),
        icon=":material/download:",
        file_name=f"{stem}_{pred.model}_prediction.json",
        mime="application/json",
        key=K + "json",
        on_click="ignore",
    )

    with st.expander("Share or export this result", icon=":material/share:"):
        _share(piece, pred, sel)

    with whole_audio.container():
        st.markdown("**Hear the whole piece**")
        end = None
        if piece.duration_seconds > MAX_LISTEN_SECONDS:
            grid = np.linspace(0.0, piece.length, 4096)
            end = float(np.interp(MAX_LISTEN_SECONDS, piece.seconds(grid), grid))
            st.caption(f"The first {MAX_LISTEN_SECONDS / 60:.0f} minutes.")
        with st.spinner("Synthesising the piece…"):
            st.audio(cache.audio(key, 0.0 if end else None, end, piece), format="audio/wav")


def _share(piece, pred, sel: int) -> None:
    """Report (HTML with the figures and the chosen window's audio), numbers (JSON) and a link to this view."""
    w = pred.windows[sel]
    clip = cache.audio(cache.piece_key(piece), w.start_beat, w.end_beat, piece)
    state = {**piece_state(K), "model": pred.model, "window": int(sel)}
    finding = fmod.Finding(
        view="classify", title=f"{piece.title}: {pred.label}",
        summary=html.unescape(re.sub(r"<[^>]+>", "", _reading(pred))),
        parameters={"piece": piece.title, "file_sha256": piece.source.sha256 if piece.source else None,
                    "model": pred.model, "window": views.window_caption(pred, sel)},
        numbers=pred.to_dict(), model=pred.model,
        sections=(report.Section("The answer", figures=(views.probability_bars(pred), views.prediction_timeline(pred))),
                  report.Section(f"Hear {views.bars_text(w.start_bar, w.end_bar)}",
                                 audio=((views.window_caption(pred, sel), clip),))))
    share_panel(finding, state, key=K)


require_entrypoint()
st.title("Classify a piece")
st.markdown(
    "Which style does the model hear, and **where**? Pick an example or upload a file: you get its answer for "
    "the whole piece, its answer for each excerpt of a few bars, and the excerpts it is surest about — to hear "
    "and to read."
)

try:
    model_name = st.session_state.get("model_name")
    if not model_name:
        raise InputError("No model is available to ask; pick one in the sidebar or train one.")
    if (shared := restored_state("classify")) is not None:
        restore_piece(K, shared)
        st.session_state[K + "pending_window"] = shared.get("window")
    piece = choose_piece(
        K, upload_hint="Upload a MIDI file or a score (MusicXML, ABC, Humdrum) to see what the model hears in it."
    )
    if piece is not None:
        cache.model(model_name)  # loaded (and its spinner shown) before the prediction's spinner
        with st.spinner(f"Asking the model ({model_name})…"):
            pred = cache.classify(cache.piece_key(piece), model_name, piece)
        _results(piece, pred)
except XaiError as e:
    st.error(str(e))
