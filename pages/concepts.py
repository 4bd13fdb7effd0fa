"""Define a concept: gather example excerpts of a musical idea, check them, and keep them in the concept library.

Examples come three ways, mixed freely into one working concept (:mod:`pages._working`, per browser session):
bars of a piece (typed, or box-selected on its piano roll), short files that are each one example, and the
shipped built-in concepts. Buttons change the working concept in callbacks, which run before the page is
drawn, so what they did (and any error) shows as a message at the place it concerns. Each section catches
:class:`~xai.errors.XaiError` on its own: a damaged library file leaves the working concept usable, and
nothing already saved is touched.
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from pages import _cache as cache
from pages import _working as working
from pages._nav import require_entrypoint
from pages._widgets import chart, choose_piece, show_svgs
from xai import views
from xai.concepts import library as concepts
from xai.errors import InputError, XaiError
from xai.symbolic import io as xio
from xai.symbolic import music

K = "con_"  # widget key prefix of this page
WINDOW = float(music.WINDOW_QUARTERS)
SCROLL_ROWS = 10  # more examples than this scroll inside the table
WAYS = ("Bars of a piece", "Short files, one example each", "A built-in concept")


# ------------------------------------------------------------------------------------------------ messages


def _say(where: str, kind: str, text: str) -> None:
    """Leave a message for the next drawing of the page, at ``where`` (callbacks cannot draw)."""
    st.session_state.setdefault(K + "said", {}).setdefault(where, []).append((kind, text))


def _show_said(where: str) -> None:
    for kind, text in st.session_state.get(K + "said", {}).pop(where, []):
        getattr(st, kind)(text)


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------------------------------ bars of a piece


def _min_end_bar(piece: music.Piece, start_bar: int) -> int | None:
    """The first bar that, from ``start_bar``, makes an excerpt at least one model window long (None: none)."""
    for b in sorted({int(b) for b in piece.bar_numbers if b >= start_bar}):
        s, e = piece.bar_range(start_bar, b)
        if e - s >= WINDOW - 1e-6:
            return b
    return None


def _span_problem(piece: music.Piece, start_bar: int, end_bar: int) -> str | None:
    """Why bars ``start_bar``-``end_bar`` cannot be an example, as a sentence (None when they can)."""
    if end_bar < start_bar:
        return f"The last bar ({end_bar}) comes before the first ({start_bar}); swap them."
    try:
        s, e = piece.bar_range(start_bar, end_bar)
    except InputError as err:
        return str(err)
    span = views.bars_text(start_bar, end_bar).capitalize()
    if e - s < WINDOW - 1e-6:
        need = _min_end_bar(piece, start_bar)
        head = (
            f"{span} last{'s' if start_bar == end_bar else ''} {e - s:g} quarters, shorter than the {WINDOW:g} "
            f"quarters (4 bars of 4/4) the model reads at once"
        )
        if need is None:
            return f"{head}, and the piece ends before that; start at an earlier bar."
        return (
            f"{head}: from bar {start_bar}, an example needs at least {views.bars_text(start_bar, need)} "
            f"({_n(need - start_bar + 1, 'bar')})."
        )
    if not ((piece.onsets < e) & (piece.onsets + piece.durations > s)).any():
        return f"{span} have no notes; choose bars with music."
    return None


def _add_excerpt(piece: music.Piece) -> None:
    start, end = int(st.session_state[K + "start"]), int(st.session_state[K + "end"])
    try:
        ex = concepts.Example.from_piece(
            piece, start, end, label=st.session_state.get(K + "label", "").strip(), origin="excerpt"
        )
    except XaiError as e:
        _say("add", "error", str(e))
        return
    working.remember_source(piece)
    added, _ = working.add([ex])
    cited = f"{ex.title}, {views.bars_text(ex.start_bar, ex.end_bar)}"
    if added:
        st.session_state[K + "label"] = ""  # a fresh label for the next excerpt
        _say("add", "success", f"Added {cited} to the concept.")
    else:
        _say("add", "info", f"{cited} is already in the concept (the same bars or the same notes); not added again.")


def _box(event) -> tuple[float, float] | None:
    """The x range (beats) of the latest box selected on the piano roll, or None."""
    try:
        boxes = event.selection.box
    except (AttributeError, KeyError):
        return None
    for b in reversed(boxes or []):
        x = b.get("x") if isinstance(b, dict) else None
        if isinstance(x, (list, tuple)) and len(x) == 2 and all(isinstance(v, (int, float)) for v in x):
            return float(x[0]), float(x[1])
    return None


def _from_a_piece() -> None:
    piece = choose_piece(K + "p_", upload_hint="Upload a MIDI file or a score to choose bars from it.")
    if piece is None:
        return
    pkey = cache.piece_key(piece)
    nums = piece.bar_numbers
    first, last = int(nums.min()), int(nums.max())
    if st.session_state.get(K + "bars_of") != pkey:  # another piece: start again at its first bars
        st.session_state[K + "bars_of"] = pkey
        st.session_state[K + "start"] = first
        st.session_state[K + "end"] = _min_end_bar(piece, first) or last
        st.session_state[K + "box"] = None
        st.session_state[K + "selected"] = None
    st.caption(
        f"**{piece.title}** · {len(nums)} bars (bars {first}–{last}) · {_n(len(piece.part_names), 'part')} · "
        f"{piece.n_notes:,} notes"
    )
    event = chart(views.piano_roll(piece), K + "roll_" + pkey[:16], on_select="rerun", selection_mode=("box",))
    box = _box(event)
    if box is not None and box != st.session_state.get(K + "box"):
        st.session_state[K + "box"] = box
        s, e = views.selection_bars(piece, *box)
        st.session_state[K + "start"], st.session_state[K + "end"] = s, e
        st.session_state[K + "selected"] = (s, e)
    sel = st.session_state.get(K + "selected")
    if sel:
        st.markdown(f":material/select_all: Selected **{views.bars_text(*sel)}** on the piano roll.")
    else:
        st.caption("Drag a box over the piano roll to choose bars, or type them below.")
    c1, c2, c3, c4 = st.columns([1, 1, 3, 1.6], vertical_alignment="bottom")
    start = c1.number_input("First bar", min_value=first, max_value=last, step=1, key=K + "start")
    end = c2.number_input("Last bar", min_value=first, max_value=last, step=1, key=K + "end")
    c3.text_input("Label (optional)", key=K + "label", placeholder="what you hear in these bars, e.g. 'cadence in G'")
    problem = _span_problem(piece, int(start), int(end))
    c4.button(
        "Add to the concept",
        icon=":material/add:",
        type="primary",
        disabled=problem is not None,
        on_click=_add_excerpt,
        args=(piece,),
        key=K + "add_excerpt",
        width="stretch",
    )
    if problem:
        st.warning(problem)


# ------------------------------------------------------------------------------------------------ short files


def _add_files(key: str) -> None:
    files = st.session_state.get(key) or []
    label = st.session_state.get(K + "files_label", "").strip()
    new, refused = [], 0
    for f in files:
        try:
            piece = cache.load_upload(f.getvalue(), f.name)
            first, last = int(piece.bar_numbers.min()), int(piece.bar_numbers.max())
            if piece.n_notes == 0:
                raise InputError(f"{f.name} has no notes; not added.")
            s, e = piece.bar_range(first, last)
            if e - s < WINDOW - 1e-6:
                raise InputError(
                    f"{f.name} lasts {e - s:g} quarters (to the end of its last note), shorter than the "
                    f"{WINDOW:g} quarters (4 bars of 4/4) the model reads at once; not added."
                )
            new.append(concepts.Example.from_piece(piece, first, last, label=label, origin="file"))
            working.remember_source(piece)
        except XaiError as err:
            refused += 1
            _say("add", "error", str(err))
    added, dropped = working.add(new)
    if added:
        _say("add", "success", f"Added {_n(len(added), 'file')} as examples.")
    if dropped:
        _say("add", "info", f"{_n(dropped, 'file')} repeated an example already in the concept; not added again.")
    if not refused:  # a fresh uploader; after a refusal the files stay, to fix or remove
        st.session_state[K + "files_gen"] = st.session_state.get(K + "files_gen", 0) + 1


def _from_files() -> None:
    gen = st.session_state.get(K + "files_gen", 0)
    key = K + f"files_{gen}"
    files = st.file_uploader(
        "Short files, each one example",
        type=[e.lstrip(".") for e in xio.SUPPORTED_EXTENSIONS],
        accept_multiple_files=True,
        key=key,
        help=f"Each whole file becomes one example: at least {WINDOW:g} quarters (4 bars of 4/4) of music. "
        f"MIDI, MusicXML, ABC or Humdrum.",
    )
    c1, c2 = st.columns([3, 1.6], vertical_alignment="bottom")
    c1.text_input("Label for these examples (optional)", key=K + "files_label")
    c2.button(
        f"Add {_n(len(files), 'file')}" if files else "Add the files",
        icon=":material/add:",
        type="primary",
        disabled=not files,
        on_click=_add_files,
        args=(key,),
        key=K + "add_files",
        width="stretch",
    )


# ------------------------------------------------------------------------------------------------ built-ins


def _add_builtin(name: str, start_from: bool) -> None:
    try:
        c = concepts.builtin()[name]
    except (XaiError, KeyError) as e:
        _say("add", "error", str(e))
        return
    if start_from:
        working.replace(c)
        st.session_state[K + "name"], st.session_state[K + "desc"] = c.name, c.description
        _say(
            "add",
            "success",
            f"The working concept is now a copy of the built-in '{name}' ({_n(c.n_examples, 'example')}).",
        )
        return
    added, dropped = working.add(c.examples)
    text = f"Added {_n(len(added), 'example')} of the built-in '{name}'."
    if dropped:
        text += f" {_n(dropped, 'example')} already in the concept {'was' if dropped == 1 else 'were'} not added again."
    _say("add", "success", text)


def _from_builtin() -> None:
    try:
        builtins = concepts.builtin()
    except XaiError as e:
        st.warning(str(e))
        return
    name = st.selectbox("Built-in concept", list(builtins), key=K + "builtin")
    c = builtins[name]
    st.markdown(f"**Rule:** {html.escape(c.description)}")
    counts = c.metadata.get("class_counts") or {}
    where = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    st.caption(
        f"{_n(c.n_examples, 'example')}, found by this rule in training pieces"
        + (f" (per style: {where})" if where else "")
        + ". Built by a rule, not by a musicologist's choice: listen to a few before trusting them."
    )
    c1, c2, _ = st.columns([1.2, 1.6, 2])
    c1.button(
        f"Add its {c.n_examples} examples",
        icon=":material/add:",
        on_click=_add_builtin,
        args=(name, False),
        key=K + "add_builtin",
        width="stretch",
    )
    c2.button(
        "Start from it (replaces your examples)",
        icon=":material/restart_alt:",
        on_click=_add_builtin,
        args=(name, True),
        key=K + "start_builtin",
        width="stretch",
    )


# --------------------------------------------------------------------------------------- the working concept


def _remove(uid: int) -> None:
    working.remove(uid)


def _clear() -> None:
    working.clear()
    _say("work", "info", "Removed every example from the working concept.")


def _sync_text() -> None:
    w = working.state()
    w["name"] = st.session_state.get(K + "name", "")
    w["description"] = st.session_state.get(K + "desc", "")


def _examples_table(items: list) -> None:
    widths = [0.35, 3.4, 1.0, 0.9, 2.2, 0.45]
    box = st.container(height=420, border=True) if len(items) > SCROLL_ROWS else st.container(border=True)
    with box:
        head = st.columns(widths)
        for col, title in zip(head, ("#", "Example", "Bars", "From", "Label")):
            col.markdown(f"**{title}**")
        for k, (uid, e) in enumerate(items, 1):
            row = st.columns(widths, vertical_alignment="center")
            row[0].markdown(str(k))
            row[1].markdown(html.escape(e.title))
            row[2].markdown(views.bars_text(e.start_bar, e.end_bar))
            row[3].markdown(e.origin)
            row[4].markdown(html.escape(e.label) if e.label else "—")
            row[5].button(
                "",
                icon=":material/delete:",
                help=f"Remove {e.citation}",
                key=K + f"rm_{uid}",
                on_click=_remove,
                args=(uid,),
            )


def _source_piece(e: concepts.Example) -> music.Piece | None:
    """The piece an example was cut from, if its file is at hand (uploaded this session, or bundled)."""
    kept = working.state()["sources"].get(e.source_sha256)
    if kept is not None:
        return cache.load_upload(kept[1], kept[0])
    name = cache.bundled_sources().get(e.source_sha256)
    return cache.load_example(name) if name else None


def _preview(items: list) -> None:
    labels = {
        uid: f"{k}. {e.title}, {views.bars_text(e.start_bar, e.end_bar)}" + (f" — {e.label}" if e.label else "")
        for k, (uid, e) in enumerate(items, 1)
    }
    uid = st.selectbox("Preview an example", list(labels), format_func=labels.get, key=K + "preview")
    if uid is None:
        return
    e = dict(items)[uid]
    chart(views.piano_roll(e.to_piece()), K + "preview_roll")
    listen, read = st.columns([1, 2], gap="large")
    with listen:
        st.markdown(f"**Hear {views.bars_text(e.start_bar, e.end_bar)}**")
        if e.n_notes:
            with st.spinner("Synthesising the excerpt…"):
                st.audio(cache.example_audio(e.fingerprint(), e), format="audio/wav")
            st.caption("A General MIDI piano at a steady tempo.")
        else:
            st.info("This example has no notes to play.")
    with read:
        st.markdown(f"**Read {views.bars_text(e.start_bar, e.end_bar)}**")
        if e.origin in ("builtin", "discovered"):
            st.info(
                "Built-in examples are cut from corpus pieces whose files do not ship with the app: the piano "
                "roll and the audio show them instead of a score."
            )
            return
        piece = _source_piece(e)
        if piece is None:
            st.info(
                f"The file this example was cut from ({e.source_name}) is not at hand in this session: the piano "
                "roll and the audio show it instead of a score."
            )
        elif piece.source is None or not piece.source.is_scored:
            st.info("MIDI files have no written score; the piano roll above shows the notes of this example.")
        else:
            try:
                with st.spinner("Engraving the bars…"):
                    show_svgs(
                        cache.engrave(cache.piece_key(piece), e.start_bar, e.end_bar, piece, width=1400, scale=40)
                    )
            except InputError as err:
                st.warning(str(err))


def _save(overwrite: bool = False) -> None:
    _sync_text()
    st.session_state[K + "overwrite"] = None
    w = working.state()
    name = w["name"].strip()
    if not name:
        _say("save", "error", "Give the concept a name before saving it.")
        return
    try:
        c = working.concept(name)
        lib = concepts.Library()
        if not overwrite and name in lib:
            st.session_state[K + "overwrite"] = name
            return
        lib.save(c, overwrite=overwrite)
    except XaiError as e:
        _say("save", "error", str(e))
        return
    text = f"Saved '{name}' with {_n(c.n_examples, 'example')} to the library."
    if c.n_examples < concepts.MIN_EXAMPLES:
        text += f" It needs {concepts.MIN_EXAMPLES - c.n_examples} more before it can be tested."
    _say("save", "success", text)


def _working_concept() -> None:
    w = working.state()
    items = list(w["items"])
    n = len(items)
    st.header(f"Your concept ({_n(n, 'example')})" if n else "Your concept")
    _show_said("work")
    if not items:
        st.info(
            f"No examples yet. Add bars of a piece, short files or a built-in concept above; a concept needs at "
            f"least {concepts.MIN_EXAMPLES}."
        )
    else:
        _examples_table(items)
        if n < concepts.MIN_EXAMPLES:
            st.warning(
                f"This concept has {_n(n, 'example')}; it needs at least {concepts.MIN_EXAMPLES} so that its "
                f"direction can be told apart from chance. Add {concepts.MIN_EXAMPLES - n} more."
            )
        else:
            st.success(f"{n} examples: enough to test it (at least {concepts.MIN_EXAMPLES} are needed).")
        too_few = f"needs at least {concepts.MIN_EXAMPLES} "
        for sentence in concepts.validate(working.concept()):
            if too_few not in sentence:  # said above, in the page's own words
                st.warning(sentence)
        with st.popover("Remove all examples", icon=":material/delete_sweep:"):
            st.button(f"Yes, remove all {n}", on_click=_clear, key=K + "clear", type="primary")
        _preview(items)

    st.subheader("Name it and save it")
    for key, field in ((K + "name", "name"), (K + "desc", "description")):
        if key not in st.session_state:  # back from another page: Streamlit forgot the widget, the concept did not
            st.session_state[key] = w[field]
    c1, c2 = st.columns([1, 2])
    c1.text_input("Name", key=K + "name", on_change=_sync_text, placeholder="e.g. walking bass")
    c2.text_area(
        "Description: the rule a musician would apply to find more examples",
        key=K + "desc",
        on_change=_sync_text,
        height=80,
    )
    st.button(
        "Save to library", icon=":material/save:", type="primary", disabled=not items, on_click=_save, key=K + "save"
    )
    _show_said("save")
    pending = st.session_state.get(K + "overwrite")
    if pending:
        st.warning(f"A concept called '{pending}' is already in the library. Replace it with this one?")
        a, b, _ = st.columns([1, 1, 3])
        a.button("Replace it", on_click=_save, kwargs={"overwrite": True}, key=K + "replace", type="primary")
        b.button("Cancel", on_click=lambda: st.session_state.update({K + "overwrite": None}), key=K + "keep")


# ------------------------------------------------------------------------------------------------- library


def _load(name: str) -> None:
    try:
        c = concepts.Library().get(name)
    except XaiError as e:
        _say("lib", "error", str(e))
        return
    working.replace(c)
    st.session_state[K + "name"], st.session_state[K + "desc"] = c.name, c.description
    _say("lib", "success", f"Loaded '{name}' ({_n(c.n_examples, 'example')}) into the working area above.")


def _delete(name: str) -> None:
    st.session_state[K + "deleting"] = None
    try:
        concepts.Library().delete(name)
    except XaiError as e:
        _say("lib", "error", str(e))
        return
    _say("lib", "success", f"Deleted '{name}' from the library (its past TCAV runs stay on record).")


def _import(key: str) -> None:
    f = st.session_state.get(key)
    if f is None:
        return
    try:
        names = concepts.Library().import_json(f.getvalue(), overwrite=bool(st.session_state.get(K + "import_replace")))
    except XaiError as e:
        _say("lib", "error", f"{f.name}: {e}")
        return
    _say("lib", "success", f"Imported {', '.join(repr(n) for n in names) or 'nothing'} from {f.name}.")
    st.session_state[K + "import_gen"] = st.session_state.get(K + "import_gen", 0) + 1


def _library() -> None:
    st.header("Library")
    lib = concepts.Library()
    with st.expander("Where the library is kept"):
        st.markdown(
            f"`{lib.path}`\n\nOne SQLite file holds your concepts and the TCAV runs made with them. Set the "
            "environment variable `MUSICXAI_LIBRARY` to a file path before starting the app to keep it elsewhere "
            "(a shared folder, a project's folder)."
        )
    _show_said("lib")
    try:
        rows = lib.list()
    except XaiError as e:
        st.error(str(e))
        return
    if not rows:
        st.info("The library is empty. Save the working concept above, or import a concept file below.")
    else:
        df = pd.DataFrame(rows)
        df["created"] = df["created"].astype(str).str.replace("T", " ").str.slice(0, 16)
        st.dataframe(
            df,
            hide_index=True,
            column_order=["name", "description", "n_examples", "origin", "created"],
            column_config={
                "name": st.column_config.TextColumn("Name"),
                "description": st.column_config.TextColumn("Description", width="large"),
                "n_examples": st.column_config.NumberColumn("Examples", width="small"),
                "origin": st.column_config.TextColumn("Origin", width="small"),
                "created": st.column_config.TextColumn("Created (UTC)"),
            },
            key=K + "lib_table",
        )
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
            st.warning(f"Delete '{deleting}' and its {_n(n, 'example')}? This cannot be undone.")
            a, b, _ = st.columns([1, 1, 3])
            a.button("Delete it", on_click=_delete, args=(deleting,), key=K + "delete", type="primary")
            b.button("Cancel", on_click=lambda: st.session_state.update({K + "deleting": None}), key=K + "keep_it")
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


# ------------------------------------------------------------------------------------------------------ page

require_entrypoint()
st.title("Define a concept")
st.markdown(
    "A **concept** is a musical idea named by examples: *homophonic texture*, *this composer's cadences*, "
    "*walking bass*. Gather excerpts that show it — bars of pieces, short files, or a built-in rule's finds — "
    f"at least {concepts.MIN_EXAMPLES}, each at least {WINDOW:g} quarters long (what the model reads at once). "
    "Then save it to your library and **test** whether the model's answers depend on it."
)

st.header("Add examples")
way = st.radio("Add examples from", WAYS, horizontal=True, key=K + "way", label_visibility="collapsed")
try:
    if way == WAYS[0]:
        _from_a_piece()
    elif way == WAYS[1]:
        _from_files()
    else:
        _from_builtin()
except XaiError as e:
    st.error(str(e))
_show_said("add")  # what the last button did, under the buttons

try:
    _working_concept()
except XaiError as e:
    st.error(str(e))

try:
    _library()
except XaiError as e:
    st.error(str(e))
