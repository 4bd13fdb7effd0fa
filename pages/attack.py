"""Attack a prediction: how little must change for a model to change its mind?

Four tabs: a waveform attack on a recording (original vs adversarial side by side, to hear and to read), note
edits that change the style a score model hears, the shipped robustness study of the audio models, and whether
LIME finds a perturbation planted in a few time x band segments. All logic lives in ``xai.attacks.waveform``,
``xai.attacks.notes``, ``xai.attacks.robustness`` and ``xai.attacks.veracity``; figures in ``xai.views.attacks``.
"""

import hashlib
import html
from importlib.util import find_spec

import numpy as np
import pandas as pd
import streamlit as st

from models import registry
from pages import _cache as cache
from pages._nav import require_entrypoint
from pages._widgets import choose_clip, choose_piece, show_svgs
from xai.attacks import notes as sym
from xai.attacks import robustness as study
from xai.attacks import waveform as adv
from xai.audio import clip as audio
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.export import report
from xai.symbolic import music, score
from xai.views import attacks as av

K = "atk_"
PLOT = {"displaylogo": False}
METHOD_NAMES = {"pgd": "PGD (sign-Adam, L∞)", "fgsm": "FGSM (one step)", "cw": "C&W (‖δ‖² + α·CE)"}
ANY = "(any other class)"
STOP = K + "stop"
EDIT_COLOUR = "#D94801"  # bars and voices a note attack edited, on the score

require_entrypoint()


def _chart(fig, key):
    st.plotly_chart(fig, config=PLOT, key=K + key, theme=None)


def _cancel() -> None:
    st.session_state[STOP] = True
    st.session_state[K + "cancelled"] = True  # said once on the run the click starts (it interrupts the attack)


def _request(name: str, key: tuple) -> None:
    st.session_state[K + "pending_" + name] = key
    st.session_state[STOP] = False


def _requested(name: str, key: tuple) -> bool:
    if st.session_state.get(K + "pending_" + name) == key:
        st.session_state[K + "pending_" + name] = None
        return True
    return False


def _run_with_progress(name: str, key: tuple, compute, what: str):
    """Compute with a progress bar and a Cancel button; returns the result, or None if cancelled."""
    bar = st.progress(0.0, text=f"{what}…")
    slot = st.empty()
    slot.button("Cancel", key=K + "cancel_" + name, on_click=_cancel, icon=":material/stop:")

    def progress(f: float, m: str):
        bar.progress(min(max(f, 0.0), 1.0), text=f"{what}: {m}")
        return bool(st.session_state.get(STOP))

    try:
        res, _ = cache.attack_result(key, lambda: compute(progress))
    except adv.Cancelled as e:
        st.warning(str(e))
        res = None
    bar.empty()
    slot.empty()
    return res


# --- tab 1: a recording ------------------------------------------------------------------------------------------


def _audio_settings(model, clip):
    c1, c2, c3 = st.columns([1.2, 1, 1])
    method = c1.radio("Attack", list(METHOD_NAMES), format_func=METHOD_NAMES.get, key=K + "method",
                      help="PGD and C&W follow the papers: Adam on the sign of the gradient, the perturbation kept "
                           "within ±ε after every step, stopping as soon as the goal is reached.")
    target = c2.selectbox("Goal", [ANY, *model.classes], key=K + "target",
                          help="Push the model to any other class (untargeted) or to one class (targeted).")
    start = c3.number_input("Window start (s)", 0.0, max(0.0, clip.duration_seconds - 0.5), 0.0, 0.5,
                            key=K + "start", help="The models read 4-s windows; the attack changes this one.")
    d = adv.DEFAULTS[method]
    c4, c5, c6, c7 = st.columns(4)
    eps = c4.number_input("ε (largest sample change)", 1e-5, 1.0, float(d["epsilon"]), format="%.5f",
                          key=K + "eps_" + method, help="Samples are in [−1, 1]; 0.002 is about −54 dBFS.")
    steps, lr, alpha, spectral = 1, None, None, False
    if method != "fgsm":
        steps = c5.number_input("Most steps", 1, 2000, int(d["steps"]), key=K + "steps_" + method)
        lr = c6.number_input("Learning rate", 1e-6, 0.1, float(d["lr"]), format="%.6f", key=K + "lr_" + method)
    if method == "cw":
        alpha = c7.number_input("α (weight of the class term)", 1e-4, 1e4, float(d["alpha"]), key=K + "alpha")
        spectral = st.checkbox("Multi-resolution spectral distance instead of ‖δ‖² (Multi-Scale C&W)",
                               key=K + "spectral")
    tgt = None if target == ANY else model.classes.index(target)
    return adv.AttackOptions(method=method, epsilon=float(eps), target=tgt, steps=int(steps), lr=lr, alpha=alpha,
                             spectral=spectral), float(start)


def _wav(x) -> bytes:
    return audio.to_wav_bytes(np.clip(np.asarray(x, dtype=np.float32), -1, 1))


def _audio_result(model, r: adv.AttackResult) -> None:
    goal = f"to reach *{r.target_label}*" if r.target_label else "to change its answer"
    if r.success:
        st.success(f"The **{model.title}** heard *{r.original_label}*; after the attack it hears "
                   f"**{r.adversarial_label}**, with a perturbation at **{r.snr_db:.1f} dB** SNR "
                   f"(largest sample change {r.linf:.2g}, {r.iterations} steps).")
    else:
        st.warning(f"The attack did not manage {goal} within ε = {r.options.epsilon:g} and {r.options.steps} steps "
                   f"(the model now answers *{r.adversarial_label}*). Try a larger ε or more steps.")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("SNR", f"{r.snr_db:.1f} dB", help="20·log10(‖x‖/‖δ‖): higher means a quieter perturbation.")
    m2.metric("Largest sample change", f"{r.linf:.2g}", help=f"Bound ε = {r.options.epsilon:g}, checked every step.")
    m3.metric("Steps", r.iterations)
    noise = r.noise or {}
    m4.metric("White noise, same SNR", noise.get("label", "–"),
              help="The same loudness of random noise: does noise alone change the answer? Share of 5 draws "
                   f"that changed it: {noise.get('changed_fraction', 0):.0%}.")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Original** — *{html.escape(r.original_label)}* ({r.original_probs.max():.2f})")
        st.audio(_wav(r.original))
    with right:
        st.markdown(f"**Adversarial** — *{html.escape(r.adversarial_label)}* ({r.adversarial_probs.max():.2f})")
        st.audio(_wav(r.adversarial))
    left, right = st.columns(2)
    with left:
        st.markdown("**The perturbation alone**, amplified to be audible")
        st.audio(_wav(adv.amplified(r.delta)))
    if noise:
        with right:
            st.markdown(f"**White noise at the same SNR** (control) — heard as *{noise['label']}*")
            n = adv.noise_at_snr(r.original[None], r.snr_db, seed=noise["waveform_seed"])[0]
            st.audio(_wav(r.original + n))
    _chart(av.probabilities(r.classes, r.original_probs, r.adversarial_probs,
                            noise=noise.get("probabilities"), target=r.target_label), "probs")
    s0, s1 = adv.spectrograms(model.net, r.original, r.adversarial)
    _chart(av.spectrograms(s0, s1, seconds=len(r.original) / r.sample_rate,
                           band_hz=model.net.front.band_centres_hz()), "specs")
    st.caption("Left and middle: the model's own log filter-bank of the two windows, usually indistinguishable. "
               "Right: where the attack changed it (red louder, blue quieter).")
    _export_audio(model, r)


def _export_audio(model, r) -> None:
    d = r.to_dict()
    sections = (report.Section(
        "Original vs adversarial",
        text=f"{d['original']} -> {d['adversarial']}; SNR {r.snr_db:.1f} dB; white noise at the same SNR: "
             f"{(r.noise or {}).get('label', '-')}.",
        figures=(av.probabilities(r.classes, r.original_probs, r.adversarial_probs, target=r.target_label),),
        audio=(("original", _wav(r.original)), ("adversarial", _wav(r.adversarial)),
               ("the perturbation alone, amplified", _wav(adv.amplified(r.delta))))),)
    f = fmod.Finding(view="attack", title=f"Attack on {model.name}: {d['original']} to {d['adversarial']}",
                     summary=f"{r.options.method.upper()} attack, {'success' if r.success else 'no success'} at "
                             f"{r.snr_db:.1f} dB SNR.", parameters=r.options.to_dict() | {"start_s": r.start_seconds},
                     numbers={k: v for k, v in d.items() if k != "options"}, model=model.name, sections=sections)
    c1, c2 = st.columns(2)
    c1.download_button("Adversarial window (WAV)", _wav(r.adversarial), file_name="adversarial.wav",
                       mime="audio/wav", key=K + "dl_wav", on_click="ignore")
    o = r.options
    state = {"model": model.name, "method": o.method, "target": r.target_label or "", "epsilon": o.epsilon,
             "steps": o.steps, "start_s": float(r.start_seconds), "spectral": bool(o.spectral), **_clip_state()}
    state |= {k: float(v) for k, v in (("lr", o.lr), ("alpha", o.alpha)) if v is not None}
    _share(f, state, c2)


def _share(f, state, col) -> None:
    if find_spec("pages._share") is not None:
        from pages._share import share_panel

        share_panel(f, state, key=K)
    else:
        col.download_button("Numbers (JSON)", fmod.to_json(f).encode(), file_name="attack.json",
                            mime="application/json", key=K + "dl_json", on_click="ignore")


PENDING = K + "pending_link"  # a restored link's settings, applied once the clip (and so the model) is known


def _restore() -> None:
    """A share link's settings: the example recording now, the model and attack once the clip is read; the
    attack then runs again without a click (held per server, so a recent one opens at once)."""
    from pages._share import restored_state

    state = restored_state("attack")
    if not state:
        return
    ss = st.session_state
    titles = [e["title"] for e in _audio_examples()]
    if state.get("clip_source") == "example" and state.get("clip_example") in titles:
        ss[K + "source"], ss[K + "example"] = "An example recording", state["clip_example"]
    elif state.get("clip_source") == "upload":
        st.info("This link was made with its author's own recording, which a link does not carry: open the same "
                "file below to see the same result.")
    ss[PENDING] = state


def _apply_pending(names: list[str], clip) -> None:
    state = st.session_state.pop(PENDING, None)
    if not state:
        return
    ss = st.session_state
    if state.get("model") in names:
        ss[K + "model"] = state["model"]
    method = state.get("method")
    if method in METHOD_NAMES:
        ss[K + "method"] = method
        classes = cache.model(ss.get(K + "model", names[0])).classes
        ss[K + "target"] = state.get("target") if state.get("target") in classes else ANY
        for name, wkey, lo, hi in (("epsilon", "eps_" + method, 1e-5, 1.0), ("steps", "steps_" + method, 1, 2000),
                                   ("lr", "lr_" + method, 1e-6, 0.1), ("alpha", "alpha", 1e-4, 1e4),
                                   ("start_s", "start", 0.0, max(0.0, clip.duration_seconds - 0.5))):
            v = state.get(name)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi:
                ss[K + wkey] = int(v) if name == "steps" else float(v)
        if isinstance(state.get("spectral"), bool):
            ss[K + "spectral"] = state["spectral"]
    ss[K + "autorun"] = True


def _audio_examples() -> list[dict]:
    import json

    index = registry.ASSETS.parent / "examples" / "audio" / "audio_examples.json"
    return json.loads(index.read_text()) if index.exists() else []


def _clip_state() -> dict:
    ss = st.session_state
    if ss.get(K + "source", "An example recording") == "An example recording" and ss.get(K + "example"):
        return {"clip_source": "example", "clip_example": ss[K + "example"]}
    return {"clip_source": "upload"}


def recording_tab() -> None:
    names = registry.available("audio")
    if not names:
        st.warning("No audio model ships with this installation.")
        return
    try:
        clip = choose_clip(K, upload_hint="Upload a recording to attack the models' answer.")
    except XaiError as e:
        st.error(str(e))
        return
    if clip is None:
        return
    _apply_pending(names, clip)
    name = st.selectbox("Model", names, key=K + "model", format_func=lambda n: registry.card(n)["title"])
    model = cache.model(name)
    opt, start = _audio_settings(model, clip)
    clip_key = clip.source.sha256 if clip.source is not None else str(id(clip))
    key = ("wave", clip_key, name, model.weights_sha256, start, tuple(sorted(opt.to_dict().items())))
    if st.session_state.pop(K + "autorun", False):
        _request("wave", key)
    st.button("Attack", type="primary", key=K + "run", on_click=_request, args=("wave", key),
              icon=":material/bolt:")
    res = cache.attack_cached(key)
    if res is None and _requested("wave", key):
        try:
            res = _run_with_progress("wave", key, lambda p: adv.attack_clip(model, clip.waveform, opt,
                                                                            start_seconds=start, progress=p),
                                     "Attacking")
        except XaiError as e:
            st.error(str(e))
            return
    if res is not None:
        _audio_result(model, res)
        _rerun_on_clip(res)
    else:
        st.info("Choose the attack and press **Attack**. PGD on a 4-s window takes a second or two.")


def _rerun_on_clip(r) -> None:
    with st.expander("Rerun the robustness study on this window (the three style models)"):
        key = ("sweep", hashlib.sha256(r.original.tobytes()).hexdigest())
        st.button("Find each style model's smallest flipping ε", key=K + "sweep", on_click=_request,
                  args=("sweep", key))
        rows = cache.attack_cached(key)
        if rows is None and _requested("sweep", key):
            models = {n: cache.model(n) for n in study.STYLE_MODELS if n in registry.available("audio")}
            rows = _run_with_progress("sweep", key, lambda p: study.clip_sweep(models, r.original, progress=p),
                                      "Sweeping ε")
        if rows:
            _chart(av.clip_sweep(rows), "sweep")
            st.dataframe(pd.DataFrame(rows), hide_index=True)


# --- tab 2: a score ----------------------------------------------------------------------------------------------


def score_tab() -> None:
    names = registry.available()
    if not names:
        st.warning("No score model ships with this installation.")
        return
    try:
        piece = choose_piece(K + "sym_", upload_hint="Upload a score or MIDI file to look for note edits.")
    except XaiError as e:
        st.error(str(e))
        return
    if piece is None:
        return
    model = cache.model(names[0] if "composer" not in names else "composer")
    bars = [int(b) for b in piece.bar_numbers]
    c1, c2, c3, c4 = st.columns(4)
    first = c1.selectbox("From bar", bars, key=K + "sym_bar")
    n_bars = c2.number_input("Bars", 1, 16, 4, key=K + "sym_n",
                             help="The excerpt the model classifies; 4 bars of 4/4 fill one window.")
    target = c3.selectbox("Goal", [ANY, *model.classes], key=K + "sym_target")
    max_edits = c4.number_input("Most edits", 1, 32, 8, key=K + "sym_max")
    pitches = st.radio("Inserted notes use", ["piece", "chromatic"], horizontal=True, key=K + "sym_pitches",
                       format_func={"piece": "the piece's own pitch classes", "chromatic": "any pitch"}.get)
    last = bars[min(bars.index(first) + int(n_bars) - 1, len(bars) - 1)]
    try:
        a, b = piece.bar_range(first, last)
        excerpt = piece.slice(a, b)
    except XaiError as e:
        st.error(str(e))
        return
    if excerpt.n_notes == 0:
        st.info("These bars have no notes; choose others.")
        return
    tgt = None if target == ANY else model.classes.index(target)
    key = ("sym", cache.piece_key(piece), model.name, first, last, tgt, int(max_edits), pitches)
    st.button("Find the fewest note edits", type="primary", key=K + "sym_run", on_click=_request, args=("sym", key),
              icon=":material/edit_note:")
    res = cache.attack_cached(key)
    if res is None and _requested("sym", key):
        try:
            res = _run_with_progress("sym", key, lambda p: sym.attack_piece(
                excerpt, model, target=tgt, max_edits=int(max_edits), pitches=pitches, progress=p), "Searching")
        except XaiError as e:
            st.error(str(e))
            return
    if res is None:
        st.info("Each round ranks every possible insertion (a note on the beat grid) and deletion by the gradient, "
                "checks the best 48 exactly and keeps the one that moves the model most; it stops at the flip.")
        return
    d = res.to_dict()
    if res.success:
        st.success(f"**{len(res.edits)} edit{'s' if len(res.edits) != 1 else ''}** of {excerpt.n_notes} notes change "
                   f"the answer from *{d['original']}* to **{d['adversarial']}** "
                   f"({res.adversarial_probs.max():.2f}).")
    else:
        st.warning(f"{len(res.edits)} edits did not change the answer (*{d['adversarial']}*); allow more edits or any "
                   f"pitch.")
    st.markdown("\n".join(f"{i + 1}. {e['text']}" for i, e in enumerate(d["edits"])))
    _chart(av.roll_diff(excerpt, res.adversarial, res.edits), "roll")
    _chart(av.probabilities(res.classes, res.original_probs, res.adversarial_probs), "sym_probs")
    c1, c2 = st.columns(2)
    try:
        c1.markdown("**Original bars**")
        c1.audio(cache.rendered_piece(str(key) + "o", excerpt))
        c2.markdown("**Edited bars**")
        c2.audio(cache.rendered_piece(str(key) + "a", res.adversarial))
    except XaiError as e:
        st.error(str(e))
    _edited_score(piece, first, last, d["edits"])
    st.download_button("Edited bars (MIDI)", music.to_midi_bytes(res.adversarial), file_name="edited.mid",
                       mime="audio/midi", key=K + "sym_midi", on_click="ignore")
    st.caption("Judge by ear and eye whether the change is musically small: the model's answer moved, "
               "has the style?")


def _edited_score(piece, first: int, last: int, edits: list[dict]) -> None:
    """The original score of the attacked bars, with the voices the attack edited coloured, bar by bar."""
    if piece.source is None or not piece.source.is_scored or not edits:
        return
    with st.expander("The score of these bars, edited voices in colour"):
        try:
            svgs = cache.engrave(cache.piece_key(piece), first, last, piece, max_pages=2)
            marks = sorted({(int(e["bar"]), int(e["part"]), EDIT_COLOUR) for e in edits})
            show_svgs(score.highlight(svgs, marks, n_parts=len(piece.part_names)), height=460)
            st.caption("The original notes; each bar and voice where a note was added or removed is coloured "
                       "(the whole bar where the score has no staff per voice). The list above says which notes.")
        except XaiError as e:
            st.caption(str(e))


# --- tab 3: the study --------------------------------------------------------------------------------------------


def study_tab() -> None:
    s = cache.robustness_study()
    if s is None:
        st.info("The robustness study has not been computed; run `python -m xai robustness`.")
        return
    p = s["parameters"]
    st.markdown(f"The same {p['n_style_clips']} test clips, the same attack ({p['attack']}; {p['steps']} steps) on "
                "the black-box, the interpretable mid-level and the adversarially trained style models.")
    _chart(av.accuracy_vs_epsilon(s["style"]), "acc")
    _chart(av.snr_at_success(s["style"]), "snr")
    tests = pd.DataFrame(s["style"]["paired_tests"])
    if not tests.empty:
        st.markdown("**Paired tests per clip** — McNemar (exact) on right/wrong at each ε; Wilcoxon signed-rank on "
                    "the smallest ε that flips each clip both models got right.")
        st.dataframe(tests, hide_index=True)
    ins = s.get("instrument")
    if ins:
        st.subheader("The instrument model against the papers")
        c1, c2 = st.columns(2)
        with c1:
            _chart(av.instrument_curve(ins), "ins")
        with c2:
            _chart(av.targeted_by_class(ins), "tgt")
        ours = [{"attack": f"PGD (eps {r['epsilon']:g}, lr eps/8, {p['steps']} steps)", "accuracy": r["accuracy"],
                 "snr_db": r["mean_snr_db"], "clean": ins["clean_accuracy"],
                 "source": f"this model, {ins['n_clips']} test clips"} for r in ins["untargeted"]]
        ours += [{"attack": f"white noise at the PGD SNR (eps {r['epsilon']:g})",
                  "accuracy": r["noise_accuracy_same_snr"], "snr_db": r["mean_snr_db"],
                  "clean": ins["clean_accuracy"], "source": "this model"} for r in ins["untargeted"]]
        t = ins["targeted"]
        ours.append({"attack": f"targeted PGD (eps {t['epsilon']:g}), success rate", "accuracy": t["success_rate"],
                     "snr_db": t["mean_snr_db_at_success"], "clean": ins["clean_accuracy"],
                     "source": "this model"})
        st.dataframe(pd.DataFrame([{k: str(v) for k, v in r.items()} for r in ours + ins["paper"]]), hide_index=True)
    st.caption("Reproduce: `" + p["command"] + "`")


# --- tab 4: veracity ---------------------------------------------------------------------------------------------


def veracity_tab() -> None:
    if find_spec("xai.attacks.veracity") is None:
        st.info("The veracity check is not available in this installation.")
        return
    _veracity_tab()


def _veracity_tab() -> None:
    from xai.attacks import veracity

    st.markdown("A perturbation is planted in **k** random time × band segments of the model's spectrogram, "
                "just strong enough to change the answer. Then LIME explains the new answer. Does LIME's top-k "
                "point at the planted segments, and does adding only that part of the perturbation change the "
                "answer? The baseline picks the k segments where the perturbation has most energy. (After Praher, "
                "Prinz et al., ISMIR 2021: LIME's top-3 flipped the label in only 21–53 % of cases.)")
    names = registry.available("audio")
    try:
        clip = choose_clip(K + "ver_", upload_hint="Upload a recording to plant a perturbation in.")
    except XaiError as e:
        st.error(str(e))
        return
    if clip is not None and names:
        c1, c2, c3 = st.columns(3)
        name = c1.selectbox("Model", names, key=K + "ver_model", format_func=lambda n: registry.card(n)["title"])
        k = c2.number_input("Segments planted (k)", 1, 10, 3, key=K + "ver_k")
        samples = c3.select_slider("LIME samples", [250, 500, 1000, 2000], 1000, key=K + "ver_samples")
        model = cache.model(name)
        key = ("ver", clip.source.sha256 if clip.source is not None else str(id(clip)), name, int(k), int(samples))
        st.button("Plant and explain", type="primary", key=K + "ver_run", on_click=_request, args=("ver", key),
                  icon=":material/target:")
        res = cache.attack_cached(key)
        if res is None and _requested("ver", key):
            try:
                res = _run_with_progress("ver", key, lambda p: veracity.check_clip(
                    model, clip.waveform, k=int(k), samples=int(samples), progress=p), "Planting")
            except XaiError as e:
                st.error(str(e))
                res = None
        if res is not None:
            d = res.to_dict()
            for setting, what in (("planted", f"Planted in {res.k} segments"),
                                  ("free", "Free attack (whole spectrogram)")):
                c = d[setting]
                st.markdown(f"**{what}** — answer *{c['original']}* → *{c['adversarial']}*")
                if not c["success"]:
                    st.warning("The attack did not change the answer within its bound; nothing to explain.")
                    continue
                yes = {True: "yes", False: "no", None: "–"}
                st.dataframe(pd.DataFrame([
                    {"pick": "LIME top-k", "segments": c["lime_top"], "flips the answer": yes[c["lime_flip"]],
                     "planted segments found": "–" if c["lime_recall"] is None else f"{c['lime_recall']:.0%}"},
                    {"pick": "largest energy of δ", "segments": c["energy_top"],
                     "flips the answer": yes[c["energy_flip"]],
                     "planted segments found": "–" if c["energy_recall"] is None else f"{c['energy_recall']:.0%}"},
                ]), hide_index=True)
                _chart(av.veracity_grid(np.array(c["planted"], dtype=int), c["lime_top"], c["energy_top"],
                                        res.n_time, res.n_bands), "ver_" + setting)
                st.caption(f"LIME's fidelity R² = {c['r2']:.2f} (the paper: fidelity does not tell right "
                           "explanations from wrong ones). Shaded: planted; L: LIME's picks; E: energy picks.")
    shipped = veracity.load_shipped()
    if shipped:
        s, p = shipped["summary"], shipped["parameters"]
        f = shipped["summary_free"]
        st.markdown(f"**Over {p['n_clips']} test clips** ({p['model']}, k = {p['k']}, {p['samples']} LIME samples):")
        st.dataframe(pd.DataFrame([
            {"setting": f"planted in {p['k']} segments", "attacks that worked": s["n"],
             "LIME top-k flips": s["lime_flip_rate"], "energy top-k flips": s["energy_flip_rate"],
             "LIME finds planted": s["lime_recall"], "mean R²": s["mean_r2"]},
            {"setting": "free (whole spectrogram)", "attacks that worked": f["n"],
             "LIME top-k flips": f["lime_flip_rate"], "energy top-k flips": f["energy_flip_rate"],
             "LIME finds planted": None, "mean R²": f["mean_r2"]},
            {"setting": "paper (ISMIR 2021), waveform / spectrogram, k = 3", "attacks that worked": None,
             "LIME top-k flips": "0.21–0.53", "energy top-k flips": "higher for every k",
             "LIME finds planted": "few (fig. 3)", "mean R²": "0.5–0.95"},
        ]).astype(str), hide_index=True)
        st.caption("Reproduce: `" + p["command"] + "`")


st.title("Attack a prediction")
st.caption("How little must change for a model to change its mind? Tiny changes that flip an answer show what a "
           "model does *not* hear the way we do.")
_restore()
if st.session_state.pop(K + "cancelled", False):
    st.warning("Cancelled: the computation was stopped and nothing was kept. Change the settings or run it again.")
tabs = st.tabs(["A recording", "A score", "Robustness study", "Does LIME find it?"])
with tabs[0]:
    recording_tab()
with tabs[1]:
    score_tab()
with tabs[2]:
    study_tab()
with tabs[3]:
    veracity_tab()
