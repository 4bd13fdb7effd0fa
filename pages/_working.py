"""The working concept of 'Define a concept', kept per browser session (:class:`xai.concepts.working.WorkingConcept`).

It lives in ``st.session_state`` under a key no widget owns (Streamlit drops a widget's state when its page is
not shown), so it survives moving between pages until it is saved to the library, and 'Test a concept' can
offer it before it is saved (``state().concept()``: it as a library concept).
"""

from __future__ import annotations

import streamlit as st

from xai.concepts.working import UNNAMED, WorkingConcept

__all__ = ["KEY", "UNNAMED", "state"]

KEY = "concept_work"


def state() -> WorkingConcept:
    """This session's working concept (an empty one the first time)."""
    if not isinstance(st.session_state.get(KEY), WorkingConcept):
        st.session_state[KEY] = WorkingConcept()
    return st.session_state[KEY]
