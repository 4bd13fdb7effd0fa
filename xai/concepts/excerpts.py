"""The excerpt corpus concept discovery runs over: model windows with the pieces and bars they come from.

An :class:`ExcerptSet` is stored as one ``.npz`` (arrays) with its text fields as JSON inside, so it can be
shipped and checked (each piece's hash) without pickles; ``load_excerpts`` reads the shipped one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from xai._paths import ASSETS
from xai.concepts import library as concepts
from xai.errors import InputError, ParameterError
from xai.symbolic import music

__all__ = ["ExcerptSet", "load_excerpts", "composer_of", "split_by_piece", "ASSETS", "EXCERPTS_FILE", "excerpts_file"]

ASSETS = ASSETS / "discovery"
EXCERPTS_FILE = "excerpts.npz"


def excerpts_file(model_name: str | None) -> str:
    """The file name of a model's shipped excerpt set: ``excerpts.npz`` for 'composer' (the first), else
    ``excerpts_<model>.npz``."""
    return EXCERPTS_FILE if model_name in (None, "", "composer") else f"excerpts_{model_name}.npz"
FORMAT_VERSION = 1


# The first folder of a music21 corpus path -> who wrote it (or the collection it comes from).
_COMPOSERS = {
    "bach": "bach",
    "palestrina": "palestrina",
    "monteverdi": "monteverdi",
    "trecento": "trecento",
    "beethoven": "beethoven",
    "mozart": "mozart",
    "haydn": "haydn",
    "ryansMammoth": "ryans mammoth",
    "essenFolksong": "essen",
}


def composer_of(piece_id: str) -> str:
    """The composer (or collection) of a corpus piece from its path: 'mozart/k80/movement3.mxl' -> 'mozart'.

    Trecento pieces are anonymous or by several composers and keep 'trecento'; folk tunes name their
    collection ('ryans mammoth', 'essen').
    """
    head = str(piece_id).split("/", 1)[0]
    return _COMPOSERS.get(head, head)


@dataclass(frozen=True, eq=False)
class ExcerptSet:
    """Model windows with where they came from and their notes: the corpus a factorisation runs over.

    ``X`` holds the piano rolls the model reads (uint8, (N, 2, 88, 64)); per excerpt, the corpus piece id, its
    class (index into ``classes``) and composer, the bars and beats it spans in its piece, and its notes (flat
    arrays with pointers: excerpt i's notes are ``[note_ptr[i], note_ptr[i+1])``, times relative to the
    excerpt's start), so it can be played, drawn and saved as a concept example with no corpus parse.
    ``python -m training.discovery_set build`` writes the shipped one.
    """

    X: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    piece_ids: tuple[str, ...]
    piece_sha256: tuple[str, ...]
    start_bar: np.ndarray
    end_bar: np.ndarray
    start_beat: np.ndarray
    end_beat: np.ndarray
    n_parts: np.ndarray
    note_ptr: np.ndarray
    onsets: np.ndarray
    durations: np.ndarray
    pitches: np.ndarray
    parts: np.ndarray
    bar_ptr: np.ndarray
    bar_starts: np.ndarray
    bar_numbers: np.ndarray
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @cached_property
    def composers(self) -> tuple[str, ...]:
        """The composer (or collection) of each excerpt, from its corpus path (:func:`composer_of`)."""
        return tuple(composer_of(p) for p in self.piece_ids)

    @cached_property
    def class_names(self) -> tuple[str, ...]:
        """The class of each excerpt, by name."""
        return tuple(self.classes[int(k)] for k in self.labels)

    @cached_property
    def sha256(self) -> str:
        """A hash of the rolls and their provenance: results computed on another set never pass for these."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.X).tobytes())
        h.update(json.dumps([self.piece_ids, self.start_beat.tolist(), self.labels.tolist()]).encode())
        return h.hexdigest()

    @property
    def grid(self) -> str:
        """'quarters' (bar-aligned windows of a score model) or 'seconds' (windows of a performance model)."""
        return str(self.meta.get("grid", "quarters"))

    def rolls(self, rows=None) -> np.ndarray:
        """Model inputs, float32 (N, 2, 88, T), of all excerpts or of ``rows``.

        A seconds set stores 127 x the model's values (onsets carry velocity / 127) as uint8, so the division
        gives back exactly what :func:`~xai.symbolic.music.encode_for` gave.
        """
        X = self.X if rows is None else self.X[np.asarray(rows, dtype=np.int64)]
        scale = float(self.meta.get("x_scale", 1) or 1)
        return X.astype(np.float32) if scale == 1 else (X.astype(np.float64) / scale).astype(np.float32)

    def seconds(self, i: int) -> tuple[float, float] | None:
        """Where excerpt ``i`` sits in its performance, in seconds (None for a set of score windows)."""
        per = self.meta.get("seconds_per_beat")
        if self.grid != "seconds" or not per:
            return None
        return float(self.start_beat[i]) * float(per), float(self.end_beat[i]) * float(per)

    def span_clock(self, i: int, span: tuple[float, float]) -> str:
        """'0:24–0:31': where a span of excerpt ``i`` (beats from its start) sits in its performance; '' for scores."""
        where = self.seconds(i)
        if where is None:
            return ""
        per = float(self.meta["seconds_per_beat"])
        return f"{music.clock(where[0] + span[0] * per)}–{music.clock(where[0] + span[1] * per)}"

    def citation(self, i: int) -> str:
        """'bach/bwv104.6.mxl, bars 5–8'; a performance's adds its clock time: '..., bars 5–12 (0:20–0:40)'."""
        a, b = int(self.start_bar[i]), int(self.end_bar[i])
        text = f"{self.piece_ids[i]}, " + (f"bar {a}" if a == b else f"bars {a}–{b}")
        span = self.seconds(i)
        return text if span is None else f"{text} ({music.clock(span[0])}–{music.clock(span[1])})"

    def example(self, i: int, *, label: str = "", origin: str = "discovered") -> concepts.Example:
        """Excerpt ``i`` as a concept example (for the concept library), with its provenance."""
        a, b = int(self.note_ptr[i]), int(self.note_ptr[i + 1])
        c, d = int(self.bar_ptr[i]), int(self.bar_ptr[i + 1])
        return concepts.Example(
            title=self.piece_ids[i],
            source_name=self.piece_ids[i],
            source_sha256=self.piece_sha256[i],
            start_bar=int(self.start_bar[i]),
            end_bar=int(self.end_bar[i]),
            start_beat=float(self.start_beat[i]),
            end_beat=float(self.end_beat[i]),
            onsets=self.onsets[a:b],
            durations=self.durations[a:b],
            pitches=self.pitches[a:b],
            parts=self.parts[a:b],
            bar_starts=self.bar_starts[c:d],
            bar_numbers=self.bar_numbers[c:d],
            label=label,
            origin=origin,
            part_names=tuple(f"Part {k + 1}" for k in range(int(self.n_parts[i]))),
        )

    def piece(self, i: int) -> music.Piece:
        """Excerpt ``i`` as a piece of its own starting at beat 0 (bar numbers as printed), to draw and play."""
        return self.example(i).to_piece()

    def rows(self, *, classes: Sequence[str] | None = None, composers: Sequence[str] | None = None) -> np.ndarray:
        """Indices of the excerpts of the given classes and composers (None: any)."""
        keep = np.ones(len(self), dtype=bool)
        if classes is not None:
            unknown = sorted(set(classes) - set(self.classes))
            if unknown:
                raise ParameterError(f"There is no class '{unknown[0]}'; the classes are {', '.join(self.classes)}.")
            keep &= np.isin(np.asarray(self.class_names), list(classes))
        if composers is not None:
            keep &= np.isin(np.asarray(self.composers), list(composers))
        return np.flatnonzero(keep)

    def save(self, path: str | os.PathLike) -> None:
        """Write the set as one compressed ``.npz`` of plain arrays (text as JSON strings; no pickles)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = dict(self.meta)
        np.savez_compressed(
            path,
            X=self.X.astype(np.uint8),
            labels=self.labels.astype(np.int64),
            start_bar=self.start_bar.astype(np.int64),
            end_bar=self.end_bar.astype(np.int64),
            start_beat=self.start_beat.astype(np.float64),
            end_beat=self.end_beat.astype(np.float64),
            n_parts=self.n_parts.astype(np.int64),
            note_ptr=self.note_ptr.astype(np.int64),
            onsets=self.onsets.astype(np.float64),
            durations=self.durations.astype(np.float64),
            pitches=self.pitches.astype(np.int16),
            parts=self.parts.astype(np.int16),
            bar_ptr=self.bar_ptr.astype(np.int64),
            bar_starts=self.bar_starts.astype(np.float64),
            bar_numbers=self.bar_numbers.astype(np.int64),
            text=np.array(json.dumps({
                "format": "musicxai.excerpts",
                "version": FORMAT_VERSION,
                "classes": list(self.classes),
                "piece_ids": list(self.piece_ids),
                "piece_sha256": list(self.piece_sha256),
                "meta": meta,
            })),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> ExcerptSet:
        """Read a set written by :meth:`save`; InputError with the rebuild command when it is missing or damaged."""
        path = Path(path)
        if not path.exists():
            raise InputError(
                f"The excerpt corpus for concept discovery ({path.name}) is missing from {path.parent}; run "
                f"`python -m training.discovery_set build` to make it."
            )
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            text = json.loads(str(arrays.pop("text")))
            if text.get("format") != "musicxai.excerpts" or text.get("version") != FORMAT_VERSION:
                raise ValueError("not an excerpt set of this version")
            return cls(
                classes=tuple(text["classes"]),
                piece_ids=tuple(text["piece_ids"]),
                piece_sha256=tuple(text["piece_sha256"]),
                meta=dict(text.get("meta", {})),
                **arrays,
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InputError(
                f"The excerpt corpus {path} cannot be read ({e}); rebuild it with `python -m training.discovery_set "
                f"build`."
            ) from None


def load_excerpts(path: str | os.PathLike | None = None, *, model: str | None = None) -> ExcerptSet:
    """The shipped excerpt corpus of a model (``assets/discovery/excerpts.npz`` for 'composer',
    ``excerpts_<model>.npz`` for another), or the set saved at ``path``."""
    return ExcerptSet.load(Path(path) if path is not None else ASSETS / excerpts_file(model))


def split_by_piece(excerpts: ExcerptSet, rows, *, holdout: float, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows to fit on and rows held out, so that no piece has excerpts on both sides.

    Within each class, ``round(holdout * pieces)`` of its pieces (a seeded draw; at least one when the class has
    two pieces or more and ``holdout > 0``, none when it has one) are held out with all their excerpts. Excerpts
    of one piece share motifs and texture, so holding out excerpts rather than pieces would flatter any measure
    taken on them.

    Parameters
    ----------
    excerpts : ExcerptSet
    rows : array of int
        The excerpts to split (indices into ``excerpts``).
    holdout : float
        Share of each class's pieces held out, in [0, 1).
    random_state : int
        Seed of the draw.

    Returns
    -------
    (np.ndarray, np.ndarray)
        The rows to fit on and the rows held out, each in the order of ``rows``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if not 0.0 <= float(holdout) < 1.0:
        raise ParameterError(f"The 'holdout' parameter must be a number in [0, 1), got {holdout!r}.")
    held = np.zeros(len(rows), dtype=bool)
    if holdout > 0 and len(rows):
        rng = np.random.default_rng(random_state)
        pieces = np.asarray(excerpts.piece_ids, dtype=object)[rows]
        labels = np.asarray(excerpts.labels)[rows]
        for c in np.unique(labels):
            names = sorted(set(pieces[labels == c]))
            n_out = min(len(names) - 1, max(1, int(round(holdout * len(names))))) if len(names) > 1 else 0
            out = set(rng.permutation(names)[:n_out].tolist())
            held |= (labels == c) & np.isin(pieces, list(out))
    return rows[~held], rows[held]
