"""The results half of 'Test a concept (TCAV)': scores, sentences, table, share panel, previous runs, the strip.

Layout only: every number comes from a :class:`xai.concepts.tcav.TCAVResult` the page computed, or from the
library's run log.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import streamlit as st

from pages import _cache as cache
from pages._share import share_panel
from pages._widgets import belongs_to, chart, choose_piece
from xai import views
from xai.concepts import experiment, sanity
from xai.concepts import library as concepts
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.export import report
from xai.symbolic import music
from xai.views import concept_stats

K = "tcav_"  # widget key prefix of the page
STRIP_HOP = 2  # quarters between the strip's windows: 8 windows cover each beat, so it follows the music closely
TOP_BARS = 5
CAVEAT = (
    "TCAV is **relative**: a score compares the concept's examples with the random excerpts of training pieces "
    "it was tested against (or with concept B), so other examples or another random pool can give other numbers. "
    "And it is **not causal**: a significant score says the model's answer for a class moves when its "
    "activations move towards the concept, not that the concept is why the model answers as it does."
)


def _sentences(res) -> None:
    cells = [(t, la) for la in res.layers for t in res.targets]
    sig = sorted((c for c in cells if res.cell(*c)["significant"]), key=lambda c: res.cell(*c)["p_corrected"])
    for t, la in sig:
        st.markdown(f"★ **{t}** at {la}: {res.interpretation(t, la)}")
    rest = [c for c in cells if c not in sig]
    if rest:
        t, la = max(rest, key=lambda c: res.cell(*c)["tcav_mean"])
        lead = "Nothing here is" if not sig else f"The highest score without significance, **{t}** at {la}, is not"
        st.markdown(
            f"{lead} distinguishable from random concepts"
            + (f" (highest: **{t}** at {la}). " if not sig else ". ")
            + res.interpretation(t, la)
        )


def _table(res, stem: str) -> None:
    df = pd.DataFrame(res.to_records())
    st.dataframe(
        df,
        hide_index=True,
        column_order=[
            "target",
            "layer",
            "tcav_mean",
            "tcav_std",
            "random_mean",
            "p_corrected",
            "significant",
            "cav_accuracy",
            "n_random",
        ],
        column_config={
            "target": st.column_config.TextColumn("Style"),
            "layer": st.column_config.TextColumn("Layer"),
            "tcav_mean": st.column_config.ProgressColumn("TCAV score", min_value=0.0, max_value=1.0, format="%.2f"),
            "tcav_std": st.column_config.NumberColumn("± (sd)", format="%.2f"),
            "random_mean": st.column_config.NumberColumn("Random directions", format="%.2f"),
            "p_corrected": st.column_config.NumberColumn("p (corrected)", format="%.2g"),
            "significant": st.column_config.CheckboxColumn("★ Significant"),
            "cav_accuracy": st.column_config.NumberColumn(
                "CAV accuracy",
                format="%.2f",
                help="Share of held-out excerpts the concept direction sorts right (concept vs random); 0.5 is chance.",
            ),
            "n_random": st.column_config.NumberColumn("Runs"),
        },
        key=K + "table_" + stem,
    )
    c1, c2, _ = st.columns([1, 1, 2])
    c1.download_button(
        "Table (CSV)",
        df.to_csv(index=False).encode("utf-8"),
        file_name=f"tcav_{stem}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=K + "csv_" + stem,
    )
    c2.download_button(
        "Results (JSON)",
        json.dumps(res.to_records(), indent=1).encode("utf-8"),
        file_name=f"tcav_{stem}.json",
        mime="application/json",
        icon=":material/download:",
        on_click="ignore",
        key=K + "json_" + stem,
    )


def results(model) -> None:
    last = st.session_state.get(K + "results")
    if not last:
        return
    if last["model"] != model.name:
        st.info(f"The last results are for the model '{last['model']}'; run the test again for '{model.name}'.")
        return
    st.header("Results")
    for note in last["notes"]:
        st.caption(note)
    st.caption(f"Computed in {last['seconds']:.1f} s.")
    for k, res in enumerate(last["results"]):
        if len(last["results"]) > 1:
            st.subheader(f"'{res.concept}'" + (f" rather than '{res.relative_to}'" if res.relative_to else ""))
        chart(concept_stats.tcav_null(res, classes=model.classes), K + f"null_{k}")
        st.caption(
            f"Grey dots: {res.n_random} random sets of excerpts (whole training pieces), each tested exactly as the "
            "concept is — the scores a concept gets by chance. Diamond: the concept's mean score with its 95% "
            "interval over runs (each run resamples its examples by piece). ★ and a filled diamond: significantly "
            "different from the random sets after correction; 'no score': this layer cannot tell the concept "
            "from random excerpts."
        )
        with st.expander("Every run"):
            chart(views.tcav_scores(res, classes=model.classes), K + f"scores_{k}")
            st.caption("Coloured box: the concept's score in each run; grey box: each random set's mean score.")
        _sentences(res)
        name = res.concept + (f"_vs_{res.relative_to}" if res.relative_to else "")
        _table(res, f"{k}_{report.safe_filename(name or 'concept')}")
        _share(model, res, last, k)
    if len(last["results"]) > 1:
        _entanglement(last["results"])
    st.info(CAVEAT)


def _entanglement(res_list) -> None:
    """Several concepts side by side: scores and CAV accuracy per layer, and how alike their directions are."""
    st.subheader("Are these concepts the same direction for the model?")
    targets = [t for t in res_list[0].targets if all(t in r.targets for r in res_list)]
    if not targets:
        return
    target = st.selectbox("Style", targets, key=K + "ent_target")
    chart(concept_stats.entanglement(res_list, target), K + "entanglement")
    st.caption(
        "Left: each concept's mean TCAV score per layer (gaps: the layer cannot tell it from random excerpts). "
        "Middle: held-out accuracy of its direction (dotted: what random sets reach). Right: cosine similarity of "
        "the concepts' directions at the last layer; near 1, the model does not tell the two concepts apart there, "
        "so their scores say the same thing."
    )


def trust(model) -> None:
    """The 'How far to trust this' panel: the shipped sanity numbers of the model (python -m xai sanity)."""
    with st.expander("How far to trust this", icon=":material/verified:"):
        shipped = sanity.shipped(model.name)
        if not shipped or "full" not in shipped:
            st.caption(f"No sanity numbers ship for the model '{model.name}' yet (python -m xai sanity --model "
                       f"{model.name} --recompute --write makes them).")
            return
        s = shipped["full"]
        if s.get("weights_sha256") and s["weights_sha256"] != getattr(model, "weights_sha256", s["weights_sha256"]):
            st.warning("These numbers were measured on other weights of this model; they may not hold any more.")
        o = s["options"]
        st.markdown(
            f"Measured on this model: {o['n_concepts']} *random concepts* (sets of {o['concept_size']} random "
            f"excerpts of training pieces) were tested exactly as your concept is, for {len(s['targets'])} styles "
            f"at {len(s['layers'])} layers; a concept the model certainly uses was planted; the model's weights "
            "were randomised layer by layer from the top (Adebayo et al. 2018); and the test was rerun with other "
            "seeds."
        )
        st.dataframe(pd.DataFrame(concept_stats.sanity_rows(s)), hide_index=True, key=K + "trust_table")
        chart(concept_stats.sanity_deciles(s), K + "trust_deciles")


def _share(model, res, last: dict, k: int) -> None:
    """The share panel of one result: report, numbers and a link that reruns the same test."""
    options = last["options"].to_dict() if last.get("options") is not None else {}
    state = {"model": model.name, "concepts": [res.concept], "relative_to": res.relative_to,
             "targets": list(res.targets), "layers": list(res.layers), "seed": last.get("seed"), "run": True,
             **options}
    sentences = [f"{t} at {la}: {res.interpretation(t, la)}" for la in res.layers for t in res.targets
                 if res.cell(t, la)["significant"]]
    finding = fmod.Finding(
        view="tcav", title=f"TCAV: '{res.concept}'" + (f" rather than '{res.relative_to}'" if res.relative_to else ""),
        summary=" ".join(sentences) or "No style's score differs significantly from random concepts. " + CAVEAT,
        parameters={k2: v for k2, v in state.items() if k2 != "run"}, numbers={"records": res.to_records()},
        model=model.name,
        sections=(report.Section("Scores", text=CAVEAT, figures=(views.tcav_scores(res, classes=model.classes),)),))
    with st.expander("Share or export this result", icon=":material/share:"):
        share_panel(finding, state, key=K + f"share_{k}_")


def previous_runs() -> None:
    with st.expander("Previous runs"):
        try:
            library = concepts.Library()
            runs = experiment.visible_runs(library.runs(), mine=st.session_state.get(K + "my_runs", set()),
                                           public=set(library.names()) | concepts.builtin_names())
        except XaiError as e:
            st.error(str(e))
            return
        if not runs:
            st.caption("No TCAV runs are recorded in the library yet.")
            return
        rows = []
        for r in runs:
            p = r.get("parameters", {})
            recs = (r.get("results") or {}).get("records") or []
            rows.append(
                {
                    "run": r["id"],
                    "when": str(r["created"]).replace("T", " ")[:16],
                    "concepts": " vs ".join(r["concepts"]),
                    "significant": ", ".join(f"{x['target']} ({x['layer']})" for x in recs if x.get("significant"))
                    or "—",
                    "styles": ", ".join(r["targets"]),
                    "layers": ", ".join(r["layers"]),
                    "runs": (p.get("options") or {}).get("n_random"),
                    "seed": p.get("random_state"),
                    "model": r["model"],
                }
            )
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            column_config={
                "run": st.column_config.NumberColumn("#", width="small"),
                "when": st.column_config.TextColumn("When (UTC)"),
                "concepts": st.column_config.TextColumn("Concept"),
                "significant": st.column_config.TextColumn("★ Significant for", width="medium"),
                "styles": st.column_config.TextColumn("Styles tested"),
                "layers": st.column_config.TextColumn("Layers"),
                "runs": st.column_config.NumberColumn("Runs", width="small"),
                "seed": st.column_config.NumberColumn("Seed", width="small"),
                "model": st.column_config.TextColumn("Model", width="small"),
            },
            key=K + "runs",
        )
        st.caption(f"Kept in {concepts.Library().path}, with every score, seed and the model's weights hash.")


# -------------------------------------------------------------------------------------------------- strip


def strip(model) -> None:
    st.header("Where in this piece does the model see the concept?")
    last = st.session_state.get(K + "results")
    if not last or last["model"] != model.name:
        st.info("Run a test above first: the strip follows the concept direction (CAV) the test finds.")
        return
    results = last["results"]
    owner = (last["model"], *((r.concept, r.relative_to, tuple(r.layers)) for r in results))
    belongs_to(owner, {K + "strip_result": 0, K + "strip_layer": list(results[0].layers)[0]},
               tag=K + "strip_of")  # a new test's concept directions
    c1, c2 = st.columns(2)
    k = c1.selectbox(
        "Concept direction",
        range(len(results)),
        key=K + "strip_result",
        format_func=lambda i: (
            f"'{results[i].concept}'" + (f" rather than '{results[i].relative_to}'" if results[i].relative_to else "")
        ),
    )
    res = results[k]
    layer = c2.selectbox("Layer", list(res.layers), key=K + "strip_layer")
    piece = choose_piece(K + "strip_", upload_hint="Upload a MIDI file or a score to see where the concept is in it.")
    if piece is None:
        return
    cav = res.cavs_[layer]
    cav_key = hashlib.sha256(np.ascontiguousarray(cav).tobytes()).hexdigest()[:16]
    pkey = cache.piece_key(piece)
    with st.spinner("Reading the piece through the model…"):
        wins, values = cache.concept_strip(pkey, model.name, layer, cav_key, float(STRIP_HOP), piece, cav)
        baseline = cache.concept_baseline(model.name, layer, cav_key, cav)
    chart(
        views.concept_strip(piece, wins, values, concept=res.concept, layer=layer, baseline=baseline),
        K + "strip_fig",
    )
    st.caption(
        f"The strip above the notes: how closely the model's activations at {layer} point along the concept "
        f"direction (cosine similarity), for windows of {music.WINDOW_QUARTERS:g} quarters every {STRIP_HOP} "
        f"quarters, averaged over the windows that contain each beat. White is what a typical random excerpt of "
        f"the training pieces gets ({baseline:.2f}); red: closer to the concept than that; blue: further from it."
    )
    rows = [r for r in views.concept_by_bar(piece, wins, values) if r["value"] is not None]
    top = sorted(rows, key=lambda r: -r["value"])[:TOP_BARS]
    top = [r for r in top if r["value"] > baseline]
    if not top:
        st.markdown("No bar of this piece is closer to the concept than a typical random excerpt, at this layer.")
        return
    st.markdown(
        "**Bars where the model sees the concept most:** "
        + " · ".join(f"bar {r['bar']} ({r['value']:.2f})" for r in top)
    )
    # The excerpt to hear holds the first of those bars: of the windows over it, the one nearest the concept (the
    # single best window anywhere may lie elsewhere, since a bar's value averages every window over it).
    bar = top[0]
    over = [i for i, w in enumerate(wins) if w.n_notes and np.isfinite(values[i])
            and w.start_beat < max(bar["end_beat"], bar["start_beat"] + 1e-6) and w.end_beat > bar["start_beat"]]
    w = wins[max(over, key=lambda i: values[i])]
    st.markdown(f"**Hear bar {bar['bar']} in context, {views.bars_text(w.start_bar, w.end_bar)}**")
    with st.spinner("Synthesising the excerpt…"):
        st.audio(cache.audio(pkey, w.start_beat, w.end_beat, piece), format="audio/wav")
