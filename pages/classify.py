"""Classify a piece: which style the model hears, where in the piece, and the excerpts it is surest about.

Input is an uploaded file or a bundled example. Everything slow is cached in ``pages._cache``; every figure
comes from ``xai.views``. Any :class:`~xai.errors.XaiError` (a bad file, a missing model) is shown once as a
plain sentence and the page stays usable for the next upload.
"""

import json

import pandas as pd
import streamlit as st

from pages import _cache as cache
from pages._nav import require_entrypoint
from pages._share import piece_state, restore_piece, restored_state, share_panel
from pages._widgets import belongs_to, chart, choose_piece, show_svgs
from xai import views
from xai.audio import transcribe
from xai.errors import InputError, XaiError
from xai.export import finding as fmod
from xai.export import report

K = "cls_"  # widget key prefix of this page
N_HIGHLIGHT = 3
SCORE_PAGES = 3  # pages of the whole score to engrave; long pieces run to dozens
MAX_LISTEN_SECONDS = 300.0  # the whole-piece player stops after this many seconds


def _results(piece, pred) -> None:
    st.subheader(piece.title)
    st.caption(views.piece_summary(piece, pred))
    _answer(pred)
    st.markdown("### Where in the piece")
    sel, best = _pick_window(piece, pred)
    chart(views.piano_roll(piece, prediction=pred, highlight=best, selected=sel), K + "roll")
    st.caption(
        "Notes by part (darker where a note starts), bar numbers along the top. The bands above the notes are "
        "the model's windows, coloured by the style it hears in each (stronger colour = surer). Outlined and "
        "numbered: its most confident windows; shaded: the window you picked. Drag to select, double-click to "
        "zoom out."
    )
    whole_audio = _hear_and_read(piece, pred.windows[sel])
    if not piece.bars_known:
        st.caption("A performance without beat annotations: its windows are cited by seconds, as the model reads "
                   "them; bar numbers would be guesses.")
    if piece.source is not None and piece.source.is_scored:
        with st.expander(f"The whole score (first {SCORE_PAGES} pages at most)"):
            try:
                with st.spinner("Engraving the score…"):
                    svgs = cache.engrave(cache.piece_key(piece), None, None, piece, max_pages=SCORE_PAGES)
                show_svgs(svgs, height=900 if len(svgs) > 1 else None)
            except InputError as e:
                st.warning(str(e))
    st.markdown("### Window by window")
    _window_table(piece, pred)
    _share(piece, pred, sel)
    with whole_audio.container():
        _hear_the_piece(piece)


def _answer(pred) -> None:
    """The answer in words beside the whole-piece bars, the timeline window by window on the right."""
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.markdown(
            f'<div style="border-left:6px solid {views.class_colors(pred.classes)[pred.label]};padding-left:10px;'
            f'font-size:1.15rem">{views.reading(pred)}</div>',
            unsafe_allow_html=True,
        )
        chart(views.probability_bars(pred), K + "bars")
    with right:
        chart(views.prediction_timeline(pred), K + "timeline")
        st.caption(
            "Each column is one window of the piece (the excerpt length the model reads; windows overlap by "
            "half). Its colours share out the model's belief among the styles. Grey columns are silent."
        )


def _pick_window(piece, pred) -> tuple[int, list[int]]:
    """The window to hear and read (the most confident first, starred), and the most confident ones.

    A new piece or model starts again from its most confident window: window numbers of one piece mean nothing
    for the next.
    """
    best = pred.most_confident(N_HIGHLIGHT)
    sounding = [i for i, lab in enumerate(pred.window_labels()) if lab is not None]
    options = best + [i for i in sounding if i not in best]
    belongs_to((cache.piece_key(piece), pred.model), {K + "window": options[0]}, tag=K + "window_of")
    if st.session_state.get(K + "pending_window") in options:  # the window a share link names
        st.session_state[K + "window"] = st.session_state.pop(K + "pending_window")
    sel = st.selectbox(
        "Window to hear and read",
        options,
        format_func=lambda i: ("★ " if i in best else "") + views.window_caption(pred, i),
        key=K + "window",
        help="★ marks the windows the model is most confident about (outlined and numbered on the piano roll).",
    )
    return sel, best


def _hear_and_read(piece, w):
    """The chosen window played and engraved side by side; returns the place kept for the whole piece's player."""
    key = cache.piece_key(piece)
    listen, read = st.columns([1, 2], gap="large")
    with listen:
        st.markdown(f"**Hear {w.label}**")
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
                    show_svgs(cache.engrave(key, int(w.start_bar), int(w.end_bar), piece, width=1400, scale=40))
            except InputError as e:
                st.warning(str(e))
        else:
            # a transcribed recording has no file at all, a MIDI file no notation
            what = "A transcribed recording" if transcribe.is_transcribed(piece) else "A MIDI file"
            st.info(f"{what} has no written score; the piano roll above shows the notes of this window.")
    return whole_audio


def _window_table(piece, pred) -> None:
    """Every window's bars, label and probabilities as a table, with CSV and JSON downloads."""
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
    stem = report.safe_filename(piece.title or "piece")
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
        json.dumps(pred.summary(), indent=1).encode("utf-8"),
        icon=":material/download:",
        file_name=f"{stem}_{pred.model}_prediction.json",
        mime="application/json",
        key=K + "json",
        on_click="ignore",
    )


def _hear_the_piece(piece) -> None:
    """The whole piece played (its first minutes when it is long)."""
    st.markdown("**Hear the whole piece**")
    end = None
    if piece.duration_seconds > MAX_LISTEN_SECONDS:
        end = piece.beat_at_seconds(MAX_LISTEN_SECONDS)
        st.caption(f"The first {MAX_LISTEN_SECONDS / 60:.0f} minutes.")
    with st.spinner("Synthesising the piece…"):
        st.audio(cache.audio(cache.piece_key(piece), 0.0 if end else None, end, piece), format="audio/wav")


def _share(piece, pred, sel: int) -> None:
    """Report (HTML with the figures and the chosen window's audio), numbers (JSON) and a link to this view,
    folded away."""
    w = pred.windows[sel]
    with st.expander("Share or export this result", icon=":material/share:"):
        clip = cache.audio(cache.piece_key(piece), w.start_beat, w.end_beat, piece)
        state = {**piece_state(K), "model": pred.model, "window": int(sel)}
        share_panel(fmod.prediction_finding(piece, pred, sel, audio=clip), state, key=K)


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
