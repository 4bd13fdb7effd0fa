"""The app's views, by section: the one list that app.py's navigation and the home page's links are built from.

Adding a view is one line here (its file, title, icon, and a sentence for the home page).
"""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st


class View(NamedTuple):
    path: str
    title: str
    icon: str
    blurb: str


SECTIONS: dict[str, list[View]] = {
    "Start": [
        View("pages/home.py", "Home", ":material/home:", "What this tool is for and which models it has."),
    ],
    "Explain a prediction": [
        View(
            "pages/classify.py",
            "Classify a piece",
            ":material/music_note:",
            "Which style the model hears in a piece, bar by bar, with the excerpts it is surest about to hear "
            "and read.",
        ),
        View(
            "pages/audio.py",
            "Listen to a recording",
            ":material/graphic_eq:",
            "Which instrument and which style the audio models hear in a recording, second by second, with the "
            "named musical features the interpretable model relies on.",
        ),
    ],
    "Concepts": [
        View(
            "pages/concepts.py",
            "Define a concept",
            ":material/library_add:",
            "Name a musical idea by examples — bars of pieces, short files or a built-in rule — and keep it in "
            "your concept library.",
        ),
        View(
            "pages/tcav.py",
            "Test a concept (TCAV)",
            ":material/science:",
            "Does the model's answer for a style depend on your concept? Tested against random excerpts, "
            "with the bars of a piece where the model sees it.",
        ),
        View(
            "pages/discover.py",
            "Discovered concepts",
            ":material/hub:",
            "Concepts the model found on its own (NMF / NTD of a layer): what each does for each style, and the "
            "excerpts where it is strongest, to hear, name and keep.",
        ),
    ],
    "Models": [
        View(
            "pages/models_view.py",
            "Models",
            ":material/model_training:",
            "Every shipped model's card — data, split, accuracy, per-class F1, confusion matrix — and the audio "
            "front-ends (mel, learnable filter bank, learned 1-D conv) compared.",
        ),
    ],
}


def require_entrypoint() -> None:
    """Make sure a page runs inside app.py's navigation; call it first thing in every page.

    Streamlit (checked on 1.67) decides when a server's first session starts whether the app uses the
    legacy ``pages/`` folder, and only drops that mode once some run of app.py has called ``st.navigation``.
    So if the first request after a start is a page's URL (a bookmark to /classify), that page runs on its
    own, without app.py's sidebar and model picker, under an automatic menu listing every file in
    ``pages/``. Switching the legacy mode off and rerunning sends the same request through app.py. Renaming
    the folder would avoid this too, at the cost of the layout in DESIGN.md.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy mode: nothing to do
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
