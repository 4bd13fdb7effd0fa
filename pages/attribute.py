"""Attributions: captum's Integrated Gradients, Saliency, Occlusion and Grad-CAM on the piano roll or the
spectrogram, summed onto bars x voices or time x band cells, and never shown without their checks.

UI only: the work is :mod:`xai.local.attribution`, the figures :mod:`xai.views.attribution`, the results' layout
``pages._attribute_results``, the cache ``pages._cache.attribution_result`` (keyed by input, model and options).
Any XaiError is one plain sentence.
"""

import hashlib

import streamlit as st

from models import registry
from pages import _cache as cache
from pages._attribute_results import K, show_results
from pages._nav import require_entrypoint
from pages._share import piece_state, restore_piece, restored_state
from pages._widgets import asked_for, choose_clip, choose_piece, option_widgets, progress_bar, score_or_recording
from xai.audio import examples as audio_examples
from xai.errors import XaiError
from xai.local.attribution import METHOD_NAMES, AttributionOptions, attribute_audio, attribute_piece, window_choices

PREDICTED = "(the predicted class)"
SUREST = "(where the model is surest)"
OPT = K + "opt"  # option_widgets' key prefix: the widget of option ``x`` is ``attr_opt_x``
SCORE_OPTS = ("n_steps", "segments", "bars_per_segment", "n_registers", "top_k", "randomised_layers",
              "compare_lime", "lime_samples", "random_state")
AUDIO_OPTS = ("n_steps", "n_time", "n_bands", "top_k", "randomised_layers", "compare_lime", "lime_samples",
              "random_state")
PENDING = K + "pending_link"


def _restore() -> None:
    """A share link's settings into the widgets drawn before the input is read; the class and window wait in
    :data:`PENDING` for the widgets that depend on the input, and the attribution then runs without a click."""
    state = restored_state("attribute")
    if not state:
        return
    ss = st.session_state
    recording = state.get("input") == "recording"
    ss[K + "input"] = "A recording" if recording else "A score"
    if recording:
        titles = [e["title"] for e in audio_examples.audio_examples()]
        if state.get("clip_source") == "example" and state.get("clip_example") in titles:
            ss[K + "clip_source"], ss[K + "clip_example"] = "An example recording", state["clip_example"]
        elif state.get("clip_source") == "upload":
            st.info("This link was made with its author's own recording, which a link does not carry: open the "
                    "same file below to see the same result.")
    else:
        restore_piece(K, state)
    specs = {s["name"]: s for s in AttributionOptions.spec()}
    for name, v in state.items():
        if name in specs:
            try:
                AttributionOptions.from_dict({name: v})
            except XaiError:
                continue
            ss[f"{OPT}_{name}"] = v
    ss[PENDING] = state


def _pending(key: str, name: str, options: list) -> None:
    """A linked value for a widget that depends on the input, if it is among the widget's options."""
    state = st.session_state.get(PENDING)
    if not state:
        return
    v = state.get(name)
    if name == "target" and not v:
        v = PREDICTED
    if name in ("start_bar", "start_s") and v is None:
        v = SUREST
    if v in options:
        st.session_state[key] = v


def _class_choice(classes, *, key: str) -> str | None:
    _pending(key, "target", [PREDICTED, *classes])
    pick = st.selectbox("Class to explain", [PREDICTED, *classes], key=key,
                        help="The attributions explain the model's score for one class; by default the one it "
                             "predicts.")
    return None if pick == PREDICTED else pick


def _options(only: tuple[str, ...]) -> AttributionOptions:
    specs = {s["name"]: s for s in AttributionOptions.spec()}
    c1, c2 = st.columns(2)
    method = c1.selectbox("Method", specs["method"]["choices"], format_func=METHOD_NAMES.get, key=f"{OPT}_method",
                          help=specs["method"]["help"])
    baseline = c2.selectbox("Baseline", specs["baseline"]["choices"], key=f"{OPT}_baseline",
                            help=specs["baseline"]["help"])
    with st.expander("Options", expanded=False):
        rest = option_widgets(AttributionOptions, OPT, only=only, columns=3)
    st.caption(f"All four methods are computed and compared; **{METHOD_NAMES[method]}** is the one ranked, "
               "played and checked by randomisation.")
    return rest.replace(method=method, baseline=baseline)


def _run(key: tuple, compute):
    """The attribution for ``key``: held, or computed now with a progress bar once asked for."""
    held = cache.attribution_peek(key)
    if held is not None:
        return held
    # Opened from a share link: run it as its author did.
    if not asked_for(K, key, "Attribute", autorun=bool(st.session_state.pop(PENDING, None))):
        return None
    bar, progress = progress_bar()
    result, _ = cache.attribution_result(key, lambda: compute(progress))
    bar.empty()
    return result


def _score_page() -> None:
    piece = choose_piece(K, upload_hint="Upload a score or MIDI file to see where the model's gradients point.")
    if piece is None:
        return
    names = registry.available("symbolic")
    mname = st.session_state.get("model_name") if st.session_state.get("model_name") in names else names[0]
    model = cache.model(mname)
    c1, c2 = st.columns(2)
    with c1:
        target = _class_choice(model.classes, key=K + "class")
    start_bar = start_s = None
    if getattr(model, "window_quarters", 0):
        st.caption(f"Model: `{mname}` (pick another in the sidebar). It reads {model.window_quarters:g} quarters at "
                   "a time; the attribution is of exactly one such window.")
        bars = [SUREST, *[int(n) for n in piece.bar_numbers]]
        _pending(K + "start", "start_bar", bars)
        start = c2.selectbox("Window from bar", bars, key=K + "start")
        start_bar = None if isinstance(start, str) else int(start)
    else:
        start_s = _seconds_window(piece, model, mname, c2)
    opts = _options(SCORE_OPTS)
    key = ("piece", cache.piece_key(piece), mname, target, start_bar, start_s, tuple(sorted(opts.to_dict().items())))
    res = _run(key, lambda p: attribute_piece(piece, model, target, start_bar=start_bar, start_s=start_s, progress=p,
                                              **opts.to_dict()))
    if res is not None:
        state = {**piece_state(K), "input": "score", "model": mname, "target": target or "",
                 "start_bar": start_bar, **({"start_s": start_s} if start_s is not None else {}),
                 **res.link_options()}
        show_results(res, hashlib.sha256(repr(key).encode()).hexdigest()[:16], state)


def _seconds_window(piece, model, mname: str, col) -> float | None:
    """The window picker of a model that reads seconds: its own windows, by their bars and clock time."""
    wins = window_choices(piece, model)
    st.caption(f"Model: `{mname}` (pick another in the sidebar). It reads 20-s windows of the performance every "
               "10 s; the attribution is of exactly one such window."
               + ("" if piece.bars_known else " This performance has no beat annotations, so its windows are "
                  "cited by clock time only."))
    labels = {float(w.start_second): w.label for w in wins}
    choices = [SUREST, *labels]
    _pending(K + "start_s_win", "start_s", choices)
    pick = col.selectbox("Window", choices, key=K + "start_s_win",
                         format_func=lambda v: v if isinstance(v, str) else labels[v],
                         help="The 20-s window explained: by default the one where the model is surest of the class.")
    return None if isinstance(pick, str) else float(pick)


def _audio_page() -> None:
    clip = choose_clip(K + "clip_", upload_hint="Upload a recording to see where an audio model's gradients point.")
    if clip is None:
        return
    names = registry.available("audio")
    _pending(K + "audio_model", "model", names)
    mname = st.selectbox("Audio model", names, index=names.index("style_audio") if "style_audio" in names else 0,
                         key=K + "audio_model")
    model = cache.model(mname)
    c1, c2 = st.columns(2)
    with c1:
        target = _class_choice(model.classes, key=K + "audio_class")
    longest = max(0.0, clip.duration_seconds - 4.0) // 0.5 * 0.5
    if longest >= 0.5:
        _pending(K + "start_s", "start_s", [x / 2 for x in range(0, int(2 * longest) + 1)])
        start_s = c2.slider("4-s window from (seconds)", 0.0, float(longest), 0.0, step=0.5, key=K + "start_s",
                            help="Audio models read 4-s windows; the attribution is of one of them.")
    else:
        start_s = 0.0
        c2.caption(f"The recording is {clip.duration_seconds:.1f} s long: its first 4 s are explained.")
    opts = _options(AUDIO_OPTS)
    digest = clip.source.sha256 if clip.source is not None else hashlib.sha256(clip.waveform.tobytes()).hexdigest()
    key = ("audio", digest, mname, target, float(start_s), tuple(sorted(opts.to_dict().items())))
    res = _run(key, lambda p: attribute_audio(clip.waveform, model, target, start_s=float(start_s), progress=p,
                                              **opts.to_dict()))
    if res is not None:
        ss = st.session_state
        source = ({"clip_source": "example", "clip_example": ss.get(K + "clip_example")}
                  if ss.get(K + "clip_source", "An example recording") == "An example recording"
                  else {"clip_source": "upload"})
        state = {"input": "recording", "model": mname, "target": target or "", "start_s": float(start_s), **source,
                 **res.link_options()}
        show_results(res, hashlib.sha256(repr(key).encode()).hexdigest()[:16], state)


require_entrypoint()
st.title("Attributions")
st.markdown(
    "Where do the model's **gradients** point? captum's Integrated Gradients, Saliency, Occlusion and Grad-CAM "
    "colour every pixel of the piano roll (or spectrogram) the model read, then the colours are summed onto "
    "**bars × voices** (or seconds × frequency bands), the same segments LIME ranks. Pixel maps are easy to "
    "over-read, so they come with their checks: the completeness gap, the baseline's effect, a randomisation "
    "test, the agreement between methods and with LIME, and a deletion check you can also listen to."
)
_restore()
score_or_recording(K + "input", _score_page, _audio_page)
