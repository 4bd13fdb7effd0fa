"""'Discovered concepts', what to do with a concept: keep it in the library, export it, share it (layout only)."""

from __future__ import annotations

import streamlit as st

from pages._discover_run import K
from pages._share import restored_state, share_panel
from xai.concepts import browse
from xai.concepts import library as concepts
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.export import report


def keep(disc, excerpts, concept: int, f: dict) -> None:
    """Name it and keep it: the concept's top excerpts saved to the concept library, to test with TCAV."""
    with st.form(K + "keep", border=True):
        st.markdown("**Name it and keep it**")
        st.text_input("Name", key=K + "keep_name", placeholder="e.g. 'four-part chorale texture'")
        st.text_area("What you hear in it", key=K + "keep_desc", height=68)
        st.slider("Excerpts to keep (the most present)", concepts.MIN_EXAMPLES, 30, 12, key=K + "keep_n")
        st.form_submit_button("Save to my concept library", type="primary", key=K + "keep_save", on_click=_save,
                              args=(disc, excerpts, concept, f))
    said = st.session_state.pop(K + "keep_said", None)
    if said:
        (st.success if said[0] == "ok" else st.error)(said[1])


def _save(disc, excerpts, concept: int, f: dict) -> None:
    """The form's callback: save the concept (the outcome is shown on the next run)."""
    ss = st.session_state
    try:
        c = browse.keep(disc, excerpts, concept, name=ss.get(K + "keep_name", ""),
                        description=ss.get(K + "keep_desc", ""), n=int(ss.get(K + "keep_n", 12)),
                        classes=f["classes"], composers=f["composers"])
        lib = concepts.Library()
        lib.save(c)
        ss[K + "keep_said"] = (
            "ok", f"Saved '{c.name}' with {c.n_examples} excerpts to your concept library ({lib.path}). Test it on "
                  f"the TCAV page like any concept.")
    except XaiError as e:
        ss[K + "keep_said"] = ("error", str(e))


def exports(disc, excerpts, concept: int, f: dict) -> None:
    """Downloads (the excerpts as MIDI, a report) and the share panel."""
    stem = browse.file_stem(disc, concept)
    kw = {"classes": f["classes"], "composers": f["composers"]}
    c1, c2 = st.columns(2)
    c1.download_button("Excerpts (MIDI, zip)", lambda: report.discovery_midi(disc, excerpts, concept, n=f["n"], **kw),
                       file_name=f"{stem}_excerpts.zip", mime="application/zip", key=K + "midi",
                       icon=":material/download:", on_click="ignore")
    c2.download_button("Report (HTML)", lambda: report.discovery_report(disc, excerpts, concept, n=f["n"], **kw),
                       file_name=f"{stem}_report.html", mime="text/html", key=K + "html",
                       icon=":material/download:", on_click="ignore")
    st.caption("The report holds the figures, bar numbers and the sound of each excerpt, and opens offline.")
    with st.expander("Share this concept", icon=":material/share:"):
        ss = st.session_state
        state = browse.share_state(disc, concept, model=ss.get("model_name"), scope=ss.get(K + "scope"), n=f["n"],
                                   classes=f["classes"], composers=f["composers"])
        share_panel(fmod.discovery_finding(disc, excerpts, concept, state), state, key=K)


def restore(model) -> None:
    """Settings from a share link into the widgets, before they are drawn (unknown values are left out)."""
    state = restored_state("discover")
    if not state:
        return
    values = browse.restored(state, model)
    pending = {"concept": "pending_concept", "f_composers": "pending_composers"}  # checked once the result is in
    for name, value in values.items():
        st.session_state[K + pending.get(name, name)] = value
