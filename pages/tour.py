"""Guided tour: one bundled piece, from the model's answer to a concept test, in plain words for musicians.

Each step shows a little of the real view here (the answer, the excerpt it is surest about) and a link that
opens the full view with the same piece and settings (a share link, :mod:`xai.classroom.share`). Back / Next buttons move
through the steps; the step is kept in this browser session.
"""

from __future__ import annotations

import streamlit as st

from pages import _cache as cache
from pages._nav import require_entrypoint
from pages._widgets import chart
from xai import views
from xai.classroom import share
from xai.errors import XaiError
from xai.symbolic import examples

K = "tour_"
STEP = K + "step"
PIECE = "bach: bwv20.7"  # a Bach chorale: four voices, short, scored (so every view can show its bars)
CONCEPT = "homophonic"  # a built-in concept that fits a chorale
TITLES = ("Welcome", "The model's answer", "Where in the piece", "A musical idea as a concept",
          "Does the answer depend on the idea?", "Where to go next")


def _count(n: int) -> str:
    """A small number in words, as the tour's text reads ("six short steps")."""
    return ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")[n] if n <= 10 else str(n)


def _move(by: int) -> None:
    st.session_state[STEP] = min(len(TITLES) - 1, max(0, st.session_state.get(STEP, 0) + by))


def _link(view: str, state: dict, label: str, icon: str = ":material/open_in_new:") -> None:
    """A link to the real view with the tour's settings."""
    st.page_link(f"pages/{view}.py", label=label, icon=icon, query_params={"share": share.encode(view, state)})


def _piece_name() -> str | None:
    if PIECE in examples.EXAMPLES:
        return PIECE
    return next(iter(examples.EXAMPLES), None)


def _prediction(name: str):
    piece = cache.load_example(name)
    model = st.session_state.get("model_name") or "composer"
    return piece, cache.classify(cache.piece_key(piece), model, piece), model


def _step(k: int, name: str) -> None:
    piece_state = {"source": "example", "example": name}
    if k == 0:
        info = examples.example_info(name)
        piece = cache.load_example(name)
        st.markdown(
            f"This tour takes one piece — **{piece.title or name}**, true style *{info['class']}* — through the "
            f"tool in {_count(len(TITLES))} short steps, this welcome included: what the model answers, **where** "
            "in the piece it hears it, and whether its answer depends on a musical idea you can name. Every step "
            "links to the full view, with this piece already chosen; come back here with the sidebar."
        )
        st.markdown("**Hear its opening**")
        end = piece.bar_starts[min(4, len(piece.bar_starts) - 1)] if len(piece.bar_starts) > 1 else None
        st.audio(cache.audio(cache.piece_key(piece), 0.0 if end else None, float(end) if end else None, piece),
                 format="audio/wav")
    elif k == 1:
        piece, pred, model = _prediction(name)
        st.markdown(
            "The model is a style classifier trained on about a thousand pieces in six styles. It reads the piece "
            "a few bars at a time and shares out its belief among the styles; the bars show its answer for the "
            f"whole piece. It hears **{pred.label}**."
        )
        chart(views.probability_bars(pred), K + "bars")
        _link("classify", {**piece_state, "model": model}, "Open this piece in 'Classify a piece'")
    elif k == 2:
        piece, pred, model = _prediction(name)
        best = pred.most_confident(1)[0]
        w = pred.windows[best]
        st.markdown(
            "A piece is not one style everywhere. The model answers for every window of a few bars; the one it is "
            f"surest about here is **{views.window_caption(pred, best)}**. Listen: what in these bars sounds like "
            f"{pred.label}?"
        )
        st.audio(cache.audio(cache.piece_key(piece), w.start_beat, w.end_beat, piece), format="audio/wav")
        chart(views.prediction_timeline(pred), K + "timeline")
        _link("classify", {**piece_state, "model": model, "window": int(best)},
              "See these bars in the score and on the piano roll")
    elif k == 3:
        st.markdown(
            "To ask *why*, name a musical idea — a **concept** — by examples: bars of pieces that have it. The "
            f"tool ships some ready-made ones; here we use **{CONCEPT}**: all voices moving together in chords, as "
            "in a chorale. You can define your own from bars you pick, from files, or from a rule."
        )
        st.page_link("pages/concepts.py", label="Define a concept of your own", icon=":material/library_add:")
        st.page_link("pages/discover.py", label="Or see the concepts the model found on its own",
                     icon=":material/hub:")
    elif k == 4:
        _, pred, model = _prediction(name)
        st.markdown(
            f"**TCAV** finds the direction in the model's inner layer that separates *{CONCEPT}* excerpts from "
            "random ones, then counts how often moving along it raises the score of a style — and repeats this "
            "against many random sets, so a chance result is not reported. The link opens the test with the "
            f"concept and the style *{pred.label}* chosen; press **Run the test** there (about a minute)."
        )
        st.info("A significant score says the answer *moves with* the idea, not that the idea is *why* the model "
                "answers as it does.")
        _link("tcav", {"model": model, "concepts": [CONCEPT], "targets": [pred.label]},
              f"Test '{CONCEPT}' for {pred.label}", icon=":material/science:")
    else:
        st.markdown(
            "That is the whole path: an answer, where it comes from in the music, and a test of an idea. From "
            "here: explain one prediction with LIME, see how fragile answers are under small changes, or, in the "
            "classroom, see what wrong training labels do to a model."
        )
        st.page_link("pages/label_noise.py", label="Label-noise lab", icon=":material/science:")
        st.page_link("pages/presets.py", label="Class presets", icon=":material/school:")
        st.page_link("pages/home.py", label="Home", icon=":material/home:")


require_entrypoint()
st.title("Guided tour")
step = st.session_state.get(STEP, 0)
st.progress((step + 1) / len(TITLES), text=f"Step {step + 1} of {len(TITLES)}: {TITLES[step]}")
try:
    name = _piece_name()
    if name is None:
        st.info("No example piece ships with this installation, so the tour has nothing to show.")
    else:
        st.subheader(TITLES[step])
        _step(step, name)
except XaiError as e:
    st.error(str(e))
back, nxt, _ = st.columns([1, 1, 4])
back.button("Back", key=K + "back", icon=":material/arrow_back:", on_click=_move, args=(-1,), disabled=step == 0)
nxt.button("Next", key=K + "next", icon=":material/arrow_forward:", type="primary", on_click=_move, args=(1,),
           disabled=step == len(TITLES) - 1)
