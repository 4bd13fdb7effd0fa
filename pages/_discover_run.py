"""'Discovered concepts', the settings and the result: held in memory, read from disk, or computed (layout only)."""

from __future__ import annotations

import time

import streamlit as st

from pages import _cache as cache
from xai.concepts import browse, discovery
from xai.concepts.browse import K_CHOICES, Settings

K = "disc_"  # widget key prefix of the page
ALL = "All classes"
PAIR = "Two classes (pairwise)"
METHOD_HELP = {
    "nmf": "NMF (as ICE): every position of every excerpt's map is a mix of the K concepts.",
    "ntd": "NTD (Tucker): the concepts' presence is tied to a few shared excerpt, pitch and time profiles.",
}
OPTIONS = {o["name"]: o for o in discovery.DiscoveryOptions.spec()}


def settings(model) -> Settings:
    """The settings widgets: layer, method, K, the classes factorised."""
    layers = list(model.layers)
    c1, c2, c3, c4 = st.columns([1, 1, 1.4, 1.2])
    layer = c1.selectbox("Layer", layers, index=layers.index(model.default_layer) if model.default_layer in layers
                         else 0, key=K + "layer", help="Where in the network to look: block1 is near the notes, "
                         "block4 near the answer. Every block ends in a ReLU, so its maps are non-negative.")
    method = c2.radio("Method", list(discovery.METHODS), format_func=lambda m: discovery.METHOD_NAMES[m],
                      horizontal=True, key=K + "method", help=" ".join(METHOD_HELP.values()))
    channels = cache.discovery_channels(model.name, layer)  # Settings.channels, held per server
    ks = [k for k in K_CHOICES if k <= min(channels, OPTIONS["n_concepts"]["high"])]
    n = c3.select_slider("Concepts (K)", ks, value=8 if 8 in ks else ks[-1], key=K + "k",
                         help=OPTIONS["n_concepts"]["help"] + f" Layer {layer} has {channels} channels.")
    scope = c4.selectbox("Excerpts factorised", [ALL, *model.classes, PAIR], key=K + "scope",
                         help="Find concepts in every class's excerpts, in one class only, or in two classes "
                         "contrasted: " + OPTIONS["contrast"]["help"])
    if scope == PAIR:
        pair = st.multiselect("The two classes (the first is the one the difference of logits favours)",
                              list(model.classes), default=list(browse.default_pair(model, layer)),
                              max_selections=2, key=K + "pair", help=OPTIONS["contrast"]["help"])
        if len(pair) == 2:
            return Settings(layer=layer, method=method, n_concepts=n, classes=tuple(pair), contrast=True)
        st.info("Pick two classes to contrast; until then every class's excerpts are used.")
        scope = ALL
    return Settings(layer=layer, method=method, n_concepts=n, classes=None if scope == ALL else (scope,))


def run(model, excerpts, s: Settings, *, curve: bool, note: str = "") -> tuple:
    """Compute (or recompute) a factorisation with a progress bar; returns (result, status)."""
    bar = st.progress(0.0, text=note or "Starting…")
    t0 = time.perf_counter()

    def progress(f: float, m: str) -> None:
        bar.progress(min(max(f, 0.0), 1.0), text=m)

    disc, status = s.compute(excerpts, model, curve=curve, progress=progress)
    bar.empty()
    seconds = time.perf_counter() - t0
    browse.record_timing(s.method, curve, seconds, len(excerpts.rows(classes=s.classes)))
    st.toast(f"Factorised in {seconds:.0f} s.")
    return disc, status


def request(key: tuple) -> None:
    """A button's callback: remember which settings to compute (a callback, unlike the button's own value,
    survives a rerun that happens before the button is drawn again)."""
    st.session_state[K + "pending"] = key


def requested(key: tuple) -> bool:
    """Whether the computation under ``key`` was asked for (once: the request is then forgotten)."""
    if st.session_state.get(K + "pending") == key:
        st.session_state[K + "pending"] = None
        return True
    return False


def result(model, excerpts, s: Settings):
    """The result for the settings: held in memory, else from disk, else (on request) computed."""
    key = s.key(model)
    disc, status = cache.discovery_result(key, lambda: s.lookup(excerpts, model))
    if disc is not None:
        return disc, status
    if status == "stale":
        # Results made by other weights are never shown: recompute them, and say why.
        return cache.discovery_result(key, lambda: run(model, excerpts, s, curve=False,
                                                       note="The model changed; recomputing…"))
    # The message and the button sit in one slot, emptied once the run starts: the result takes their place.
    slot = st.empty()
    with slot.container():
        n = len(excerpts.rows(classes=s.classes))
        curve = st.session_state.get(K + "curve_new", False)
        st.info(f"{discovery.status_message(status)} Factorising layer {s.layer} over {n} excerpts "
                f"{browse.estimate(model, excerpts, s, n, curve=curve)}")
        curve = st.checkbox("Also measure the fidelity for other K (slower)", key=K + "curve_new")
        st.button("Run a new factorisation", type="primary", key=K + "run", on_click=request, args=(key,))
    if requested(key):
        slot.empty()
        return cache.discovery_result(key, lambda: run(model, excerpts, s, curve=curve))
    return None, status


def measure_curve(model, excerpts, disc) -> None:
    """A button that measures the fidelity for other K of the result on show, and holds the fuller result."""
    s = Settings.of(disc)
    key = s.key(model)
    st.button("Measure it (about a minute)", key=K + "measure", on_click=request, args=(("curve", key),))
    if requested(("curve", key)):
        new = run(model, excerpts, s, curve=True)
        cache.discovery_forget(key)
        cache.discovery_result(key, lambda: new)
        st.rerun()
