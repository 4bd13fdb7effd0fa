"""Explain with LIME: which bars and voices (or seconds and frequency bands, or stems) a prediction rests on,
never shown alone: beside a trivial baseline, a deletion check, a stability score and the fidelity with its caveat.

UI only: the work is :mod:`xai.local.lime` / :mod:`xai.local.segments`, the figures :mod:`xai.views.local`, the results'
layout ``pages._lime_results``, the caches ``pages._cache.lime_result`` (keyed by input hash, model and options).
Any XaiError is one plain sentence.
"""

import hashlib
import time

import numpy as np
import streamlit as st

from models import registry
from pages import _cache as cache
from pages._lime_results import K, show_results
from pages._nav import require_entrypoint
from pages._share import restore_piece, restored_state
from pages._widgets import (
    asked_for,
    belongs_to,
    choose_clip,
    choose_piece,
    model_label,
    progress_bar,
    score_or_recording,
)
from xai.audio import examples as audio_examples
from xai.local import lime
from xai.local.lime import AudioGridOptions, LimeOptions, PieceGridOptions
from xai.symbolic import music

PREDICTED = "(the predicted class)"
SUREST = "(where the model is surest)"
ONE_WINDOW = "(about one window, 20 s)"
SEGMENT_TEXT = {"bars-voices": "Bars × voices", "bars-registers": "Bars × registers (pitch bands)",
                "stems": "Rendered parts (stems) for an audio model"}
# The options' declarations (bounds, defaults, help) and the widget key of each option on this page.
SPECS = {s["name"]: s for cls in (LimeOptions, PieceGridOptions, AudioGridOptions) for s in cls.spec()}
WIDGET = {"samples": "samples", "kernel_width": "kernel", "random_state": "seed", "top_k": "topk",
          "stability_seeds": "stab", "bars_per_segment": "bps", "n_registers": "regs", "n_time": "nt", "n_bands": "nb"}
# Share links: widget keys of the options, by the state's names (numbers only; checked against their declared
# ranges). A link names the seed ``seed``.
OPTION_KEYS = {("seed" if n == "random_state" else n): (K + w, SPECS[n]["low"], SPECS[n]["high"])
               for n, w in WIDGET.items()}
PENDING = K + "pending_link"  # a restored link's state, applied by each part of the page before its widgets


def _restore() -> None:
    """A share link's settings into the widgets that exist before the input is read; the rest is kept in
    :data:`PENDING` for the widgets that depend on the input (model, class, bars), and the explanation is run
    again once the input is there (it is held per server, so a link to a recent result opens at once)."""
    state = restored_state("lime")
    if not state:
        return
    ss = st.session_state
    recording = state.get("input") == "recording"
    ss[K + "input"] = "A recording" if recording else "A score"
    if recording:
        titles = audio_examples.titles()
        if state.get("clip_source") == "example" and state.get("clip_example") in titles:
            ss[K + "clip_source"], ss[K + "clip_example"] = "An example recording", state["clip_example"]
        elif state.get("clip_source") == "upload":
            st.info("This link was made with its author's own recording, which a link does not carry: open the "
                    "same file below to see the same result.")
    else:
        restore_piece(K, state)
        if state.get("segments") in SEGMENT_TEXT:
            ss[K + "kind"] = state["segments"]
    for name, (wkey, lo, hi) in OPTION_KEYS.items():
        v = state.get(name)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi:
            ss[wkey] = float(v) if isinstance(lo, float) else int(v)
    ss[PENDING] = state


def _pending(choices: dict[str, tuple[str, list]]) -> None:
    """Apply the pending link's values to widgets about to be drawn: ``{state name: (widget key, options)}``;
    a value not among the options is left out. The explanation then runs without a click."""
    state = st.session_state.pop(PENDING, None)
    if not state:
        return
    for name, (wkey, options) in choices.items():
        v = state.get(name)
        if name == "target" and not v:
            v = PREDICTED
        if v in options:
            st.session_state[wkey] = v
    st.session_state[K + "autorun"] = True


def _clip_state() -> dict:
    ss = st.session_state
    if ss.get(K + "clip_source", "An example recording") == "An example recording" and ss.get(K + "clip_example"):
        return {"clip_source": "example", "clip_example": ss[K + "clip_example"]}
    return {"clip_source": "upload"}


def _number(col, name: str, label: str, **kw):
    """A number widget whose bounds, default and help come from the option's declaration."""
    s = SPECS[name]
    cast = float if s["type"] == "float" else int
    return cast(col.number_input(label, cast(s["low"]), cast(s["high"]), cast(s["default"]), help=s["help"],
                                 key=K + WIDGET[name], **kw))


def _slider(name: str, label: str) -> int:
    s = SPECS[name]
    return int(st.slider(label, s["low"], s["high"], s["default"], help=s["help"], key=K + WIDGET[name]))


def _options(kind: str) -> dict:
    with st.expander("Options", expanded=False):
        c1, c2, c3 = st.columns(3)
        opts = {"samples": _number(c1, "samples", "Samples (random coalitions)", step=250),
                "kernel_width": _number(c2, "kernel_width", "Kernel width", step=0.05),
                "random_state": _number(c3, "random_state", "Seed")}
        c4, c5, c6 = st.columns(3)
        opts |= {"top_k": _number(c4, "top_k", "Top k"), "stability_seeds": _number(c5, "stability_seeds",
                                                                                      "Stability seeds")}
        if kind in ("bars-voices", "bars-registers"):
            opts["bars_per_segment"] = _number(c6, "bars_per_segment", "Bars per segment")
            if kind == "bars-registers":
                opts["n_registers"] = _slider("n_registers", "Registers (pitch bands)")
        if kind == "time-bands":
            opts["n_time"] = _number(c6, "n_time", "Time segments")
            opts["n_bands"] = _slider("n_bands", "Frequency bands")
    return opts


def _class_choice(classes, *, key: str) -> str | None:
    pick = st.selectbox("Class to explain", [PREDICTED, *classes], key=key,
                        help="LIME explains the probability of one class; by default the one the model predicts.")
    return None if pick == PREDICTED else pick


def _run(key: tuple, compute) -> object | None:
    """The explanation for ``key``: held, or computed now with a progress bar when the user asked for it."""
    held = cache.lime_peek(key)
    if held is not None:
        return held
    # Opened from a share link: run it as the link's author did.
    if not asked_for(K, key, "Explain", autorun=bool(st.session_state.pop(K + "autorun", False))):
        return None
    bar, progress = progress_bar()
    t = time.perf_counter()
    result, _ = cache.lime_result(key, lambda: compute(progress))
    bar.empty()
    st.session_state[K + "seconds"] = time.perf_counter() - t
    return result


def _score_page() -> None:
    piece = choose_piece(K, upload_hint="Upload a score or MIDI file to explain the model's answer for it.")
    if piece is None:
        return
    belongs_to(cache.piece_key(piece), {K + "start": SUREST, K + "stem_bar": int(piece.bar_numbers[0])},
               tag=K + "bars_of")  # one piece's bar numbers, not the last one's
    kinds = ["bars-voices", "bars-registers", "stems"] if len(np.unique(piece.parts)) > 1 else \
        ["bars-registers", "stems"]
    kind = st.radio("Segments", kinds, format_func=SEGMENT_TEXT.get, horizontal=True, key=K + "kind",
                    help="A segment switched off = its notes removed (stems: its part is not rendered).")
    nums = piece.bar_numbers
    bars = [int(n) for n in nums]
    if kind == "stems":
        names = registry.available("audio")
        linked = st.session_state.get(PENDING) or {}
        linked_model = linked.get("model") if linked.get("model") in names else None
        _pending({"model": (K + "stem_model", names), "start_bar": (K + "stem_bar", bars),
                  "target": (K + "stem_class", [PREDICTED, *(cache.model(linked_model).classes if linked_model
                                                           else ())])})
        mname = st.selectbox("Audio model", names, index=names.index("style_audio") if "style_audio" in names else 0,
                             key=K + "stem_model", format_func=model_label)
        model = cache.model(mname)
        target = _class_choice(model.classes, key=K + "stem_class")
        start_bar = st.selectbox("4 seconds from bar", [int(n) for n in nums], key=K + "stem_bar")
        opts = _options(kind)
        key = ("stems", cache.piece_key(piece), mname, target, start_bar, tuple(sorted(opts.items())))
        state = {"input": "score", "segments": kind, "model": mname, "target": target or "", "start_bar": start_bar}
        res = _run(key, lambda p: lime.explain_stems(piece, model, target, start_bar=start_bar, progress=p, **{
            k: v for k, v in opts.items() if k not in ("bars_per_segment", "n_registers")}))
    else:
        mname = st.session_state.get("model_name") or "composer"
        if mname not in registry.available():
            mname = "composer"
        model = cache.model(mname)
        _pending({"target": (K + "class", [PREDICTED, *model.classes]),
                  "start_bar": (K + "start", bars), "n_bars": (K + "nbars", list(range(2, min(32, max(2, len(nums))) + 1)))})
        st.caption(f"Model: `{mname}` (pick another in the sidebar).")
        target = _class_choice(model.classes, key=K + "class")
        c1, c2 = st.columns(2)
        start = c1.selectbox("From bar", [SUREST, *[int(n) for n in nums]], key=K + "start")
        if music.input_spec(model).grid == "seconds":  # default: the whole bars of about one 20-s window
            n_bars = c2.selectbox("Bars", [ONE_WINDOW, *range(2, min(32, max(2, len(nums))) + 1)], key=K + "nbars_s",
                                  help="How many bars are explained; by default the whole bars lasting about one of "
                                       "the model's windows, so it reads the excerpt as one window.")
            n_bars = None if isinstance(n_bars, str) else int(n_bars)
        else:
            n_bars = c2.slider("Bars", 2, min(32, max(2, len(nums))), min(8, max(2, len(nums))), key=K + "nbars",
                               help="How many bars are explained (the model's windows over them are asked).")
        start_bar = None if isinstance(start, str) else int(start)
        opts = _options(kind)
        key = ("piece", cache.piece_key(piece), mname, target, kind, start_bar, n_bars, tuple(sorted(opts.items())))
        state = {"input": "score", "segments": kind, "model": mname, "target": target or "",
                 "start_bar": start_bar if start_bar is not None else -1,
                 "n_bars": n_bars if n_bars is not None else -1}
        res = _run(key, lambda p: lime.explain_piece(piece, model, target, segments=kind, start_bar=start_bar,
                                                     n_bars=n_bars, progress=p, **opts))
    if res is not None:
        from pages._share import piece_state

        state = {**piece_state(K), **state, **res.link_options()}
        show_results(res, hashlib.sha256(repr(key).encode()).hexdigest()[:16], state)


def _audio_page() -> None:
    clip = choose_clip(K + "clip_", upload_hint="Upload a recording to explain an audio model's answer for it.")
    if clip is None:
        return
    names = registry.available("audio")
    linked = st.session_state.get(PENDING) or {}
    linked_model = linked.get("model") if linked.get("model") in names else None
    _pending({"model": (K + "audio_model", names), "off": (K + "off", list(lime.OFF_MODES)),
              "target": (K + "audio_class", [PREDICTED, *(cache.model(linked_model).classes if linked_model else ())]),
              "start_s": (K + "start_s", [x / 2 for x in range(0, 2 * 900 + 1)])})
    mname = st.selectbox("Audio model", names, index=names.index("style_audio") if "style_audio" in names else 0,
                         key=K + "audio_model", format_func=model_label)
    model = cache.model(mname)
    target = _class_choice(model.classes, key=K + "audio_class")
    c1, c2 = st.columns(2)
    longest = float(np.floor(max(0.0, clip.duration_seconds - 4.0) * 2) / 2)  # half-second steps
    if longest >= 0.5:
        start_s = c1.slider("4-s window from (seconds)", 0.0, longest, 0.0, step=0.5, key=K + "start_s",
                            help="Audio models read 4-s windows; LIME explains one of them.")
    else:
        start_s = 0.0
        c1.caption(f"The recording is {clip.duration_seconds:.1f} s long: its first 4 s are explained.")
    off = c2.radio("A cell switched off holds", lime.OFF_MODES, horizontal=True, key=K + "off",
                   format_func={"mean": "the clip's mean", "zero": "silence", "noise": "noise"}.get,
                   help="What replaces a segment's cells in the model's spectrogram when it is switched off.")
    opts = _options("time-bands")
    digest = clip.source.sha256 if clip.source is not None else hashlib.sha256(clip.waveform.tobytes()).hexdigest()
    key = ("audio", digest, mname, target, float(start_s), off, tuple(sorted(opts.items())))
    res = _run(key, lambda p: lime.explain_audio(clip.waveform, model, target, off=off, start_s=float(start_s),
                                                 progress=p, **opts))
    if res is not None:
        state = {"input": "recording", "segments": "time-bands", "model": mname, "target": target or "", **_clip_state(),
                 "start_s": float(start_s), "off": off,
                 **res.link_options()}
        show_results(res, hashlib.sha256(repr(key).encode()).hexdigest()[:16], state)


require_entrypoint()
st.title("Explain with LIME")
st.markdown(
    "Which **bars and voices** (or seconds and frequency bands of a recording, or rendered parts) does the model's "
    "answer rest on? LIME switches segments off at random, asks the model again and fits a straight line. This "
    "page never shows LIME alone: beside it are a trivial baseline on the same segments, a deletion check, a "
    "stability score over seeds and the fit's R² with its caveat."
)
_restore()
score_or_recording(K + "input", _score_page, _audio_page)
