"""Discovered concepts: what a layer of the model holds, found without labels, shown in excerpts to see and hear.

The layer's feature maps over the shipped excerpts (held-out pieces, 150 per class) are factorised into K
concepts by NMF or NTD (:mod:`xai.concepts.discovery`). Results for the default settings ship precomputed and others are
kept in the user's cache, so browsing is instant; a new factorisation runs with a progress bar. For each concept:
its importance for each class, the excerpts where it is most and least present (piano roll with the concept
over it, bars, the sound of the bars where it is strongest, the score on demand), a side-by-side comparison,
exports (MIDI, an HTML report) and "name it and keep it" into the concept library, to test it with TCAV.
"""

from __future__ import annotations

import collections
import time

import pandas as pd
import streamlit as st

from pages import _cache as cache
from pages._nav import require_entrypoint
from pages._share import restored_state, share_panel
from pages._widgets import chart, choose_piece, show_svgs
from xai import views
from xai.concepts import discovery
from xai.concepts import library as concepts
from xai.errors import InputError, XaiError
from xai.export import finding as fmod
from xai.export import report

K = "disc_"  # widget key prefix of this page
K_CHOICES = (2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32)
SEED = 0
N_SUMMARY = 20  # top excerpts a concept's one-line summary counts classes over
METHOD_HELP = {
    "nmf": "NMF (as ICE): every position of every excerpt's map is a mix of the K concepts.",
    "ntd": "NTD (Tucker): the concepts' presence is tied to a few shared excerpt, pitch and time profiles.",
}
OPTIONS = {o["name"]: o for o in discovery.DiscoveryOptions.spec()}


# ---------------------------------------------------------------------------------------------------- settings


def _settings(model) -> dict:
    layers = list(model.layers)
    c1, c2, c3, c4 = st.columns([1, 1, 1.4, 1.2])
    layer = c1.selectbox("Layer", layers, index=layers.index(model.default_layer) if model.default_layer in layers
                         else 0, key=K + "layer", help="Where in the network to look: block1 is near the notes, "
                         "block4 near the answer. Every block ends in a ReLU, so its maps are non-negative.")
    method = c2.radio("Method", list(discovery.METHODS), format_func=lambda m: discovery.METHOD_NAMES[m],
                      horizontal=True, key=K + "method", help=" ".join(METHOD_HELP.values()))
    channels = cache.discovery_channels(model.name, layer)
    ks = [k for k in K_CHOICES if k <= min(channels, OPTIONS["n_concepts"]["high"])]
    n = c3.select_slider("Concepts (K)", ks, value=8 if 8 in ks else ks[-1], key=K + "k",
                         help=OPTIONS["n_concepts"]["help"] + f" Layer {layer} has {channels} channels.")
    scope = c4.selectbox("Excerpts factorised", ["All classes", *model.classes], key=K + "scope",
                         help="Find concepts in every class's excerpts, or in one class only.")
    return {"layer": layer, "method": method, "n_concepts": n, "classes": None if scope == "All classes" else (scope,)}


def _run(model, excerpts, s: dict, *, curve: bool, note: str = "") -> tuple:
    """Compute (or recompute) a factorisation with a progress bar; returns (result, status)."""
    bar = st.progress(0.0, text=note or "Starting…")
    t0 = time.perf_counter()

    def progress(f: float, m: str) -> None:
        bar.progress(min(max(f, 0.0), 1.0), text=m)

    disc, status = discovery.cached(model, excerpts, layer=s["layer"], method=s["method"], n_concepts=s["n_concepts"],
                                    random_state=SEED, classes=s["classes"], curve=curve, shipped=None,
                                    progress=progress)
    bar.empty()
    st.toast(f"Factorised in {time.perf_counter() - t0:.0f} s.")
    return disc, status


def _result(model, excerpts, s: dict):
    """The result for the settings: held in memory, else from disk, else (on request) computed."""
    key = (model.name, model.weights_sha256, s["layer"], s["method"], s["n_concepts"], s["classes"], SEED)

    def find():
        return discovery.cached(model, excerpts, layer=s["layer"], method=s["method"], n_concepts=s["n_concepts"],
                                random_state=SEED, classes=s["classes"], compute=False)

    disc, status = cache.discovery_result(key, find)
    if disc is not None:
        return disc, status
    if status == "stale":
        # Results made by other weights are never shown: recompute them, and say why.
        return cache.discovery_result(key, lambda: _run(model, excerpts, s, curve=False,
                                                        note="The model changed; recomputing…"))
    st.info(
        f"{discovery.status_message(status)} Factorising layer {s['layer']} over "
        f"{len(excerpts.rows(classes=s['classes']))} excerpts takes from a few seconds (NMF) to about a minute "
        f"(NTD, large K) on a laptop."
    )
    curve = st.checkbox("Also measure the fidelity for other K (slower)", key=K + "curve_new")
    st.button("Run a new factorisation", type="primary", key=K + "run", on_click=_request, args=(key,))
    if _requested(key):
        return cache.discovery_result(key, lambda: _run(model, excerpts, s, curve=curve))
    return None, status


def _request(key: tuple) -> None:
    """A button's callback: remember which settings to compute (a callback, unlike the button's own value,
    survives a rerun that happens before the button is drawn again)."""
    st.session_state[K + "pending"] = key


def _requested(key: tuple) -> bool:
    if st.session_state.get(K + "pending") == key:
        st.session_state[K + "pending"] = None
        return True
    return False


# ---------------------------------------------------------------------------------------------------- overview


def _summaries(disc, excerpts) -> list[dict]:
    rows = []
    for k in range(disc.n_concepts):
        top = discovery.top_excerpts(disc, k, n=N_SUMMARY, excerpts=excerpts)
        counts = collections.Counter(r["class"] for r in top).most_common(2)
        comps = collections.Counter(r["composer"] for r in top).most_common(1)
        imp = disc.importance(k)
        up = max(imp, key=imp.get)
        down = min(imp, key=imp.get)
        rows.append({
            "concept": views.concept_label(k),
            "found mostly in": ", ".join(f"{c} ({n}/{len(top)})" for c, n in counts),
            "composer": f"{comps[0][0]} ({comps[0][1]}/{len(top)})" if comps else "",
            "raises most": f"{up} ({imp[up]:+.2f})",
            "lowers most": f"{down} ({imp[down]:+.2f})",
            "share of the layer": float(disc.presence_[:, k].sum() / max(disc.presence_.sum(), 1e-12)),
        })
    return rows


def _overview(disc, excerpts, status: str) -> list[dict]:
    f = disc.fidelity_ or {}
    st.caption(f"{disc.title} · {disc.n_excerpts} excerpts · {discovery.status_message(status)}")
    if status == "recomputed":
        st.warning(discovery.status_message(status))
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
    summaries = _summaries(disc, excerpts)
    left, right = st.columns([1.1, 1], gap="large")
    with left:
        # The concept picker is drawn further down; its last value (an int, unless Streamlit still holds it in its
        # serialised form right after the options changed) outlines that concept's row here.
        picked = st.session_state.get(K + "concept")
        picked = picked if isinstance(picked, int) and 0 <= picked < disc.n_concepts else None
        chart(views.concept_overview(disc, selected=picked), K + "overview")
        st.caption("Importance (ICE): how the class's logit changes when the concept is added at every position "
                   "of the layer. Red raises the class, blue lowers it.")
    with right:
        points = disc.curve()
        if len(points) > 1:
            chart(views.fidelity_plot(points, chosen=disc.n_concepts), K + "fidelity")
            st.caption("How many concepts the layer needs: the model's accuracy with the layer rebuilt from K "
                       "concepts, each K factorised afresh with the same method.")
        else:
            st.info("The fidelity for other K has not been measured for these settings.")
            s = {"layer": disc.layer, "method": disc.method, "n_concepts": disc.n_concepts,
                 "classes": _classes_used(disc)}
            model = cache.model(st.session_state["model_name"])
            key = (model.name, model.weights_sha256, disc.layer, disc.method, disc.n_concepts, s["classes"], SEED)
            st.button("Measure it (about a minute)", key=K + "measure", on_click=_request, args=(("curve", key),))
            if _requested(("curve", key)):
                new = _run(model, excerpts, s, curve=True)
                cache.discovery_forget(key)
                cache.discovery_result(key, lambda: new)
                st.rerun()
    st.dataframe(
        pd.DataFrame(summaries), hide_index=True, key=K + "summary",
        column_config={"share of the layer": st.column_config.ProgressColumn(
            "share of the layer", min_value=0.0, max_value=max(r["share of the layer"] for r in summaries),
            format="%.2f")},
    )
    return summaries


def _classes_used(disc):
    used = disc.params.get("classes_used", "all")
    return None if used in (None, "all") else tuple(used)


# ---------------------------------------------------------------------------------------------------- excerpts


def _excerpt_card(disc, excerpts, concept: int, r: dict, rank: int, *, peak: float, key: str, height: int = 260,
                  whole: bool = False):
    """One excerpt: citation, piano roll with the concept, the sound of its strongest bars (``whole``: of all of
    it, for an excerpt where the concept is nearly absent), and its score on demand."""
    piece = excerpts.piece(r["excerpt"])
    st.markdown(f"**{rank}.** {r['citation']} · *{r['class']}* ({r['composer']}) · presence {r['score']:.2f}")
    if whole:
        span, text = (None, None), f"Listen: the whole excerpt, {views.bars_text(r['start_bar'], r['end_bar'])}."
    else:
        reg = discovery.concept_region(disc, r["row"], concept, excerpts=excerpts)
        span = (reg["start_beat"], reg["end_beat"])
        text = f"Listen: {views.bars_text(reg['start_bar'], reg['end_bar'])}, where the concept is strongest."
    chart(views.discovery_roll(piece, disc.presence_[r["row"], concept], region=None if whole else span, peak=peak,
                               height=height), key + "roll")
    if piece.n_notes:
        st.audio(cache.excerpt_audio(excerpts.sha256, r["excerpt"], *span, excerpts), format="audio/wav")
        st.caption(text)
    if st.toggle("Whole excerpt and score" if not whole else "Score", key=key + "more"):
        if piece.n_notes and not whole:
            st.audio(cache.excerpt_audio(excerpts.sha256, r["excerpt"], None, None, excerpts), format="audio/wav")
        try:
            with st.spinner("Engraving the bars (a long piece takes a while the first time)…"):
                show_svgs(cache.corpus_bars(r["piece"], r["start_bar"], r["end_bar"]))
        except InputError as e:
            st.warning(f"The score could not be shown ({e}) The piano roll and the audio above hold the notes.")


def _gallery(disc, excerpts, concept: int, rows: list[dict], *, per_row: int, prefix: str, height: int = 260,
             whole: bool = False):
    peak = float(disc.presence_[:, concept].max()) or None
    for i in range(0, len(rows), per_row):
        cols = st.columns(per_row, gap="medium")
        for j, r in enumerate(rows[i : i + per_row]):
            with cols[j]:
                _excerpt_card(disc, excerpts, concept, r, i + j + 1, peak=peak, key=f"{prefix}{r['row']}_",
                              height=height, whole=whole)


def _filters(disc, excerpts) -> dict:
    c1, c2, c3 = st.columns([1.2, 1.2, 0.8])
    classes = c1.multiselect("Only excerpts of these classes", list(disc.classes), key=K + "f_classes",
                             placeholder="all classes")
    names = excerpts.composers
    comps = sorted({names[i] for i in disc.excerpt_index_})
    if st.session_state.get(K + "pending_composers"):
        st.session_state[K + "f_composers"] = [c for c in st.session_state.pop(K + "pending_composers") if c in comps]
    composers = c2.multiselect("Only these composers / collections", comps, key=K + "f_composers",
                               placeholder="all composers")
    n = c3.slider("Excerpts shown", 2, 12, 6, step=2, key=K + "n")
    return {"classes": classes or None, "composers": composers or None, "n": n}


def _concept_section(disc, excerpts, summaries) -> None:
    st.markdown("### A concept, in the music")

    def label(k: int) -> str:
        s = summaries[k]
        return f"{s['concept']} — raises {s['raises most']}; found mostly in {s['found mostly in']}"

    if st.session_state.get(K + "pending_concept") in range(disc.n_concepts):  # the concept a share link names
        st.session_state[K + "concept"] = st.session_state.pop(K + "pending_concept")
    concept = st.selectbox("Concept", list(range(disc.n_concepts)), format_func=label, key=K + "concept")
    f = _filters(disc, excerpts)
    top = discovery.top_excerpts(disc, concept, n=f["n"], classes=f["classes"], composers=f["composers"],
                                 excerpts=excerpts)
    least = discovery.top_excerpts(disc, concept, n=3, least=True, classes=f["classes"], composers=f["composers"],
                                   excerpts=excerpts)
    left, right = st.columns([1, 1.2], gap="large")
    with left:
        chart(views.concept_importance(disc, concept), K + "importance")
        if "all" in disc.importance_basis_:
            st.caption("* No excerpts of this class were factorised: its importance averages over all excerpts.")
    with right:
        _keep(disc, excerpts, concept, top, f)
        _exports(disc, excerpts, concept, f)
    if not top:
        st.info("No excerpt matches these filters.")
        return
    st.markdown(f"#### Where {views.concept_label(concept).lower()} is most present")
    st.caption("The orange shade is the concept's presence over the excerpt (the layer's map, upsampled to the "
               "piano roll; one colour scale for all excerpts of this concept). The orange band marks the bars "
               "to listen to.")
    _gallery(disc, excerpts, concept, top, per_row=2, prefix=K + f"top{concept}_")
    st.markdown("#### Where it is least present")
    st.caption("Excerpts where the concept is (nearly) absent: what it is not. Each plays in full.")
    _gallery(disc, excerpts, concept, least, per_row=3, prefix=K + f"least{concept}_", height=230, whole=True)


def _keep(disc, excerpts, concept: int, top: list[dict], f: dict) -> None:
    """Name it and keep it: the concept's top excerpts saved to the concept library, to test with TCAV."""
    with st.form(K + "keep", border=True):
        st.markdown("**Name it and keep it**")
        st.text_input("Name", key=K + "keep_name", placeholder="e.g. 'four-part chorale texture'")
        st.text_area("What you hear in it", key=K + "keep_desc", height=68)
        st.slider("Excerpts to keep (the most present)", concepts.MIN_EXAMPLES, 30, 12, key=K + "keep_n")
        st.form_submit_button("Save to my concept library", type="primary", key=K + "keep_save", on_click=_save,
                              args=(disc, excerpts, concept, f))
    said = st.session_state.pop(K + "keep_said", None)
    if said:
        (st.success if said[0] == "ok" else st.error)(said[1])


def _save(disc, excerpts, concept: int, f: dict) -> None:
    """The form's callback: save the concept (the outcome is shown on the next run)."""
    name = st.session_state.get(K + "keep_name", "")
    desc = st.session_state.get(K + "keep_desc", "")
    n = int(st.session_state.get(K + "keep_n", 12))
    try:
        rows = discovery.top_excerpts(disc, concept, n=n, classes=f["classes"], composers=f["composers"],
                                      excerpts=excerpts)
        examples = tuple(excerpts.example(r["excerpt"], label=f"discovered, presence {r['score']:.2f}") for r in rows)
        c = concepts.Concept(
            name=name,
            description=desc.strip() or f"{views.concept_label(concept)} of {disc.title}.",
            examples=examples,
            origin="discovered",
            metadata={
                "layer": disc.layer,
                "method": disc.method,
                "n_concepts": disc.n_concepts,
                "concept_index": int(concept),
                "weights_sha256": disc.weights_sha256,
                "model": disc.params.get("model", ""),
                "random_state": disc.random_state,
                "excerpts_sha256": disc.excerpts_sha256,
                "filters": {"classes": f["classes"], "composers": f["composers"]},
                "split": "validation + test pieces",
            },
        )
        c = concepts.check_usable(c)
        lib = concepts.Library()
        lib.save(c)
        st.session_state[K + "keep_said"] = (
            "ok", f"Saved '{c.name}' with {c.n_examples} excerpts to your concept library ({lib.path}). Test it on "
                  f"the TCAV page like any concept.")
    except XaiError as e:
        st.session_state[K + "keep_said"] = ("error", str(e))


def _exports(disc, excerpts, concept: int, f: dict) -> None:
    stem = report.safe_filename(f"{disc.layer}_{disc.method}_k{disc.n_concepts}_concept{concept + 1}")
    kw = {"classes": f["classes"], "composers": f["composers"]}
    c1, c2 = st.columns(2)
    c1.download_button("Excerpts (MIDI, zip)", lambda: report.discovery_midi(disc, excerpts, concept, n=f["n"], **kw),
                       file_name=f"{stem}_excerpts.zip", mime="application/zip", key=K + "midi",
                       icon=":material/download:", on_click="ignore")
    c2.download_button("Report (HTML)", lambda: report.discovery_report(disc, excerpts, concept, n=f["n"], **kw),
                       file_name=f"{stem}_report.html", mime="text/html", key=K + "html",
                       icon=":material/download:", on_click="ignore")
    st.caption("The report holds the figures, bar numbers and the sound of each excerpt, and opens offline.")
    with st.expander("Share this concept", icon=":material/share:"):
        _share(disc, excerpts, concept, f)


def _share(disc, excerpts, concept: int, f: dict) -> None:
    """The share panel: a short report and the numbers of this concept, and a link to this view."""
    top = discovery.top_excerpts(disc, concept, n=f["n"], classes=f["classes"], composers=f["composers"],
                                 excerpts=excerpts)
    rows = [{"piece": r["piece"], "bars": f"{r['start_bar']}–{r['end_bar']}", "presence": round(float(r["score"]), 4)}
            for r in top]
    ss = st.session_state
    state = {"model": disc.params.get("model") or ss.get("model_name"), "layer": disc.layer, "method": disc.method,
             "k": int(disc.n_concepts), "scope": ss.get(K + "scope"), "concept": int(concept), "n": int(f["n"]),
             "f_classes": list(f["classes"] or []), "f_composers": list(f["composers"] or [])}
    finding = fmod.Finding(
        view="discover", title=f"{views.concept_label(concept)} of {disc.layer} ({disc.method.upper()}, K="
        f"{disc.n_concepts})",
        summary="A concept the model found on its own: its importance for each style and the excerpts where it is "
                "most present.",
        parameters={k: v for k, v in state.items() if k != "model"}, model=state["model"],
        numbers={"importance": disc.importance(concept), "top_excerpts": rows,
                 "explained_variance": float(disc.explained_variance_)},
        sections=(report.Section("Importance for each style", figures=(views.concept_importance(disc, concept),)),
                  report.Section("Where it is most present", table=tuple(rows))))
    share_panel(finding, state, key=K)


def _restore(model) -> None:
    """Settings from a share link into the widgets, before they are drawn (unknown values are left out)."""
    state = restored_state("discover")
    if not state:
        return
    ss = st.session_state
    if state.get("layer") in model.layers:
        ss[K + "layer"] = state["layer"]
    if state.get("method") in discovery.METHODS:
        ss[K + "method"] = state["method"]
    if state.get("k") in K_CHOICES:
        ss[K + "k"] = state["k"]
    if state.get("scope") in ("All classes", *model.classes):
        ss[K + "scope"] = state["scope"]
    if isinstance(state.get("n"), int) and 2 <= state["n"] <= 12 and state["n"] % 2 == 0:
        ss[K + "n"] = state["n"]
    ss[K + "f_classes"] = [c for c in state.get("f_classes") or [] if c in model.classes]
    ss[K + "pending_concept"] = state.get("concept")
    ss[K + "pending_composers"] = state.get("f_composers") or []


def _compare(disc, excerpts) -> None:
    if not st.toggle("Compare two concepts side by side", key=K + "compare"):
        return
    with st.container(border=True):
        cols = st.columns(2, gap="large")
        for side, col, default in (("a", cols[0], 0), ("b", cols[1], min(1, disc.n_concepts - 1))):
            with col:
                k = st.selectbox("Concept", list(range(disc.n_concepts)), index=default,
                                 format_func=views.concept_label, key=f"{K}{side}_concept")
                chart(views.concept_importance(disc, k), f"{K}{side}_importance")
                rows = discovery.top_excerpts(disc, k, n=3, excerpts=excerpts)
                _gallery(disc, excerpts, k, rows, per_row=1, prefix=f"{K}{side}_{k}_", height=230)


def _in_your_piece(model, disc) -> None:
    """The concepts found in the shipped excerpts, looked for in any piece: an upload, an example or a
    transcribed recording (sent from the Listen page)."""
    if not st.toggle("Find these concepts in a piece of your choice (an upload, an example, a transcription)",
                     key=K + "in_piece"):
        return
    st.caption("Pick a piece, your own file or a transcribed recording: each bar-aligned window is read by the "
               "same layer and explained by the same concept directions (non-negative least squares), so presence "
               "values are on the scale of the excerpts above.")
    try:
        piece = choose_piece(K + "piece_", upload_hint="a score or MIDI file to look for the concepts in")
        if piece is None:
            return
        found = cache.concepts_in_piece(cache.piece_key(piece), model.name, cache.discovery_key(disc), piece, disc)
    except XaiError as e:
        st.error(str(e))
        return
    k = st.selectbox("Concept", list(range(disc.n_concepts)), format_func=views.concept_label, key=K + "piece_k")
    chart(views.concepts_in_piece(found, selected=k), K + "piece_strip")
    w = found.windows[found.strongest(k)]
    excerpt = piece.slice(w.start_beat, w.end_beat)
    st.markdown(f"**{views.concept_label(k)}** is strongest in {views.bars_text(w.start_bar, w.end_bar)} "
                f"(presence {found.strength[w.index, k]:.2f}; in the shipped excerpts its peak is "
                f"{float(disc.presence_[:, k].max()):.2f}).")
    chart(views.discovery_roll(excerpt, found.presence[w.index, k], peak=float(disc.presence_[:, k].max()) or None,
                               height=260), K + "piece_roll")
    st.audio(cache.audio(cache.piece_key(piece), w.start_beat, w.end_beat, piece), format="audio/wav")
    st.caption(f"Listen: {views.bars_text(w.start_bar, w.end_bar)} of {piece.title}.")


# ---------------------------------------------------------------------------------------------------- page

require_entrypoint()
st.title("Discovered concepts")
st.markdown(
    "Which musical ideas does the model hold, **without anyone naming them first**? A layer's feature maps over "
    "excerpts of held-out pieces are split into a few non-negative parts — *concepts* — each a pattern across the "
    "layer's channels, present in some places of some excerpts. For each concept you see how it moves the model's "
    "answer for each style, and the excerpts where it is most and least present, to hear and to name."
)

try:
    model_name = st.session_state.get("model_name")
    if not model_name:
        raise InputError("No model is available to ask; pick one in the sidebar or train one.")
    model = cache.model(model_name)
    excerpts = cache.discovery_excerpts()
    if tuple(model.classes) != tuple(excerpts.classes):
        raise InputError(f"Concept discovery runs on the style classifier's excerpts; the model '{model_name}' has "
                         f"other classes. Pick the style classifier in the sidebar.")
    _restore(model)
    settings = _settings(model)
    disc, status = _result(model, excerpts, settings)
    if disc is not None:
        summaries = _overview(disc, excerpts, status)
        _concept_section(disc, excerpts, summaries)
        _compare(disc, excerpts)
        _in_your_piece(model, disc)
except XaiError as e:
    st.error(str(e))
