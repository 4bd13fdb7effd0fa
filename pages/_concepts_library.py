"""'Define a concept', the library: the saved concepts, to load, delete, export and import (layout only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import _working as working
from pages._concepts_add import K, say, show_said
from xai.concepts import library as concepts
from xai.concepts.working import plural
from xai.errors import XaiError

_COLUMNS = {
    "name": st.column_config.TextColumn("Name"),
    "description": st.column_config.TextColumn("Description", width="large"),
    "n_examples": st.column_config.NumberColumn("Examples", width="small"),
    "origin": st.column_config.TextColumn("Origin", width="small"),
    "created": st.column_config.TextColumn("Created (UTC)"),
}


def _load(name: str) -> None:
    try:
        c = concepts.Library().get(name)
    except XaiError as e:
        say("lib", "error", str(e))
        return
    working.state().replace(c)
    st.session_state[K + "name"], st.session_state[K + "desc"] = c.name, c.description
    say("lib", "success", f"Loaded '{name}' ({plural(c.n_examples, 'example')}) into the working area above.")


def _delete(name: str) -> None:
    st.session_state[K + "deleting"] = None
    try:
        concepts.Library().delete(name)
    except XaiError as e:
        say("lib", "error", str(e))
        return
    say("lib", "success", f"Deleted '{name}' from the library (its past TCAV runs stay on record).")


def _import(key: str) -> None:
    f = st.session_state.get(key)
    if f is None:
        return
    try:
        names = concepts.Library().import_json(f.getvalue(), overwrite=bool(st.session_state.get(K + "import_replace")))
    except XaiError as e:
        say("lib", "error", f"{f.name}: {e}")
        return
    say("lib", "success", f"Imported {', '.join(repr(n) for n in names) or 'nothing'} from {f.name}.")
    st.session_state[K + "import_gen"] = st.session_state.get(K + "import_gen", 0) + 1


def _where(lib: concepts.Library) -> None:
    with st.expander("Where the library is kept"):
        if lib.shared:
            st.markdown(
                f"`{lib.path}`\n\nA PostgreSQL database holds your concepts and the TCAV runs made with them; every "
                "server of this installation uses it (`MUSICXAI_DATABASE_URL`), so what you save is there for "
                "everyone at once."
            )
            return
        st.markdown(
            f"`{lib.path}`\n\nOne SQLite file holds your concepts and the TCAV runs made with them. Set the "
            "environment variable `MUSICXAI_LIBRARY` to a file path before starting the app to keep it elsewhere "
            "(a shared folder, a project's folder), or `MUSICXAI_DATABASE_URL` to a PostgreSQL database that "
            "several servers share."
        )


def _table(rows: list[dict]) -> None:
    df = pd.DataFrame(rows)
    df["created"] = df["created"].astype(str).str.replace("T", " ").str.slice(0, 16)
    st.dataframe(
        df,
        hide_index=True,
        column_order=list(_COLUMNS),
        column_config=_COLUMNS,
        key=K + "lib_table",
    )


def _load_or_delete(rows: list[dict]) -> None:
    """Pick a concept: load it into the working area, or delete it (after asking)."""
    names = [r["name"] for r in rows]
    c1, c2, c3 = st.columns([2, 1.3, 1], vertical_alignment="bottom")
    name = c1.selectbox("Concept", names, key=K + "lib_pick")
    c2.button(
        "Load into the working area",
        icon=":material/edit:",
        on_click=_load,
        args=(name,),
        key=K + "load",
        width="stretch",
        help="Replaces the examples now in the working area.",
    )
    c3.button(
        "Delete…",
        icon=":material/delete:",
        key=K + "ask_delete",
        width="stretch",
        on_click=lambda: st.session_state.update({K + "deleting": name}),
    )
    deleting = st.session_state.get(K + "deleting")
    if deleting in names:
        n = next(r["n_examples"] for r in rows if r["name"] == deleting)
        st.warning(f"Delete '{deleting}' and its {plural(n, 'example')}? This cannot be undone.")
        a, b, _ = st.columns([1, 1, 3])
        a.button("Delete it", on_click=_delete, args=(deleting,), key=K + "delete", type="primary")
        b.button("Cancel", on_click=lambda: st.session_state.update({K + "deleting": None}), key=K + "keep_it")


def _export(lib: concepts.Library, names: list[str]) -> None:
    st.markdown("**Export**")
    e1, e2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = e1.multiselect("Concepts to export", names, default=names, key=K + "export_pick")
    e2.download_button(
        "Export as JSON",
        lib.export_json(chosen, indent=1).encode("utf-8") if chosen else b"",
        file_name="concepts.json",
        mime="application/json",
        icon=":material/download:",
        disabled=not chosen,
        on_click="ignore",
        key=K + "export",
        width="stretch",
    )


def _import_file() -> None:
    st.markdown("**Import**")
    gen = st.session_state.get(K + "import_gen", 0)
    key = K + f"import_{gen}"
    up = st.file_uploader(
        "A concept file (JSON, exported from this app)",
        type=["json"],
        key=key,
        help="All of the file's concepts are imported, or none: a file with an error changes nothing.",
    )
    i1, i2 = st.columns([3, 1], vertical_alignment="bottom")
    i1.checkbox("Replace concepts that have the same name", key=K + "import_replace")
    i2.button(
        "Import",
        icon=":material/upload:",
        disabled=up is None,
        on_click=_import,
        args=(key,),
        key=K + "import",
        width="stretch",
    )


def library() -> None:
    """The 'Library' section: where it is kept, its concepts, export and import."""
    st.header("Library")
    lib = concepts.Library()
    _where(lib)
    show_said("lib")
    try:
        rows = lib.list()
    except XaiError as e:
        st.error(str(e))
        return
    if not rows:
        st.info("The library is empty. Save the working concept above, or import a concept file below.")
    else:
        _table(rows)
        _load_or_delete(rows)
        _export(lib, [r["name"] for r in rows])
    _import_file()
