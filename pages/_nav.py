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
        View("pages/tour.py", "Guided tour", ":material/tour:", "A Haydn performance, from the model's answer to the paper's question about the Alberti bass, step by step, in plain words: start here."),
    ],
    "Explain a prediction": [
        View(
            "pages/classify.py",
            "Classify a piece",
            ":material/music_note:",
            "Which composer (or style) the model hears in a piece or a performance, bar by bar, with the excerpts "
            "it is surest about to hear and read.",
        ),
        View(
            "pages/audio.py",
            "Listen to a recording",
            ":material/graphic_eq:",
            "Which instrument and which style the audio models hear in a recording, second by second, with the "
            "named musical features the interpretable model relies on.",
        ),
        View("pages/lime.py", "Explain with LIME", ":material/grid_view:", "Which bars and voices (or seconds and frequency bands) a prediction rests on, by LIME, always beside a trivial baseline, a deletion check and a stability score."),
        View("pages/attribute.py", "Attributions", ":material/gradient:", "Where the model's gradients point, by captum (Integrated Gradients, Saliency, Occlusion, Grad-CAM), summed onto bars and voices or seconds and bands, with a completeness gap, a randomisation check and the agreement with LIME."),
        View("pages/attack.py", "Attack a prediction", ":material/bolt:", "How little must change for a model to change its mind: inaudible waveform attacks side by side with the original, note edits that flip a score's style, robustness of the audio models, and whether LIME finds a planted perturbation."),
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
            "Does the model's answer for a composer or a style depend on your concept? Tested against random excerpts, "
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
    "Classroom": [
        View("pages/presets.py", "Class presets", ":material/school:", "Views your teacher prepared, with their piece and settings, to open with one click; teachers save them here."),
        View("pages/label_noise.py", "Label-noise lab", ":material/noise_aware:", "Train the style classifier on partly wrong labels and see how much it still learns, against the curated reference."),
    ],
    "Recommender": [
        View(
            "pages/hubness.py",
            "Recommender hubness",
            ":material/scatter_plot:",
            "Songs like this one by nearest neighbours in a model's embedding: the hubs it recommends for everything, "
            "hubness reduction and its trade-off, and a hub attack with and without a defence.",
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
