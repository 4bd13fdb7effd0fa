"""Label-noise lab: train the style classifier on partly wrong labels and see what it still learns.

After Prinz, Flexer & Widmer (2020): curated labels give the best results, yet even heavily noisy labels carry
enough information to learn. The precomputed curves (``python -m xai label-noise``) show test accuracy against
the share of wrong training labels, for symmetric and class-dependent noise; a live run trains the small model
here (under two minutes on two cores), with a progress bar and a Stop button, and adds its point to the plot.
Live runs stay in this browser session.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import _cache_audio as audio_cache
from pages._nav import require_entrypoint
from pages._share import restored_state, share_panel
from pages._widgets import chart, option_widgets
from xai.classroom import label_noise
from xai.errors import Cancelled, ParameterError, XaiError
from xai.export import finding as fmod
from xai.export import report
from xai.views import classroom as classroom_views

K = "ln_"
RUNS = K + "runs"  # session state: this session's live runs (dicts)
KINDS = {"symmetric": "Symmetric: any other style, at random", "class": "Class-dependent: a close style"}


def _restore() -> None:
    state = restored_state("label_noise")
    if not state:
        return
    ss = st.session_state
    if state.get("kind") in KINDS:
        ss[K + "kind"] = state["kind"]
    if state.get("noise") is not None and 0 <= state["noise"] <= 0.9:
        ss[K + "noise"] = int(round(100 * state["noise"] / 10) * 10)
    if isinstance(state.get("seed"), int) and 0 <= state["seed"] <= 999:
        ss[K + "seed"] = state["seed"]
    try:
        ss[K + "epochs"] = label_noise.LabelNoiseOptions(epochs=state["epochs"]).epochs
    except (KeyError, ParameterError):
        pass  # no epochs in the link, or out of the declared bounds: the widget keeps its default
    if state.get("curves"):
        ss[K + "curves"] = state["curves"]


def _go() -> None:
    st.session_state[K + "go"] = True
    st.session_state[K + "stop"] = False


def _stop() -> None:
    """Stop a run: the click reruns the page, which ends the run at its next progress report."""
    st.session_state[K + "stop"] = True
    st.session_state[K + "said"] = "The training run was stopped before it finished."


def _train(kind: str, noise: float, seed: int, epochs: int) -> None:
    data = audio_cache.label_noise_subset()
    bar = st.progress(0.0, text="Starting…")
    stop = st.empty()  # the Stop button is there only while the run is
    stop.button("Stop", key=K + "stop_btn", icon=":material/stop:", on_click=_stop)

    def progress(frac: float, msg: str) -> bool:
        bar.progress(min(1.0, frac), text=f"Training on {100 * noise:.0f}% wrong labels: {msg}")
        return bool(st.session_state.get(K + "stop"))

    try:
        r = label_noise.train_run(data, kind=kind, noise=noise, random_state=seed, epochs=epochs,
                                     progress=progress)
    except Cancelled as e:
        bar.empty()
        stop.empty()
        st.session_state[K + "said"] = str(e)
        return
    bar.empty()
    stop.empty()
    runs = [x for x in st.session_state.get(RUNS, []) if (x["kind"], x["noise"], x["seed"], x["epochs"]) !=
            (r.kind, r.noise, r.seed, r.epochs)]
    st.session_state[RUNS] = [*runs, r.record()]


require_entrypoint()
st.title("Label-noise lab")
st.markdown(
    "How much does a model suffer when some of its **training labels are wrong**? Here the style classifier is "
    "trained on labels of which a chosen share was changed — to any other style (*symmetric* noise) or to a "
    "style a listener easily confuses it with (*class-dependent*: Palestrina ↔ Monteverdi, Bach ↔ Classical, "
    "Trecento → Palestrina, folk → Classical) — and tested on **other pieces** with their true labels. "
    "Curated labels give the best results, yet even very noisy ones still teach the model a lot "
    "(Prinz, Flexer & Widmer 2020)."
)
try:
    _restore()
    files = label_noise.curve_files()
    doc = None
    if files:
        names = [f.stem.removeprefix("curves_") for f in files]
        name = st.selectbox("Precomputed curves", names, key=K + "curves") if len(names) > 1 else names[0]
        doc = label_noise.load_curves(files[names.index(name)] if name in names else files[0])
    else:
        st.info("No precomputed curves ship with this installation; run `python -m xai label-noise`.")

    st.subheader("Your run")
    c1, c2, c3, c4 = st.columns([2, 1.2, 0.8, 0.8])
    kind = c1.radio("Noise", list(KINDS), format_func=KINDS.get, key=K + "kind")
    noise = c2.slider("Wrong training labels (%)", 0, 90, 40, step=10, key=K + "noise") / 100
    seed = int(c3.number_input("Seed", 0, 999, 0, key=K + "seed"))
    with c4:
        epochs = option_widgets(label_noise.LabelNoiseOptions, "ln", only=("epochs",)).epochs
    meta = audio_cache.label_noise_subset()["meta"]
    st.caption(f"Trains a small CNN (about 6,000 weights) on {meta['n_train']:,} excerpts of {meta['pieces_train']} "
               f"training pieces and tests it on {meta['n_test']} excerpts of {meta['pieces_test']} other pieces; "
               "about 20 seconds on two cores, longer on a busy machine.")
    st.button("Train", type="primary", key=K + "train", icon=":material/play_arrow:", on_click=_go)
    if st.session_state.pop(K + "go", False):
        _train(kind, noise, seed, epochs)
    said = st.session_state.pop(K + "said", None)
    if said:
        st.warning(said)
    runs = st.session_state.get(RUNS, [])

    if doc is not None:
        fig = classroom_views.noise_curves(doc, live=runs)
        chart(fig, K + "curves_fig")
        p = doc["parameters"]
        st.caption(f"Lines: mean over {len(p['seeds'])} seeds (band: lowest to highest, dots: each seed) of the "
                   f"small model trained {p['epochs']} epochs at each noise level; stars: your runs. Reproduce: "
                   f"`{p.get('command', 'python -m xai label-noise')}`.")
        summary = pd.DataFrame(doc["summary"]).rename(columns={"mean": "accuracy (mean)"})
        summary["noise"] = (100 * summary["noise"]).round().astype(int).astype(str) + "%"
        st.dataframe(summary, hide_index=True, key=K + "summary")
    else:
        fig = None
    if runs:
        last = runs[-1]
        ref = next((r for r in runs if r["noise"] == 0 and r["seed"] == last["seed"]), None)
        st.markdown(f"**Your last run**: {100 * last['noise']:.0f}% wrong labels ({last['kind']}), "
                    f"{last['flipped']} of {last['n_train']} training labels changed → accuracy on held-out pieces "
                    f"**{last['test_accuracy']:.3f}**; it agrees with its own (noisy) training labels "
                    f"{last['train_accuracy_noisy']:.2f} of the time. Trained in {last['seconds']:.0f} s.")
        chart(classroom_views.per_class_recall(last, reference=ref), K + "recall")

    st.subheader("Share")
    finding = None
    if doc is not None or runs:
        figs = tuple(x for x in (fig,) if x is not None)
        finding = fmod.Finding(
            view="label_noise", title="Label-noise lab",
            summary="Test accuracy of the small style classifier on held-out pieces against the share of wrong "
                    "training labels.",
            parameters={"curves": doc["parameters"] if doc else None},
            numbers={"summary": doc["summary"] if doc else [], "your_runs": runs},
            sections=(report.Section("Accuracy against label noise", figures=figs),))
    share_panel(finding, {"kind": kind, "noise": noise, "seed": seed, "epochs": epochs}, key=K,
                what="a training run or load the curves")
except XaiError as e:
    st.error(str(e))
