"""Explain with LIME: which bars and voices (or seconds and frequency bands, or stems) a prediction rests on,
never shown alone: beside a trivial baseline, a deletion check, a stability score and the fidelity with its caveat.

UI only: the work is :mod:`xai.local.lime` / :mod:`xai.local.segments`, the figures :mod:`xai.views.local`, the caches
``pages._cache.lime_result`` (keyed by input hash, model and options). Any XaiError is one plain sentence.
"""

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from models import registry
from pages import _cache as cache
from pages._nav import require_entrypoint
from pages._share import restore_piece, restored_state
from pages._widgets import chart, choose_clip, choose_piece
from xai.audio import clip as xaudio
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.export import report
from xai.local import lime
from xai.symbolic import score
from xai.views import local as lime_views

K = "lime_"
TOP_COLOUR = "#D94801"  # LIME's top segments on the score, the colour of the piano roll's outline
PREDICTED = "(the predicted class)"
CAVEAT = ("LIME shows which segments, switched on and off together, move the model's probability most in a "
          "straight-line fit around this input; it is evidence of what this model is sensitive to here, not proof "
          "of what caused its answer, and it often misses the real cause (Praher et al., ISMIR 2021).")
R2_WARNING = ("Fidelity (R²) says how well a straight line fits the model around this input; it does not say "
              "whether the ranking is right — correct and wrong explanations have the same range of R².")
SEGMENT_TEXT = {"bars-voices": "Bars × voices", "bars-registers": "Bars × registers (pitch bands)",
                "stems": "Rendered parts (stems) for an audio model"}


# Share links: widget keys of the options, by the state's names (numbers only; checked against their ranges).
OPTION_KEYS = {"samples": (K + "samples", 50, 20_000), "kernel_width": (K + "kernel", 0.05, 5.0),
               "seed": (K + "seed", 0, 10_000), "top_k": (K + "topk", 1, 10), "stability_seeds": (K + "stab", 1, 10),
               "bars_per_segment": (K + "bps", 1, 8), "n_registers": (K + "regs", 2, 4), "n_time": (K + "nt", 2, 10),
               "n_bands": (K + "nb", 2, 8)}
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
        titles = [e["title"] for e in _audio_examples()]
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


def _audio_examples() -> list[dict]:
    import json

    index = registry.ASSETS.parent / "examples" / "audio" / "audio_examples.json"
    return json.loads(index.read_text()) if index.exists() else []


def _clip_state() -> dict:
    ss = st.session_state
    if ss.get(K + "clip_source", "An example recording") == "An example recording" and ss.get(K + "clip_example"):
        return {"clip_source": "example", "clip_example": ss[K + "clip_example"]}
    return {"clip_source": "upload"}


def _options(kind: str) -> dict:
    d = lime.DEFAULTS["audio" if kind in ("time-bands", "stems") else "symbolic"]
    with st.expander("Options", expanded=False):
        c1, c2, c3 = st.columns(3)
        samples = c1.number_input("Samples (random coalitions)", 50, 20_000, d["samples"], step=250, key=K + "samples",
                                  help=f"Ignored with {lime.EXACT_MAX} segments or fewer: then every coalition is "
                                       "asked (exact). Default chosen from a stability measurement (bench/lime.py).")
        kw = c2.number_input("Kernel width", 0.05, 5.0, float(d["kernel_width"]), step=0.05, key=K + "kernel",
                             help="LIME's locality on the cosine distance to the whole input (lime's and the "
                                  "veracity paper's 0.25).")
        seed = c3.number_input("Seed", 0, 10_000, 0, key=K + "seed")
        c4, c5, c6 = st.columns(3)
        top_k = c4.number_input("Top k", 1, 10, d["top_k"], key=K + "topk",
                                help="How many top segments are played, outlined and compared across seeds.")
        stab = c5.number_input("Stability seeds", 1, 10, d["stability_seeds"], key=K + "stab",
                               help="LIME is run again with this many seeds; their top-k agreement is shown.")
        extra = {}
        if kind in ("bars-voices", "bars-registers"):
            extra["bars_per_segment"] = int(c6.number_input("Bars per segment", 1, 8, 2, key=K + "bps"))
            if kind == "bars-registers":
                extra["n_registers"] = int(st.slider("Registers (pitch bands)", 2, 4, 3, key=K + "regs"))
        if kind == "time-bands":
            extra["n_time"] = int(c6.number_input("Time segments", 2, 10, 5, key=K + "nt"))
            extra["n_bands"] = int(st.slider("Frequency bands", 2, 8, 4, key=K + "nb"))
    return {"samples": int(samples), "kernel_width": float(kw), "seed": int(seed), "top_k": int(top_k),
            "stability_seeds": int(stab), **extra}


def _class_choice(classes, *, key: str) -> str | None:
    pick = st.selectbox("Class to explain", [PREDICTED, *classes], key=key,
                        help="LIME explains the probability of one class; by default the one the model predicts.")
    return None if pick == PREDICTED else pick


def _run(key: tuple, compute) -> object | None:
    """The explanation for ``key``: held, or computed now with a progress bar when the user asked for it."""
    held = cache.lime_peek(key)
    if held is not None:
        return held
    if st.session_state.pop(K + "autorun", False):  # opened from a share link: run it as the link's author did
        st.session_state[K + "asked"] = key
    if st.session_state.get(K + "asked") != key:
        st.button("Explain", type="primary", icon=":material/play_arrow:", key=K + "go",
                  on_click=lambda: st.session_state.__setitem__(K + "asked", key))
        return None
    bar = st.progress(0.0, text="Starting…")

    def progress(f: float, m: str) -> None:
        bar.progress(min(max(float(f), 0.0), 1.0), text=m)

    import time

    t = time.perf_counter()
    result, _ = cache.lime_result(key, lambda: compute(progress))
    bar.empty()
    st.session_state[K + "seconds"] = time.perf_counter() - t
    return result


def _headline(res) -> None:
    top = res.ranked(res.options.get("top_k", 3))
    names = ", ".join(f"**{s['label']}** ({s['weight']:+.2f})" for s in top)
    st.markdown(f"For **{res.target_name}** (p = {res.probability:.2f} on the whole input; "
                f"{res.empty_probability:.2f} with every segment removed), LIME ranks first: {names}.")
    st.caption(CAVEAT)


def _checks(res) -> None:
    dm = res.deletion_area()
    base = res.baseline_name
    st_ = res.stability
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Fidelity R²", f"{res.fit.r2:.2f}", help=R2_WARNING)
    c2.metric(f"Stability (top-{st_['top_k']})", f"{st_['mean_jaccard']:.2f}",
              help=f"Mean Jaccard agreement of the top-{st_['top_k']} segments over seeds {st_['seeds']} "
                   "(1 = always the same segments)." + (" Exact enumeration: no sampling, so 1 by construction."
                                                         if st_.get("exact") else ""))
    c3.metric("Deletion: LIME", f"{dm['lime']:.2f}",
              help="Mean probability as LIME's top-k segments are removed one by one (lower = finds what matters "
                   "sooner).")
    c4.metric(f"Deletion: {lime_views.RANKING_NAMES.get(base, base)} / random", f"{dm[base]:.2f} / {dm['random']:.2f}",
              help="The same for the trivial baseline and for a random order. LIME is only worth reading where it "
                   "beats both.")
    verdict = ("beats" if dm["lime"] < min(dm[base], dm["random"]) else "does **not** beat")
    st.warning(f"{R2_WARNING} On the deletion check, LIME {verdict} the trivial baseline and the random order here.",
               icon=":material/info:")
    how = (f"all {res.fit.samples} coalitions (exact)" if res.fit.exact else f"{res.fit.samples} samples")
    secs = st.session_state.get(K + "seconds")
    st.caption(f"{res.n_segments} segments, {how}, kernel width {res.options['kernel_width']}, seed "
               f"{res.options['seed']}" + (f"; computed in {secs:.1f} s" if secs else "") + ".")


def _ranked_table(res) -> pd.DataFrame:
    rows = []
    for r, s in enumerate(res.ranked(), start=1):
        rows.append({"rank": r, "segment": s["label"], "LIME weight": round(s["weight"], 4),
                     lime_views.RANKING_NAMES.get(res.baseline_name, res.baseline_name): round(
                         float(res.amount[s["id"]]), 3)})
    return pd.DataFrame(rows)


def _listen(res, key: str) -> list[tuple[str, bytes]]:
    k = res.options.get("top_k", 3)
    ids = tuple(res.fit.top(k))
    clips = []
    try:
        if res.kind == "time-bands":
            clips = [(f"Top {k} cells alone", xaudio.to_wav_bytes(lime.sonify_cells(res.waveform, res.grid, ids))),
                     (f"Without the top {k} cells",
                      xaudio.to_wav_bytes(lime.sonify_cells(res.waveform, res.grid, ids, keep=False))),
                     ("The explained 4 s", xaudio.to_wav_bytes(res.waveform))]
        elif res.kind == "stems":
            clips = [(f"Top {k} stems alone", xaudio.to_wav_bytes(res.mix(ids))),
                     (f"Without the top {k} stems", xaudio.to_wav_bytes(res.mix(ids, keep=False))),
                     ("All stems (what the model heard)", xaudio.to_wav_bytes(res.stems.sum(0)))]
        else:
            clips = [(f"Top {k} segments alone", cache.lime_piece_audio(key, ids, True, res))]
            if len(ids) < res.n_segments:
                clips.append((f"Without the top {k} segments", cache.lime_piece_audio(key, ids, False, res)))
            clips.append(("The explained bars", cache.lime_piece_audio(key, tuple(range(res.n_segments)), True, res)))
    except XaiError as e:
        st.caption(str(e))
    cols = st.columns(len(clips) or 1)
    for c, (cap, wav) in zip(cols, clips):
        c.caption(cap)
        c.audio(wav, format="audio/wav")
    return clips


def _results(res, key: str, state: dict) -> None:
    _headline(res)
    _checks(res)
    k = res.options.get("top_k", 3)
    chart(lime_views.heatmap(res, top_k=k), key=K + "heat")
    st.markdown("**Ranked segments** (every segment, LIME's weight beside the baseline's measure)")
    st.dataframe(_ranked_table(res), hide_index=True, height=250, width="stretch")
    st.markdown("**Side by side: LIME, the trivial baseline, a random order**")
    st.dataframe(pd.DataFrame(lime_views.rankings_rows(res, k=max(k, 5))), hide_index=True, width="stretch")
    st.markdown("**Listen**")
    clips = _listen(res, key)
    chart(lime_views.deletion_plot(res), key=K + "deletion")
    if res.kind in ("bars-voices", "bars-registers") and res.piece is not None and res.piece.source is not None \
            and res.piece.source.is_scored:
        with st.expander(f"The score, bars {res.options['start_bar']}–{res.options['end_bar']}"):
            try:
                svgs = cache.engrave(cache.piece_key(res.piece), res.options["start_bar"], res.options["end_bar"],
                                     res.piece, max_pages=2)
                from pages._widgets import show_svgs

                top = res.ranked(k)
                marks = [(bar, seg.get("part"), TOP_COLOUR) for seg in top if seg["weight"] > 0
                         for bar in range(int(seg["start_bar"]), int(seg["end_bar"]) + 1)]
                show_svgs(score.highlight(svgs, marks, n_parts=len(res.piece.part_names)), height=500)
                tops = ", ".join(s["label"] for s in top)
                st.caption(f"LIME's top {k} in colour ({tops}): the voice in those bars where the score has one "
                           f"staff per voice, else the whole bars.")
            except XaiError as e:
                st.caption(str(e))
    _share(res, state, clips)


def _share(res, state: dict, clips) -> None:
    f = fmod.Finding(
        view="lime", title=f"LIME: {res.title or res.model} → {res.target_name}",
        summary=CAVEAT + " " + R2_WARNING, parameters={"model": res.model, "title": res.title, **res.options},
        numbers=res.to_dict(), model=res.model,
        sections=(report.Section("Where LIME puts the weight", figures=(lime_views.heatmap(res),
                                                                        lime_views.deletion_plot(res)),
                                 table=tuple(lime_views.rankings_rows(res, k=10))),
                  report.Section("Listen", audio=tuple(clips))))
    st.divider()
    try:
        from pages._share import share_panel
    except ImportError:  # an installation without the share panel: plain downloads
        st.download_button("Numbers (JSON)", fmod.to_json(f).encode(), file_name="lime_finding.json",
                           key=K + "json", on_click="ignore")
        return
    share_panel(f, state, key="lime")


def _score_page() -> None:
    piece = choose_piece(K, upload_hint="Upload a score or MIDI file to explain the model's answer for it.")
    if piece is None:
        return
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
                             key=K + "stem_model")
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
        start = c1.selectbox("From bar", ["(where the model is surest)", *[int(n) for n in nums]], key=K + "start")
        n_bars = c2.slider("Bars", 2, min(32, max(2, len(nums))), min(8, max(2, len(nums))), key=K + "nbars",
                           help="How many bars are explained (the model's windows over them are asked).")
        start_bar = None if isinstance(start, str) else int(start)
        opts = _options(kind)
        key = ("piece", cache.piece_key(piece), mname, target, kind, start_bar, n_bars, tuple(sorted(opts.items())))
        state = {"input": "score", "segments": kind, "model": mname, "target": target or "",
                 "start_bar": start_bar if start_bar is not None else -1, "n_bars": n_bars}
        res = _run(key, lambda p: lime.explain_piece(piece, model, target, segments=kind, start_bar=start_bar,
                                                     n_bars=n_bars, progress=p, **opts))
    if res is not None:
        from pages._share import piece_state

        state = {**piece_state(K), **state, **{k: v for k, v in res.options.items() if isinstance(v, (int, float))}}
        _results(res, hashlib.sha256(repr(key).encode()).hexdigest()[:16], state)


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
                         key=K + "audio_model")
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
    res = _run(key, lambda p: lime.explain_audio(model, clip.waveform, target, off=off, start_s=float(start_s),
                                                 progress=p, **opts))
    if res is not None:
        state = {"input": "recording", "segments": "time-bands", "model": mname, "target": target or "", **_clip_state(),
                 "start_s": float(start_s), "off": off,
                 **{k: v for k, v in res.options.items() if isinstance(v, (int, float))}}
        _results(res, hashlib.sha256(repr(key).encode()).hexdigest()[:16], state)


require_entrypoint()
st.title("Explain with LIME")
st.markdown(
    "Which **bars and voices** (or seconds and frequency bands of a recording, or rendered parts) does the model's "
    "answer rest on? LIME switches segments off at random, asks the model again and fits a straight line. This "
    "page never shows LIME alone: beside it are a trivial baseline on the same segments, a deletion check, a "
    "stability score over seeds and the fit's R² with its caveat."
)
_restore()
what = st.radio("Explain", ["A score", "A recording"], horizontal=True, key=K + "input")
try:
    if what == "A score":
        _score_page()
    else:
        _audio_page()
except XaiError as e:
    st.error(str(e))
