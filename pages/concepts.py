"""Define a concept: gather example excerpts of a musical idea, check them, and keep them in the concept library.

Examples come three ways, mixed freely into one working concept (:class:`xai.concepts.working.WorkingConcept`,
per browser session): bars of a piece (typed, or box-selected on its piano roll), short files that are each
one example, and the shipped built-in concepts (:mod:`pages._concepts_add`). The library section is
:mod:`pages._concepts_library`. Buttons change the working concept in callbacks, which run before the page is
drawn, so what they did (and any error) shows as a message at the place it concerns. Each section catches
:class:`~xai.errors.XaiError` on its own: a damaged library file leaves the working concept usable, and
nothing already saved is touched.
"""

from __future__ import annotations

import html

import streamlit as st

from pages import _cache as cache
from pages import _working as working
from pages._concepts_add import K, add_examples, say, show_said
from pages._concepts_library import library
from pages._nav import require_entrypoint
from pages._widgets import chart, show_svgs
from xai import views
from xai.concepts import library as concepts
from xai.concepts.working import WINDOW, plural
from xai.errors import InputError, XaiError

SCROLL_ROWS = 10  # more examples than this scroll inside the table
_WIDTHS = [0.35, 3.4, 1.0, 0.9, 2.2, 0.45]


# --------------------------------------------------------------------------------------- the working concept


def _remove_all(n: int) -> None:
    """'Remove all examples', behind a confirmation in a popover; the button empties the working concept in its
    callback (before the page is drawn again) and leaves a message for that drawing."""

    def clear() -> None:
        working.state().clear()
        say("work", "info", "Removed every example from the working concept.")

    with st.popover("Remove all examples", icon=":material/delete_sweep:"):
        st.button(f"Yes, remove all {n}", on_click=clear, key=K + "clear", type="primary")


def _sync_text() -> None:
    w = working.state()
    w.name = st.session_state.get(K + "name", "")
    w.description = st.session_state.get(K + "desc", "")


def _examples_table(items: list) -> None:
    box = st.container(height=420, border=True) if len(items) > SCROLL_ROWS else st.container(border=True)
    with box:
        head = st.columns(_WIDTHS)
        for col, title in zip(head, ("#", "Example", "Bars", "From", "Label")):
            col.markdown(f"**{title}**")
        for k, (uid, e) in enumerate(items, 1):
            row = st.columns(_WIDTHS, vertical_alignment="center")
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
                on_click=working.state().remove,
                args=(uid,),
            )


def _score(e: concepts.Example) -> None:
    """The engraved bars of an example, or a sentence saying why there is no score to show."""
    if e.origin in ("builtin", "discovered"):
        st.info(
            "Built-in examples are cut from corpus pieces whose files do not ship with the app: the piano "
            "roll and the audio show them instead of a score."
        )
        return
    kept = working.state().sources.get(e.source_sha256)
    bundled = cache.bundled_sources().get(e.source_sha256)
    piece = cache.load_upload(kept[1], kept[0]) if kept else cache.load_example(bundled) if bundled else None
    if piece is None:
        st.info(
            f"The file this example was cut from ({e.source_name}) is not at hand in this session: the piano "
            "roll and the audio show it instead of a score."
        )
    elif piece.source is None or not piece.source.is_scored:
        transcribed = piece.source is None or piece.source.name.endswith("(transcribed).mid")
        st.info(("A transcribed recording has no written score" if transcribed else
                 "A MIDI file has no written score") + "; the piano roll above shows the notes of this example.")
    else:
        try:
            with st.spinner("Engraving the bars…"):
                show_svgs(cache.engrave(cache.piece_key(piece), e.start_bar, e.end_bar, piece, width=1400, scale=40))
        except InputError as err:
            st.warning(str(err))


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
        _score(e)


def _save(overwrite: bool = False) -> None:
    _sync_text()
    st.session_state[K + "overwrite"] = None
    name = working.state().name.strip()
    if not name:
        say("save", "error", "Give the concept a name before saving it.")
        return
    try:
        c = working.state().concept(name)
        lib = concepts.Library()
        if not overwrite and name in lib:
            st.session_state[K + "overwrite"] = name
            return
        lib.save(c, overwrite=overwrite)
    except XaiError as e:
        say("save", "error", str(e))
        return
    text = f"Saved '{name}' with {plural(c.n_examples, 'example')} to the library."
    if c.n_examples < concepts.MIN_EXAMPLES:
        text += f" It needs {concepts.MIN_EXAMPLES - c.n_examples} more before it can be tested."
    say("save", "success", text)


def _examples(items: list) -> None:
    """The examples gathered, whether they are enough, and a preview of one."""
    n = len(items)
    if not items:
        st.info(
            f"No examples yet. Add bars of a piece, short files or a built-in concept above; a concept needs at "
            f"least {concepts.MIN_EXAMPLES}."
        )
        return
    _examples_table(items)
    if n < concepts.MIN_EXAMPLES:
        st.warning(
            f"This concept has {plural(n, 'example')}; it needs at least {concepts.MIN_EXAMPLES} so that its "
            f"direction can be told apart from chance. Add {concepts.MIN_EXAMPLES - n} more."
        )
    else:
        st.success(f"{n} examples: enough to test it (at least {concepts.MIN_EXAMPLES} are needed).")
    too_few = f"needs at least {concepts.MIN_EXAMPLES} "
    for sentence in concepts.validate(working.state().concept()):
        if too_few not in sentence:  # said above, in the page's own words
            st.warning(sentence)
    _remove_all(n)
    _preview(items)


def _name_and_save(has_items: bool) -> None:
    st.subheader("Name it and save it")
    w = working.state()
    for key, value in ((K + "name", w.name), (K + "desc", w.description)):
        if key not in st.session_state:  # back from another page: Streamlit forgot the widget, the concept did not
            st.session_state[key] = value
    c1, c2 = st.columns([1, 2])
    c1.text_input("Name", key=K + "name", on_change=_sync_text, placeholder="e.g. walking bass")
    c2.text_area(
        "Description: the rule a musician would apply to find more examples",
        key=K + "desc",
        on_change=_sync_text,
        height=80,
    )
    st.button(
        "Save to library", icon=":material/save:", type="primary", disabled=not has_items, on_click=_save,
        key=K + "save",
    )
    show_said("save")
    pending = st.session_state.get(K + "overwrite")
    if pending:
        st.warning(f"A concept called '{pending}' is already in the library. Replace it with this one?")
        a, b, _ = st.columns([1, 1, 3])
        a.button("Replace it", on_click=_save, kwargs={"overwrite": True}, key=K + "replace", type="primary")
        b.button("Cancel", on_click=lambda: st.session_state.update({K + "overwrite": None}), key=K + "keep")


def _working_concept() -> None:
    items = list(working.state().items)
    st.header(f"Your concept ({plural(len(items), 'example')})" if items else "Your concept")
    show_said("work")
    _examples(items)
    _name_and_save(bool(items))


# ------------------------------------------------------------------------------------------------------ page

require_entrypoint()
st.title("Define a concept")
st.markdown(
    "A **concept** is a musical idea named by examples: *homophonic texture*, *this composer's cadences*, "
    "*walking bass*. Gather excerpts that show it — bars of pieces, short files, or a built-in rule's finds — "
    f"at least {concepts.MIN_EXAMPLES}, each at least {WINDOW:g} quarters long (what the model reads at once). "
    "Then save it to your library and **test** whether the model's answers depend on it."
)

add_examples()

try:
    _working_concept()
except XaiError as e:
    st.error(str(e))

try:
    library()
except XaiError as e:
    st.error(str(e))
