"""'Discovered concepts', a concept in the music: its excerpts, two concepts side by side, a piece of one's
choice (layout only)."""

from __future__ import annotations

import streamlit as st

from pages import _cache as cache
from pages._discover_keep import exports, keep
from pages._discover_run import K
from pages._widgets import belongs_to, chart, choose_piece, show_svgs
from xai import views
from xai.concepts import discovery
from xai.concepts.browse import SHOWN
from xai.errors import InputError, XaiError


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
        when = excerpts.span_clock(r["excerpt"], span)
        text = f"Listen: {views.bars_text(reg['start_bar'], reg['end_bar'])}{f' ({when})' if when else ''}, where " \
               "the concept is strongest."
    chart(views.discovery_roll(piece, disc.presence_[r["row"], concept], region=None if whole else span, peak=peak,
                               height=height, window_quarters=disc.window_quarters), key + "roll")
    if piece.n_notes:
        st.audio(cache.excerpt_audio(excerpts.sha256, r["excerpt"], *span, excerpts), format="audio/wav")
        st.caption(text)
    if excerpts.grid == "seconds":  # a performance: its score is not shipped
        if not whole and piece.n_notes and st.toggle("Whole excerpt", key=key + "more"):
            st.audio(cache.excerpt_audio(excerpts.sha256, r["excerpt"], None, None, excerpts), format="audio/wav")
        return
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
    lo, hi, step = SHOWN
    n = c3.slider("Excerpts shown", lo, hi, 6, step=step, key=K + "n")
    return {"classes": classes or None, "composers": composers or None, "n": n}


def follow(disc) -> None:
    """Concept numbers belong to one factorisation: a new one starts every concept picker again from concept 0."""
    belongs_to(cache.discovery_key(disc), {K + "concept": 0, K + "a_concept": None, K + "b_concept": None,
                                           K + "piece_k": 0}, tag=K + "concepts_of")


def _pick_concept(disc, summaries) -> int:
    def label(k: int) -> str:
        s = summaries[k]
        return f"{s['concept']} — raises {s['raises most']}; found mostly in {s['found mostly in']}"

    if st.session_state.get(K + "pending_concept") in range(disc.n_concepts):  # the concept a share link names
        st.session_state[K + "concept"] = st.session_state.pop(K + "pending_concept")
    return st.selectbox("Concept", list(range(disc.n_concepts)), format_func=label, key=K + "concept")


def concept_section(disc, excerpts, summaries) -> None:
    """One concept: its importance, keep/export/share, and the excerpts where it is most and least present."""
    st.markdown("### A concept, in the music")
    concept = _pick_concept(disc, summaries)
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
        keep(disc, excerpts, concept, f)
        exports(disc, excerpts, concept, f)
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


def compare(disc, excerpts) -> None:
    """Two concepts side by side (on request)."""
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


def in_your_piece(model, disc) -> None:
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
    peak = float(disc.presence_[:, k].max())
    st.markdown(f"**{views.concept_label(k)}** is strongest in {w.label} "
                f"(presence {found.strength[w.index, k]:.2f}; in the shipped excerpts its peak is {peak:.2f}).")
    chart(views.discovery_roll(excerpt, found.presence[w.index, k], peak=peak or None, height=260,
                               window_quarters=max(w.end_beat - w.start_beat, 1e-3)), K + "piece_roll")
    st.audio(cache.audio(cache.piece_key(piece), w.start_beat, w.end_beat, piece), format="audio/wav")
    st.caption(f"Listen: {w.label} of {piece.title}.")
