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
from xai.attacks import robustness
from xai.errors import XaiError
from xai.views import attacks as av

PAIRED_TEST_HEADINGS = {"a": "Model A", "b": "Model B", "epsilon": "ε", "a_only_correct": "Only A right",
                        "b_only_correct": "Only B right", "mcnemar_p": "McNemar p", "wilcoxon_p": "Wilcoxon p",
                        "n_both_clean_correct": "Both right unattacked", "mcnemar_p_holm": "McNemar p, Holm",
                        "wilcoxon_p_holm": "Wilcoxon p, Holm"}  # short headings: every column fits at 1280 px
INSTRUMENT_HEADINGS = {"attack": "Attack", "accuracy": "Accuracy", "snr_db": "SNR (dB)", "clean": "Clean accuracy",
                       "source": "Source"}

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
    tests = pd.DataFrame(s["style"]["paired_tests"]).rename(columns=PAIRED_TEST_HEADINGS)
    if not tests.empty:
        st.markdown("**Paired tests per clip** — McNemar (exact) on right/wrong at each ε; Wilcoxon signed-rank on "
                    "the smallest ε that flips each clip both models got right; 'Holm' columns: adjusted with Holm's method for the "
                    "number of tests in the family.")
        st.dataframe(tests, hide_index=True)
    if s.get("statistics"):
        st.caption(f"Bands and brackets: {s['statistics']}."
                   + (" *Over training seeds*, below, repeats the style models with two more training runs each."
                      if cache.robustness_seeds() else ""))
    _seeds_section()
    ins = s.get("instrument")
    if ins:
        st.subheader("The instrument model against the papers")
        if "instrument" in registry.outdated_models(ins):
            st.warning("These numbers were measured on earlier weights of the instrument model (trained on two "
                       "soundfonts); it has since been retrained on five. Rerun the command below to measure the "
                       "shipped weights.", icon=":material/history:")
        c1, c2 = st.columns(2)
        with c1:
            chart(av.instrument_curve(ins), "ins")
        with c2:
            chart(av.targeted_by_class(ins), "tgt")
        ours = [{"attack": f"PGD (eps {r['epsilon']:g}, lr eps/8, {p['steps']} steps)",
                 "accuracy": f"{r['accuracy']} {r.get('accuracy_ci95', '')}",
                 "snr_db": r["mean_snr_db"], "clean": ins["clean_accuracy"],
                 "source": f"this model, {ins['n_clips']} test clips"} for r in ins["untargeted"]]
        ours += [{"attack": f"white noise at the PGD SNR (eps {r['epsilon']:g})",
                  "accuracy": r["noise_accuracy_same_snr"], "snr_db": r["mean_snr_db"],
                  "clean": ins["clean_accuracy"], "source": "this model"} for r in ins["untargeted"]]
        t = ins["targeted"]
        ours.append({"attack": f"targeted PGD (eps {t['epsilon']:g}), success rate", "accuracy": t["success_rate"],
                     "snr_db": t["mean_snr_db_at_success"], "clean": ins["clean_accuracy"],
                     "source": "this model"})
        st.dataframe(pd.DataFrame([{k: str(v) for k, v in r.items()} for r in ours + ins["paper"]])
                     .rename(columns=INSTRUMENT_HEADINGS), hide_index=True)
    st.caption("Reproduce: `" + p["command"] + "`")


SEED_TEST_HEADINGS = {"a": "Model A", "b": "Model B", "epsilon": "ε", "accuracy_a": "A accuracy",
                      "accuracy_b": "B accuracy", "wilcoxon_p": "Wilcoxon p", "wilcoxon_p_holm": "Holm p",
                      "seeds_a_better": "Seeds A better", "seeds_b_better": "Seeds B better", "n_seeds": "Seeds"}


def _seeds_section() -> None:
    s = cache.robustness_seeds()
    if s is None:
        return
    p = s["parameters"]
    st.subheader("Over training seeds")
    st.markdown(f"Each style model trained {len(p['seeds'])} times with different seeds (the shipped model is "
                f"seed 0), attacked on the same {p['n_clips']} test clips: is a difference between kinds more than "
                "the luck of one training run?")
    if registry.outdated_models(s):
        st.warning("The shipped style models changed since this was measured; rerun the command below.",
                   icon=":material/history:")
    chart(av.accuracy_over_seeds(s), "seeds")
    clean = robustness.test_accuracy_over_seeds(p["seeds"])
    if clean:
        n = registry.card(clean[0]["model"])["metrics"]["test"].get("n")
        st.markdown(f"Unattacked accuracy on the whole test split ({n} clips), per training seed: " + "; ".join(
            f"{r['model']} {r['mean']:.3f} ± {r['sd']:.3f} ({', '.join(f'{a:.3f}' for a in r['per_seed'])})"
            for r in clean) + ".")
    tests = pd.DataFrame(s["paired_tests"])[list(SEED_TEST_HEADINGS)].rename(columns=SEED_TEST_HEADINGS)
    st.dataframe(tests, hide_index=True)
    held = sum(t["wilcoxon_p_holm"] < 0.05 for t in s["paired_tests"])
    st.markdown(f"**{held} of {len(s['paired_tests'])}** differences between kinds hold over clips after Holm's "
                "correction, with the seeds averaged within each clip. A difference that one training run shows "
                "(the table above) but that does not hold here is the luck of that run as much as the kind of model.")
    st.caption(f"{p['statistics']}. Train the replicas: `{p['train_command']}`; measure: `{p['command']}`.")


# --- tab 4: veracity ---------------------------------------------------------------------------------------------


def veracity_tab() -> None:
    if find_spec("xai.attacks.veracity") is None:
        st.info("The veracity check is not available in this installation.")
        return
    _veracity_tab()


def _veracity_tab() -> None:
    from xai.attacks import veracity

    st.markdown("Does LIME point at the part of a recording that changed the model's answer? An attack changes "
                "the model's spectrogram until the answer changes; LIME explains the new answer. Adding back only "
                "the **k** segments LIME picks, does the answer change again (a *flip*)? Two other picks for "
                "comparison: the k segments where the perturbation has most energy, and k random segments. "
                "After Praher, Prinz et al. (ISMIR 2021), in the paper's settings:")
    st.markdown("\n".join(f"- **{s}**: {what}" for s, what in veracity.SETTINGS.items()))
    _veracity_clip(veracity)
    shipped = veracity.load_shipped()
    if shipped and "summaries" in shipped:
        _veracity_shipped(veracity, shipped)


def _veracity_clip(veracity) -> None:
    names = registry.available("audio")
    try:
        clip = choose_clip(K + "ver_", upload_hint="Upload a recording to attack and explain.")
    except XaiError as e:
        st.error(str(e))
        return
    if clip is None or not names:
        return
    c1, c2, c3 = st.columns(3)
    name = c1.selectbox("Model", names, key=K + "ver_model", format_func=lambda n: registry.card(n)["title"])
    k = c2.number_input("Segments planted (k)", 1, 10, 3, key=K + "ver_k")
    samples = c3.select_slider("LIME samples", [250, 500, 1000, 2000], 1000, key=K + "ver_samples")
    model = cache.model(name)
    key = ("ver", clip.source.sha256 if clip.source is not None else str(id(clip)), name, int(k), int(samples))
    st.button("Attack and explain", type="primary", key=K + "ver_run", on_click=request, args=("ver", key),
              icon=":material/target:")
    res = cache.attack_cached(key)
    if res is None and requested("ver", key):
        try:
            res = run_with_progress("ver", key, lambda p: veracity.check_clip(
                clip.waveform, model, k=int(k), samples=int(samples), progress=p), "Attacking")
        except XaiError as e:
            st.error(str(e))
            res = None
    if res is None:
        return
    d = res.summary()
    yes = {True: "yes", False: "no", None: "–"}
    for setting, what in veracity.SETTINGS.items():
        if setting not in d:
            continue
        c = d[setting]
        st.markdown(f"**{what}** — answer *{c['original']}* → *{c['adversarial']}*")
        if not c["success"]:
            st.warning(f"Nothing to explain: {c.get('note') or 'the attack did not change the answer'}.")
            continue
        st.dataframe(pd.DataFrame([
            {"pick": "LIME top-k", "segments": c["lime_top"], "flips the answer": yes[c["lime_flip"]],
             "planted segments found": veracity.recall_text(c["lime_recall"])},
            {"pick": "largest energy of δ", "segments": c["energy_top"], "flips the answer": yes[c["energy_flip"]],
             "planted segments found": veracity.recall_text(c["energy_recall"])},
            {"pick": "k random segments", "segments": c.get("random_top", []),
             "flips the answer": yes[c.get("random_flip")], "planted segments found": "–"},
        ]), hide_index=True)
        chart(av.veracity_grid(np.array(c["planted"], dtype=int), c["lime_top"], c["energy_top"],
                                res.n_time, res.n_bands), "ver_" + setting)
        decoy = f" Decoy segments: {c['decoy']}." if c.get("decoy") else ""
        st.caption(f"LIME's fidelity R² = {c['r2']:.2f} (the paper: fidelity does not tell right explanations "
                   f"from wrong ones). Shaded: planted; L: LIME's picks; E: energy picks.{decoy}")


def _veracity_shipped(veracity, shipped: dict) -> None:
    p, sums = shipped["parameters"], shipped["summaries"]
    st.subheader("Over many test clips")
    if not p.get("weights_sha256") or registry.outdated_models(shipped):
        st.warning("These numbers were measured on earlier weights of the model (or do not say which); rerun the "
                   "command below to measure the shipped weights.", icon=":material/history:")
    rate = veracity.rate_text
    lines = [f"- *{s['setting']}*: LIME's top-{p['k']} flips the answer in **{rate(s['lime_flip'])}** of the "
             f"attacked clips, the energy pick in {rate(s['energy_flip'])}, k random segments in "
             f"{rate(s['random_flip'])}." for key, s in sums.items() if key in ("free", "confident")]
    st.markdown("**Headline: setting (a), the whole input, where neither pick knows where the cause is**\n"
                + "\n".join(lines) + "\n\nThe paper, in this setting on a singing-voice detector: LIME's top-3 "
                "flips 21–53 % (Table 1), and the energy (norm) pick flips more for every k (Fig. 2). In (b) the "
                "energy pick is an oracle and in (c) a decoy misleads it, so those rows test LIME, not the "
                "comparison.")
    rows = [{"setting": s["setting"], "clips attacked (n)": f"{s['n']} of {s['clips']}",
             "LIME top-k flips": veracity.rate_text(s["lime_flip"]),
             "energy top-k flips": veracity.rate_text(s["energy_flip"]), "random k flips": veracity.rate_text(s["random_flip"]),
             "planted part alone flips": veracity.rate_text(s["planted_flip"]) if "planted_flip" in s else "–",
             "LIME finds planted": veracity.recall_text(s.get("lime_recall")),
             "LIME vs energy (McNemar p)": s["mcnemar_lime_vs_energy"]["p"],
             "mean R²": s["mean_r2"]} for s in sums.values()]
    rows += [{"setting": f"paper: {r['domain']}, {r['direction']}, k = 3", "clips attacked (n)": "–",
              "LIME top-k flips": f"{r['lime_top3_flip']:.0%}", "energy top-k flips": "higher for every k (Fig. 2)",
              "random k flips": "–", "planted part alone flips": "–", "LIME finds planted": "few (Fig. 3)",
              "LIME vs energy (McNemar p)": "–", "mean R²": "0.5–0.95"} for r in shipped["paper"]["rows"]]
    st.dataframe(pd.DataFrame(rows).astype(str), hide_index=True)
    st.caption(f"Our numbers: {p['model']} model, {p['n_clips']} {p['clips']}; k = {p['k']}, {p['samples']} LIME "
               f"samples (the paper: 8192), a {p['n_time']} × {p['n_bands']} grid of the model's log filter-bank. "
               f"Brackets: Wilson 95 % intervals. The paper: {shipped['paper']['source']}; its setting: "
               f"{shipped['paper']['setting']}. Reproduce: `{p['command']}`")
