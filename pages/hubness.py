"""Recommender hubness: "songs like this one" by k nearest neighbours in a model's embedding space, how unevenly
it recommends (hubs and anti-hubs), what hubness reduction changes, and a hub attack with and without a defence.

Everything comes from the shipped embeddings (``assets/hubness/``; :mod:`xai.recommender.embeddings`); measures and
reductions from :mod:`xai.recommender.hubness`; the attack from :mod:`xai.recommender.hub_attack`; figures from :mod:`xai.views.recommender`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models import registry
from pages import _cache as cache
from pages import _cache_audio as audio_cache
from pages._nav import require_entrypoint
from pages._widgets import chart, option_widgets
from xai.audio import clip as audio
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.recommender import embeddings, hub_attack, hubness
from xai.views import recommender as hubness_views

require_entrypoint()

K = "hub_"
K_CHOICES = (1, 3, 5, 10, 20, 50)
N_SHOW = 10
TITLES = hubness.REDUCTION_TITLES
_NUMBER = st.column_config.NumberColumn
MEASURE_COLUMNS = {  # headings in words, narrow enough for all nine columns at 1280 px; the help says the rest
    "reduction": st.column_config.TextColumn("Reduction"),
    "skewness": _NUMBER("Skewness", help="Skewness of N_k, how many top-k lists each item is in (lower: fewer hubs)."),
    "hub occurrence": _NUMBER("Hubs", help="Share of all recommendations that go to hubs (items with N_k ≥ 2k)."),
    "anti-hub occurrence": _NUMBER("Anti-hubs", help="Share of items that are in no one's top-k list."),
    "Robin Hood": _NUMBER("Robin Hood", help="Share of recommendations that would have to move to make N_k equal."),
    "Gini": _NUMBER("Gini", help="Gini coefficient of N_k (0: every item recommended equally often)."),
    "biggest N_k": _NUMBER("Largest N_k", help="The most top-k lists any one item is in."),
    "same-class precision@k": _NUMBER("Same class", help="Share of the k recommendations in the query's class."),
    "k-NN accuracy": _NUMBER("k-NN accuracy", help="The class most of the k recommendations have, right or wrong."),
}
HUB_HEADINGS = {"item": "Item", "N_k": "In how many top-k lists", "class": "Class", "instrument": "Instrument",
                "piece": "Piece", "tempo_qpm": "Tempo (quarters a minute)", "start_bar": "First bar",
                "end_bar": "Last bar"}


def _listen(name: str, i: int, caption: str | None = None) -> None:
    if name.startswith(embeddings.COLLECTION_PREFIX):  # your own vectors: nothing to play
        return
    try:
        st.audio(audio_cache.hubness_item_wav(name, int(i)), format="audio/wav")
    except XaiError as e:
        st.caption(f"(cannot play: {e})")
    if caption:
        st.caption(caption)


def _restore() -> None:
    try:
        from pages._share import restored_state
    except ImportError:
        return
    state = restored_state("hubness")
    if not state:
        return
    ss = st.session_state
    if state.get("embedding") in embeddings.names():
        ss[K + "embedding"] = state["embedding"]
    if state.get("k") in K_CHOICES:
        ss[K + "k"] = state["k"]
    if state.get("reduction") in hubness.REDUCTIONS:
        ss[K + "reduction"] = state["reduction"]


def _settings() -> dict:
    names = embeddings.names() + list(embeddings.collections())
    c1, c2, c3 = st.columns([1.2, 1, 2])
    name = c1.selectbox("Embedding", names, index=names.index("style_audio") if "style_audio" in names else 0,
                        key=K + "embedding", help="Whose penultimate layer places the items: an audio model's "
                        "(3,360 rendered clips) or the composer model's (897 score excerpts); or a collection of your "
                        "own (a .npy file of vectors in the folder $MUSICXAI_COLLECTIONS, up to millions of items).")
    k = c2.select_slider("k (recommendations)", K_CHOICES, value=10, key=K + "k")
    red = c3.radio("Hubness reduction", hubness.REDUCTIONS, format_func=lambda r: TITLES[r], horizontal=True,
                   key=K + "reduction", help="Re-rank each item's 50 nearest candidates by a secondary distance "
                   "that discounts items that are close to everything.")
    return {"embedding": name, "k": int(k), "reduction": red}


def _overview(emb, reports, s) -> None:
    by = {r.reduction: r for r in reports}
    base, cur = by["none"].summary(), by[s["reduction"]].summary()
    cols = st.columns(6)
    for c, (label, key, fmt) in zip(cols, (
            ("Skewness of N_k", "skewness", "{:.2f}"), ("Hub occurrence", "hub_occurrence", "{:.1%}"),
            ("Anti-hub occurrence", "antihub_occurrence", "{:.1%}"), ("Robin Hood index", "robinhood", "{:.3f}"),
            ("Same-class precision@k", "retrieval_precision", "{:.3f}"), ("k-NN accuracy", "knn_accuracy", "{:.3f}")),
            strict=True):
        v = cur[key]
        delta = None
        if s["reduction"] != "none" and v is not None and base[key] is not None:
            delta = fmt.format(v - base[key]) if "%" not in fmt else f"{(v - base[key]) * 100:+.1f} pts"
        c.metric(label, "n/a" if v is None else fmt.format(v), delta=delta,
                 delta_color="inverse" if key in ("skewness", "hub_occurrence", "antihub_occurrence", "robinhood")
                 else "normal")
    if cur["note"]:
        st.caption(cur["note"])
    what = "instrument" if emb.name.startswith("instrument") else "class"
    st.caption(f"{len(emb)} items, k = {s['k']}; a hub is an item in at least {2 * s['k']} top-{s['k']} lists "
               f"(N_k ≥ 2k); same-class = same {what}. "
               + ("Exact neighbours" if cur["method"] == "exact" else
                  f"Approximate neighbours ({cur['method']}; recall@10 {cur['ann_recall10']:.3f} against exact search)"
                  if cur.get("ann_recall10") is not None else f"Approximate neighbours ({cur['method']})")
               + f"; reductions re-rank each item's {cur['candidates']} nearest candidates.")
    _heldout(emb, s)
    c1, c2 = st.columns(2)
    with c1:
        nks = {"none": by["none"].k_occurrence}
        if s["reduction"] != "none":
            nks[s["reduction"]] = by[s["reduction"]].k_occurrence
        chart(hubness_views.k_occurrence_histogram(nks, s["k"], titles=TITLES), key=K + "hist")
    with c2:
        chart(hubness_views.tradeoff([r.summary() for r in reports], titles=TITLES), key=K + "tradeoff")
    df = pd.DataFrame(hubness_views.measure_rows(reports, titles=TITLES))
    st.dataframe(df.style.format({c: "{:.3f}" for c in df.columns if c not in ("reduction", "biggest N_k")}),
                 hide_index=True, width="stretch", column_config=MEASURE_COLUMNS)
    st.download_button("Measures (CSV)", df.to_csv(index=False).encode(), file_name=f"hubness_{emb.name}_k{s['k']}.csv",
                       mime="text/csv", on_click="ignore", key=K + "csv", icon=":material/download:")


def _heldout(emb, s) -> None:
    """Retrieval measured out of sample (xai.recommender.heldout): the in-sample figures flatter the model."""
    if emb.collection != "audio" or "split" not in emb.meta:
        return
    r = audio_cache.hubness_heldout(emb.name, s["k"])
    own = int(registry.card(emb.name).get("data_version") or 1) == 1  # the collection holds data version 1's clips
    st.markdown(f"**Measured out of sample.** {r.items_sentence(own_clips=own)} Recommendations for the held-out "
                "clips, with plain Euclidean neighbours (no hubness reduction):")
    st.table(pd.DataFrame([{
        "queries → references": row["what"], "queries": row["queries"],
        "k-NN accuracy [95 % CI]": f"{row['knn_accuracy']:.3f} [{row['knn_accuracy_ci95'][0]:.3f}–"
                                   f"{row['knn_accuracy_ci95'][1]:.3f}]",
        f"same-{r.label_kind} precision@k [95 % CI]": f"{row['precision_at_k']:.3f} [{row['precision_ci95'][0]:.3f}–"
                                                      f"{row['precision_ci95'][1]:.3f}]",
        "training clips among the recommendations": f"{row['training_share_of_neighbours']:.0%}"}
        for row in r.table()]).rename(columns=lambda c: c if c.startswith("k-") else c[0].upper() + c[1:]),
        hide_index=True)


def _recommend(emb, rep, s) -> None:
    src = st.radio("Song", ["Pick one from the collection", "Upload a recording"] if emb.collection == "audio"
                   else ["Pick one from the collection"], horizontal=True, key=K + "rec_source",
                   label_visibility="collapsed")
    if src == "Upload a recording":
        up = st.file_uploader("Upload a recording", type=[e.lstrip(".") for e in audio.SUPPORTED_AUDIO_EXTENSIONS],
                              key=K + "upload")
        if up is None:
            st.info("Upload a recording: its first 4 seconds are placed in the embedding and its nearest clips "
                    "recommended (plain Euclidean neighbours; the reductions re-rank items of the collection).")
            return
        try:
            clip = audio_cache.load_audio_upload(up.getvalue(), up.name)
            q = embeddings.place(clip.waveform, cache.model(emb.name), emb)
        except XaiError as e:
            st.error(str(e))
            return
        idx, dist = hubness.neighbours_of(emb.vectors, q, min(s["k"], N_SHOW))
        st.audio(up.getvalue())
        for rank, (i, d) in enumerate(zip(idx, dist, strict=True), 1):
            st.markdown(f"**{rank}.** {emb.label(int(i))} — distance {d:.2f}")
            _listen(emb.name, int(i))
        return
    rng = np.random.default_rng(0)
    choices = sorted(set(rng.choice(len(emb), 40, replace=False).tolist()) | {int(i) for i, _ in rep.hubs(5)})
    # One picker per embedding (its own songs and labels): a song picked in another never shows up here.
    item = st.selectbox("Song", choices, format_func=emb.label, key=f"{K}item_{emb.name}")
    nk = int(rep.k_occurrence[item])
    st.caption(f"This item is in {nk} other items' top-{s['k']} lists under {TITLES[s['reduction']]}.")
    _listen(emb.name, item, "The song")
    st.markdown(f"**Its {min(s['k'], N_SHOW)} recommendations** ({TITLES[s['reduction']]}):")
    for rank, i in enumerate(rep.neighbours[item][:N_SHOW], 1):
        d = emb.describe(int(i))
        same = "same class" if d["class"] == emb.describe(item)["class"] else "other class"
        st.markdown(f"**{rank}.** {emb.label(int(i))} · N_k = {int(rep.k_occurrence[i])} · {same}")
        _listen(emb.name, int(i))


def _hubs(emb, rep, s) -> None:
    hubs = rep.hubs(N_SHOW)
    prof = embeddings.hub_profile(emb, rep.k_occurrence, top=20)
    rows = [{**emb.describe(i), "N_k": nk} for i, nk in hubs]
    keep = ["item", "N_k", "class", "instrument", "piece", "tempo_qpm", "start_bar", "end_bar"]
    st.dataframe(pd.DataFrame(rows)[[c for c in keep if c in rows[0]]].rename(columns=HUB_HEADINGS), hide_index=True,
                 width="stretch")
    if emb.collection != "vectors":
        st.caption(f"The 20 biggest hubs come from {prof['distinct_pieces']} different pieces.")
    c1, c2 = st.columns(2)
    with c1:
        chart(hubness_views.hub_shares(prof["class"], what="Classes"), key=K + "h_class")
    with c2:
        if "instrument" in prof:
            chart(hubness_views.hub_shares(prof["instrument"], what="Instruments"), key=K + "h_inst")
    if "midlevel_z" in prof:
        chart(hubness_views.midlevel_z(prof["midlevel_z"]), key=K + "h_mid")
    st.markdown("**Listen to the biggest hubs**")
    for i, nk in hubs[:5]:
        st.markdown(f"{emb.label(i)} · N_k = {nk}")
        _listen(emb.name, i)


def _attack_request() -> None:
    st.session_state[K + "attack_go"] = True


def _attack(emb, s) -> dict | None:
    rows, commands, o, paper = hub_attack.shipped_jobs(embeddings.ASSETS)
    if rows:
        st.markdown(f"**Shipped jobs** (hub = N_5 ≥ {o['hub_size'] * o['k']:g}, {o['steps']} sign-Adam steps; the "
                    "paper's recommender is MFCC Gaussians with KL on FM4 Soundpark songs, ours a CNN embedding on "
                    "4-s rendered clips):")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption(f"Paper: {paper['snr']}. Reproduce: " + "; ".join(f"`{c}`" for c in commands))
        stale = hub_attack.outdated_jobs(embeddings.ASSETS)
        if stale:
            st.warning(f"{len(stale)} of these jobs were computed with earlier weights of the model (or do not say "
                       "which); rerun their commands to measure the shipped weights.", icon=":material/history:")
    if emb.collection != "audio":
        st.info("The hub attack perturbs recordings: choose an audio model's embedding.")
        return None
    pool = hub_attack.pick_songs(emb, 20, random_state=1)
    item = st.selectbox("Song to attack", pool.tolist(), format_func=emb.label,
                        key=f"{K}att_item_{emb.name}")  # one picker per embedding, as for recommendations
    opts = option_widgets(hub_attack.HubAttackOptions, K + "att", only=("eps", "steps"), columns=2)
    st.button("Attack it (without, then with Mutual Proximity)", type="primary", on_click=_attack_request,
              key=K + "att_run")
    if not st.session_state.get(K + "attack_go"):
        st.caption("Each attack takes some seconds on this machine.")
        return None
    bar = st.progress(0.0, text="Attacking…")
    try:
        out = audio_cache.hub_attack_song(emb.name, int(item), tuple(sorted(opts.to_dict().items())),
                                    _progress=lambda f, m: bar.progress(min(1.0, f), text=m))
    finally:
        bar.empty()
    need = opts.hub_size * opts.k
    cols = st.columns(2)
    numbers = {}
    for c, d in zip(cols, out.defences, strict=True):
        r = out.result(d)
        title = "No defence" if d == "none" else "Mutual Proximity"
        with c:
            st.markdown(f"**{title}**")
            status = {"yes": "became a hub", "no": "did not become a hub", "hub": "was a hub already"}[r.status]
            st.metric(f"N_{opts.k} before → after", f"{r.nk_before} → {r.nk_after}", delta=r.nk_after - r.nk_before)
            snr = "—" if r.snr_db is None else f"{r.snr_db:.1f} dB"
            st.caption(f"The song {status} (needs N_{opts.k} ≥ {need:g}) · SNR {snr} · max |δ| = {r.linf:.4f}")
            st.audio(audio.to_wav_bytes(out.waveform(d), audio.SAMPLE_RATE))
            st.caption("Adversarial version")
        numbers[d] = r.to_dict()
    st.audio(audio.to_wav_bytes(out.original, audio.SAMPLE_RATE))
    st.caption("Original" + ("" if out.exact_clip else " (rendered with TimGM6mb; the data-set clip used "
                                                     "another soundfont)"))
    chart(hubness_views.nk_trace({d: out.result(d).nk_trace for d in out.defences},
                                 check_every=opts.check_every, need=need), key=K + "att_trace")
    return {"item": int(item), "eps": float(opts.eps), "steps": int(opts.steps), **numbers}


def main() -> None:
    st.title("Recommender hubness")
    st.caption("“Songs like this one”: the k nearest items in a model's embedding space. In high dimensions some "
               "items (hubs) are recommended for very many songs and others (anti-hubs) for none. See how skewed "
               "the recommendations are, who the hubs are, what hubness reduction changes, and how an attacker "
               "can turn a song into a hub.")
    _restore()
    s = _settings()
    try:
        emb = audio_cache.hubness_embedding(s["embedding"])
        reports = audio_cache.hubness_reports(s["embedding"], s["k"])
    except XaiError as e:
        st.error(str(e))
        return
    rep = {r.reduction: r for r in reports}[s["reduction"]]
    _overview(emb, reports, s)
    attack_numbers = None
    t1, t2, t3 = st.tabs(["Recommend", "Biggest hubs", "Hub attack"])
    try:
        with t1:
            _recommend(emb, rep, s)
        with t2:
            _hubs(emb, rep, s)
        with t3:
            attack_numbers = _attack(emb, s)
    except XaiError as e:
        st.error(str(e))
    finding = fmod.Finding(
        view="hubness", title=f"Recommender hubness — {emb.name}, k={s['k']}, {s['reduction']}",
        summary=f"Skewness {rep.measures['skewness']:.2f}, Robin Hood {rep.measures['robinhood']:.3f} under "
                f"{TITLES[s['reduction']]}.",
        parameters={**s, "candidates": rep.candidates, "hub_size": hubness.HUB_SIZE},
        numbers={"reductions": [r.summary() for r in reports], "hubs": rep.hubs(N_SHOW),
                 **({"attack": attack_numbers} if attack_numbers else {})},
        model=emb.name)
    st.divider()
    try:
        from pages._share import share_panel
    except ImportError:
        c1, c2 = st.columns(2)
        c1.download_button("Numbers (JSON)", fmod.to_json(finding).encode(), file_name="hubness_finding.json",
                           on_click="ignore", key=K + "json")
        c2.download_button("Report (HTML)", lambda: fmod.to_html(finding), file_name="hubness_report.html",
                           on_click="ignore", key=K + "html")
    else:
        share_panel(finding, s, key=K)


main()
