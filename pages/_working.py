"""The working concept: the examples a user is gathering on 'Define a concept', kept per browser session.

It lives in ``st.session_state`` under a key no widget owns (Streamlit drops a widget's state when its page is
not shown), so it survives moving between pages until it is saved to the library, and 'Test a concept' can
offer it before it is saved. Every example gets a number that never changes, so a row's buttons keep their
keys when an earlier row is removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import streamlit as st

from xai.concepts import library as concepts
from xai.symbolic import music

KEY = "concept_work"
UNNAMED = "unsaved concept"


def state() -> dict:
    """The working concept's state: ``items`` [(id, Example)], ``name``, ``description``, ``sources``, ..."""
    if KEY not in st.session_state:
        st.session_state[KEY] = {"items": [], "next": 0, "name": "", "description": "", "sources": {}, "meta": {}}
    return st.session_state[KEY]


def examples() -> list[concepts.Example]:
    return [e for _, e in state()["items"]]


def add(new: Iterable[concepts.Example]) -> tuple[list[concepts.Example], int]:
    """Append examples, leaving out repeats (of each other or of those already there).

    Returns the examples added and how many were left out as repeats (see :func:`xai.concepts.library.dedupe`).
    """
    w = state()
    new = list(new)
    have = examples()
    # dedupe() keeps first occurrences in order, so what it keeps beyond the examples already there is new.
    # (Not by identity: adding a built-in concept twice hands in the very same objects.)
    kept, dropped = concepts.dedupe(have + new)
    added = list(kept[len(concepts.dedupe(have)[0]) :])
    for e in added:
        w["items"].append((w["next"], e))
        w["next"] += 1
    return added, dropped


def remove(uid: int) -> None:
    w = state()
    w["items"] = [(i, e) for i, e in w["items"] if i != uid]


def clear() -> None:
    w = state()
    w["items"] = []
    w["meta"] = {}


def replace(concept: concepts.Concept) -> None:
    """Make ``concept`` (from the library or a built-in set) the working concept: its examples, name, text."""
    clear()
    w = state()
    w["name"], w["description"] = concept.name, concept.description
    w["meta"] = {"based_on": concept.name, "based_on_origin": concept.origin}
    add(concept.examples)


def remember_source(piece: music.Piece) -> None:
    """Keep the file an excerpt was cut from (this session only), so its score can be engraved in a preview."""
    src = piece.source
    if src is not None:
        state()["sources"][src.sha256] = (src.name, src.data)


def concept(name: str | None = None) -> concepts.Concept | None:
    """The working concept as a :class:`~xai.concepts.library.Concept` (None while it has no examples)."""
    w = state()
    if not w["items"]:
        return None
    return concepts.Concept(
        name=(name or w["name"]).strip() or UNNAMED,
        description=w["description"],
        examples=tuple(examples()),
        origin="user",
        metadata=dict(w["meta"]),
    )


def fingerprint(c: concepts.Concept) -> str:
    """A key for results computed from a concept: its name and the notes and bars of its examples."""
    h = hashlib.sha256(c.name.encode())
    for e in c.examples:
        h.update(e.fingerprint().encode())
        h.update(f"{e.start_beat:.6f}:{e.end_beat:.6f}".encode())
    return h.hexdigest()
