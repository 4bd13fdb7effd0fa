"""Class presets: views a teacher saved with their settings, for students to open from a list.

Everyone sees the list and opens a preset (a link to its view with the saved settings, in the student's own
session). Saving and deleting are for the teacher only: teacher mode is unlocked in this browser session by the
teacher password (see :mod:`xai.classroom.presets`). A preset is made from a share link: set up any view, copy the link
from its share panel, paste it here.
"""

from __future__ import annotations

import streamlit as st

from pages._nav import SECTIONS, require_entrypoint
from xai.classroom import presets, share
from xai.errors import XaiError

K = "pre_"
TEACHER = K + "teacher"  # session state: a teacher key once the password is checked (never the password)


def _unlock() -> None:
    key = presets.teacher_key(st.session_state.get(K + "password", ""))
    if key is not None:
        st.session_state[TEACHER] = key
        st.session_state[K + "said"] = ("success", "Teacher mode is on in this browser tab.")
    else:
        st.session_state[K + "said"] = ("error", "That is not the teacher password; presets stay read-only.")
    st.session_state[K + "password"] = ""


def _lock() -> None:
    presets.forget_key(st.session_state.pop(TEACHER, None))


def _save(store: presets.PresetStore) -> None:
    ss = st.session_state
    try:
        view, state = presets.from_link(ss.get(K + "link", ""))
        p = store.save(presets.Preset(name=ss.get(K + "name", ""), view=view, state=state,
                                      description=ss.get(K + "desc", "")), key=ss.get(TEACHER))
        ss[K + "said"] = ("success", f"Saved the preset '{p.name}'; students see it in this list now.")
        ss[K + "link"] = ss[K + "name"] = ss[K + "desc"] = ""
    except XaiError as e:
        ss[K + "said"] = ("error", str(e))


def _delete(store: presets.PresetStore, name: str) -> None:
    try:
        store.delete(name, key=st.session_state.get(TEACHER))
        st.session_state[K + "said"] = ("success", f"Deleted the preset '{name}'.")
    except XaiError as e:
        st.session_state[K + "said"] = ("error", str(e))


def _list(store: presets.PresetStore, teacher: bool) -> None:
    items = store.list()
    if not items:
        st.info("There are no class presets yet." + ("" if teacher else " Your teacher saves them here."))
        return
    views = share.view_index(v for vs in SECTIONS.values() for v in vs)
    for k, p in enumerate(items):
        with st.container(border=True):
            view = views.get(p.view)
            path, title = (view.path, view.title) if view else (None, p.view)
            c1, c2 = st.columns([3, 1])
            c1.markdown(f"**{p.name}** · {title}")
            if p.description:
                c1.caption(p.description)
            if path is None:
                c2.caption("This view is not in this installation.")
            else:
                try:
                    c2.page_link(path, label="Open", icon=":material/open_in_new:",
                                 query_params={"share": p.token()})
                except XaiError as e:
                    c2.caption(str(e))
            if teacher:
                c2.button("Delete", key=K + f"del_{k}", icon=":material/delete:", on_click=_delete,
                          args=(store, p.name))


require_entrypoint()
st.title("Class presets")
st.markdown(
    "Views your teacher prepared — a piece, a concept test, a set of options — to open with one click. Opening "
    "one gives **you** your own copy: what you change or upload stays in your browser tab and nobody else sees it."
)
said = st.session_state.pop(K + "said", None)
if said:
    getattr(st, said[0])(said[1])
try:
    store = presets.PresetStore()
    teacher = presets.check_key(st.session_state.get(TEACHER))
    _list(store, teacher)
    st.divider()
    if not presets.teacher_mode_available():
        st.caption(presets.teacher_mode_problem() + " Until then the presets are read-only.")
    elif not teacher:
        with st.expander("Teacher mode", icon=":material/lock:"):
            st.text_input("Teacher password", type="password", key=K + "password")
            st.button("Unlock", key=K + "unlock", on_click=_unlock)
    else:
        st.subheader("Save a preset")
        st.markdown("Set up any view as you want students to see it, copy the **share link** from its *Share* "
                    "panel, and paste it here.")
        st.text_input("Share link", key=K + "link", placeholder="http://…/classify?share=v1.…")
        st.text_input("Name", key=K + "name", max_chars=presets.MAX_NAME, placeholder="e.g. 'Week 3: a chorale'")
        st.text_area("What students should look for", key=K + "desc", max_chars=presets.MAX_DESCRIPTION, height=80)
        c1, c2, _ = st.columns([1, 1, 3])
        c1.button("Save preset", type="primary", key=K + "save", on_click=_save, args=(store,))
        c2.button("Leave teacher mode", key=K + "lock", on_click=_lock)
except XaiError as e:
    st.error(str(e))
