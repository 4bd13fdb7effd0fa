"""The LIME page's results: the headline, the checks beside LIME, the figures and tables, listening, the share panel.

Layout only (imported by ``pages/lime.py``): the explanation is computed in :mod:`xai.local.lime`, the figures
drawn by :mod:`xai.views.local`.
"""

import pandas as pd
import streamlit as st

from pages import _cache as cache
from pages._widgets import chart, play_row, segment_clips, show_svgs
from xai.audio import clip as xaudio
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.export import report
from xai.local import lime
from xai.symbolic import score
from xai.views import local as lime_views

K = "lime_"
TOP_COLOUR = "#D94801"  # LIME's top segments on the score, the colour of the piano roll's outline
CAVEAT = ("LIME shows which segments, switched on and off together, move the model's probability most in a "
          "straight-line fit around this input; it is evidence of what this model is sensitive to here, not proof "
          "of what caused its answer, and it often misses the real cause (Praher et al., ISMIR 2021).")
R2_WARNING = ("Fidelity (R²) says how well a straight line fits the model around this input; it does not say "
              "whether the ranking is right — correct and wrong explanations have the same range of R².")


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
               f"{res.options['random_state']}" + (f"; computed in {secs:.1f} s" if secs else "") + ".")


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
            clips = segment_clips(key, ids, res, k=k, whole="The explained bars")
    except XaiError as e:
        st.caption(str(e))
    play_row(clips)
    return clips


def show_results(res, key: str, state: dict) -> None:
    _headline(res)
    _checks(res)
    k = res.options.get("top_k", 3)
    chart(lime_views.heatmap(res, top_k=k), key=K + "heat")
    st.markdown("**Ranked segments** (every segment, LIME's weight beside the baseline's measure)")
    st.dataframe(pd.DataFrame(lime_views.ranked_rows(res)), hide_index=True, height=250, width="stretch")
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
        numbers=res.summary(), model=res.model,
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
