"""Pieces of the music21 corpus by their id, with a score to engrave: the source of every shipped excerpt.

The shipped excerpt sets (concept discovery, built-in concepts) name their pieces by music21 corpus path,
e.g. ``'bach/bwv66.6.mxl'``; a tune inside a collection file carries its number, ``'essenFolksong/kinder0.abc#12'``
(the 13th score of that opus). :func:`load_piece` parses such a piece with music21 (the corpus ships inside
music21, nothing is downloaded), writes it once as MusicXML under ``$MUSICXAI_CACHE/scores`` and returns it
through the same loader as an upload, so :func:`xai.symbolic.score.engrave` can print any of its bars by the numbers
the excerpt cites.

music21 is imported where it is used: it takes seconds to import, and a piece read once comes from the cache.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from xai._scratch import use_private_scratch
from xai.errors import InputError
from xai.symbolic import io as xio
from xai.symbolic import music, score

__all__ = ["load_piece", "engrave_bars", "scores_dir"]


def scores_dir() -> Path:
    """Where corpus pieces are kept as MusicXML once parsed: ``$MUSICXAI_CACHE/scores``."""
    return Path(os.environ.get("MUSICXAI_CACHE", Path.home() / ".cache" / "musicxai")) / "scores"


def _safe(piece_id: str) -> str:
    """The piece id as a cache file name (no length limit: ids must not collide)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in piece_id)


def _musicxml(piece_id: str) -> bytes:
    """Parse a corpus piece with music21 and write it as MusicXML bytes."""
    from music21 import corpus, stream
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    path, _, number = piece_id.partition("#")
    use_private_scratch()  # music21 pickles what it parses: into this installation's own folder, not /tmp
    try:
        s = corpus.parse(path)
    except Exception as e:  # music21 raises many kinds of errors for a missing or odd corpus file
        raise InputError(f"The corpus piece '{piece_id}' could not be read from music21's corpus ({type(e).__name__}).") from e
    if isinstance(s, stream.Opus):
        scores = list(s.scores)
        k = int(number) if number.isdigit() else 0
        if not 0 <= k < len(scores):
            raise InputError(f"The corpus file '{path}' has no tune number {k}.")
        s = scores[k]
    elif number and number != "0":
        raise InputError(f"The corpus file '{path}' holds one piece, so it has no tune number {number}.")
    data = GeneralObjectExporter(s).parse()
    return data if isinstance(data, bytes) else str(data).encode("utf-8")


def load_piece(piece_id: str) -> music.Piece:
    """A corpus piece, titled by its id, with its MusicXML as source (parsed once, then read from the cache).

    Raises
    ------
    InputError
        The piece is not in music21's corpus or cannot be read.
    """
    cache = scores_dir() / f"{_safe(piece_id)}.musicxml"
    data = None
    if cache.exists():
        data = cache.read_bytes()
    if not data:
        data = _musicxml(piece_id)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, cache)
        except OSError:  # a read-only cache only costs a parse next time
            pass
    # The corpus is trusted and some of it is long (a late Beethoven quartet runs past the upload limit).
    limits = xio.Limits(max_bytes=200_000_000, max_notes=2_000_000, max_minutes=600.0)
    piece = xio.load_bytes(data, cache.name, limits=limits)
    return replace(piece, title=piece_id)


def engrave_bars(piece_id: str, start_bar: int, end_bar: int, *, width: int = 1400, scale: int = 40) -> list[str]:
    """SVG pages of bars ``start_bar`` to ``end_bar`` of a corpus piece, kept on disk once engraved.

    Parsing a long corpus piece takes seconds (a late Beethoven quartet, most of a minute, the first time), so
    the pages are cached next to the MusicXML.

    Raises
    ------
    InputError
        The piece cannot be read or those bars cannot be engraved.
    """
    cache = scores_dir() / f"{_safe(piece_id)}.bars{int(start_bar)}-{int(end_bar)}.w{width}s{scale}.json"
    if cache.exists():
        try:
            pages = json.loads(cache.read_text(encoding="utf-8"))
            if isinstance(pages, list) and pages and all(isinstance(p, str) for p in pages):
                return pages
        except (OSError, ValueError):
            pass
    pages = score.engrave(load_piece(piece_id), start_bar=int(start_bar), end_bar=int(end_bar), width=width,
                          scale=scale)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(pages), encoding="utf-8")
    except OSError:
        pass
    return pages
