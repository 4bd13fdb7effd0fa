"""Models: every shipped model's card (data, split, accuracy, per-class F1, confusion) and the audio front-ends compared.

The cards are read from ``assets/models`` through :mod:`models.registry` (symbolic and audio models alike);
every figure comes from :mod:`xai.views.audio`. The front-end comparison sets the three instrument
classifiers side by side, which differ only in how the waveform becomes the CNN's input: a fixed mel bank,
a learnable bank of triangles, or a learned 1-D convolution over the waveform.
"""

import streamlit as st

from models import audio_nets, registry
from pages import _cache as cache
from pages._nav import require_entrypoint
from xai.views import audio as audio_views

K = "mod_"
PLOT_CONFIG = {"displaylogo": False}
FRONT_END_MODELS = ("instrument", "instrument_learnable", "instrument_conv")
FRONT_END_NAMES = {"mel": "fixed mel filter bank", "learnable": "learnable filter bank (triangles)",
                   "conv": "learned 1-D conv over the waveform"}


def _model_card(name: str) -> None:
    c = registry.card(name)
    m = registry.headline(c)
    unit = m["unit"]
    classes = c.get("classes", [])
    st.subheader(c.get("title", name))
    st.markdown(f"**Name:** `{name}` · **Input:** {c.get('modality', 'symbolic')} · **Tells apart "
                f"{len(classes)} classes:** " + ", ".join(f"*{x}*" for x in classes))
    if c.get("data"):
        st.markdown(f"**Data:** {c['data']}")
    if c.get("limitations"):
        with st.expander("Rendered audio and real recordings: what this means and what was measured"):
            st.markdown(c["limitations"])
    split = c.get("split", {})
    if split:
        counts = split.get("clips") or split.get("pieces") or {}
        st.markdown(f"**Split:** {split.get('method', '')}"
                    + (" (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")" if counts else "")
                    + (f"; seed {split['seed']}." if "seed" in split else "."))
    cols = st.columns(3)
    if m.get("accuracy") is not None:
        cols[0].metric(f"Accuracy ({unit})", f"{100 * m['accuracy']:.1f}%", help=f"n = {m.get('n', '?')}")
    window = registry.lookup(c, "metrics", "test", "window", "accuracy")
    if window is not None:
        cols[1].metric("Accuracy (test excerpts)", f"{100 * window:.1f}%")
    held = registry.lookup(c, "metrics", "test_heldout_soundfont", "accuracy")
    if held is not None:
        cols[1].metric("Held-out soundfont", f"{100 * held:.1f}%",
                       help="The test clips rendered with a soundfont the model never heard in training.")
    attacked = registry.lookup(c, "metrics", "test_pgd", "attacked_accuracy")
    if attacked is not None:
        cols[2].metric("Under a small waveform attack", f"{100 * attacked:.1f}%",
                       help=f"PGD at {registry.lookup(c, 'metrics', 'test_pgd', 'mean_snr_db')} dB SNR.")
    f1 = m.get("per_class_f1")
    if isinstance(f1, dict) and f1:
        st.markdown(f"**Per-class F1** ({unit}; 1 is perfect): "
                    + " · ".join(f"*{k}* {float(v):.2f}" for k, v in f1.items()))
    if m.get("confusion"):
        st.plotly_chart(audio_views.confusion(m["confusion"], classes, title=f"Confusion ({unit})"),
                        config=PLOT_CONFIG, key=K + "conf_" + name)
    if c.get("reproduce"):
        st.code(c["reproduce"], language="bash")
    full = registry.ASSETS / f"{name}.md"
    if full.is_file():
        with st.expander("The full model card"):
            st.markdown(full.read_text(encoding="utf-8"))


def _front_end_comparison(names: list[str]) -> None:
    shown = [n for n in FRONT_END_MODELS if n in names]
    st.header("Audio front-ends compared")
    if not shown:
        st.info("None of the instrument classifiers ships with this installation.")
        return
    rows = audio_views.front_end_rows([registry.card(n) for n in shown])
    st.markdown(
        "The instrument classifiers share their split, CNN and training recipe; they differ in the front-end "
        "that turns the waveform into the CNN's input. The held-out soundfont column is the honest one: test "
        "clips played by a sound the model did not hear in training. " + audio_views.front_end_comparability(rows)
    )
    for r in rows:
        r["front-end"] = FRONT_END_NAMES.get(r["front-end"], r["front-end"])
    st.dataframe(rows, hide_index=True,
                 column_config={"test accuracy": st.column_config.NumberColumn(format="%.3f"),
                                "held-out soundfont accuracy": st.column_config.NumberColumn(
                                    "held-out soundfont", format="%.3f",  # short: every column fits at 1280 px
                                    help="Accuracy on the test clips played by a soundfont no model heard.")})
    banks = {"mel (start)": audio_nets.frequency_responses(audio_nets.MelFrontEnd())}
    for n in shown:
        kind = registry.lookup(registry.card(n), "architecture", "front_end")
        if kind in ("learnable", "conv"):
            banks[f"{n} (learned)"] = audio_nets.frequency_responses(cache.model(n).net.front)
    if len(banks) > 1:
        st.plotly_chart(audio_views.band_centres(banks), config=PLOT_CONFIG, key=K + "centres")
        st.caption("Each band's peak frequency, with a bar over the range where its response is above half its "
                   "peak. The mel bank is where both learned front-ends started.")
        freqs, mel = banks["mel (start)"]
        for label, (_, resp) in list(banks.items())[1:]:
            st.plotly_chart(audio_views.filterbanks(mel, resp, freqs, title=f"{label} against the mel bank"),
                            config=PLOT_CONFIG, key=K + "fb_" + label)
        st.caption("Every 4th band, each scaled to peak 1. For the conv front-end, a band's curve is the power "
                   "response of its cosine/sine filter pair, side lobes included.")


require_entrypoint()
st.title("Models")
st.markdown(
    "Every model this tool ships: what it learnt from, how the data were split, and how well it does on "
    "data it never saw, class by class. Numbers come from each model's card, written by the training script."
)
symbolic, audio = registry.available("symbolic"), registry.available("audio")
names = symbolic + audio
if not names:
    st.warning("No model ships with this installation; train one with the scripts in models/.")
    st.stop()
st.dataframe([registry.summary_row(n) for n in names], hide_index=True,
             column_config={"test accuracy": st.column_config.NumberColumn(format="%.3f"),
                            "held-out soundfont accuracy": st.column_config.NumberColumn(
                                format="%.3f", help="Audio models only: the test clips played by a soundfont "
                                                    "none of them heard in training (empty for score models).")})
_front_end_comparison(audio)
st.header("Model cards")
for n in names:
    with st.container(border=True):
        _model_card(n)
