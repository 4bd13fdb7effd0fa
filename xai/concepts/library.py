"""The concept library: musical concepts defined by excerpts, with their provenance, stored in SQLite.

A *concept* ("homophonic texture", "this composer's cadences", a direction found by discovery) is a named set
of *examples*: excerpts of real pieces, each kept with where it came from (title, file name and hash, bar range)
and its notes, so it can be shown in notation, played, cited by bar number and fed to the model again. TCAV
turns a concept into model inputs with :func:`example_rolls`, the same path (:func:`xai.symbolic.music.encode`) any
piece takes.

Concepts live in a SQLite file (one per user, path configurable) together with the TCAV runs made with them,
and travel between users as JSON (``{"format": "musicxai.concepts", "version": 1, "concepts": [...]}``).
Nothing is ever pickled: an imported file is data, validated field by field, and saved all-or-nothing.

The shipped built-in concepts (mined by the rules in :mod:`xai.concepts.miners` from training pieces only), the pool of
random excerpts and the held-out excerpts per class are read with :func:`builtin`, :func:`random_pool`,
:func:`random_pool_sources` and :func:`class_examples`; ``python -m training.concept_sets build`` writes them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from xai import storage
from xai._paths import ASSETS
from xai.contract import jsonable
from xai.errors import InputError, ParameterError, XaiError
from xai.symbolic import music

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MIN_EXAMPLES",
    "EXAMPLE_ORIGINS",
    "CONCEPT_ORIGINS",
    "ASSETS",
    "Example",
    "Concept",
    "Library",
    "BUILTIN_SETS",
    "builtin_set",
    "builtin_names",
    "builtin_set_for",
    "default_library_path",
    "dumps",
    "loads",
    "dedupe",
    "validate",
    "check_usable",
    "example_rolls",
    "builtin",
    "resolve",
    "usable",
    "random_pool",
    "random_pool_sources",
    "class_examples",
]

FORMAT = "musicxai.concepts"
FORMAT_VERSION = 1
SCHEMA_VERSION = storage.SCHEMA_VERSION  # of the tables (one schema for SQLite and PostgreSQL: xai.storage)
MIN_EXAMPLES = 8
EXAMPLE_ORIGINS = ("excerpt", "file", "builtin", "discovered")
CONCEPT_ORIGINS = ("user", "builtin", "discovered")
ASSETS = ASSETS / "concepts"
PIANO_FILE = "builtin_piano.json"  # the built-in piano concepts (xai.concepts.piano_miners)
_TIME_DECIMALS = 6  # times are stored to a millionth of a quarter: exact for any notated rhythm, short in JSON
_EPS = 1e-6
_LISTED = 3  # problems named one by one before the rest are counted


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _bars_text(start_bar: int, end_bar: int) -> str:
    return f"bar {start_bar}" if start_bar == end_bar else f"bars {start_bar}-{end_bar}"


# --------------------------------------------------------------------------------------------------- examples


@dataclass(frozen=True, eq=False)
class Example:
    """One excerpt of a piece with its provenance: what a musician marked, and the notes it holds.

    Times are in quarters: ``start_beat``/``end_beat`` locate the excerpt in its piece; ``onsets`` and
    ``bar_starts`` are relative to the excerpt's start. ``bar_numbers`` are the numbers printed in the score
    (a pickup is bar 0), so an excerpt can be cited as "bars 5-12" however it was cut. ``start_bar`` and
    ``end_bar`` are inclusive.
    ``tempi`` is the excerpt's tempo map, (beat from its start, quarter notes per minute); empty when not known
    (the default tempo then), so a model that reads seconds hears it at the score's tempo.
    """

    title: str
    source_name: str
    source_sha256: str
    start_bar: int
    end_bar: int
    start_beat: float
    end_beat: float
    onsets: np.ndarray
    durations: np.ndarray
    pitches: np.ndarray
    parts: np.ndarray
    bar_starts: np.ndarray
    bar_numbers: np.ndarray
    label: str = ""
    origin: str = "excerpt"
    part_names: tuple[str, ...] = ()
    tempi: tuple[tuple[float, float], ...] = ()

    def __post_init__(self):
        set_ = object.__setattr__
        for name in ("title", "source_name", "source_sha256", "label"):
            if not isinstance(getattr(self, name), str):
                raise InputError(f"The example's '{name}' must be text, got {getattr(self, name)!r}.")
        if self.origin not in EXAMPLE_ORIGINS:
            raise InputError(f"An example's origin must be one of {', '.join(EXAMPLE_ORIGINS)}, got {self.origin!r}.")
        set_(self, "start_bar", int(self.start_bar))
        set_(self, "end_bar", int(self.end_bar))
        set_(self, "start_beat", float(self.start_beat))
        set_(self, "end_beat", float(self.end_beat))
        set_(self, "part_names", tuple(str(n) for n in self.part_names))
        try:
            tempi = tuple((float(b), float(q)) for b, q in self.tempi)
        except (TypeError, ValueError):
            raise InputError("The example's tempi must be pairs of numbers (beat, quarter notes per minute).") from None
        if not all(math.isfinite(b) and math.isfinite(q) and q > 0 for b, q in tempi):
            raise InputError("The example's tempi must be finite, with positive quarter notes per minute.")
        set_(self, "tempi", tempi)
        for name, dtype in (
            ("onsets", np.float64),
            ("durations", np.float64),
            ("pitches", np.int16),
            ("parts", np.int16),
            ("bar_starts", np.float64),
            ("bar_numbers", np.int64),
        ):
            arr = np.asarray(getattr(self, name))
            if arr.ndim != 1:
                raise InputError(f"The example's '{name}' must be a flat list of numbers.")
            set_(self, name, arr.astype(dtype))
        n = self.pitches.size
        if not (self.onsets.size == self.durations.size == self.parts.size == n):
            raise InputError("The example's onsets, durations, pitches and parts must have the same length.")
        if self.bar_starts.size != self.bar_numbers.size:
            raise InputError("The example's bar starts and bar numbers must have the same length.")
        if not (np.all(np.isfinite(self.onsets)) and np.all(np.isfinite(self.durations))):
            raise InputError("The example's note times must be finite numbers.")
        if not (math.isfinite(self.start_beat) and math.isfinite(self.end_beat)) or self.end_beat < self.start_beat:
            raise InputError("The example must end after it starts.")

    @property
    def n_notes(self) -> int:
        """Notes in the excerpt."""
        return int(self.pitches.size)

    @property
    def length(self) -> float:
        """Length of the excerpt in quarters (its bar range, not just its notes)."""
        return self.end_beat - self.start_beat

    @property
    def n_bars(self) -> int:
        """Bars the excerpt spans."""
        return max(int(self.bar_starts.size), 1)

    @property
    def citation(self) -> str:
        """How to cite it: "Title, bars 5-12"."""
        return f"{self.title}, {_bars_text(self.start_bar, self.end_bar)}"

    def fingerprint(self) -> str:
        """A hash of the notes alone (times rounded as stored), equal for the same music from any source."""
        h = hashlib.sha256()
        order = np.lexsort((self.pitches, self.onsets.round(_TIME_DECIMALS)))
        for arr in (self.onsets.round(_TIME_DECIMALS), self.durations.round(_TIME_DECIMALS), self.pitches):
            h.update(np.ascontiguousarray(arr[order]).tobytes())
        return h.hexdigest()

    def to_piece(self) -> music.Piece:
        """The excerpt as a piece of its own, starting at beat 0, for the model, a piano roll or playback."""
        n_parts = max(int(self.parts.max()) + 1 if self.n_notes else 1, len(self.part_names))
        names = self.part_names + tuple(f"Part {k + 1}" for k in range(len(self.part_names), n_parts))
        bar_starts, bar_numbers = self.bar_starts, self.bar_numbers
        if bar_starts.size == 0:
            bar_starts, bar_numbers = np.zeros(1), np.array([self.start_bar], dtype=np.int64)
        order = np.lexsort((self.pitches, self.onsets))
        tempo = {"tempi": self.tempi} if self.tempi else {}
        return music.Piece(
            title=self.title,
            onsets=self.onsets[order],
            durations=self.durations[order],
            pitches=self.pitches[order],
            velocities=np.full(self.n_notes, 80, dtype=np.int16),
            parts=self.parts[order],
            part_names=names,
            bar_starts=bar_starts,
            bar_numbers=bar_numbers,
            **tempo,
        )

    @classmethod
    def from_span(
        cls, piece: music.Piece, start_beat: float, end_beat: float, *, label: str = "", origin: str = "excerpt"
    ) -> Example:
        """The excerpt of ``piece`` between two beats (as a model window is cut), with the bars it covers."""
        if not end_beat > start_beat:
            raise InputError("An excerpt must end after it starts.")
        sub = piece.slice(start_beat, end_beat)
        src = piece.source
        if src is not None:
            name, sha = src.name, src.sha256
        else:
            # A piece with no file in hand (a corpus piece from the cache) is identified by its notes.
            name, sha = piece.title, _piece_hash(piece)
        return cls(
            title=piece.title,
            source_name=name,
            source_sha256=sha,
            start_bar=piece.bar_at(start_beat),
            end_bar=piece.bar_at(end_beat - _EPS),
            start_beat=start_beat,
            end_beat=end_beat,
            onsets=sub.onsets,
            durations=sub.durations,
            pitches=sub.pitches,
            parts=sub.parts,
            bar_starts=sub.bar_starts,
            bar_numbers=sub.bar_numbers,
            label=label,
            origin=origin,
            part_names=piece.part_names,
            tempi=sub.tempi,
        )

    @classmethod
    def from_piece(
        cls, piece: music.Piece, start_bar: int, end_bar: int, *, label: str = "", origin: str = "excerpt"
    ) -> Example:
        """Bars ``start_bar`` to ``end_bar`` (inclusive, as printed) of ``piece``."""
        start, end = piece.bar_range(int(start_bar), int(end_bar))
        ex = cls.from_span(piece, start, end, label=label, origin=origin)
        # Keep the bar numbers as asked: bar_at() cannot tell apart repeated bar numbers (voltas).
        return replace(ex, start_bar=int(start_bar), end_bar=int(end_bar))

    def to_dict(self) -> dict:
        """A JSON-safe dict (plain lists and numbers); times rounded to a millionth of a quarter."""

        def times(a):
            return [round(float(x), _TIME_DECIMALS) for x in a]

        tempo = {"tempi": [[round(b, _TIME_DECIMALS), round(q, _TIME_DECIMALS)] for b, q in self.tempi]} \
            if self.tempi else {}
        return tempo | {
            "title": self.title,
            "source_name": self.source_name,
            "source_sha256": self.source_sha256,
            "start_bar": self.start_bar,
            "end_bar": self.end_bar,
            "start_beat": round(self.start_beat, _TIME_DECIMALS),
            "end_beat": round(self.end_beat, _TIME_DECIMALS),
            "label": self.label,
            "origin": self.origin,
            "part_names": list(self.part_names),
            "notes": {
                "onsets": times(self.onsets),
                "durations": times(self.durations),
                "pitches": [int(x) for x in self.pitches],
                "parts": [int(x) for x in self.parts],
            },
            "bars": {"starts": times(self.bar_starts), "numbers": [int(x) for x in self.bar_numbers]},
        }

    @classmethod
    def from_dict(cls, d: dict) -> Example:
        """Rebuild an example from :meth:`to_dict`'s shape, checking every field (InputError on a bad one)."""
        r = _Fields(d, "the example")
        notes = _Fields(r.get("notes", dict), "the example's notes")
        bars = _Fields(r.get("bars", dict), "the example's bars")
        return cls(
            title=r.get("title", str),
            source_name=r.get("source_name", str),
            source_sha256=r.get("source_sha256", str),
            start_bar=r.get("start_bar", int),
            end_bar=r.get("end_bar", int),
            start_beat=r.get("start_beat", float),
            end_beat=r.get("end_beat", float),
            onsets=notes.numbers("onsets", float),
            durations=notes.numbers("durations", float),
            pitches=notes.numbers("pitches", int),
            parts=notes.numbers("parts", int),
            bar_starts=bars.numbers("starts", float),
            bar_numbers=bars.numbers("numbers", int),
            label=r.get("label", str, default=""),
            origin=r.get("origin", str, default="excerpt"),
            part_names=tuple(r.get("part_names", list, default=[])),
            tempi=tuple(_tempo_pairs(r.get("tempi", list, default=[]))),
        )


def _tempo_pairs(v: list) -> list[tuple[float, float]]:
    bad = [x for x in v if not (isinstance(x, list) and len(x) == 2 and all(_is(y, float) for y in x))]
    if bad:
        raise InputError(f"The field 'tempi' of the example must hold [beat, quarter notes per minute] pairs, got "
                         f"{_describe(bad[0])}.")
    return [(float(b), float(q)) for b, q in v]


def _piece_hash(piece: music.Piece) -> str:
    h = hashlib.sha256()
    for arr in (piece.onsets, piece.durations, piece.pitches, piece.parts, piece.bar_starts, piece.bar_numbers):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


class _Fields:
    """Typed access to one dict of a JSON file, raising InputError with a sentence that names the field."""

    _TYPE_WORDS = {str: "text", int: "a whole number", float: "a number", list: "a list", dict: "an object"}

    def __init__(self, d, what: str):
        if not isinstance(d, dict):
            raise InputError(f"{what.capitalize()} must be a JSON object, got {_describe(d)}.")
        self.d, self.what = d, what

    def get(self, key: str, typ: type, *, default=...):
        if key not in self.d:
            if default is ...:
                raise InputError(f"{self.what.capitalize()} is missing the field '{key}'.")
            return default
        v = self.d[key]
        if not _is(v, typ):
            raise InputError(
                f"The field '{key}' of {self.what} must be {self._TYPE_WORDS[typ]}, got {_describe(v)}."
            )
        return float(v) if typ is float else v

    def numbers(self, key: str, typ: type) -> list:
        v = self.get(key, list)
        if not all(_is(x, typ) for x in v):
            bad = next(x for x in v if not _is(x, typ))
            raise InputError(
                f"The field '{key}' of {self.what} must hold only {'whole numbers' if typ is int else 'numbers'}, "
                f"got {_describe(bad)}."
            )
        return v


def _is(v, typ: type) -> bool:
    if typ is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if typ is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return isinstance(v, typ)


def _describe(v) -> str:
    text = json.dumps(v) if isinstance(v, (str, int, float, bool, type(None))) else type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------------------------------- concepts


@dataclass(frozen=True, eq=False)
class Concept:
    """A named musical concept defined by its examples.

    ``origin`` says who made it: a user ('user'), a shipped miner ('builtin') or discovery ('discovered');
    ``metadata`` holds what else is worth keeping (for a discovered concept: layer, method, weights hash; for
    a built-in one: the miner and the classes its examples came from).
    """

    name: str
    description: str = ""
    examples: tuple[Example, ...] = ()
    origin: str = "user"
    author: str = ""
    created: str = field(default_factory=_now)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("A concept needs a name.")
        object.__setattr__(self, "name", self.name.strip())
        for key in ("description", "author", "created"):
            if not isinstance(getattr(self, key), str):
                raise InputError(f"The concept's '{key}' must be text.")
        if self.origin not in CONCEPT_ORIGINS:
            raise InputError(f"A concept's origin must be one of {', '.join(CONCEPT_ORIGINS)}, got {self.origin!r}.")
        examples = tuple(self.examples)
        if not all(isinstance(e, Example) for e in examples):
            raise InputError("A concept's examples must be Example objects.")
        object.__setattr__(self, "examples", examples)
        if not isinstance(self.metadata, dict):
            raise InputError("A concept's metadata must be a JSON object.")
        try:
            json.dumps(self.metadata, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise InputError(f"A concept's metadata must be plain JSON data ({e}).") from None

    @property
    def n_examples(self) -> int:
        """Examples in the concept."""
        return len(self.examples)

    def to_dict(self) -> dict:
        """The concept as JSON-safe data (the exchange format's entry)."""
        return {
            "name": self.name,
            "description": self.description,
            "origin": self.origin,
            "author": self.author,
            "created": self.created,
            "metadata": self.metadata,
            "examples": [e.to_dict() for e in self.examples],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Concept:
        """A concept from :meth:`to_dict`'s data."""
        r = _Fields(d, "the concept")
        name = r.get("name", str)
        examples = []
        for k, e in enumerate(r.get("examples", list), 1):
            try:
                examples.append(Example.from_dict(e))
            except InputError as err:
                raise InputError(f"Example {k}: {err}") from None
        return cls(
            name=name,
            description=r.get("description", str, default=""),
            examples=tuple(examples),
            origin=r.get("origin", str, default="user"),
            author=r.get("author", str, default=""),
            created=r.get("created", str, default=_now()),
            metadata=r.get("metadata", dict, default={}),
        )


def dumps(concepts: Iterable[Concept], *, indent: int | None = None) -> str:
    """Concepts as the library's JSON exchange format."""
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "concepts": [c.to_dict() for c in concepts]}
    return json.dumps(doc, indent=indent, separators=None if indent else (",", ":"), allow_nan=False)


def loads(text: str | bytes) -> list[Concept]:
    """Parse and check a concept file; every concept is valid or an InputError names the first problem."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("The concept file is not text (UTF-8 JSON); is it the right file?") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"The concept file is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})."
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else None
        raise InputError(
            f"This is not a musicxai concept file (expected format '{FORMAT}'"
            + (f", got {_describe(got)})." if got is not None else ").")
        )
    version = doc.get("version")
    if not _is(version, int) or version < 1:
        raise InputError(f"The concept file's 'version' must be a whole number from 1, got {_describe(version)}.")
    if version > FORMAT_VERSION:
        raise InputError(
            f"The concept file was written by a newer version of musicxai (format version {version}; this one "
            f"reads up to {FORMAT_VERSION}). Update musicxai to import it."
        )
    items = doc.get("concepts")
    if not isinstance(items, list):
        raise InputError("The concept file has no list of 'concepts'.")
    out, seen = [], set()
    for k, d in enumerate(items, 1):
        label = f"'{d['name']}'" if isinstance(d, dict) and isinstance(d.get("name"), str) else f"number {k}"
        try:
            c = Concept.from_dict(d)
        except InputError as err:
            raise InputError(f"Concept {label} in the file cannot be read. {err} Nothing was imported.") from None
        if c.name in seen:
            raise InputError(f"The concept file holds two concepts called '{c.name}'. Nothing was imported.")
        seen.add(c.name)
        out.append(c)
    return out


# ------------------------------------------------------------------------------------------ checks and inputs


def dedupe(examples: Iterable[Example]) -> tuple[tuple[Example, ...], int]:
    """Drop repeated examples: the same span of the same source, or the same notes from anywhere.

    Returns the distinct examples (first occurrence kept, order kept) and how many were dropped.
    """
    kept, spans, prints = [], set(), set()
    dropped = 0
    for e in examples:
        src = e.source_sha256 or e.source_name
        span = (src, e.start_bar, e.end_bar, round(e.start_beat, 3), round(e.end_beat, 3)) if src else None
        fp = e.fingerprint()
        if (span is not None and span in spans) or fp in prints:
            dropped += 1
            continue
        if span is not None:
            spans.add(span)
        prints.add(fp)
        kept.append(e)
    return tuple(kept), dropped


def _problems(concept: Concept) -> tuple[list[str], list[str]]:
    """(blocking problems, warnings) of a concept as plain sentences."""
    blocking, warnings = [], []
    window = float(music.WINDOW_QUARTERS)
    empty = [k for k, e in enumerate(concept.examples, 1) if e.n_notes == 0]
    for k in empty[:_LISTED]:
        e = concept.examples[k - 1]
        blocking.append(f"Example {k} ({e.citation}) has no notes; remove it or choose bars with music.")
    if len(empty) > _LISTED:
        blocking.append(f"{len(empty) - _LISTED} more examples have no notes.")
    short = [k for k, e in enumerate(concept.examples, 1) if e.length < window - _EPS and e.n_notes]
    for k in short[:_LISTED]:
        e = concept.examples[k - 1]
        bars = "1 bar" if e.n_bars == 1 else f"{e.n_bars} bars"
        blocking.append(
            f"Example {k} ({e.citation}) lasts {bars} ({e.length:g} quarters), shorter than the {window:g} "
            f"quarters (4 bars of 4/4) the model reads at once; choose a longer bar range."
        )
    if len(short) > _LISTED:
        blocking.append(f"{len(short) - _LISTED} more examples are shorter than {window:g} quarters too.")
    distinct, dropped = dedupe(concept.examples)
    if dropped:
        warnings.append(
            f"{dropped} example{'s' if dropped != 1 else ''} of '{concept.name}' repeat{'s' if dropped == 1 else ''} "
            f"another (same bars of the same source, or the same notes) and {'was' if dropped == 1 else 'were'} "
            f"left out."
        )
    usable = [e for e in distinct if e.n_notes]
    if len(usable) < MIN_EXAMPLES:
        n = len(usable)
        blocking.append(
            f"'{concept.name}' has {n} {'distinct ' if dropped else ''}example{'s' if n != 1 else ''}; a concept "
            f"needs at least {MIN_EXAMPLES} so its direction can be told apart from chance."
        )
    return blocking, warnings


def validate(concept: Concept) -> list[str]:
    """Everything that stands in the way of testing ``concept``, or is worth knowing, as plain sentences.

    An empty list means the concept is ready for TCAV. See :func:`check_usable` for which problems block.
    """
    blocking, warnings = _problems(concept)
    return blocking + warnings


def check_usable(concept: Concept) -> Concept:
    """Raise InputError unless ``concept`` can be tested; return it with repeated examples removed.

    It blocks when an example has no notes, when an example is shorter than one model window (16 quarters),
    or when fewer than :data:`MIN_EXAMPLES` distinct examples remain. Repeated examples only warn
    (:func:`validate`) and are dropped here.
    """
    blocking, _ = _problems(concept)
    if blocking:
        raise InputError(" ".join(blocking))
    distinct, dropped = dedupe(concept.examples)
    return replace(concept, examples=distinct) if dropped else concept


def example_rolls(concept: Concept, *, hop: float = music.HOP_QUARTERS, model=None) -> np.ndarray:
    """Every model window of every example as piano rolls, shape (N, 2, 88, T) float32; silent windows left out.

    This is what TCAV shows the model for the concept: each example is cut into windows exactly as an uploaded
    piece is. A concept's excerpts belong to no model: without ``model`` they become the bar-aligned 16-quarter
    windows every ``hop`` quarters (:func:`xai.symbolic.music.encode`, T = 64); with a model, its own windows
    (:func:`xai.symbolic.music.encode_for`: 20-s windows at 10 frames a second for ``piano_composer``, an
    excerpt shorter than that padded with silence).
    """
    spec = music.input_spec(model) if model is not None else music.InputSpec("quarters", music.WINDOW_QUARTERS, hop)
    steps = spec.n_steps
    out = []
    for e in concept.examples:
        if e.n_notes == 0:
            continue
        if spec.grid == "quarters":
            wins, X = music.encode(e.to_piece(), length=spec.window, hop=hop)
        else:
            wins, X = music.encode_for(e.to_piece(), model)
        keep = [k for k, w in enumerate(wins) if w.n_notes > 0 and X[k].any()]
        if keep:
            out.append(X[keep])
    if not out:
        return np.zeros((0, 2, music.N_PITCHES, steps), dtype=np.float32)
    return np.concatenate(out).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------------------- storage


def default_library_path() -> Path:
    """``$MUSICXAI_LIBRARY``, else ``library.sqlite`` in the user's data folder (``~/.local/share/musicxai``)."""
    env = os.environ.get("MUSICXAI_LIBRARY")
    if env:
        return Path(env).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "musicxai" / "library.sqlite"


_RUN_KEYS = {"created", "model", "concepts", "targets", "layers", "parameters", "results"}
_RUN_ALIASES = {"concept": "concepts", "target": "targets", "layer": "layers"}


class Library:
    """The user's concepts and TCAV runs: one SQLite file, or a PostgreSQL database several servers share.

    Every method opens its own short connection and runs in one transaction, so a failure (a crash, a bad
    import, a full disk, a database server that goes away) leaves what was already saved as it was, and several
    app sessions (and servers) can share a library: writers are serialised, so concurrent saves lose nothing.
    Another process holding a write lock for longer than ``timeout`` seconds gives an InputError saying the
    library is busy; a file that is not a SQLite database is reported as damaged and never written to. The tables
    and their migrations are :mod:`xai.storage`'s.

    Parameters
    ----------
    path : path-like or str, optional
        The SQLite file, or a database URL (``postgresql://user@host:port/dbname``, ``sqlite:///path``). Default:
        ``$MUSICXAI_DATABASE_URL`` when set, else :func:`default_library_path`. A file is created with its folder
        on first use.
    timeout : float
        Seconds to wait for another process's lock (or a database server's answer) before giving up.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 2.0):
        self._db = storage.Database(path, default=None if path is not None else default_library_path(),
                                    timeout=timeout, what="concept library")
        self.timeout = self._db.timeout
        # where the library is, as the pages show it: the file, or the database server (without its password)
        self.path = self._db.path if self._db.kind == "sqlite" else self._db.where

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r})"

    @property
    def shared(self) -> bool:
        """Whether the library is a database server shared by several app servers (PostgreSQL)."""
        return self._db.kind == "postgresql"

    # -- connections

    def _tx(self, *, write: bool):
        """One transaction on a fresh connection (:meth:`xai.storage.Database.transaction`)."""
        return self._db.transaction(write=write)

    # -- concepts

    def save(self, concept: Concept, *, overwrite: bool = False) -> None:
        """Store ``concept`` with its examples; refuse an existing name unless ``overwrite``."""
        if not isinstance(concept, Concept):
            raise ParameterError(f"The 'concept' parameter must be a Concept, got {type(concept).__name__}.")
        with self._tx(write=True) as con:
            self._save(con, concept, overwrite=overwrite)

    def _save(self, con: storage.Connection, c: Concept, *, overwrite: bool) -> None:
        row = con.execute("SELECT id FROM concepts WHERE name = ?", (c.name,)).fetchone()
        if row is not None and not overwrite:
            raise InputError(
                f"A concept called '{c.name}' is already in the library; choose another name or replace it."
            )
        meta = json.dumps(c.metadata, allow_nan=False)
        if row is None:
            cid = con.execute(
                "INSERT INTO concepts (name, description, origin, author, created, updated, metadata) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (c.name, c.description, c.origin, c.author, c.created, _now(), meta),
            ).lastrowid
        else:
            cid = row[0]
            con.execute(
                "UPDATE concepts SET description = ?, origin = ?, author = ?, created = ?, updated = ?, "
                "metadata = ? WHERE id = ?",
                (c.description, c.origin, c.author, c.created, _now(), meta, cid),
            )
            con.execute("DELETE FROM examples WHERE concept_id = ?", (cid,))
        rows = []
        for k, e in enumerate(c.examples):
            d = e.to_dict()
            stored = {"notes": d["notes"], "bars": d["bars"], "part_names": d["part_names"]}
            notes = json.dumps(stored | ({"tempi": d["tempi"]} if "tempi" in d else {}), separators=(",", ":"))
            rows.append((cid, k, e.title, e.source_name, e.source_sha256, e.start_bar, e.end_bar,
                         d["start_beat"], d["end_beat"], e.label, e.origin, notes))
        con.executemany(
            "INSERT INTO examples (concept_id, ordinal, title, source_name, source_sha256, start_bar, end_bar, "
            "start_beat, end_beat, label, origin, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def get(self, name: str) -> Concept:
        """The concept called ``name`` (InputError if there is none)."""
        with self._tx(write=False) as con:
            row = con.execute(
                "SELECT id, name, description, origin, author, created, metadata FROM concepts WHERE name = ?",
                (str(name).strip(),),
            ).fetchone()
            if row is None:
                raise InputError(f"There is no concept called '{name}' in the library.")
            ex_rows = con.execute(
                "SELECT title, source_name, source_sha256, start_bar, end_bar, start_beat, end_beat, label, "
                "origin, notes FROM examples WHERE concept_id = ? ORDER BY ordinal",
                (row[0],),
            ).fetchall()
        examples = []
        for r in ex_rows:
            stored = json.loads(r[9])
            d = dict(zip(("title", "source_name", "source_sha256", "start_bar", "end_bar", "start_beat",
                          "end_beat", "label", "origin"), r[:9]))
            examples.append(Example.from_dict(d | stored))
        return Concept(
            name=row[1], description=row[2], examples=tuple(examples), origin=row[3], author=row[4],
            created=row[5], metadata=json.loads(row[6]),
        )

    def names(self) -> list[str]:
        """Names of the stored concepts, alphabetically."""
        with self._tx(write=False) as con:
            return [r[0] for r in con.execute("SELECT name FROM concepts ORDER BY LOWER(name), name")]

    def list(self) -> list[dict]:
        """One summary per concept (name, description, origin, author, n_examples, created, updated)."""
        with self._tx(write=False) as con:
            rows = con.execute(
                "SELECT c.name, c.description, c.origin, c.author, c.created, c.updated, "
                "(SELECT COUNT(*) FROM examples e WHERE e.concept_id = c.id) "
                "FROM concepts c ORDER BY LOWER(c.name), c.name"
            ).fetchall()
        keys = ("name", "description", "origin", "author", "created", "updated", "n_examples")
        return [dict(zip(keys, r)) for r in rows]

    def delete(self, name: str) -> None:
        """Remove a concept and its examples (its past TCAV runs stay on record)."""
        with self._tx(write=True) as con:
            row = con.execute("SELECT id FROM concepts WHERE name = ?", (str(name).strip(),)).fetchone()
            if row is None:
                raise InputError(f"There is no concept called '{name}' in the library.")
            con.execute("DELETE FROM examples WHERE concept_id = ?", (row[0],))
            con.execute("DELETE FROM concepts WHERE id = ?", (row[0],))

    def __contains__(self, name: str) -> bool:
        return str(name).strip() in self.names()

    def __len__(self) -> int:
        return len(self.names())

    # -- exchange

    def export_json(self, names: Iterable[str] | None = None, *, indent: int | None = None) -> str:
        """The named concepts (default: all) in the JSON exchange format."""
        names = self.names() if names is None else [names] if isinstance(names, str) else list(names)
        return dumps([self.get(n) for n in names], indent=indent)

    def import_json(self, text: str | bytes, *, overwrite: bool = False) -> list[str]:
        """Save every concept of a JSON file, or none: a bad file or a name clash saves nothing.

        Returns the names imported.
        """
        concepts = loads(text)
        with self._tx(write=True) as con:
            if not overwrite:
                taken = [c.name for c in concepts
                         if con.execute("SELECT 1 FROM concepts WHERE name = ?", (c.name,)).fetchone()]
                if taken:
                    listed = ", ".join(f"'{n}'" for n in taken)
                    raise InputError(
                        f"The library already has {'a concept' if len(taken) == 1 else 'concepts'} called {listed}; "
                        f"nothing was imported. Rename {'it' if len(taken) == 1 else 'them'} or allow replacing."
                    )
            for c in concepts:
                self._save(con, c, overwrite=overwrite)
        return [c.name for c in concepts]

    # -- TCAV runs

    def save_run(self, run: dict) -> int:
        """Record one TCAV run; returns its id.

        ``run`` holds ``concepts`` (names), ``targets`` (class names), ``layers`` (layer names) -- each a list
        or a single string, also accepted as ``concept``/``target``/``layer`` -- ``parameters`` (a dict: seeds,
        number of random sets, the model's weights hash...), ``results`` (a dict of scores and statistics) and
        optionally ``model`` (its name) and ``created`` (ISO time; default now). Numpy numbers and arrays are
        stored as plain JSON.
        """
        if not isinstance(run, dict):
            raise ParameterError(f"The 'run' parameter must be a dict, got {type(run).__name__}.")
        rec = {_RUN_ALIASES.get(k, k): v for k, v in run.items()}
        unknown = sorted(set(rec) - _RUN_KEYS)
        if unknown:
            raise ParameterError(
                f"A TCAV run record has unknown fields {unknown}; allowed: {sorted(_RUN_KEYS)}."
            )
        for key in ("concepts", "targets", "layers"):
            v = rec.get(key, [])
            rec[key] = [v] if isinstance(v, str) else [str(x) for x in v]
        for key in ("parameters", "results"):
            if not isinstance(rec.get(key, {}), dict):
                raise ParameterError(f"A TCAV run's '{key}' must be a dict.")
        try:
            params = json.dumps(jsonable(rec.get("parameters", {})))
            results = json.dumps(jsonable(rec.get("results", {})))
        except (TypeError, ValueError) as e:
            raise ParameterError(f"A TCAV run must hold plain data (numbers, text, lists, dicts): {e}.") from None
        with self._tx(write=True) as con:
            return int(
                con.execute(
                    "INSERT INTO tcav_runs (created, model, concepts, targets, layers, parameters, results) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (str(rec.get("created") or _now()), str(rec.get("model", "")), json.dumps(rec["concepts"]),
                     json.dumps(rec["targets"]), json.dumps(rec["layers"]), params, results),
                ).lastrowid
            )

    def runs(self, concept: str | None = None) -> list[dict]:
        """Recorded TCAV runs, newest first; with ``concept``, only the runs that tested it."""
        with self._tx(write=False) as con:
            rows = con.execute(
                "SELECT id, created, model, concepts, targets, layers, parameters, results FROM tcav_runs "
                "ORDER BY id DESC"
            ).fetchall()
        out = []
        for r in rows:
            rec = {
                "id": r[0], "created": r[1], "model": r[2], "concepts": json.loads(r[3]),
                "targets": json.loads(r[4]), "layers": json.loads(r[5]), "parameters": json.loads(r[6]),
                "results": json.loads(r[7]),
            }
            if concept is None or concept in rec["concepts"]:
                out.append(rec)
        return out


# ------------------------------------------------------------------------------------------- shipped assets


def _asset(name: str, path: str | os.PathLike | None) -> Path:
    p = Path(path) if path is not None else ASSETS / name
    if not p.exists():
        raise InputError(
            f"The shipped concept data {p.name} is missing from {p.parent}; run `python -m training.concept_sets "
            f"build` to make it."
        )
    return p


@lru_cache(maxsize=4)
def _builtin(path: Path, mtime: float) -> tuple[Concept, ...]:
    return tuple(loads(path.read_text(encoding="utf-8")))


def builtin(path: str | os.PathLike | None = None, *, model=None) -> dict[str, Concept]:
    """The shipped built-in concepts by name.

    Two sets ship: ``builtin.json`` (the rules of :mod:`xai.concepts.miners` over the style corpus, 16-quarter
    excerpts) and ``builtin_piano.json`` (the piano rules of :mod:`xai.concepts.piano_miners` over the ASAP
    scores, excerpts of about one 20-s window, built by ``python -m training.piano_concepts build``). Without
    ``model`` (or for a model that reads bars of quarters) the first; for a model that reads seconds of piano
    (``piano_composer``) the piano set. Both have a "pedal point", each mined from its own music. ``path``
    reads one given file instead.
    """
    if path is None and model is not None and music.input_spec(model).grid == "seconds":
        p = ASSETS / PIANO_FILE
        if not p.exists():
            raise InputError(f"The shipped piano concepts {p.name} are missing from {p.parent}; run `python -m "
                             "training.piano_concepts build` to make them.")
    else:
        p = _asset("builtin.json", path)
    return {c.name: c for c in _builtin(p, p.stat().st_mtime)}


BUILTIN_SETS = {"piano": "piano scores (ASAP): for piano_composer", "styles": "style corpus: for composer"}


def builtin_set(which: str) -> dict[str, Concept]:
    """One shipped set of built-in concepts by its key in :data:`BUILTIN_SETS` ('piano' or 'styles').

    Concepts are excerpts, whatever model they are later tested on: a user defining a concept may start from
    either set; :func:`builtin` picks the set made for a given model.
    """
    if which not in BUILTIN_SETS:
        raise ParameterError(f"The built-in concept sets are {', '.join(BUILTIN_SETS)}; got {which!r}.")
    return builtin(ASSETS / PIANO_FILE) if which == "piano" else builtin()


def builtin_set_for(model) -> str:
    """The key of the built-in set made for ``model``: 'piano' for a model that reads seconds, else 'styles'."""
    return "piano" if model is not None and music.input_spec(model).grid == "seconds" else "styles"


def builtin_names() -> set[str]:
    """The names of every shipped built-in concept, in either set (the runs anyone may see are about these)."""
    names: set[str] = set()
    for which in BUILTIN_SETS:
        try:
            names |= set(builtin_set(which))
        except InputError:  # a set not built on this installation
            continue
    return names


def resolve(where: str, name: str, *, working: Concept | None = None, model=None) -> Concept:
    """A concept picked from a list that mixes three sources, by ``where``: ``"working"`` (the user's unsaved
    concept, passed as ``working``; None once it has no examples), ``"library"`` (the saved one of that name) or
    ``"builtin"`` (the shipped one; for ``model``, the set made for it: :func:`builtin`)."""
    if where == "working":
        if working is None:
            raise InputError("The unsaved concept has no examples any more; add some on 'Define a concept'.")
        return working
    if where == "library":
        return Library().get(name)
    found = builtin(model=model)
    if name not in found:
        raise InputError(f"There is no built-in concept called '{name}'.")
    return found[name]


def usable(picks: Iterable[tuple[str, str, str]], *, working: Concept | None = None,
           model=None) -> tuple[list[Concept], list[str]]:
    """The picked concepts ready for TCAV (:func:`check_usable`), and a sentence for each one that is not.

    ``picks``: ``(label, where, name)`` per concept, ``where`` and ``working`` as for :func:`resolve`; a sentence
    starts with the pick's label, so the user sees which one it is about.
    """
    ready, problems = [], []
    for label, where, name in picks:
        try:
            ready.append(check_usable(resolve(where, name, working=working, model=model)))
        except XaiError as e:  # a missing or broken concept, a library that cannot be read
            problems.append(f"{label}: {e}")
    return ready, problems


@lru_cache(maxsize=4)
def _pool(path: Path, mtime: float) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _pool_file(path) -> dict[str, np.ndarray]:
    p = _asset("pool.npz", path)
    return _pool(p, p.stat().st_mtime)


def random_pool(path: str | os.PathLike | None = None) -> np.ndarray:
    """The shipped pool of random training excerpts as rolls, (N, 2, 88, 64) float32: TCAV's random sets."""
    return _pool_file(path)["random"].astype(np.float32)


def random_pool_sources(path: str | os.PathLike | None = None) -> list[str]:
    """The piece (corpus id) each row of :func:`random_pool` was cut from, in the same order.

    TCAV should leave out pool rows whose piece also gave a concept example (compare with
    ``Example.source_name``), so that a random set never shares music with the concept.
    """
    return list(json.loads(str(_pool_file(path)["random_sources"])))


def tcav_sets(model=None) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """TCAV's shipped sets for a model: (random pool, the piece of each pool row, held-out excerpts per class).

    A model that reads bar-aligned quarters uses ``pool.npz``; a model that reads seconds uses
    ``pool_<name>.npz`` (built by its own recipe, e.g. ``python -m training.piano_pool``), whose rolls are
    stored as uint8 (x 127). InputError, in a sentence, when a model has no shipped sets.
    """
    if model is None or music.input_spec(model).grid == "quarters":
        return random_pool(), random_pool_sources(), class_examples()
    name = getattr(model, "name", "")
    p = ASSETS / f"pool_{name}.npz"
    if not p.exists():
        raise InputError(f"No TCAV excerpts ship for the model '{name}' (expected {p.name}), so TCAV cannot run "
                         "on it yet.")
    z = _pool(p, p.stat().st_mtime)

    def rolls(a: np.ndarray) -> np.ndarray:
        return a.astype(np.float32) / 127.0 if a.dtype == np.uint8 else a.astype(np.float32)

    return (rolls(z["random"]), list(json.loads(str(z["random_sources"]))),
            {k[len("class_"):]: rolls(z[k]) for k in z if k.startswith("class_")})


def class_examples(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Held-out excerpts per class (validation pieces), {class: (N, 2, 88, 64) float32}: TCAV's inputs."""
    z = _pool_file(path)
    return {k[len("class_"):]: z[k].astype(np.float32) for k in z if k.startswith("class_")}
