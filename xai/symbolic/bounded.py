"""Parse an upload under a time and memory budget: the piece is built in a sandboxed child and sent back as data.

:mod:`xai.symbolic.io` checks a file cheaply first (:mod:`xai.symbolic.prescan`), then hands the real parsing to
:func:`parse`, which runs the loader in a child process of :mod:`xai.sandbox` (killed past its CPU seconds or
memory) and rebuilds the :class:`~xai.symbolic.music.Piece` from what the child sends back. The child's answer
is plain data, never a pickle: the note and bar arrays as an ``.npz`` (read with ``allow_pickle=False``) and
the title, part names, tempi, metres and notated end as JSON inside it.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable

import numpy as np

from xai import sandbox
from xai.symbolic import music

__all__ = ["piece_to_bytes", "piece_from_bytes", "parse"]

_ARRAYS = {"onsets": np.float64, "durations": np.float64, "pitches": np.int16, "velocities": np.int16,
           "parts": np.int16, "bar_starts": np.float64, "bar_numbers": np.int64}
_NOTE_ARRAYS = ("onsets", "durations", "pitches", "velocities", "parts")


def piece_to_bytes(piece: music.Piece) -> bytes:
    """A piece as ``.npz`` bytes (its arrays, plus its other fields as JSON), without its source.

    The source is left out on purpose: the parent holds the upload already, and the answer stays small.
    """
    meta = {"title": piece.title, "part_names": list(piece.part_names), "tempi": [list(t) for t in piece.tempi],
            "time_signatures": [[float(b), str(s)] for b, s in piece.time_signatures], "end": piece.end,
            "warnings": [str(w) for w in getattr(piece, "warnings", ())]}
    buf = io.BytesIO()
    extra = {} if getattr(piece, "pedal", None) is None else {"pedal": np.asarray(piece.pedal, np.float64).reshape(-1, 2)}
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
             **{k: np.asarray(getattr(piece, k), dtype=t) for k, t in _ARRAYS.items()}, **extra)
    return buf.getvalue()


def piece_from_bytes(data: bytes, *, source: music.Source | None = None) -> music.Piece:
    """The piece :func:`piece_to_bytes` wrote, with ``source`` attached; ValueError when the data is malformed."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: np.asarray(npz[k], dtype=t) for k, t in _ARRAYS.items()}
        meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
        pedal = np.asarray(npz["pedal"], dtype=np.float64).reshape(-1, 2) if "pedal" in npz.files else None
    n = arrays["pitches"].shape
    if any(arrays[k].ndim != 1 or arrays[k].shape != n for k in _NOTE_ARRAYS) or \
            arrays["bar_starts"].shape != arrays["bar_numbers"].shape:
        raise ValueError("the arrays of a piece do not match")
    end = meta.get("end")
    extra = {}
    if "warnings" in {f.name for f in dataclasses.fields(music.Piece)}:  # how the file was read, in sentences
        extra["warnings"] = tuple(str(w) for w in meta.get("warnings", ()))
    if pedal is not None:  # the sustain pedal of a MIDI performance (xai.symbolic.music.from_midi)
        extra["pedal"] = pedal
    return music.Piece(
        title=str(meta["title"]),
        part_names=tuple(str(p) for p in meta["part_names"]),
        tempi=tuple((float(b), float(q)) for b, q in meta["tempi"]),
        time_signatures=tuple((float(b), str(s)) for b, s in meta["time_signatures"]),
        end=None if end is None else float(end),
        source=source,
        **arrays,
        **extra,
    )


def parse(loader: Callable[[bytes, dict], bytes] | str, data: bytes, options: dict, *,
          budget: sandbox.Budget = sandbox.DEFAULT_BUDGET, what: str = "This file",
          source: music.Source | None = None) -> music.Piece:
    """Run ``loader(data, options)`` (which returns :func:`piece_to_bytes`) in a sandboxed child; the piece.

    Parameters
    ----------
    loader : callable or str
        A module-level function (or its ``'module:name'``) that parses the upload and returns the piece's bytes.
    data : bytes
        The upload.
    options : dict
        Plain JSON data for the loader (the file name, the limits).
    budget : sandbox.Budget
        CPU seconds, memory and wall-clock time the parsing may take.
    what : str
        How messages name the file ("'song.abc'").
    source : Source, optional
        Attached to the piece (the child does not send the upload back).

    Returns
    -------
    Piece

    Raises
    ------
    InputError
        The loader refused the file, or the parsing went over budget (:class:`xai.sandbox.OverBudget`).
    """
    answer = sandbox.run(loader, data, options, budget=budget, what=what)
    try:
        return piece_from_bytes(answer, source=source)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise sandbox.WorkerError("the parser's answer is not a piece") from exc
