"""The Attributions page's results: headline, the checks, the maps, listening, deletion and the share panel.

Layout only (imported by ``pages/attribute.py``): the attribution is computed in :mod:`xai.local.attribution`,
the figures drawn by :mod:`xai.views.attribution`.
"""

import numpy as np
import pandas as pd
import streamlit as st

from pages._share import share_panel
from pages._widgets import chart, play_row, segment_clips
from xai.audio import clip as xaudio
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.local.attribution import RANDOMISATION_THRESHOLD
from xai.views import attribution as views

K = "attr_"
CAVEAT = fmod.ATTRIBUTION_CAVEAT


def _headline(res) -> None:
    name = views.method_name(res.method)
    k = res.options.get("top_k", 3)
    top = ", ".join(f"**{res.segments[i]['label']}** ({res.grid[res.method][i]:+.3g})" for i in res.top(k))
    where = (f"the 4 s from {res.start_s:g} s" if res.kind == "time-bands" else res.window_label
             or f"bars {res.start_bar}–{res.end_bar}")
    st.markdown(f"For **{res.target_name}** (p = {res.probability:.2f} on {where}), {name} puts the most on: {top}.")
    st.caption(CAVEAT)


def _checks(res) -> None:
    c = res.completeness[res.options["baseline"]]
    rz = res.randomisation
    others = [res.agreement[res.methods.index(res.method), j] for j, m in enumerate(res.methods) if m != res.method]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("IG completeness gap", f"{100 * c['relative_gap']:.1f} %",
              help=f"Integrated Gradients' attributions should add up to logit(input) − logit(baseline) = "
                   f"{c['difference']:+.3f}; they add up to {c['sum']:+.3f} (gap {c['gap']:+.4f}). A large gap means "
                   "too few steps.")
    last = rz["spearman"][-1] if rz["spearman"] else float("nan")
    c2.metric("Randomised model: ρ", f"{last:+.2f}" if np.isfinite(last) else "–",
              help=f"Spearman rank correlation (ρ) after re-initialising {', '.join(rz['layers'])}: how much the segment ranking still looks like "
                   f"the trained model's. Below {RANDOMISATION_THRESHOLD}: the map changed, as it must.")
    c3.metric("Other methods: ρ", f"{np.nanmean(others):+.2f}" if others else "–",
              help="Agreement with the other methods: mean Spearman rank correlation (ρ) of the segment sums with the "
                   "other three.")
    lime = res.lime.get("spearman", {}).get(res.method)
    c4.metric("LIME: ρ", f"{lime:+.2f}" if lime is not None and np.isfinite(lime) else "–",
              help="Agreement with LIME: Spearman rank correlation (ρ) with LIME's weights on the same segments. "
                   + res.lime.get("note", ""))
    if res.randomisation_changed:
        st.success(f"Randomisation check passed: with the top layers re-initialised, the segment ranking of "
                   f"{views.method_name(res.method)} changes (rank correlation {last:+.2f}), so it depends on what "
                   "the model learned (Adebayo et al. 2018).", icon=":material/check:")
    else:
        st.error(f"Randomisation check failed: with {', '.join(rz['layers'])} re-initialised the segment ranking of "
                 f"{views.method_name(res.method)} hardly changes (rank correlation {last:+.2f}). This map reflects "
                 "the input more than what the model learned; do not read it as the model's reasons "
                 "(Adebayo et al. 2018).", icon=":material/warning:")
    secs = ", ".join(f"{views.method_name(m)} {v:.2f} s" for m, v in res.timings.items())
    st.caption(f"{res.n_segments} segments; IG with {res.options['n_steps']} steps from the "
               f"{res.options['baseline']} baseline. Time per method: {secs}.")


def _listen(res, key: str) -> list[tuple[str, bytes]]:
    k = res.options.get("top_k", 3)
    ids = tuple(res.top(k))
    clips = []
    try:
        if res.kind == "time-bands":
            clips = [(f"Top {k} cells alone", xaudio.to_wav_bytes(res.sonify(ids))),
                     (f"Without the top {k} cells", xaudio.to_wav_bytes(res.sonify(ids, keep=False))),
                     ("The explained 4 s", xaudio.to_wav_bytes(res.waveform))]
        else:
            clips = segment_clips("attr-" + key, ids, res, k=k, whole="The explained window")
    except XaiError as e:
        st.caption(str(e))
    play_row(clips)
    return clips


def show_results(res, key: str, state: dict) -> None:
    """Everything about one attribution, in reading order."""
    _headline(res)
    _checks(res)
    shown = st.radio("Map of", list(res.methods), index=list(res.methods).index(res.method), horizontal=True,
                     format_func=views.method_name, key=K + "shown",
                     help="Every method was computed; this only changes the picture.")
    chart(views.input_map(res, shown), key=K + "input_map")
    chart(views.grid_map(res, shown), key=K + "grid_map")
    on = res.on_notes.get(shown, float("nan"))
    if res.kind != "time-bands" and np.isfinite(on):
        st.caption(f"{100 * on:.0f} % of {views.method_name(shown)}'s absolute attribution lies on the notes; the "
                   "rest is on silence, which no bar or voice holds.")
    st.markdown("**Ranked segments** (every method's sum per segment, and LIME's weight)")
    st.dataframe(pd.DataFrame(views.ranked_rows(res)), hide_index=True, height=250, width="stretch")
    st.markdown("**Listen** to the top segments: alone, and removed")
    clips = _listen(res, key)
    chart(views.deletion_plot(res), key=K + "deletion")
    c1, c2 = st.columns(2)
    with c1:
        chart(views.agreement_heatmap(res), key=K + "agreement")
    with c2:
        chart(views.randomisation_plot(res), key=K + "random")
    st.markdown("**The baseline's effect** (Integrated Gradients from each baseline)")
    st.dataframe(pd.DataFrame(views.baseline_rows(res)), hide_index=True, width="stretch")
    st.dataframe(pd.DataFrame(views.agreement_rows(res)), hide_index=True, width="stretch")
    st.divider()
    share_panel(fmod.attribution_finding(res, audio=tuple(clips)), state, key=K)
