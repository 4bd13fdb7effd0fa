"""Test a concept (TCAV): does the model's answer for a style move with a concept a musician defined?

The concepts on offer are the library's, the shipped built-in ones, and the unsaved working concept of
'Define a concept' once it is usable. The options' widgets are built from :class:`xai.concepts.tcav.TCAVOptions`'
fields, bounds and help. A run draws its random sets from the shipped pool of training excerpts, leaving out
the pieces the concept's examples come from, scores the held-out excerpts of each class, is kept per server
(:func:`pages._cache.tcav_result`) and is recorded in the library's run log. Its concept direction (CAV) then
draws a strip over any piece: where the model sees the concept, bar by bar (:mod:`pages._tcav_results`).
"""

from __future__ import annotations

import time

import streamlit as st

from pages import _cache as cache
from pages import _tcav_results as results
from pages import _working as working
from pages._nav import require_entrypoint
from pages._share import restored_state
from pages._widgets import option_widgets
from xai.concepts import experiment
from xai.concepts import library as concepts
from xai.concepts.options import TCAVOptions
from xai.errors import InputError, XaiError

K = "tcav_"  # widget key prefix of this page
MODES = ("Against random excerpts", "Concept A against concept B (relative TCAV)")
OPTION_NAMES = tuple(s["name"] for s in TCAVOptions.spec())


# ------------------------------------------------------------------------------------------------- concepts


def _concept_choices(model=None) -> dict[str, tuple[str, str]]:
    """Label -> (where, name) of every concept that can be picked: working, library, built-in."""
    out = {}
    w = working.state().concept()
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
        for name in concepts.builtin(model=model):
            out[f"{name} (built-in)"] = ("builtin", name)
    except XaiError as e:
        st.warning(str(e))
    return out


# -------------------------------------------------------------------------------------------------- options


def _options() -> tuple[TCAVOptions, int]:
    """The options from their widgets (``n_random`` in view, the rest folded away) and the seed."""
    c1, c2, _ = st.columns([1, 1, 2])
    with c1:
        first = option_widgets(TCAVOptions, K + "opt", only=("n_random",))
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
        rest = option_widgets(TCAVOptions, K + "opt", only=tuple(n for n in OPTION_NAMES if n != "n_random"),
                              columns=3)
    return rest.replace(n_random=first.n_random), seed


# ------------------------------------------------------------------------------------------------------ run


def _record(model, run, cached: bool, seconds: float) -> str | None:
    """Write the run to the library's run log; returns a sentence when that failed (the result still stands)."""
    try:
        run_id = experiment.record(run, model, library=concepts.Library(), command="app: Test a concept (TCAV)",
                                   from_cache=cached, seconds=seconds)
    except XaiError as e:
        return f"The run could not be recorded in the library ({e}); its results are shown below all the same."
    st.session_state.setdefault(K + "my_runs", set()).add(run_id)
    return None


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
        key = experiment.cache_key(a, model, relative_to=b, targets=targets, layers=layers, options=options,
                                   random_state=seed)
        run, cached = cache.tcav_result(key, lambda a=a, b=b, progress=progress: experiment.run(
            a, model, relative_to=b, targets=targets, layers=layers, options=options, random_state=seed,
            progress=progress, inputs=cache.tcav_inputs(model.name)))
        problem = _record(model, run, cached, time.perf_counter() - t1)
        if problem:
            notes.append(problem)
        if cached:
            notes.append(f"{what}: the same test was run before on this server with the same settings; shown again.")
        if getattr(run, "overlap", None) is not None:
            notes.extend(f"⚠ {what}: {w}" for w in run.overlap.warnings())
        results.append(run.result)
    bar.empty()
    st.session_state[K + "results"] = {
        "results": results,
        "model": model.name,
        "seconds": time.perf_counter() - t0,
        "notes": notes,
        "options": options,
        "seed": seed,
    }


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
    for name, value in experiment.link_options(state).items():
        ss[K + "opt_" + name] = value
    if state.get("run") and chosen:
        ss[K + "go"] = True


# ------------------------------------------------------------------------------------------------------ page


def _page(model) -> None:
    choices = _concept_choices(model)
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
    targets = c1.multiselect("Classes (composers or styles)", list(model.classes), default=list(model.classes), key=K + "targets")
    layers = c2.multiselect(
        "Layers",
        list(model.layers),
        default=[model.default_layer],
        key=K + "layers",
        format_func=lambda la: f"{la} (default)" if la == model.default_layer else la,
        help="Where in the network to look for the concept; later layers hold larger-scale musical features.",
    )
    options, seed = _options()

    picked = chosen + ([other] if other else [])
    ready, problems = concepts.usable([(label, *choices[label]) for label in picked], working=working.state().concept(),
                                       model=model)
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
    results.results(model)
    results.trust(model)
    results.previous_runs()
    results.strip(model)


require_entrypoint()
st.title("Test a concept (TCAV)")
st.markdown(
    "Does the model's answer for a composer or a style depend on a concept? **TCAV** finds the direction in the model's "
    "activations that separates the concept's examples from random excerpts, and measures how often moving "
    "along it raises that class's score — then repeats this against many random sets, so a direction that only "
    "looks meaningful by chance is not reported."
)

try:
    model_name = st.session_state.get("model_name")
    if not model_name:
        raise InputError("No model is available to ask; pick one in the sidebar or train one.")
    _page(cache.model(model_name))
except XaiError as e:
    st.error(str(e))
