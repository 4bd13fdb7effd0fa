"""Discovered concepts: what a layer of the model holds, found without labels, shown in excerpts to see and hear.

The layer's feature maps over the shipped excerpts (held-out pieces, 150 per class) are factorised into K
concepts by NMF or NTD (:mod:`xai.concepts.discovery`). Results for the default settings ship precomputed and others are
kept in the user's cache, so browsing is instant; a new factorisation runs with a progress bar
(:mod:`pages._discover_run`). For each concept (:mod:`pages._discover_excerpts`): its importance for each class,
the excerpts where it is most and least present (piano roll with the concept over it, bars, the sound of the bars
where it is strongest, the score on demand), a side-by-side comparison, exports (MIDI, an HTML report) and "name
it and keep it" into the concept library, to test it with TCAV (:mod:`pages._discover_keep`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import _cache as cache
from pages._discover_excerpts import compare, concept_section, follow, in_your_piece
from pages._discover_keep import restore
from pages._discover_run import K, measure_curve, result, settings
from pages._nav import require_entrypoint
from pages._widgets import chart
from xai import views
from xai.concepts import browse, discovery
from xai.errors import InputError, XaiError


def _metrics(disc) -> None:
    f = disc.fidelity_ or {}
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Explained variance", f"{disc.explained_variance_:.0%}",
              help="How much of the layer's variation the K concepts rebuild (1 - residual / total).")
    if f:
        m2.metric("Accuracy with the concepts", f"{f['accuracy']:.1%}",
                  delta=f"{(f['accuracy'] - f['original_accuracy']) * 100:+.1f} points",
                  help="The model's accuracy on these excerpts when the layer is replaced by its reconstruction "
                       "from the K concepts alone.")
        m3.metric("Original accuracy", f"{f['original_accuracy']:.1%}")
        m4.metric("Same answer", f"{f['agreement']:.1%}", help="Excerpts whose predicted class is unchanged.")
    _heldout(disc)


def _heldout(disc) -> None:
    """Fidelity on the excerpts of pieces the factorisation never saw, beside its chance floors."""
    h = disc.heldout_fidelity_
    if not h:
        st.caption("Fidelity on held-out pieces was not measured for this result (made before it existed, or with "
                   "every piece factorised); run a new factorisation to measure it.")
        return
    h1, h2, h3, h4 = st.columns(4)
    h1.metric("Held-out accuracy with the concepts", f"{h['accuracy']:.1%}",
              delta=f"{(h['accuracy'] - h['original_accuracy']) * 100:+.1f} points",
              help=f"On {h['n_excerpts']} excerpts of {disc.params.get('heldout_pieces', '?')} pieces left out of "
                   "the factorisation, projected on the fixed concepts.")
    h2.metric("Held-out original accuracy", f"{h['original_accuracy']:.1%}")
    h3.metric("Chance: one class", f"{h['chance_accuracy']:.1%}",
              help="The accuracy of always answering the commonest class of the held-out excerpts.")
    h4.metric(f"Chance: {disc.n_concepts} random concepts", f"{h['random_accuracy']:.1%}",
              help="The accuracy when the layer is rebuilt from as many random non-negative directions; the "
                   "concepts mean something only above it.")


def _charts(model, disc, excerpts) -> None:
    left, right = st.columns([1.1, 1], gap="large")
    with left:
        # The concept picker is drawn further down; its last value (an int, unless Streamlit still holds it in its
        # serialised form right after the options changed) outlines that concept's row here.
        picked = st.session_state.get(K + "concept")
        picked = picked if isinstance(picked, int) and 0 <= picked < disc.n_concepts else None
        chart(views.concept_overview(disc, selected=picked, flags=discovery.flags(disc)), K + "overview")
        if disc.pair_:
            a, b = disc.pair_
            st.caption(f"Pairwise mode (Foscarin et al. 2022): importance is how the {a} and {b} logits change "
                       f"when the concept is added at every position of the layer, averaged over the excerpts of "
                       f"both; '{a} − {b}' is its effect on their difference (positive: towards {a}). ★ marks the "
                       "suggested concepts, which raise one and lower the other. Fidelity is judged by which of "
                       "the two the model prefers.")
        else:
            st.caption("Importance (ICE): how the class's logit changes when the concept is added at every "
                       "position of the layer. Red raises the class, blue lowers it.")
    with right:
        points = disc.curve()
        if len(points) > 1:
            chart(views.fidelity_plot(points, chosen=disc.n_concepts), K + "fidelity")
            st.caption("How many concepts the layer needs: the model's accuracy with the layer rebuilt from K "
                       "concepts, each K factorised afresh with the same method, on the fitted pieces and on "
                       "held-out ones (with what as many random concepts give there).")
        else:
            st.info("The fidelity for other K has not been measured for these settings.")
            measure_curve(model, excerpts, disc)


def _overview(model, disc, excerpts, status: str) -> list[dict]:
    held = int(disc.heldout_.sum()) if disc.heldout_ is not None else 0
    split = f" ({disc.n_excerpts - held} fitted, {held} from held-out pieces)" if held else ""
    pair = f" · pairwise mode: {' vs '.join(disc.pair_ or browse.classes_used(disc) or ())}" \
        if disc.params.get("contrast") else ""
    st.caption(f"{disc.title} · {disc.n_excerpts} excerpts{split}{pair} · {discovery.status_message(status)}")
    if status == "recomputed":
        st.warning(discovery.status_message(status))
    _metrics(disc)
    summaries = browse.summaries(disc, excerpts)
    _charts(model, disc, excerpts)
    st.dataframe(
        pd.DataFrame(summaries), hide_index=True, key=K + "summary",
        column_config={"share of the layer": st.column_config.ProgressColumn(
            "share of the layer", min_value=0.0, max_value=max(r["share of the layer"] for r in summaries),
            format="%.2f")},
    )
    return summaries


# ---------------------------------------------------------------------------------------------------- page

require_entrypoint()
st.title("Discovered concepts")
st.markdown(
    "Which musical ideas does the model hold, **without anyone naming them first**? A layer's feature maps over "
    "excerpts of held-out pieces are split into a few non-negative parts — *concepts* — each a pattern across the "
    "layer's channels, present in some places of some excerpts. For each concept you see how it moves the model's "
    "answer for each class (a style or a composer), and the excerpts where it is most and least present, to hear and to name."
)

try:
    model_name = st.session_state.get("model_name")
    if not model_name:
        raise InputError("No model is available to ask; pick one in the sidebar or train one.")
    model = cache.model(model_name)
    try:
        excerpts = cache.discovery_excerpts(model_name)
    except InputError:
        excerpts = None
    if excerpts is None or tuple(model.classes) != tuple(excerpts.classes):
        # Not an error: this installation has no excerpts in this model's windows to discover concepts in.
        st.info(f"No concepts have been discovered for '{model_name}' yet: discovery needs excerpts in this "
                "model's own windows, and none ship with this installation. Pick 'composer' (styles across eras) "
                "or 'piano_composer' in the sidebar to explore discovered concepts.")
        st.stop()
    restore(model)
    disc, status = result(model, excerpts, settings(model))
    if disc is not None:
        follow(disc)
        summaries = _overview(model, disc, excerpts, status)
        concept_section(disc, excerpts, summaries)
        compare(disc, excerpts)
        in_your_piece(model, disc)
except XaiError as e:
    st.error(str(e))
