"""The working concept: examples a user is gathering before saving them to the library, and the checks on them.

'Define a concept' keeps one :class:`WorkingConcept` per browser session (the page holds it in its session
state); 'Test a concept' offers it before it is saved. Every example gets a number that never changes, so a
table row keeps its identity (and a page its widget keys) when an earlier row is removed. The checks say in a
sentence why some bars or a file cannot be an example, before anything is added.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from xai.concepts import library as concepts
from xai.errors import InputError
from xai.symbolic import music
from xai.symbolic.music import bars_text

__all__ = ["UNNAMED", "WINDOW", "WorkingConcept", "plural", "min_end_bar", "span_problem", "file_example"]

UNNAMED = "unsaved concept"
WINDOW = float(music.WINDOW_QUARTERS)  # quarters the model reads at once: the shortest example
_EPS = 1e-6


def plural(n: int, word: str) -> str:
    """``'1 example'``, ``'3 examples'``: a count and its noun, in the page's sentences."""
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass
class WorkingConcept:
    """The examples gathered so far, with a name, a description, and the files they were cut from.

    Mutable on purpose: it is a user's draft, changed one button at a time, not a result.

    Attributes
    ----------
    items : list of (int, Example)
        The examples in order, each with a number that never changes.
    name, description : str
        What the user typed so far.
    sources : dict
        sha256 -> (file name, bytes) of files excerpts were cut from this session (for engraving previews).
    meta : dict
        Where the concept came from (``based_on``, ``based_on_origin``) when loaded from elsewhere.
    """

    items: list[tuple[int, concepts.Example]] = field(default_factory=list)
    next_id: int = 0
    name: str = ""
    description: str = ""
    sources: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def examples(self) -> list[concepts.Example]:
        """The examples, in order."""
        return [e for _, e in self.items]

    def add(self, new: Iterable[concepts.Example]) -> tuple[list[concepts.Example], int]:
        """Append examples, leaving out repeats (of each other or of those already there).

        Returns the examples added and how many were left out as repeats (see :func:`xai.concepts.library.dedupe`).
        """
        new = list(new)
        have = self.examples()
        # dedupe() keeps first occurrences in order, so what it keeps beyond the examples already there is new.
        # (Not by identity: adding a built-in concept twice hands in the very same objects.)
        kept, dropped = concepts.dedupe(have + new)
        added = list(kept[len(concepts.dedupe(have)[0]) :])
        for e in added:
            self.items.append((self.next_id, e))
            self.next_id += 1
        return added, dropped

    def remove(self, uid: int) -> None:
        """Remove the example numbered ``uid``."""
        self.items = [(i, e) for i, e in self.items if i != uid]

    def clear(self) -> None:
        """Remove every example (and what the concept was based on)."""
        self.items = []
        self.meta = {}

    def replace(self, concept: concepts.Concept) -> None:
        """Make ``concept`` (from the library or a built-in set) the working concept: its examples, name, text."""
        self.clear()
        self.name, self.description = concept.name, concept.description
        self.meta = {"based_on": concept.name, "based_on_origin": concept.origin}
        self.add(concept.examples)

    def remember_source(self, piece: music.Piece) -> None:
        """Keep the file an excerpt was cut from (this session only), so its score can be engraved in a preview."""
        src = piece.source
        if src is not None:
            self.sources[src.sha256] = (src.name, src.data)

    def concept(self, name: str | None = None) -> concepts.Concept | None:
        """The working concept as a :class:`~xai.concepts.library.Concept` (None while it has no examples)."""
        if not self.items:
            return None
        return concepts.Concept(
            name=(name or self.name).strip() or UNNAMED,
            description=self.description,
            examples=tuple(self.examples()),
            origin="user",
            metadata=dict(self.meta),
        )


def min_end_bar(piece: music.Piece, start_bar: int) -> int | None:
    """The first bar that, from ``start_bar``, makes an excerpt at least one model window long (None: none)."""
    for b in sorted({int(b) for b in piece.bar_numbers if b >= start_bar}):
        s, e = piece.bar_range(start_bar, b)
        if e - s >= WINDOW - _EPS:
            return b
    return None


def _too_short(piece: music.Piece, start_bar: int, end_bar: int, length: float) -> str:
    span = bars_text(start_bar, end_bar).capitalize()
    head = (
        f"{span} last{'s' if start_bar == end_bar else ''} {length:g} quarters, shorter than the {WINDOW:g} "
        f"quarters (4 bars of 4/4) the model reads at once"
    )
    need = min_end_bar(piece, start_bar)
    if need is None:
        return f"{head}, and the piece ends before that; start at an earlier bar."
    return (
        f"{head}: from bar {start_bar}, an example needs at least {bars_text(start_bar, need)} "
        f"({plural(need - start_bar + 1, 'bar')})."
    )


def span_problem(piece: music.Piece, start_bar: int, end_bar: int) -> str | None:
    """Why bars ``start_bar``-``end_bar`` cannot be an example, as a sentence (None when they can)."""
    if end_bar < start_bar:
        return f"The last bar ({end_bar}) comes before the first ({start_bar}); swap them."
    try:
        s, e = piece.bar_range(start_bar, end_bar)
    except InputError as err:
        return str(err)
    if e - s < WINDOW - _EPS:
        return _too_short(piece, start_bar, end_bar, e - s)
    if not ((piece.onsets < e) & (piece.onsets + piece.durations > s)).any():
        return f"{bars_text(start_bar, end_bar).capitalize()} have no notes; choose bars with music."
    return None


def file_example(piece: music.Piece, file_name: str, *, label: str = "") -> concepts.Example:
    """A whole short file as one example; raises :class:`InputError` (naming the file) if it has no notes or is
    shorter than one model window."""
    first, last = int(piece.bar_numbers.min()), int(piece.bar_numbers.max())
    if piece.n_notes == 0:
        raise InputError(f"{file_name} has no notes; not added.")
    s, e = piece.bar_range(first, last)
    if e - s < WINDOW - _EPS:
        raise InputError(
            f"{file_name} lasts {e - s:g} quarters (to the end of its last note), shorter than the "
            f"{WINDOW:g} quarters (4 bars of 4/4) the model reads at once; not added."
        )
    return concepts.Example.from_piece(piece, first, last, label=label, origin="file")
