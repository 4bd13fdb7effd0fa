"""Guided tour: one held-out piano performance and the paper's question, in six steps for musicians.

The steps are data (:mod:`xai.classroom.tour`): what to look at and the view each opens with its settings, as a
share link (:mod:`xai.classroom.share`). The first step shows the model's answer here; the others open the real
views. Back / Next move through the steps (kept in this browser session; a ``?share=`` link can open a step).
"""

from __future__ import annotations

import streamlit as st

from pages import _cache as cache
from pages._nav import require_entrypoint
from pages._share import restored_state
from pages._widgets import chart
from xai import views
from xai.classroom import share, tour
from xai.errors import XaiError
from xai.symbolic import examples

K = "tour_"
STEP = K + "step"
TITLES = tuple(s.title for s in tour.STEPS)


def _move(by: int) -> None:
    st.session_state[STEP] = min(len(TITLES) - 1, max(0, st.session_state.get(STEP, 0) + by))


def _link(view: str, state: dict, label: str, icon: str = ":material/open_in_new:") -> None:
    """A link to the real view with the step's settings (a plain message if this installation lacks them)."""
    try:
        token = share.encode(view, tour.state(view, state))
    except XaiError as e:
        st.warning(str(e))
        return
    st.page_link(f"pages/{view}.py", label=label, icon=icon, query_params={"share": token})


def _answer() -> None:
    """The model's answer for the tour's piece, the window it is surest about, and that window's sound."""
    if tour.PIECE not in examples.EXAMPLES:
        st.info("The tour's piece does not ship with this installation, so its answer cannot be shown here.")
        return
    piece = cache.load_example(tour.PIECE)
    pred = cache.classify(cache.piece_key(piece), tour.MODEL, piece)
    st.markdown(f"The model hears **{pred.label}** in this performance (true composer: "
                f"*{examples.example_info(tour.PIECE)['class']}*).")
    chart(views.probability_bars(pred), K + "bars")
    best = pred.most_confident(1)[0]
    w = pred.windows[best]
    st.markdown(f"The window it is surest about is **{views.window_caption(pred, best)}**. Listen: is there a "
                "broken-chord accompaniment in the left hand?")
    st.audio(cache.audio(cache.piece_key(piece), w.start_beat, w.end_beat, piece), format="audio/wav")
    chart(views.prediction_timeline(pred), K + "timeline")


def _step(k: int) -> None:
    s = tour.STEPS[k]
    st.markdown(s.text)
    if s.live == "answer":
        _answer()
    _link(s.view, s.link, s.label, s.icon)
    for view, state, label in s.also:
        _link(view, state, label)


require_entrypoint()
if (shared := restored_state("tour")) is not None and isinstance(shared.get("step"), int):
    st.session_state[STEP] = min(len(TITLES) - 1, max(0, shared["step"]))
st.title("Guided tour: does the model hear an Alberti bass?")
step = st.session_state.get(STEP, 0)
st.progress((step + 1) / len(TITLES), text=f"Step {step + 1} of {len(TITLES)}: {TITLES[step]}")
st.subheader(TITLES[step])
try:
    _step(step)
except XaiError as e:
    st.error(str(e))
back, nxt, _ = st.columns([1, 1, 4])
back.button("Back", key=K + "back", icon=":material/arrow_back:", on_click=_move, args=(-1,), disabled=step == 0)
nxt.button("Next", key=K + "next", icon=":material/arrow_forward:", type="primary", on_click=_move, args=(1,),
           disabled=step == len(TITLES) - 1)
