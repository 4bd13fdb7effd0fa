"""'Define a concept', adding examples: bars of a piece, short files, a built-in concept (layout only).

Buttons change the working concept in callbacks, which run before the page is drawn, so what they did (and any
error) is left as a message (:func:`say`) that the page shows at the place it concerns (:func:`show_said`).
"""

from __future__ import annotations

import html

import streamlit as st

from pages import _cache as cache
from pages import _working as working
from pages._widgets import chart, choose_piece
from xai import views
from xai.concepts import library as concepts
from xai.concepts.working import WINDOW, file_example, min_end_bar, plural, span_problem
from xai.errors import XaiError
from xai.symbolic import io as xio

K = "con_"  # widget key prefix of the page
WAYS = ("Bars of a piece", "Short files, one example each", "A built-in concept")


def say(where: str, kind: str, text: str) -> None:
    """Leave a message for the next drawing of the page, at ``where`` (callbacks cannot draw)."""
    st.session_state.setdefault(K + "said", {}).setdefault(where, []).append((kind, text))


def show_said(where: str) -> None:
    """Show (and forget) the messages left for ``where``."""
    for kind, text in st.session_state.get(K + "said", {}).pop(where, []):
        getattr(st, kind)(text)


# ------------------------------------------------------------------------------------------ bars of a piece


def _add_excerpt(piece) -> None:
    start, end = int(st.session_state[K + "start"]), int(st.session_state[K + "end"])
    try:
        ex = concepts.Example.from_piece(
            piece, start, end, label=st.session_state.get(K + "label", "").strip(), origin="excerpt"
        )
    except XaiError as e:
        say("add", "error", str(e))
        return
    w = working.state()
    w.remember_source(piece)
    added, _ = w.add([ex])
    cited = f"{ex.title}, {views.bars_text(ex.start_bar, ex.end_bar)}"
    if added:
        st.session_state[K + "label"] = ""  # a fresh label for the next excerpt
        say("add", "success", f"Added {cited} to the concept.")
    else:
        say("add", "info", f"{cited} is already in the concept (the same bars or the same notes); not added again.")


def _follow_piece(piece, pkey: str, first: int, last: int) -> None:
    """Another piece: start again at its first bars."""
    if st.session_state.get(K + "bars_of") != pkey:
        st.session_state[K + "bars_of"] = pkey
        st.session_state[K + "start"] = first
        st.session_state[K + "end"] = min_end_bar(piece, first) or last
        st.session_state[K + "box"] = None
        st.session_state[K + "selected"] = None


def _roll_selection(piece, pkey: str) -> None:
    """The piano roll; a box dragged over it sets the first and last bar."""
    event = chart(views.piano_roll(piece), K + "roll_" + pkey[:16], on_select="rerun", selection_mode=("box",))
    box = views.selected_box(event)
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


def _from_a_piece() -> None:
    piece = choose_piece(K + "p_", upload_hint="Upload a MIDI file or a score to choose bars from it.")
    if piece is None:
        return
    pkey = cache.piece_key(piece)
    nums = piece.bar_numbers
    first, last = int(nums.min()), int(nums.max())
    _follow_piece(piece, pkey, first, last)
    st.caption(
        f"**{piece.title}** · {len(nums)} bars (bars {first}–{last}) · {plural(len(piece.part_names), 'part')} · "
        f"{piece.n_notes:,} notes"
    )
    _roll_selection(piece, pkey)
    c1, c2, c3, c4 = st.columns([1, 1, 3, 1.6], vertical_alignment="bottom")
    start = c1.number_input("First bar", min_value=first, max_value=last, step=1, key=K + "start")
    end = c2.number_input("Last bar", min_value=first, max_value=last, step=1, key=K + "end")
    c3.text_input("Label (optional)", key=K + "label", placeholder="what you hear in these bars, e.g. 'cadence in G'")
    problem = span_problem(piece, int(start), int(end))
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
    w = working.state()
    new, refused = [], 0
    for f in files:
        try:
            piece = cache.load_upload(f.getvalue(), f.name)
            new.append(file_example(piece, f.name, label=label))
            w.remember_source(piece)
        except XaiError as err:
            refused += 1
            say("add", "error", str(err))
    added, dropped = w.add(new)
    if added:
        say("add", "success", f"Added {plural(len(added), 'file')} as examples.")
    if dropped:
        say("add", "info", f"{plural(dropped, 'file')} repeated an example already in the concept; not added again.")
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
        f"Add {plural(len(files), 'file')}" if files else "Add the files",
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
        c = concepts.builtin_set(st.session_state.get(K + "builtin_set", "piano"))[name]
    except (XaiError, KeyError) as e:
        say("add", "error", str(e))
        return
    w = working.state()
    if start_from:
        w.replace(c)
        st.session_state[K + "name"], st.session_state[K + "desc"] = c.name, c.description
        say(
            "add",
            "success",
            f"The working concept is now a copy of the built-in '{name}' ({plural(c.n_examples, 'example')}).",
        )
        return
    added, dropped = w.add(c.examples)
    text = f"Added {plural(len(added), 'example')} of the built-in '{name}'."
    if dropped:
        text += f" {plural(dropped, 'example')} already in the concept {'was' if dropped == 1 else 'were'} not added again."
    say("add", "success", text)


def _from_builtin() -> None:
    sets = list(concepts.BUILTIN_SETS)
    try:  # the set made for the model picked in the sidebar comes first
        first = concepts.builtin_set_for(cache.model(st.session_state.get("model_name") or "piano_composer"))
    except XaiError:
        first = sets[0]
    which = st.radio("Built-in set", sets, index=sets.index(first), format_func=concepts.BUILTIN_SETS.get,
                     horizontal=True, key=K + "builtin_set")
    try:
        builtins = concepts.builtin_set(which)
    except XaiError as e:
        st.warning(str(e))
        return
    if st.session_state.get(K + "builtin") not in builtins:
        st.session_state.pop(K + "builtin", None)  # a name from the other set
    name = st.selectbox("Built-in concept", list(builtins), key=K + "builtin")
    c = builtins[name]
    st.markdown(f"**Rule:** {html.escape(c.description)}")
    piano = "composer_counts" in c.metadata
    counts = c.metadata.get("composer_counts" if piano else "class_counts") or {}
    where = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    st.caption(
        f"{plural(c.n_examples, 'example')}, found by this rule in "
        + ("ASAP piano scores" if piano else "training pieces")
        + (f" (per {'composer' if piano else 'style'}: {where})" if where else "")
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


def add_examples() -> None:
    """The 'Add examples' section: the three ways, and what the last button did."""
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
    show_said("add")  # what the last button did, under the buttons
