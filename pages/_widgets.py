"""Widgets that several pages share: choosing a piece (a bundled example, an upload or a transcribed recording),
showing figures and scores.

Each takes the page's widget key prefix, so the same widget on two pages keeps two states.
"""

from __future__ import annotations

import math

import streamlit as st

from models import registry
from pages import _cache as cache
from pages import _cache_audio as audio_cache
from xai.audio import clip as audio
from xai.audio import examples as audio_examples
from xai.audio import transcribe
from xai.errors import XaiError
from xai.symbolic import examples, music
from xai.symbolic import io as xio

PLOT_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"]}
TRANSCRIBED_KEY = "transcribed_piece"  # session state: the Piece the Listen page sent to the score views
TRANSCRIBED_SOURCE = "The transcribed recording"


def use_transcription(piece: music.Piece) -> None:
    """Offer a transcribed recording to every page that chooses a piece (an ``on_click`` callback)."""
    st.session_state[TRANSCRIBED_KEY] = piece


def belongs_to(owner, defaults: dict, *, tag: str) -> bool:
    """Put widgets back on their defaults when what they describe (``owner``: a piece's key, a model's name, ...)
    changes: ``defaults`` maps each widget's key to the value it starts from (None: forget the widget's state).

    A widget keyed by name keeps its value while the value is still among its options, so a bar number, a window
    or a song picked for one piece would silently carry over to the next; and only a value set through the
    session state redraws the browser's copy of the widget (forgetting the state leaves the old label on show).
    Call this before drawing the widgets. Returns True when the owner changed.
    """
    ss = st.session_state
    if ss.get(tag) == owner:
        return False
    for key, value in defaults.items():
        if value is None:
            ss.pop(key, None)
        else:
            ss[key] = value
    ss[tag] = owner
    return True


model_label = registry.picker_label  # a model as offered in a picker (app.py and the views' pickers)


def choose_piece(prefix: str, *, upload_hint: str) -> music.Piece | None:
    """The piece the user picked, a bundled example, their own file or a transcribed recording (None while
    nothing is chosen), with the warnings of its reading shown under the picker.

    The transcribed recording is offered once the Listen page has sent one (:func:`use_transcription`), and is
    picked for the user the first time each page sees a newly sent one. A file that cannot be read raises
    :class:`~xai.errors.InputError` with the loader's sentence.
    """
    piece = _choose_piece(prefix, upload_hint=upload_hint)
    # How the file was read where it needed a judgement (a tempo out of range, a key that contradicts the notes...),
    # one plain sentence each with the value used (xai.symbolic.fidelity).
    for text in piece.warnings if piece is not None else ():
        st.warning(text, icon=":material/music_note:")
    return piece


def _choose_piece(prefix: str, *, upload_hint: str) -> music.Piece | None:
    """The picker of :func:`choose_piece`."""
    sources = ["An example piece", "Your own file"] if examples.EXAMPLES else ["Your own file"]
    transcribed = st.session_state.get(TRANSCRIBED_KEY)
    if transcribed is not None:
        sources.append(TRANSCRIBED_SOURCE)
        seen = cache.piece_key(transcribed)
        if st.session_state.get(prefix + "transcription_seen") != seen:  # newly sent: show it
            st.session_state[prefix + "transcription_seen"] = seen
            st.session_state[prefix + "source"] = TRANSCRIBED_SOURCE
    choice = st.radio("Piece", sources, horizontal=True, key=prefix + "source", label_visibility="collapsed")
    if choice == TRANSCRIBED_SOURCE:
        st.caption(transcribe.describe(transcribed))
        return transcribed
    if choice == "An example piece":
        names = examples.for_model(st.session_state.get("model_name"))
        name = st.selectbox("Example", names, key=prefix + "example")
        info = examples.example_info(name)
        truth = "composer" if info.get("models") else "style"
        st.caption(f"Held out from training. True {truth}: **{info['class'] or 'unknown'}**. Source: {info['source']}.")
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


def choose_clip(prefix: str, *, upload_hint: str = "Upload a recording.", provenance: bool = False):
    """The recording the user picked: a bundled example (assets/examples/audio) or an upload, as a Clip (None
    while nothing is chosen). A file that cannot be read raises InputError with the loader's sentence.

    With ``provenance`` an example's caption also says whether the models heard its renderer in training, and
    which score it was rendered from.
    """
    ex = audio_examples.audio_examples()
    sources = ["An example recording", "Your own recording"] if ex else ["Your own recording"]
    choice = st.radio("Recording", sources, horizontal=True, key=prefix + "source", label_visibility="collapsed")
    if choice == "An example recording":
        titles = [e["title"] for e in ex]
        pick = ex[titles.index(st.selectbox("Example", titles, key=prefix + "example"))]
        if provenance:
            heard, unheard = audio_examples.heard_by(pick, {n: registry.card(n) for n in registry.available("audio")})
            trained = ("a soundfont every audio model was trained with" if not unheard else
                       "a renderer no audio model heard in training" if not heard else
                       f"a soundfont only {', '.join(heard)} heard in training")
            st.caption(f"True style **{pick['class']}**, instrument **{pick['instrument']}**, played by {trained} "
                       f"({pick['renderer']}). Score: {pick['source']}.")
        else:
            st.caption(f"True style **{pick['class']}**, instrument **{pick['instrument']}** ({pick['renderer']}).")
        return audio_cache.load_audio_upload(*audio_examples.example_file(pick["title"]))
    up = st.file_uploader("Upload a recording", type=[e.lstrip(".") for e in audio.SUPPORTED_AUDIO_EXTENSIONS],
                          key=prefix + "upload",
                          help=f"WAV, FLAC, Ogg or MP3, up to {audio.DEFAULT_AUDIO_LIMITS.max_bytes // 1_000_000} MB "
                               f"and {audio.DEFAULT_AUDIO_LIMITS.max_seconds / 60:g} minutes.")
    if up is None:
        st.info(upload_hint)
        return None
    with st.spinner(f"Reading {up.name}…"):
        return audio_cache.load_audio_upload(up.getvalue(), up.name)


def option_widgets(options_cls, prefix: str, *, only: tuple[str, ...] | None = None, values: dict | None = None,
                   columns: int = 1):
    """One widget per declared option of an explainer (:class:`xai.contract.Options`), built from its spec.

    Bounds, choices, defaults and help come from the declaration, so the page and the library never disagree.
    ``only`` picks and orders the options shown (the others keep their defaults); ``values`` overrides defaults
    (e.g. from a share link). Returns the validated options object.
    """
    specs = {s["name"]: s for s in options_cls.spec()}
    names = list(only or specs)
    values = dict(values or {})
    cols = st.columns(columns) if columns > 1 else [st.container()]
    chosen = {}
    for i, name in enumerate(names):
        s = specs[name]
        label = s.get("label") or name.replace("_", " ").capitalize()
        default = values.get(name, s["default"])
        key = f"{prefix}_{name}"
        with cols[i % len(cols)]:
            chosen[name] = _option_widget(s, label, default, key)
    return options_cls.from_dict({k: v for k, v in values.items() if k in specs and k not in chosen} | chosen)


def _option_widget(s: dict, label: str, default, key: str):
    """The widget of one declared option (its ``spec()`` entry ``s``), drawn here; returns its value."""
    if s["type"] == "bool":
        return st.checkbox(label, value=bool(default), help=s["help"], key=key)
    if s.get("choices"):
        opts = list(s["choices"])
        return st.selectbox(label, opts, index=opts.index(default) if default in opts else 0, help=s["help"], key=key)
    if s["type"] == "int":
        return int(st.number_input(label, min_value=s.get("low"), max_value=s.get("high"), value=int(default), step=1,
                                   help=s["help"], key=key))
    if s["type"] == "float":
        lo, hi = s.get("low"), s.get("high")
        # +/- steps of a tenth of the default's order of magnitude (typed values may be finer)
        d = abs(float(s["default"])) or float(hi or 1.0) / 100
        step = 10.0 ** math.floor(math.log10(d)) / (10 if d < 1 else 1)
        return float(st.number_input(label, min_value=None if lo is None else float(lo),
                                     max_value=None if hi is None else float(hi), value=float(default), step=step,
                                     help=s["help"], key=key, format="%g"))
    return st.text_input(label, value=str(default), help=s["help"], key=key)


def segment_clips(key: str, ids: tuple, res, *, k: int, whole: str) -> list[tuple[str, bytes]]:
    """The listening row of a score's top segments (LIME or attributions): alone, without them, and ``whole``."""
    clips = [(f"Top {k} segments alone", cache.lime_piece_audio(key, ids, True, res))]
    if len(ids) < res.n_segments:
        clips.append((f"Without the top {k} segments", cache.lime_piece_audio(key, ids, False, res)))
    clips.append((whole, cache.lime_piece_audio(key, tuple(range(res.n_segments)), True, res)))
    return clips


def play_row(clips: list[tuple[str, bytes]]) -> None:
    """Audio players side by side, each under its caption."""
    cols = st.columns(len(clips) or 1)
    for col, (cap, wav) in zip(cols, clips):
        col.caption(cap)
        col.audio(wav, format="audio/wav")


def score_or_recording(key: str, score_page, audio_page) -> None:
    """The LIME and Attributions pages' first choice, a score or a recording, then that part of the page; a
    plain sentence instead of the part when the input or the options are refused."""
    what = st.radio("Explain", ["A score", "A recording"], horizontal=True, key=key)
    try:
        (score_page if what == "A score" else audio_page)()
    except XaiError as e:
        st.error(str(e))


def asked_for(prefix: str, key, label: str, *, autorun: bool = False) -> bool:
    """True once the user asked for the result of ``key`` (a click on ``label``, or a share link's ``autorun``);
    until then the button is drawn. A new key (other options) asks again: long work never starts by itself."""
    if autorun:
        st.session_state[prefix + "asked"] = key
    if st.session_state.get(prefix + "asked") == key:
        return True
    st.button(label, type="primary", icon=":material/play_arrow:", key=prefix + "go",
              on_click=lambda: st.session_state.__setitem__(prefix + "asked", key))
    return False


def progress_bar():
    """A progress bar and the :data:`xai.contract.Progress` callback that moves it; ``.empty()`` it when done."""
    bar = st.progress(0.0, text="Starting…")

    def progress(f: float, m: str) -> None:
        bar.progress(min(max(float(f), 0.0), 1.0), text=m)

    return bar, progress

