"""The Attack page's study tabs: the shipped robustness study and whether LIME finds a planted perturbation
(layout only)."""

from importlib.util import find_spec

import numpy as np
import pandas as pd
import streamlit as st

from models import registry
from pages import _cache as cache
from pages._attack_run import K, chart, request, requested, run_with_progress
from pages._widgets import choose_clip
from xai.errors import XaiError
from xai.views import attacks as av

# --- tab 3: the study --------------------------------------------------------------------------------------------


def study_tab() -> None:
    s = cache.robustness_study()
    if s is None:
        st.info("The robustness study has not been computed; run `python -m xai robustness`.")
        return
    p = s["parameters"]
    st.markdown(f"The same {p['n_style_clips']} test clips, the same attack ({p['attack']}; {p['steps']} steps) on "
                "the black-box, the interpretable mid-level and the adversarially trained style models.")
    chart(av.accuracy_vs_epsilon(s["style"]), "acc")
    chart(av.snr_at_success(s["style"]), "snr")
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
            chart(av.instrument_curve(ins), "ins")
        with c2:
            chart(av.targeted_by_class(ins), "tgt")
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
        st.button("Plant and explain", type="primary", key=K + "ver_run", on_click=request, args=("ver", key),
                  icon=":material/target:")
        res = cache.attack_cached(key)
        if res is None and requested("ver", key):
            try:
                res = run_with_progress("ver", key, lambda p: veracity.check_clip(
                    clip.waveform, model, k=int(k), samples=int(samples), progress=p), "Planting")
            except XaiError as e:
                st.error(str(e))
                res = None
        if res is not None:
            d = res.summary()
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
                chart(av.veracity_grid(np.array(c["planted"], dtype=int), c["lime_top"], c["energy_top"],
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


