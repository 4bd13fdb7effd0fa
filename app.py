"""Music XAI: the entry point. Page config, navigation over pages/, and the sidebar (model picker, about).

Run with ``streamlit run app.py``. Calling ``st.navigation`` makes Streamlit ignore the automatic ``pages/``
folder listing, so the sidebar shows only the sections below (and the helper modules ``pages/_*.py`` never
appear as pages).
"""

import os

import streamlit as st

from models import registry
from pages._nav import SECTIONS
from pages._share import share_target
from pages._widgets import model_label

st.set_page_config(page_title="Music XAI", page_icon="🎼", layout="wide")

nav = st.navigation(
    {
        section: [st.Page(v.path, title=v.title, icon=v.icon, default=(i == 0 and j == 0)) for j, v in enumerate(views)]
        for i, (section, views) in enumerate(SECTIONS.items())
    },
    expanded=True,  # every view listed: Streamlit otherwise folds all past the tenth under "View more"
)

if (_shared := share_target(nav.url_path)) is not None:  # a ?share= link for another view: open that view
    st.switch_page(_shared, query_params={"share": st.query_params["share"]})

with st.sidebar:
    names = registry.available()
    if names:
        # The choice lives under its own key, not the widget's, so it survives pages that omit the widget.
        current = st.session_state.get("model_name")
        if current not in names:
            # The piano composers first (the question musicologists ask); MUSICXAI_DEFAULT_MODEL overrides it.
            preferred = (os.environ.get("MUSICXAI_DEFAULT_MODEL", ""), "piano_composer", "composer")
            current = next((n for n in preferred if n in names), names[0])
        st.session_state["model_name"] = st.selectbox(
            "Model",
            names,
            index=names.index(current),
            key="sidebar_model",
            help="The trained model whose answers you are asking about.",
        )
        st.caption(model_label(st.session_state["model_name"]))
    else:
        st.session_state["model_name"] = None
        st.warning("No model ships with this installation; run the training script in training/.")
    with st.expander("About"):
        st.markdown(
            "Music XAI asks a trained music model **why** it answers as it does, and shows every answer as "
            "something a musician can check: bars of a score to read, excerpts to hear, and bar numbers to "
            "cite. Everything runs on this computer; nothing you upload leaves it.\n\n"
            "Models are trained here on the music21 corpus; each model's card (Home page) says on what and "
            "how well."
        )

nav.run()
