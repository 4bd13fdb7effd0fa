"""Attack a prediction: how little must change for a model to change its mind?

Four tabs: a waveform attack on a recording (original vs adversarial side by side, to hear and to read), note
edits that change the style a score model hears, the shipped robustness study of the audio models, and whether
LIME finds a perturbation planted in a few time x band segments. All logic lives in ``xai.attacks.waveform``,
``xai.attacks.notes``, ``xai.attacks.robustness`` and ``xai.attacks.veracity``; figures in ``xai.views.attacks``.
"""

import hashlib
import html
from importlib.util import find_spec

import pandas as pd
import streamlit as st

from models import registry
from pages import _cache as cache
from pages._attack_run import ANY, K, chart, request, requested, run_with_progress
from pages._attack_score import score_tab
from pages._attack_study import study_tab, veracity_tab
from pages._nav import require_entrypoint
from pages._widgets import choose_clip, model_label
from xai.attacks import robustness as study
from xai.attacks import waveform as adv
from xai.audio import examples as audio_examples
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.export import report
from xai.views import attacks as av

METHOD_NAMES = {"pgd": "PGD (sign-Adam, L∞)", "fgsm": "FGSM (one step)", "cw": "C&W (least ‖δ‖₂ that works)"}
SPECS = {s["name"]: s for s in adv.AttackOptions.spec()}  # bounds and help of the widgets, as the library declares

require_entrypoint()


# --- tab 1: a recording ------------------------------------------------------------------------------------------


def _audio_settings(model, clip):
    c1, c2, c3 = st.columns([1.2, 1, 1])
    method = c1.radio("Attack", list(METHOD_NAMES), format_func=METHOD_NAMES.get, key=K + "method",
                      help="PGD follows the papers: Adam on the sign of the gradient, the perturbation kept within "
                           "±ε, stopping as soon as the goal is reached. C&W (Carlini & Wagner 2017) looks for the "
                           "quietest perturbation that still works, searching the trade-off between loudness and "
                           "success; it spends all its steps.")
    target = c2.selectbox("Goal", [ANY, *model.classes], key=K + "target",
                          help="Push the model to any other class (untargeted) or to one class (targeted).")
    start = c3.number_input("Window start (s)", 0.0, max(0.0, clip.duration_seconds - 0.5), 0.0, 0.5,
                            key=K + "start", help="The models read 4-s windows; the attack changes this one.")
    d = adv.AttackOptions.for_method(method)
    c4, c5, c6, c7 = st.columns(4)
    chosen = {"epsilon": _number(c4, "epsilon", "ε (largest sample change)", d.epsilon, "eps_" + method, "%.5f")}
    if method != "fgsm":
        chosen["steps"] = _number(c5, "steps", "Most steps", d.steps, "steps_" + method)
        chosen["lr"] = _number(c6, "lr", "Learning rate", d.learning_rate(), "lr_" + method, "%.6f")
    if method == "cw":
        chosen["alpha"] = _number(c7, "alpha", "c (first trade-off constant)", d.cw_alpha(), "alpha")
        chosen["spectral"] = st.checkbox("Multi-resolution spectral distance instead of ‖δ‖² (Multi-Scale C&W)",
                                         key=K + "spectral")
    tgt = None if target == ANY else model.classes.index(target)
    return adv.AttackOptions(method=method, target=tgt, **chosen), float(start)


def _number(col, name: str, label: str, default, key: str, fmt: str | None = None):
    """A number widget bounded as :class:`xai.attacks.waveform.AttackOptions` declares the option."""
    s = SPECS[name]
    cast = int if s["type"] == "int" else float
    return cast(col.number_input(label, cast(s["low"]), cast(s["high"]), cast(default), key=K + key, help=s["help"],
                                 **({"format": fmt} if fmt else {})))


def _audio_result(model, r: adv.AttackResult) -> None:
    goal = f"to reach *{r.target_label}*" if r.target_label else "to change its answer"
    if r.success:
        st.success(f"The **{model.title}** heard *{r.original_label}*; after the attack it hears "
                   f"**{r.adversarial_label}**, with a perturbation at **{r.snr_db:.1f} dB** SNR "
                   f"(largest sample change {r.linf:.2g}, {r.iterations} steps).")
    else:
        st.warning(f"The attack did not manage {goal} within ε = {r.options.epsilon:g} and {r.options.steps} steps "
                   f"(the model now answers *{r.adversarial_label}*). Try a larger ε or more steps.")
    if r.note:
        st.info(r.note)
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
        st.audio(adv.to_wav(r.original))
    with right:
        st.markdown(f"**Adversarial** — *{html.escape(r.adversarial_label)}* ({r.adversarial_probs.max():.2f})")
        st.audio(adv.to_wav(r.adversarial))
    left, right = st.columns(2)
    with left:
        st.markdown("**The perturbation alone**, amplified to be audible")
        st.audio(adv.to_wav(adv.amplified(r.delta)))
    if noise:
        with right:
            st.markdown(f"**White noise at the same SNR** (control) — heard as *{noise['label']}*")
            n = adv.noise_at_snr(r.original[None], r.snr_db, random_state=noise["waveform_seed"])[0]
            st.audio(adv.to_wav(r.original + n))
    chart(av.probabilities(r.classes, r.original_probs, r.adversarial_probs,
                            noise=noise.get("probabilities"), target=r.target_label), "probs")
    s0, s1 = adv.spectrograms(model.net, r.original, r.adversarial)
    chart(av.spectrograms(s0, s1, seconds=len(r.original) / r.sample_rate,
                           band_hz=adv.band_centres_hz(model.net)), "specs")
    st.caption("Left and middle: the model's own log filter-bank of the two windows, usually indistinguishable. "
               "Right: where the attack changed it (red louder, blue quieter).")
    _export_audio(model, r)


def _export_audio(model, r) -> None:
    d = r.summary()
    sections = (report.Section(
        "Original vs adversarial",
        text=f"{d['original']} -> {d['adversarial']}; SNR {r.snr_db:.1f} dB; white noise at the same SNR: "
             f"{(r.noise or {}).get('label', '-')}.",
        figures=(av.probabilities(r.classes, r.original_probs, r.adversarial_probs, target=r.target_label),),
        audio=(("original", adv.to_wav(r.original)), ("adversarial", adv.to_wav(r.adversarial)),
               ("the perturbation alone, amplified", adv.to_wav(adv.amplified(r.delta))))),)
    f = fmod.Finding(view="attack", title=f"Attack on {model.name}: {d['original']} to {d['adversarial']}",
                     summary=f"{r.options.method.upper()} attack, {'success' if r.success else 'no success'} at "
                             f"{r.snr_db:.1f} dB SNR.", parameters=r.options.to_dict() | {"start_s": r.start_seconds},
                     numbers={k: v for k, v in d.items() if k != "options"}, model=model.name, sections=sections)
    c1, c2 = st.columns(2)
    c1.download_button("Adversarial window (WAV)", adv.to_wav(r.adversarial), file_name="adversarial.wav",
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
    titles = audio_examples.titles()
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
        bounds = [(n, w, SPECS[n]["low"], SPECS[n]["high"]) for n, w in (("epsilon", "eps_" + method),
                  ("steps", "steps_" + method), ("lr", "lr_" + method), ("alpha", "alpha"))]
        for name, wkey, lo, hi in (*bounds, ("start_s", "start", 0.0, max(0.0, clip.duration_seconds - 0.5))):
            v = state.get(name)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi:
                ss[K + wkey] = int(v) if name == "steps" else float(v)
        if isinstance(state.get("spectral"), bool):
            ss[K + "spectral"] = state["spectral"]
    ss[K + "autorun"] = True


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
    name = st.selectbox("Model", names, key=K + "model", format_func=model_label)
    model = cache.model(name)
    opt, start = _audio_settings(model, clip)
    clip_key = clip.source.sha256 if clip.source is not None else str(id(clip))
    key = ("wave", clip_key, name, model.weights_sha256, start, tuple(sorted(opt.to_dict().items())))
    if st.session_state.pop(K + "autorun", False):
        request("wave", key)
    st.button("Attack", type="primary", key=K + "run", on_click=request, args=("wave", key),
              icon=":material/bolt:")
    res = cache.attack_cached(key)
    if res is None and requested("wave", key):
        try:
            res = run_with_progress("wave", key, lambda p: adv.attack_clip(clip.waveform, model, opt,
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
        st.button("Find each style model's smallest flipping ε", key=K + "sweep", on_click=request,
                  args=("sweep", key))
        rows = cache.attack_cached(key)
        if rows is None and requested("sweep", key):
            models = {n: cache.model(n) for n in study.STYLE_MODELS if n in registry.available("audio")}
            rows = run_with_progress("sweep", key, lambda p: study.clip_sweep(r.original, models, progress=p),
                                      "Sweeping ε")
        if rows:
            chart(av.clip_sweep(rows), "sweep")
            st.dataframe(pd.DataFrame(rows), hide_index=True)


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
