"""Home: what the tool is for, which models it has (what each learnt from and how well), links to every view."""

import streamlit as st

from models import registry
from pages._nav import SECTIONS, require_entrypoint


def _model_card(name: str) -> None:
    card = registry.card(name)
    classes = card.get("classes", [])
    st.subheader(card.get("title", name))
    st.markdown(f"**Name:** `{name}` · **Tells apart {len(classes)} styles:** " + ", ".join(f"*{c}*" for c in classes))
    data = card.get("data")
    st.markdown(f"**Trained on:** {data}" if data else "**Trained on:** not stated in the model card yet.")

    h = registry.headline(card)
    piece_acc, window_acc = h["accuracy"], h["excerpt_accuracy"]
    base_piece, base_window = h["baseline_accuracy"], h["baseline_excerpt_accuracy"]
    if piece_acc is None and window_acc is None:
        st.warning(
            "No measured accuracy is recorded for this model yet. Until it is, treat its answers as a "
            "demonstration of the tool, not as evidence about the music."
        )
    else:
        n_test = h["n"]
        spread = f", ± {100 * h['spread']:.0f} points over folds" if h["spread"] else ""
        st.markdown(
            "**Measured on pieces it never saw in training**"
            + (f" ({n_test} {h['unit']}{spread})" if n_test else "")
            + ", next to a simple baseline"
            + (f" ({baseline})" if (baseline := registry.lookup(card, "baseline", "description")) else "")
            + ":"
        )
        cols = st.columns(3)
        for col, label, value, base, help_ in (
            (cols[0], "Whole pieces named right", piece_acc, base_piece, "Share of test pieces whose style it names."),
            (
                cols[1],
                "Excerpts named right",
                window_acc,
                base_window,
                "Share of test excerpts (windows of a few bars) whose style it names from that excerpt alone.",
            ),
        ):
            if value is not None:
                delta = None if base is None else f"{100 * (float(value) - float(base)):+.0f} points vs baseline"
                col.metric(label, f"{100 * float(value):.0f}%", delta=delta, help=help_)
        if classes:
            cols[2].metric("Guessing", f"{100 * (1 / len(classes)):.0f}%", help="Accuracy of picking a style at random.")
        f1 = h["per_class_f1"]
        if isinstance(f1, dict) and f1:
            st.markdown(
                "**How well it knows each style** (F1 on test pieces; 1 is perfect): "
                + " · ".join(f"*{c}* {float(v):.2f}" for c, v in f1.items())
            )
    confounds = card.get("confounds")
    if confounds:
        st.markdown("**Things it may be hearing instead of style** (known confounds in the training data):")
        st.markdown("\n".join(f"- {c}" for c in confounds))
    reproduce = card.get("reproduce")
    if reproduce:
        st.markdown("**Reproduce it:**")
        st.code(reproduce, language="bash")
    full = registry.ASSETS / f"{name}.md"
    if full.is_file():
        with st.expander("The full model card (data split, confusion matrix, training)"):
            st.markdown(full.read_text(encoding="utf-8"))


require_entrypoint()
st.title("Music XAI")
st.markdown(
    "#### Ask a trained music model *why*, and get answers you can hear, read and cite by bar number.\n"
    "A model that names the composer (or the style) of a piece gives no reasons. This tool asks it for them "
    "in musical terms: **where** in the piece it hears a composer, **which excerpts** convinced it most (to "
    "play and to read in the score), and **which musical concepts** (an Alberti bass, counterpoint, textures "
    "and cadences you define by example) its answer depends on."
)

st.header("Views")
for section, views in SECTIONS.items():
    links = [v for v in views if v.path != "pages/home.py"]
    if not links:
        continue
    st.markdown(f"**{section}**")
    for v in links:
        st.page_link(v.path, label=v.title, icon=v.icon)
        st.caption(v.blurb)

st.header("Models")
names = registry.available()
if not names:
    st.info("No model ships with this installation yet; train one with the scripts in models/.")
for name in names:
    with st.container(border=True):
        _model_card(name)
