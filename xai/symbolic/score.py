"""Engraving: the score of a piece (or of some of its bars) as SVG pages, with verovio.

Notated input (MusicXML, ABC, Humdrum) keeps its original file in ``piece.source``; engraving goes back to
that file rather than to the piece's notes, so spelling, beaming, voices and the printed bar numbers are the
composer's (or editor's), and the bars shown for a window are the bars its numbers cite. Bar ranges are cut
with music21 (``Score.measures``), whose bar numbers are the ones :class:`xai.symbolic.music.Piece` uses.
music21 and verovio are imported where they are used (each takes seconds to import).
"""

from __future__ import annotations

import logging
import re
import tempfile
from importlib.resources import files
from pathlib import Path

from xai._scratch import use_private_scratch
from xai.errors import InputError, ParameterError
from xai.symbolic import fidelity, music

__all__ = ["engrave", "highlight"]

_SUFFIX = {"musicxml": ".musicxml", "mxl": ".mxl", "abc": ".abc", "humdrum": ".krn"}
_NOT_DRAWN = "This score could not be drawn; the piano roll shows its notes."
_log = logging.getLogger(__name__)


def _is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _kind(source: music.Source) -> str:
    """'mxl' for compressed MusicXML, else the source's format."""
    fmt = source.format.lower()
    if fmt in ("musicxml", "mxl", "xml"):
        return "mxl" if _is_zip(source.data) else "musicxml"
    return fmt


def _parse(source: music.Source, kind: str):
    """Parse the original file with music21 (first score of an opus), through a private temporary file.

    The file goes into a folder of this user only (``tempfile`` makes it mode 700), and music21 is told neither to
    pickle what it parsed nor to look for an old pickle (by default it keeps one in a scratch folder every user of
    the machine shares, and loads it back at the next parse of the same path); its scratch folder is the
    installation's private one all the same (:func:`xai._scratch.use_private_scratch`).
    """
    from music21 import converter, stream

    use_private_scratch()
    if kind == "abc":  # the tune the piece was read from, its fields read as the loader reads them
        text = fidelity.first_abc_tune(fidelity.decode_text(source.data))
        score = converter.parseData(fidelity.normalise_abc(text), format="abc")
        fidelity.repair_score(score, fidelity.read_fields(source.data, "abc"))
        return score.scores[0] if isinstance(score, stream.Opus) and len(score.scores) else score
    with tempfile.TemporaryDirectory(prefix="musicxai-") as tmp:
        path = Path(tmp) / f"score{_SUFFIX.get(kind, '')}"
        path.write_bytes(source.data)
        score = converter.parse(str(path), format=None if kind in _SUFFIX else kind, forceSource=True,
                                storePickle=False)
    if isinstance(score, stream.Opus):
        scores = list(score.scores)
        if not scores:
            raise InputError("The file holds no score to engrave.")
        score = scores[0]
    return score


def _renumber_like(score, piece: music.Piece) -> None:
    """Give music21's bars the piece's numbers: bar by bar where each part has as many bars as the piece (a Humdrum
    score that starts at bar 115, an ABC tune counted past its repeats), else shifted by the first bar's difference
    (music21's ABC reader counts a full first bar as 0)."""
    from music21 import stream

    parts = list(score.parts) if len(score.parts) else [score]
    first = next(iter(parts[0].getElementsByClass(stream.Measure)), None)
    if first is None or not piece.bar_numbers.size:
        return
    per_part = [list(p.getElementsByClass(stream.Measure)) for p in parts]
    if all(len(ms) == piece.bar_numbers.size for ms in per_part):
        for ms in per_part:
            for m, n in zip(ms, piece.bar_numbers.tolist(), strict=True):
                m.number = int(n)
        return
    shift = int(piece.bar_numbers[0]) - int(first.number)
    if shift:
        for m in score.recurse().getElementsByClass(stream.Measure):
            m.number = int(m.number) + shift


def _excerpt_musicxml(piece: music.Piece, kind: str, start_bar: int | None, end_bar: int | None) -> str:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    score = _parse(piece.source, kind)
    _renumber_like(score, piece)
    if start_bar is not None or end_bar is not None:
        first = start_bar if start_bar is not None else int(piece.bar_numbers.min())
        score = score.measures(first, end_bar)
        if not score.recurse().getElementsByClass("Measure"):
            raise InputError(f"The score has no bars numbered {first}–{end_bar}.")
    data = GeneralObjectExporter(score).parse()
    return data.decode("utf-8") if isinstance(data, bytes) else str(data)


def engrave(
    piece: music.Piece,
    *,
    start_bar: int | None = None,
    end_bar: int | None = None,
    width: int = 2100,
    scale: int = 35,
    max_pages: int | None = None,
) -> list[str]:
    """Engrave the score of a piece, or of bars ``start_bar`` to ``end_bar``, as SVG pages.

    Without a bar range, MusicXML and Humdrum go to verovio as they are (fast); ABC, and any bar range, go
    through music21 first. The SVGs carry a viewBox, so they scale to the width of whatever shows them.

    Parameters
    ----------
    piece : Piece
        A piece loaded from a notated file (``piece.source.is_scored``).
    start_bar, end_bar : int, optional
        First and last bar to show (inclusive), by the numbers printed in the score. One of them alone means
        "from the start" or "to the end".
    width : int
        Page width in verovio units (tenths of a millimetre before scaling); wider pages fit more bars a line.
    scale : int
        Size of the notation in percent; smaller fits more music on a page.
    max_pages : int, optional
        Stop after this many pages (a long piece can run to dozens).

    Returns
    -------
    list of str
        One SVG document per page.

    Raises
    ------
    InputError
        The piece has no score (MIDI input) or the score cannot be engraved.
    """
    src = piece.source
    _check_request(src, width, scale, start_bar, end_bar)
    tk = _toolkit(width, scale, bars=start_bar is not None or end_bar is not None)
    try:
        ok = _load(tk, piece, _kind(src), start_bar, end_bar)
    except InputError:
        raise
    except Exception as e:  # music21 and verovio raise many kinds of errors on odd files
        _log.warning("Engraving failed for '%s' (sha256 %s, bars %s-%s): %r", src.name, src.sha256, start_bar,
                     end_bar, e)
        raise InputError(_NOT_DRAWN) from e
    if not ok or tk.getPageCount() < 1:
        _log.warning("Engraving failed for '%s' (sha256 %s, bars %s-%s): verovio drew no page", src.name,
                     src.sha256, start_bar, end_bar)
        raise InputError(_NOT_DRAWN)
    n = tk.getPageCount()
    if max_pages is not None:
        n = min(n, max(1, int(max_pages)))
    return [tk.renderToSVG(i) for i in range(1, n + 1)]


def _check_request(src: music.Source | None, width, scale, start_bar, end_bar) -> None:
    """Refuse a piece with no score (MIDI input), page sizes out of range, or a bar range given backwards."""
    if src is None or not src.is_scored:
        raise InputError(
            "This piece came from a MIDI file, which has no written score to show; the piano roll shows its notes."
        )
    if not 100 <= width <= 60000:
        raise ParameterError(f"The 'width' parameter must be an int in [100, 60000], got {width!r}.")
    if not 1 <= scale <= 1000:
        raise ParameterError(f"The 'scale' parameter must be an int in [1, 1000], got {scale!r}.")
    if start_bar is not None and end_bar is not None and start_bar > end_bar:
        raise InputError(f"Bar {start_bar} comes after bar {end_bar}; give the range from first to last.")


def _toolkit(width: int, scale: int, *, bars: bool):
    """A verovio toolkit with its fonts found and the page options set (bar numbers on every bar of an excerpt)."""
    import verovio  # imported here: the engraver is only loaded when a score is shown

    # Verovio keeps its fonts per thread: a toolkit made in a thread other than the one that imported it
    # (Streamlit runs pages in such threads) finds no fonts unless its resource path is set explicitly.
    tk = verovio.toolkit(False)
    if not tk.setResourcePath(str(files("verovio") / "data")):
        raise InputError("The music fonts of the score engraver (verovio) are missing; reinstall verovio.")
    # The Python binding takes a dict (it serialises it itself).
    tk.setOptions(
        {
            "pageWidth": int(width),
            "scale": int(scale),
            "adjustPageHeight": True,
            "header": "none",
            "footer": "none",
            "breaks": "auto",
            "svgViewBox": True,
            "mnumInterval": 1 if bars else 0,
            # bar and staff numbers on the SVG groups, so bars can be marked afterwards (:func:`highlight`)
            "svgAdditionalAttribute": ["measure@n", "staff@n"],
        }
    )
    return tk


def _load(tk, piece: music.Piece, kind: str, start_bar: int | None, end_bar: int | None) -> bool:
    """Hand the score to verovio: the file itself for a whole MusicXML or Humdrum score, else through music21."""
    src = piece.source
    whole = start_bar is None and end_bar is None
    if whole and kind in ("mxl", "musicxml", "humdrum"):
        # Unpacked and decoded here (a score saved as UTF-16 reaches verovio as garbage otherwise); the XML
        # declaration goes, as it would name the encoding the text no longer has.
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", fidelity.decode_text(src.data), count=1)
        if tk.loadData(text) and tk.getPageCount() > 0:
            return True
    return tk.loadData(_excerpt_musicxml(piece, kind, start_bar, end_bar))


def highlight(svgs: list[str], marks, *, n_parts: int | None = None) -> list[str]:
    """Mark bars, or one voice in some bars, on engraved pages: the marked notes are drawn in colour.

    ``marks`` is a sequence of ``(bar_number, part_index_or_None, colour)``: bar numbers as printed (the
    ``n`` verovio writes on each measure), part indices as in :attr:`xai.symbolic.music.Piece.parts`. A part maps to a
    staff only when the score has one staff per part (``n_parts`` equal to the staves of a system); otherwise,
    and for ``None``, the whole bar is coloured. Returns new SVG strings; the inputs are not changed. The marks
    are a CSS rule inside each SVG, so they travel with it into reports and images.
    """
    rules = []
    for bar, part, colour in marks:
        if not re.fullmatch(r"#[0-9A-Fa-f]{3,8}", str(colour)):
            raise ParameterError(f"A highlight colour must be a hex colour such as '#D94801', got {colour!r}.")
        rules.append((int(bar), None if part is None else int(part), colour))
    out = []
    for svg in svgs:
        staves = max((int(n) for n in re.findall(r'class="staff" data-n="(\d+)"', svg)), default=0)
        css = []
        for bar, part, colour in rules:
            staff = f' g.staff[data-n="{part + 1}"]' if part is not None and n_parts and staves == n_parts else ""
            css.append(f'g.measure[data-n="{bar}"]{staff} g.layer{{fill:{colour};stroke:{colour};color:{colour}}}')
        if not css:
            out.append(svg)
            continue
        style = "<style>" + "".join(css) + "</style>"
        out.append(re.sub(r"(<svg\b[^>]*>)", lambda m, style=style: m.group(1) + style, svg, count=1))
    return out
