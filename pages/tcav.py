"""Test a concept (TCAV): does the model's answer for a style move with a concept a musician defined?

The concepts on offer are the library's, the shipped built-in ones, and the unsaved working concept of
'Define a concept' once it is usable. The options' widgets are built from :class:`xai.concepts.tcav.TCAVOptions`'
fields, bounds and help. A run draws its random sets from the shipped pool of training excerpts, leaving out
the pieces the concept's examples come from, scores the held-out excerpts of each class, is kept per server
(:func:`pages._cache.tcav_result`) and is recorded in the library's run log. Its concept direction (CAV) then
draws a strip over any piece: where the model sees the concept, bar by bar.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time

import numpy as np
import pandas as pd
import streamlit as st

from pages import _cache as cache
from pages import _working as working
from pages._nav import require_entrypoint
from pages._share import restored_state, share_panel
from pages._widgets import chart, choose_piece
from xai import views
from xai.concepts import library as concepts
from xai.concepts import tcav
from xai.errors import InputError, XaiError
from xai.export import finding as fmod
from xai.export import report
from xai.symbolic import music

K = "tcav_"  # widget key prefix of this page
STRIP_HOP = 2  # quarters between the strip's windows: 8 windows cover each beat, so it follows the music closely
TOP_BARS = 5
MODES = ("Against random excerpts", "Concept A against concept B (relative TCAV)")
# Labels for the options' widgets; an option without one is shown by its name. Bounds and help come from
# TCAVOptions itself.
LABELS = {
    "n_random": "Random runs",
    "cav_test_fraction": "Held-out share for CAV accuracy",
    "classifier": "Linear classifier",
    "alpha": "Regularisation (alpha)",
    "alpha_significance": "Significance level",
    "correction": "Multiple-test correction",
    "min_cav_accuracy": "Minimum CAV accuracy",
    "max_examples": "Most excerpts per set",
}
CAVEAT = (
    "TCAV is **relative**: a score compares the concept's examples with the random excerpts of training pieces "
    "it was tested against (or with concept B), so other examples or another random pool can give other numbers. "
    "And it is **not causal**: a significant score says the model's answer for a style moves when its "
    "activations move towards the concept, not that the concept is why the model answers as it does."
)


# ------------------------------------------------------------------------------------------------- concepts


def _concept_choices() -> dict[str, tuple[str, str]]:
    """Label -> (where, name) of every concept that can be picked: working, library, built-in."""
    out = {}
    w = working.concept()
    if w is not None:
        try:
            concepts.check_usable(w)
            named = w.name != working.UNNAMED
            label = f"{w.name} (unsaved, from Define a concept)" if named else "Your unsaved concept (Define a concept)"
            out[label] = ("working", w.name)
        except XaiError as e:
            st.caption(f"Your unsaved concept on 'Define a concept' cannot be tested yet: {e}")
    try:
        for name in concepts.Library().names():
            out[f"{name} (library)"] = ("library", name)
    except XaiError as e:
        st.warning(f"{e} Built-in concepts can still be tested.")
    try:
        for name in concepts.builtin():
            out[f"{name} (built-in)"] = ("builtin", name)
    except XaiError as e:
        st.warning(str(e))
    return out


def _get(where: str, name: str) -> concepts.Concept:
    if where == "working":
        c = working.concept()
        if c is None:
            raise InputError("The unsaved concept has no examples any more; add some on 'Define a concept'.")
        return c
    if where == "library":
        return concepts.Library().get(name)
    return concepts.builtin()[name]


def _usable(labels: list[str], choices: dict) -> tuple[list[concepts.Concept], list[str]]:
    """The chosen concepts ready for TCAV (repeats dropped), and a sentence for each one that is not."""
    ready, problems = [], []
    for label in labels:
        try:
            ready.append(concepts.check_usable(_get(*choices[label])))
        except XaiError as e:
            problems.append(f"{label}: {e}")
    return ready, problems


# -------------------------------------------------------------------------------------------------- options


def _step(o: dict) -> float:
    """A +/- step for a float option: a tenth of its default's order of magnitude (typed values may be finer)."""
    d = abs(float(o["default"])) or float(o["high"]) / 100
    return 10.0 ** math.floor(math.log10(d)) / (10 if d < 1 else 1)


def _option(o: dict, where) -> object:
    label = LABELS.get(o["name"], o["name"].replace("_", " ").capitalize())
    key = K + "opt_" + o["name"]
    if o.get("choices"):
        choices = list(o["choices"])
        return where.selectbox(label, choices, index=choices.index(o["default"]), help=o["help"], key=key)
    if o["type"] == "int":
        return int(
            where.number_input(
                label,
                min_value=int(o["low"]),
                max_value=int(o["high"]),
                value=int(o["default"]),
                step=1,
                help=o["help"],
                key=key,
            )
        )
    return float(
        where.number_input(
            label,
            min_value=float(o["low"]),
            max_value=float(o["high"]),
            value=float(o["default"]),
            step=_step(o),
            format="%g",
            help=o["help"],
            key=key,
        )
    )


def _options() -> tuple[tcav.TCAVOptions, int]:
    """The options from their widgets (``n_random`` in view, the rest folded away) and the seed."""
    spec = tcav.TCAVOptions.spec()
    values = {}
    c1, c2, _ = st.columns([1, 1, 2])
    first = next(o for o in spec if o["name"] == "n_random")
    values["n_random"] = _option(first, c1)
    seed = int(
        c2.number_input(
            "Seed",
            min_value=0,
            max_value=2**31 - 1,
            value=0,
            step=1,
            key=K + "seed",
            help="Seed of every random draw (random sets, held-out splits): the same seed gives the same numbers.",
        )
    )
    with st.expander("More options"):
        cols = st.columns(3)
        for k, o in enumerate(x for x in spec if x["name"] != "n_random"):
            values[o["name"]] = _option(o, cols[k % 3])
    return tcav.TCAVOptions(**values), seed


# ------------------------------------------------------------------------------------------------------ run


def _run_one(model, a: concepts.Concept, b: concepts.Concept | None, targets, layers, options, seed, progress):
    """One TCAV experiment (or relative, with ``b``), from the server's memory when it was run before."""
    key = (
        "relative" if b is not None else "tcav",
        working.fingerprint(a),
        working.fingerprint(b) if b is not None else None,
        tuple(targets),
        tuple(layers),
        tuple(sorted(options.to_dict().items())),
        int(seed),
        model.weights_sha256,
    )

    def compute():
        pool, sources, class_X = cache.tcav_inputs()
        for t in targets:
            if t not in class_X:
                raise InputError(f"The shipped concept sets hold no excerpts of the class '{t}' to score.")
        # Random sets never share a piece with the concept(s) tested (see xai.concepts.library.random_pool_sources).
        taken = {e.source_name for c in (a, b) if c is not None for e in c.examples}
        keep = np.array([s not in taken for s in sources], dtype=bool)
        common = {
            "class_X": {t: class_X[t] for t in targets},
            "random_X": pool[keep],
            "layers": list(layers),
            "targets": list(targets),
            "classes": model.classes,
            "options": options,
            "random_state": seed,
            "progress": progress,
        }
        if b is None:
            res = tcav.score(model.net, concepts.example_rolls(a), name=a.name, **common)
        else:
            res = tcav.relative_score(
                model.net, concepts.example_rolls(a), concepts.example_rolls(b), names=(a.name, b.name), **common
            )
        return res, int(keep.sum())

    (res, n_pool), cached = cache.tcav_result(key, compute)
    return res, n_pool, cached


def _record(model, res, n_pool: int, cached: bool, seconds: float) -> str | None:
    """Write the run to the library's run log; returns a sentence when that failed (the result still stands)."""
    try:
        run_id = concepts.Library().save_run(
            {
                "model": model.name,
                "concepts": [res.concept] + ([res.relative_to] if res.relative_to else []),
                "targets": list(res.targets),
                "layers": list(res.layers),
                "parameters": {
                    "method": "relative TCAV" if res.relative_to else "TCAV",
                    "relative_to": res.relative_to,
                    "random_state": res.random_state,
                    "options": res.options.to_dict(),
                    "weights_sha256": model.weights_sha256,
                    "n_concept_per_set": res.n_concept,
                    "n_class": dict(zip(res.targets, res.n_class)),
                    "n_random_pool": n_pool,
                    "from_cache": cached,
                    "seconds": round(seconds, 2),
                    "command": "app: Test a concept (TCAV)",
                },
                "results": {
                    "records": res.to_records(),
                    "scores": res.scores,
                    "random_scores": res.random_scores,
                    "cav_accuracies": res.cav_accuracies,
                    "sets": res.sets_,
                },
            }
        )
    except XaiError as e:
        return f"The run could not be recorded in the library ({e}); its results are shown below all the same."
    st.session_state.setdefault(K + "my_runs", set()).add(run_id)
    return None


def _visible(runs: list[dict], library: concepts.Library) -> list[dict]:
    """The runs this session may see: its own, and those whose concepts are all saved or built in.

    The run log is shared by everyone using this installation, but an unsaved concept is private to the session
    that drew it, so a run of someone else's unsaved concept (its name and results) is not shown.
    """
    mine = st.session_state.get(K + "my_runs", set())
    public = set(library.names()) | set(concepts.builtin())
    return [r for r in runs if r["id"] in mine or set(r["concepts"]) <= public]


def _run(model, jobs, targets, layers, options, seed) -> None:
    # The model's passes over the class excerpts come first and take most of the time; the runs then report.
    bar = st.progress(0.0, text="Reading the concept, random and class excerpts through the model…")
    results, notes = [], []
    t0 = time.perf_counter()
    for k, (a, b) in enumerate(jobs):
        what = f"'{a.name}'" + (f" vs '{b.name}'" if b is not None else "")

        def progress(frac: float, msg: str, k=k, what=what) -> None:
            bar.progress(min(1.0, (k + frac) / len(jobs)), text=f"{what}: {msg}")

        t1 = time.perf_counter()
        res, n_pool, cached = _run_one(model, a, b, targets, layers, options, seed, progress)
        problem = _record(model, res, n_pool, cached, time.perf_counter() - t1)
        if problem:
            notes.append(problem)
        if cached:
            notes.append(f"{what}: the same test was run before on this server with the same settings; shown again.")
        results.append(res)
    bar.empty()
    st.session_state[K + "results"] = {
        "results": results,
        "model": model.name,
        "seconds": time.perf_counter() - t0,
        "notes": notes,
        "options": options,
        "seed": seed,
    }


# -------------------------------------------------------------------------------------------------- results


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


def _stem(res) -> str:
    name = res.concept + (f"_vs_{res.relative_to}" if res.relative_to else "")
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "concept"


def _results(model) -> None:
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
        chart(views.tcav_scores(res, classes=model.classes), K + f"scores_{k}")
        st.caption(
            "Each dot is one run: the share of a style's excerpts whose score rises when the model's activations "
            "move towards the concept (coloured box) or along a random direction (grey box). ★ and colour: "
            "significantly different from random directions; grey: not distinguishable from them."
        )
        _sentences(res)
        _table(res, f"{k}_{_stem(res)}")
        _share(model, res, last, k)
    st.info(CAVEAT)


def _share(model, res, last: dict, k: int) -> None:
    """The share panel of one result: report, numbers and a link that reruns the same test."""
    options = dataclasses.asdict(last["options"]) if last.get("options") is not None else {}
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


def _restore(model, choices: dict) -> None:
    """Settings from a share link into the widgets (before they are drawn); the test then runs again.

    A link names concepts by name; the library's concept of that name comes first, then the built-in one."""
    state = restored_state("tcav")
    if not state:
        return
    ss = st.session_state
    order = {"working": 2, "library": 0, "builtin": 1}
    by_name: dict[str, str] = {}
    for label, (_where, name) in sorted(choices.items(), key=lambda kv: -order.get(kv[1][0], 3)):
        by_name[name] = label
    chosen = [by_name[c] for c in state.get("concepts") or [] if c in by_name]
    other = by_name.get(state.get("relative_to") or "")
    if other and len(chosen) == 1 and chosen[0] != other:
        ss[K + "mode"], ss[K + "a"], ss[K + "b"] = MODES[1], chosen[0], other
    else:
        ss[K + "mode"], ss[K + "concepts"] = MODES[0], chosen
    if len(chosen) < len(state.get("concepts") or []):
        st.warning("A concept this link tests is not in your library here; it is left out.")
    if state.get("targets"):
        ss[K + "targets"] = [t for t in state["targets"] if t in model.classes]
    if state.get("layers"):
        ss[K + "layers"] = [la for la in state["layers"] if la in model.layers]
    if state.get("seed") is not None:
        ss[K + "seed"] = state["seed"]
    for o in tcav.TCAVOptions.spec():
        v = state.get(o["name"])
        if v is None or (o.get("choices") and v not in o["choices"]):
            continue
        if not o.get("choices") and not float(o["low"]) <= float(v) <= float(o["high"]):
            continue
        ss[K + "opt_" + o["name"]] = int(v) if o["type"] == "int" else float(v) if o["type"] == "float" else v
    if state.get("run") and chosen:
        ss[K + "go"] = True


def _previous_runs() -> None:
    with st.expander("Previous runs"):
        try:
            library = concepts.Library()
            runs = _visible(library.runs(), library)
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


def _strip(model) -> None:
    st.header("Where in this piece does the model see the concept?")
    last = st.session_state.get(K + "results")
    if not last or last["model"] != model.name:
        st.info("Run a test above first: the strip follows the concept direction (CAV) the test finds.")
        return
    results = last["results"]
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
    sounding = [i for i, w in enumerate(wins) if w.n_notes]
    best = max(sounding, key=lambda i: values[i])
    w = wins[best]
    st.markdown(f"**Hear the window that points most towards it, {views.bars_text(w.start_bar, w.end_bar)}**")
    with st.spinner("Synthesising the excerpt…"):
        st.audio(cache.audio(pkey, w.start_beat, w.end_beat, piece), format="audio/wav")


# ------------------------------------------------------------------------------------------------------ page


def _page(model) -> None:
    choices = _concept_choices()
    if not choices:
        st.info("There is no concept to test yet: define one on 'Define a concept'.")
        return
    labels = list(choices)
    _restore(model, choices)
    mode = st.radio("Test", MODES, horizontal=True, key=K + "mode", label_visibility="collapsed")
    if mode == MODES[0]:
        chosen = st.multiselect(
            "Concepts",
            labels,
            default=labels[:1],
            key=K + "concepts",
            help="Each is tested on its own against random excerpts of training pieces.",
        )
        other = None
    else:
        c1, c2 = st.columns(2)
        chosen = [c1.selectbox("Concept A", labels, key=K + "a")]
        rest = [x for x in labels if x != chosen[0]]
        other = c2.selectbox("Concept B", rest, key=K + "b") if rest else None
        if other is None:
            st.info("Relative TCAV needs two concepts; define another one first.")
    c1, c2 = st.columns([2, 1])
    targets = c1.multiselect("Styles (classes)", list(model.classes), default=list(model.classes), key=K + "targets")
    layers = c2.multiselect(
        "Layers",
        list(model.layers),
        default=[model.default_layer],
        key=K + "layers",
        format_func=lambda la: f"{la} (default)" if la == model.default_layer else la,
        help="Where in the network to look for the concept; later layers hold larger-scale musical features.",
    )
    options, seed = _options()

    ready, problems = _usable(chosen + ([other] if other else []), choices)
    for p in problems:
        st.warning(p)
    missing = []
    if not chosen or (mode == MODES[1] and other is None):
        missing.append("a concept" if mode == MODES[0] else "two concepts")
    if not targets:
        missing.append("a style")
    if not layers:
        missing.append("a layer")
    if missing:
        st.caption("Choose " + " and ".join(missing) + " to run the test.")
    jobs = [(c, None) for c in ready] if mode == MODES[0] else ([tuple(ready)] if len(ready) == 2 else [])
    # A flag set by a callback rather than the button's return value: require_entrypoint() may rerun the page
    # once before it is drawn (always so under AppTest), and a rerun resets a button's return value.
    st.button(
        "Run the test",
        icon=":material/play_arrow:",
        type="primary",
        key=K + "run",
        disabled=bool(problems or missing or not jobs),
        on_click=lambda: st.session_state.update({K + "go": True}),
    )
    if st.session_state.pop(K + "go", False) and jobs and not (problems or missing):
        _run(
            model,
            jobs,
            [t for t in model.classes if t in targets],
            [la for la in model.layers if la in layers],
            options,
            seed,
        )
    _results(model)
    _previous_runs()
    _strip(model)


require_entrypoint()
st.title("Test a concept (TCAV)")
st.markdown(
    "Does the model's answer for a style depend on a concept? **TCAV** finds the direction in the model's "
    "activations that separates the concept's examples from random excerpts, and measures how often moving "
    "along it raises a style's score — then repeats this against many random sets, so a direction that only "
    "looks meaningful by chance is not reported."
)

try:
    model_name = st.session_state.get("model_name")
    if not model_name:
        raise InputError("No model is available to ask; pick one in the sidebar or train one.")
    _page(cache.model(model_name))
except XaiError as e:
    st.error(str(e))
