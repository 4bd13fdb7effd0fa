"""The Attack page's runs: a progress bar with a Cancel button, and runs asked for by a click (layout only)."""


import streamlit as st

from pages import _cache as cache
from xai.errors import Cancelled

K = "atk_"
PLOT = {"displaylogo": False}
STOP = K + "stop"
ANY = "(any other class)"


def chart(fig, key):
    st.plotly_chart(fig, config=PLOT, key=K + key, theme=None)


def _cancel() -> None:
    st.session_state[STOP] = True
    st.session_state[K + "cancelled"] = True  # said once on the run the click starts (it interrupts the attack)


def request(name: str, key: tuple) -> None:
    st.session_state[K + "pending_" + name] = key
    st.session_state[STOP] = False


def requested(name: str, key: tuple) -> bool:
    if st.session_state.get(K + "pending_" + name) == key:
        st.session_state[K + "pending_" + name] = None
        return True
    return False


def run_with_progress(name: str, key: tuple, compute, what: str):
    """Compute with a progress bar and a Cancel button; returns the result, or None if cancelled."""
    bar = st.progress(0.0, text=f"{what}…")
    slot = st.empty()
    slot.button("Cancel", key=K + "cancel_" + name, on_click=_cancel, icon=":material/stop:")

    def progress(f: float, m: str):
        bar.progress(min(max(f, 0.0), 1.0), text=f"{what}: {m}")
        return bool(st.session_state.get(STOP))

    try:
        res, _ = cache.attack_result(key, lambda: compute(progress))
    except Cancelled as e:
        st.warning(str(e))
        res = None
    bar.empty()
    slot.empty()
    return res

