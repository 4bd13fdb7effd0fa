"""Load and validate an uploaded score or MIDI file into a :class:`~xai.symbolic.music.Piece`.

Uploads come from strangers, so every file is checked before the slow part: the format is chosen from the
file extension (case-insensitive, see :data:`SUPPORTED_EXTENSIONS`), the size is checked before anything is
parsed, and a MIDI file is scanned and read with mido (fast; music21's MIDI translation is slow on big files). Every
problem raises :class:`~xai.errors.InputError` with one plain sentence that names the file, says what is wrong
and what to do; parser errors are never shown on their own (they stay attached as the error's ``__cause__``).
mido and music21 are imported in the functions that use them (music21 takes seconds to import; a MIDI upload
never needs it). The first steps every upload takes (bytes, name, size) are shared with the audio loader
(:mod:`xai._upload`).

Limits
------
The default :data:`DEFAULT_LIMITS` (a :class:`Limits`) are:

- ``max_bytes = 10_000_000``: an upload may be at most 10 MB (a compressed ``.mxl`` may unpack to at most
  10 times that);
- ``max_notes = 50_000``: at most 50,000 notes (a MusicXML file with more than twice as many written notes is
  refused before it is parsed; tied notes count once in the piece);
- ``max_minutes = 30.0``: at most 30 minutes long at the file's own tempo (and at most
  ``max_minutes * 480`` beats, so a freak tempo cannot smuggle in an endless score);
- ``max_tracks = 64``: a MIDI file may have at most 64 tracks;
- ``cpu_seconds = 10.0`` and ``memory_mb = 768``: parsing runs in a child process (:mod:`xai.sandbox`) that is
  stopped after 10 s of processor time or when it needs 768 MB more than it starts with.

Before any parser runs, :mod:`xai.symbolic.prescan` reads the file once, cheaply, and refuses what no score
needs: metres beyond 64 beats or a 1/64 beat, tempi of 0 or above 1,000 beats a minute, MIDI delta times longer
than the standard's 4 bytes, more than 500,000 MIDI events, and scores that music21 could not read in a few
seconds (more than 15,000 written notes and rests in MusicXML, 6,000 in Humdrum, 2,500 in an ABC tune).

Formats
-------
- MIDI (``.mid``, ``.midi``): type 0 and 1 files; drum notes (channel 10) are left out, as the model reads
  pitched notes.
- MusicXML (``.xml``, ``.musicxml`` as text, ``.mxl`` compressed; either is recognised by its content).
- ABC (``.abc``): only the first tune of a file with several is read.
- Humdrum (``.krn``): ``**kern`` spines.

The title is the score's own title where it has one, else the file name without its extension. The upload is
kept, byte for byte, as the piece's :class:`~xai.symbolic.music.Source` (with its SHA-256), so the score can be
engraved later and its origin cited; for a compressed score that is the zip archive, with format
``'musicxml'`` and the name (and so the ``.mxl`` extension) as uploaded.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import math
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from xml.etree import ElementTree

from xai import sandbox
from xai._upload import check_upload, format_for, identify, read_upload
from xai.errors import InputError, ParameterError, XaiError, check_int
from xai.symbolic import bounded, fidelity, music, prescan

__all__ = ["SUPPORTED_EXTENSIONS", "Limits", "DEFAULT_LIMITS", "load", "load_bytes", "annotations_beside",
           "with_annotations_file"]

SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".mid": "midi",
    ".midi": "midi",
    ".xml": "musicxml",
    ".mxl": "musicxml",
    ".musicxml": "musicxml",
    ".abc": "abc",
    ".krn": "humdrum",
}

_FORMATS_SENTENCE = "Upload MIDI (.mid), MusicXML (.xml, .mxl, .musicxml), ABC (.abc) or Humdrum (.krn)."
_WHAT = {"midi": "a MIDI file", "musicxml": "a MusicXML score", "abc": "an ABC tune", "humdrum": "a Humdrum score"}
_MAX_QPM = 480.0  # beats per minute allowed on average: max_minutes * this bounds a piece's length in beats
_MXL_EXPANSION = 10  # a compressed .mxl may unpack to this many times max_bytes
_PITCH_SLACK = 2  # MusicXML pre-check: tied notes are merged later, so allow this many written notes per note
_DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0
_MUSIC21_PLACEHOLDER_TITLES = {"music21 fragment", "music21"}

@dataclass(frozen=True)
class Limits:
    """How large an upload may be; checked before and after parsing so a huge file fails fast.

    Parameters
    ----------
    max_bytes : int
        Largest file size in bytes (default 10 MB).
    max_notes : int
        Most notes in the piece (default 50,000).
    max_minutes : float
        Longest playing time in minutes at the file's tempo (default 30).
    max_tracks : int
        Most tracks in a MIDI file (default 64).
    cpu_seconds : float
        Processor time the parsing may take, in a child process stopped past it (default 10 s).
    memory_mb : int
        Memory the parsing may add to what its process starts with, in MB (default 768).
    """

    max_bytes: int = 10_000_000
    max_notes: int = 50_000
    max_minutes: float = 30.0
    max_tracks: int = 64
    cpu_seconds: float = 10.0
    memory_mb: int = 768

    def __post_init__(self):
        check_int("max_bytes", self.max_bytes, 1, 2**40)
        check_int("max_notes", self.max_notes, 1, 10**8)
        check_int("max_tracks", self.max_tracks, 1, 65_535)
        m = self.max_minutes
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or m <= 0:
            raise ParameterError(f"The 'max_minutes' parameter must be a positive number, got {m!r}.")
        object.__setattr__(self, "max_minutes", float(m))
        sandbox.Budget(cpu_seconds=self.cpu_seconds, memory_mb=self.memory_mb)  # refuses nonsense, in its words

    @property
    def budget(self) -> sandbox.Budget:
        """The time and memory the parsing of one upload may take."""
        return sandbox.Budget(cpu_seconds=self.cpu_seconds, memory_mb=self.memory_mb)


DEFAULT_LIMITS = Limits()


def load(path, *, limits: Limits = DEFAULT_LIMITS) -> music.Piece:
    """Read a score or MIDI file from disk into a :class:`~xai.symbolic.music.Piece`.

    The extension and size are checked before the file is read, so a wrong or huge file costs nothing.

    Parameters
    ----------
    path : str, os.PathLike or binary file-like
        The file (or an open file, named by its ``name``); its extension chooses the format (see
        :data:`SUPPORTED_EXTENSIONS`).
    limits : Limits
        Size limits (default :data:`DEFAULT_LIMITS`).

    Returns
    -------
    Piece
        The piece, with the file kept as its ``source``.

    Raises
    ------
    InputError
        The file is missing, unreadable, of an unsupported format, too large, or holds no usable music.
    """
    _check_limits(limits)
    data, name = read_upload(path, max_bytes=limits.max_bytes, check_name=_format_for,
                             too_big=lambda n, size: _too_big(n, size, limits))
    piece = load_bytes(data, name, limits=limits)
    beside = annotations_beside(path)
    return with_annotations_file(piece, beside) if beside is not None else piece


def annotations_beside(path) -> Path | None:
    """``<stem>_annotations.txt`` next to a MIDI performance on disk (ASAP's beat annotations), if there is one."""
    if not isinstance(path, (str, os.PathLike)):
        return None
    p = Path(path)
    if p.suffix.lower() not in (".mid", ".midi"):
        return None
    cand = p.with_name(p.stem + "_annotations.txt")
    return cand if cand.is_file() else None


def with_annotations_file(piece: music.Piece, path) -> music.Piece:
    """A performance with its bars from a beat-annotation file; the piece unchanged when the file cannot be read.

    Annotations are a help, never a reason to refuse the music: a file too big, unreadable or without downbeats
    leaves the piece as it was (a performance's windows are then cited by seconds).
    """
    try:
        p = Path(path)
        if p.stat().st_size > 2_000_000:
            return piece
        return music.with_annotations(piece, p.read_text(encoding="utf-8", errors="replace"))
    except (OSError, InputError):
        return piece


def load_bytes(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS) -> music.Piece:
    """Parse an uploaded file's bytes into a :class:`~xai.symbolic.music.Piece`, checking it on the way.

    Every file is first pre-scanned (:mod:`xai.symbolic.prescan`: metres, tempi, events and notes counted) in
    this process, then parsed in a child process under ``limits.cpu_seconds`` and ``limits.memory_mb``
    (:mod:`xai.sandbox`), so that no file can take more than its budget. There, a MIDI file is first scanned
    with mido for its tracks, notes, drums and length, so that a huge or
    empty file is refused before any time is spent on it, and is then read directly from its ticks
    (:func:`~xai.symbolic.music.from_midi`). Notated formats are checked to look like their format before music21
    parses them. After conversion the piece must have pitched notes and stay within
    ``limits``. An ABC file with several tunes gives its first tune (music21 would return an opus, whose first
    score :func:`~xai.symbolic.music.from_music21` takes).

    Parameters
    ----------
    data : bytes
        The file's contents.
    filename : str
        The file's name as uploaded; its extension chooses the format, and it names the file in messages.
    limits : Limits
        Size limits (default :data:`DEFAULT_LIMITS`).

    Returns
    -------
    Piece
        The piece, titled from the score (else the file name without extension), with
        ``Source.from_bytes(name, format, data)`` as its ``source``.

    Raises
    ------
    InputError
        With one sentence for the user: unsupported format, empty, too large, unreadable, no pitched notes,
        only drums, or too many notes, tracks or minutes.
    """
    _check_limits(limits)
    data, name = check_upload(data, filename, max_bytes=limits.max_bytes, check_name=_format_for,
                              too_big=lambda n, size: _too_big(n, size, limits))
    fmt = _format_for(name)
    _prescan(data, name, fmt, limits)
    # The parsing itself runs in a child process stopped past the time and memory budget (xai.sandbox).
    return bounded.parse(_load_in_child, data, {"name": name, "limits": dataclasses.asdict(limits)},
                         budget=limits.budget, what=f"'{name}'", source=music.Source.from_bytes(name, fmt, data))


def _prescan(data: bytes, name: str, fmt: str, limits: Limits) -> None:
    """The cheap checks, in this process: header, size in events or notes, metres and tempi (plain refusals)."""
    if fmt == "midi":
        _check_midi_header(data, name, limits)
        prescan.scan_midi(data, name)
    elif fmt == "musicxml":
        _musicxml_text(data, name, limits)
    elif fmt == "abc":
        _abc_text(data, name)
    else:
        _humdrum_text(data, name)


def _load_in_child(data: bytes, options: dict) -> bytes:
    """In the sandbox's child: the upload parsed into a piece, as :func:`xai.symbolic.bounded.piece_to_bytes`."""
    name, limits = options["name"], Limits(**options["limits"])
    return bounded.piece_to_bytes(_load_checked(data, name, _format_for(name), limits))


_WARM_UP = {
    "warm.mid": b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x0d"
                b"\x00\x90\x3c\x50\x83\x60\x80\x3c\x00\x00\xff\x2f\x00",
    "warm.abc": b"X:1\nT:Warm\nM:4/4\nL:1/8\nQ:1/4=100\nK:G\nGABc dedB|\n",
    "warm.krn": b"**kern\n*M4/4\n*MM100\n=1\n4c\n4e\n2g\n*-\n",
    "warm.xml": b'<?xml version="1.0"?><score-partwise version="3.1"><part-list><score-part id="P1"><part-name>W'
                b'</part-name></score-part></part-list><part id="P1"><measure number="1"><attributes><divisions>1'
                b"</divisions><time><beats>4</beats><beat-type>4</beat-type></time></attributes><note><pitch><step>"
                b"C</step><octave>4</octave></pitch><duration>4</duration></note></measure></part></score-partwise>",
}


def _warm_up() -> None:
    """Read a tiny file of each format once: the sandbox's zygote calls this, so its children start warm."""
    for name, data in _WARM_UP.items():
        bounded.piece_to_bytes(_load_checked(data, name, _format_for(name), DEFAULT_LIMITS))


# The sandbox's zygotes import these once and read one tiny file of each format, so an upload costs a fork.
sandbox.preload("xai.symbolic.io", "music21", "mido", warm="xai.symbolic.io:_warm_up")


def _load_checked(data: bytes, name: str, fmt: str, limits: Limits) -> music.Piece:
    """Parse and check an upload (the whole of it, as the parent saw it; the parent attaches its own source)."""
    source = music.Source.from_bytes(name, fmt, data)
    if fmt == "midi":
        midi_file = _precheck_midi(data, name, limits)
        piece = music.from_midi(midi_file, title=PurePath(name).stem or name, source=source)
        piece = _as_written(piece, fidelity.read_fields(data, fmt))
        _check_piece(piece, name, limits)
        return piece
    elif fmt == "musicxml":
        score = _parse(_musicxml_text(data, name, limits), "musicxml", name)
    elif fmt == "abc":
        score = _parse(fidelity.normalise_abc(_abc_text(data, name)), "abc", name)
    else:
        score = _parse(_humdrum_text(data, name), "humdrum", name)

    fields = fidelity.read_fields(data, fmt)
    try:
        fidelity.repair_score(score, fields)
        piece = music.from_music21(score, title=_title(score, name), source=source)
    except XaiError:
        raise
    except Exception as exc:  # music21 objects can be malformed in ways only conversion finds
        raise _unreadable(name, fmt) from exc
    piece = _as_written(piece, fields)
    _check_piece(piece, name, limits)
    return piece


def _as_written(piece: music.Piece, fields) -> music.Piece:
    """The piece mended to what its file says (tempo, bar numbers, title), with the reading's warnings kept."""
    piece, reading = fidelity.correct(piece, fields)
    return dataclasses.replace(piece, warnings=reading.warnings) if reading.warnings else piece


# --- dispatch and shared checks -------------------------------------------------------------------------------


def _check_limits(limits) -> None:
    if not isinstance(limits, Limits):
        raise ParameterError(f"The 'limits' parameter must be a Limits, got {type(limits).__name__}.")


def _format_for(name: str) -> str:
    return format_for(name, SUPPORTED_EXTENSIONS, kind="a format", sentence=_FORMATS_SENTENCE)


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{int(n)} bytes"


def _too_big(name: str, size: int, limits: Limits) -> InputError:
    got, limit = _size(size), _size(limits.max_bytes)
    if got == limit:  # just over the limit: rounding would make both read the same
        got, limit = f"{size:,} bytes", f"{limits.max_bytes:,} bytes"
    return InputError(
        f"'{name}' is {got}, more than the {limit} this tool accepts; upload a smaller file or an excerpt of the piece."
    )


def _too_many_notes(name: str, n: int, limits: Limits) -> InputError:
    return InputError(
        f"'{name}' has {n:,} notes, more than the {limits.max_notes:,} this tool reads; "
        "upload a shorter piece or an excerpt."
    )


def _too_long(name: str, minutes: float, limits: Limits) -> InputError:
    return InputError(
        f"'{name}' lasts {minutes:.1f} minutes, longer than the {limits.max_minutes:g}-minute limit; "
        "upload a shorter piece or an excerpt."
    )


def _too_many_beats(name: str, beats: float, limits: Limits) -> InputError:
    return InputError(
        f"'{name}' spans {beats:,.0f} beats, more than the {limits.max_minutes * _MAX_QPM:,.0f} this tool reads; "
        "upload a shorter piece or an excerpt."
    )


def _unreadable(name: str, fmt: str) -> InputError:
    return InputError(
        f"'{name}' could not be read as {_WHAT[fmt]} (it may be damaged or use features this tool does not "
        "support); open it in your music program, export it again and upload the new file."
    )


def _parse(payload, fmt: str, name: str):
    """Parse with music21, turning any of its errors into one sentence for the user."""
    from music21 import converter

    try:
        return converter.parseData(payload, format=fmt)
    except Exception as exc:  # music21 raises many unrelated types (and plain bugs) on bad input
        raise _unreadable(name, fmt) from exc


def _title(score, name: str) -> str:
    """The score's own title (first score of an opus first), else the file name without its extension."""
    from music21 import exceptions21, stream

    candidates = [score]
    if isinstance(score, stream.Opus) and len(score.scores):
        candidates.insert(0, score.scores[0])
    for s in candidates:
        md = getattr(s, "metadata", None)
        if md is None:
            continue
        try:
            title = md.bestTitle
        except (exceptions21.Music21Exception, AttributeError, TypeError, ValueError, KeyError, IndexError):
            continue  # odd metadata is no reason to refuse the music
        if isinstance(title, str) and title.strip() and title.strip().lower() not in _MUSIC21_PLACEHOLDER_TITLES:
            title = title.strip()
            # Exports often put the file name in the title ("bwv66.6.mxl"): show it without the extension.
            return PurePath(title).stem if PurePath(title).suffix.lower() in SUPPORTED_EXTENSIONS else title
    return PurePath(name).stem or name


def _check_piece(piece: music.Piece, name: str, limits: Limits) -> None:
    if piece.n_notes == 0:
        raise InputError(
            f"'{name}' contains no pitched notes this tool can read (drums, rests and grace notes are left "
            "out); upload a file with melody or harmony parts."
        )
    if piece.n_notes > limits.max_notes:
        raise _too_many_notes(name, piece.n_notes, limits)
    if piece.length > limits.max_minutes * _MAX_QPM:
        raise _too_many_beats(name, piece.length, limits)
    minutes = piece.duration_seconds / 60.0
    if minutes > limits.max_minutes:
        raise _too_long(name, minutes, limits)


def _wrong_kind(name: str, what: str, fmt: str) -> InputError:
    if what == _WHAT["midi"]:
        todo = "rename it to end in .mid and upload it again."
    else:
        todo = "upload" + _FORMATS_SENTENCE.removeprefix("Upload")
    return InputError(f"'{name}' looks like {what}, not {_WHAT[fmt]}; {todo}")


# --- MIDI ------------------------------------------------------------------------------------------------------


def _precheck_midi(data: bytes, name: str, limits: Limits):
    """Refuse a MIDI file that is damaged, empty, drums only or over the limits; return the parsed file.

    The length in seconds is worked out here from the tempo changes (as mido's ``MidiFile.length`` does, but
    without copying every message, which is the slow part of that property on large files).
    """
    _check_midi_header(data, name, limits)
    mf = _read_midi(data, name)
    n_notes, n_pitched, end_tick, tempos = _scan_midi(mf)
    if n_notes == 0:
        raise InputError(
            f"'{name}' contains no notes (only tempo, text or other settings); upload a file with the music in it."
        )
    if n_pitched == 0:
        raise InputError(
            f"'{name}' contains only drums (MIDI channel 10), but this tool reads pitched notes; "
            "upload a file with melody or harmony parts."
        )
    if n_notes > limits.max_notes:
        raise _too_many_notes(name, n_notes, limits)
    beats = end_tick / mf.ticks_per_beat
    if beats > limits.max_minutes * _MAX_QPM:
        raise _too_many_beats(name, beats, limits)
    minutes = _midi_seconds(end_tick, mf.ticks_per_beat, tempos) / 60.0
    if minutes > limits.max_minutes:
        raise _too_long(name, minutes, limits)
    return mf


def _check_midi_header(data: bytes, name: str, limits: Limits) -> None:
    """Refuse a file that is not MIDI (named for what it is) or whose header is damaged or has too many tracks."""
    if not data.startswith(b"MThd"):
        what = identify(data)
        if what is not None:
            raise _wrong_kind(name, what, "midi")
        raise _damaged_midi(name)
    # The header (length 6: format, track count, division) states the track count: refuse a file with
    # thousands of tracks before parsing any.
    if len(data) < 14 or int.from_bytes(data[4:8], "big") != 6 or int.from_bytes(data[8:10], "big") > 2:
        raise _damaged_midi(name)
    if int.from_bytes(data[10:12], "big") > limits.max_tracks:
        raise _too_many_tracks(name, int.from_bytes(data[10:12], "big"), limits)


def _read_midi(data: bytes, name: str):
    """The file parsed by mido, refused when damaged, of type 2 or without a usable beat division."""
    import mido

    try:
        mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as exc:  # mido raises EOFError, OSError, KeyError, ValueError... on damaged files
        raise _damaged_midi(name) from exc
    if mf.type == 2:
        raise InputError(
            f"'{name}' is a type 2 MIDI file (a set of separate patterns), which this tool cannot read; "
            "save it as a type 0 or type 1 MIDI file and upload that."
        )
    if not isinstance(mf.ticks_per_beat, int) or mf.ticks_per_beat <= 0:
        raise _damaged_midi(name)
    return mf


def _scan_midi(mf) -> tuple[int, int, int, list[tuple[int, int]]]:
    """(notes, pitched notes, last tick, tempo changes as (absolute tick, microseconds per beat)) of every track."""
    n_notes = n_pitched = end_tick = 0
    tempos: list[tuple[int, int]] = []
    for track in mf.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on":
                if msg.velocity > 0:
                    n_notes += 1
                    n_pitched += msg.channel != _DRUM_CHANNEL
            elif kind == "set_tempo":
                tempos.append((tick, msg.tempo))
        end_tick = max(end_tick, tick)
    return n_notes, n_pitched, end_tick, tempos


def _midi_seconds(end_tick: int, tpb: int, tempos: list[tuple[int, int]]) -> float:
    """Seconds from tick 0 to ``end_tick`` under the tempo changes of all tracks (120 bpm until the first)."""
    seconds, last_tick, tempo = 0.0, 0, 500_000
    for tick, new_tempo in sorted(tempos, key=lambda t: t[0]):
        if tick >= end_tick:
            break
        seconds += (tick - last_tick) * tempo / (1e6 * tpb)
        last_tick, tempo = tick, new_tempo
    return seconds + (end_tick - last_tick) * tempo / (1e6 * tpb)


def _damaged_midi(name: str) -> InputError:
    return InputError(
        f"'{name}' is not a readable MIDI file (it may be damaged or truncated); "
        "export it again from your music program and upload the new file."
    )


def _too_many_tracks(name: str, n: int, limits: Limits) -> InputError:
    return InputError(
        f"'{name}' has {n:,} tracks, more than the {limits.max_tracks} this tool reads; "
        "merge or delete tracks in your music program and upload it again."
    )


# --- text formats ----------------------------------------------------------------------------------------------

_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _decode(data: bytes, name: str, fmt: str) -> str:
    """Decode a text upload (BOM, XML declaration, UTF-8, else Latin-1), refusing binary files."""
    what = identify(data)
    if what is not None:
        raise _wrong_kind(name, what, fmt)
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError as exc:
                raise _not_text(name, fmt) from exc
    if b"\x00" in data:
        raise _not_text(name, fmt)
    m = _XML_ENCODING.match(data.lstrip())
    for enc in ([m.group(1).decode("ascii")] if m else []) + ["utf-8"]:
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")  # old ABC and Humdrum files often are; every byte decodes


def _not_text(name: str, fmt: str) -> InputError:
    return InputError(
        f"'{name}' is not a text file, so it cannot be {_WHAT[fmt]}; check that you picked the right file."
    )


def _musicxml_text(data: bytes, name: str, limits: Limits) -> str:
    """The MusicXML text of an upload, unpacked first if it is compressed (.mxl, whatever its extension)."""
    xml = _unzip_mxl(data, name, limits) if data.startswith(b"PK\x03\x04") else data
    text = _decode(xml, name, "musicxml").lstrip("\ufeff")
    if "<score-partwise" not in text:
        if "<score-timewise" in text:
            raise InputError(
                f"'{name}' is a 'timewise' MusicXML file, which this tool cannot read; export it again from "
                "your notation program as standard (partwise) MusicXML."
            )
        raise InputError(
            f"'{name}' does not look like a MusicXML score (it has no <score-partwise> element); export the "
            "score from your notation program as MusicXML and upload that."
        )
    # Each written pitched note has a <pitch>; refuse a giant score before music21 spends minutes on it.
    written = len(re.findall(r"<pitch[\s>]", text))
    if written > _PITCH_SLACK * limits.max_notes:
        raise _too_many_notes(name, written, limits)
    prescan.scan_musicxml(text, name)
    return text


def _unzip_mxl(data: bytes, name: str, limits: Limits) -> bytes:
    """The score inside a compressed MusicXML archive, as named by its container (else its first .xml)."""
    cap = _MXL_EXPANSION * limits.max_bytes
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            member = _mxl_rootfile(zf)
            if member is None:
                raise InputError(
                    f"'{name}' is a zip archive with no MusicXML score inside; export the score from your "
                    "notation program as MusicXML and upload that."
                )
            if member.file_size > cap:
                raise _too_big_unpacked(name, member.file_size, cap)
            with zf.open(member) as fh:
                xml = fh.read(cap + 1)  # the stated size may lie; never unpack more than the cap
            if len(xml) > cap:
                raise _too_big_unpacked(name, len(xml), cap)
            return xml
    except XaiError:
        raise
    except Exception as exc:  # BadZipFile, zlib errors, encrypted or unsupported members, truncation
        raise InputError(
            f"'{name}' is not a readable compressed MusicXML (.mxl) file (it may be damaged or truncated); "
            "export it again from your notation program and upload the new file."
        ) from exc


def _mxl_rootfile(zf: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    names = {i.filename: i for i in zf.infolist() if not i.is_dir()}
    if "META-INF/container.xml" in names:
        try:
            root = ElementTree.fromstring(zf.read("META-INF/container.xml"))
            for rf in root.iter():
                path = rf.get("full-path") if rf.tag.rsplit("}", 1)[-1] == "rootfile" else None
                if path in names and path.lower().endswith((".xml", ".musicxml")):
                    return names[path]
        except ElementTree.ParseError:
            pass  # a broken container still leaves the score itself to find below
    for fname, info in names.items():
        if not fname.startswith("META-INF/") and fname.lower().endswith((".xml", ".musicxml")):
            return info
    return None


def _too_big_unpacked(name: str, size: int, cap: int) -> InputError:
    return InputError(
        f"'{name}' unpacks to {_size(size)} of MusicXML, more than the {_size(cap)} this tool reads; "
        "upload a shorter piece or an excerpt."
    )


_ABC_FIELD = re.compile(r"(?m)^[ \t]*[XK]:")
_ABC_TUNE_START = re.compile(r"(?m)^(?=X:)")
_ABC_LENGTH_OR_METRE = re.compile(r"(?m)^[ \t]*[LM]:")
_ABC_KEY = re.compile(r"(?m)^[ \t]*K:")


def _abc_text(data: bytes, name: str) -> str:
    """The ABC text of the file's first tune (with the file header), so a big collection parses fast.

    A tune with neither ``L:`` nor ``M:`` gets ``L:1/8``, the default the ABC standard gives it and music21
    does not.
    """
    text = _decode(data, name, "abc")
    if not _ABC_FIELD.search(text):
        raise InputError(
            f"'{name}' does not look like an ABC tune (ABC tunes start with header lines such as 'X:1' and "
            "'K:G'); check that you picked the right file."
        )
    parts = _ABC_TUNE_START.split(text)
    tune = text if len(parts) <= 2 else parts[0] + parts[1]
    key = _ABC_KEY.search(tune)
    if key is not None and not _ABC_LENGTH_OR_METRE.search(tune, 0, key.start()):
        tune = tune[: key.start()] + "L:1/8\n" + tune[key.start() :]
    prescan.scan_abc(tune, name)
    return tune


def _humdrum_text(data: bytes, name: str) -> str:
    text = _decode(data, name, "humdrum")
    if "**kern" not in text:
        raise InputError(
            f"'{name}' does not look like a Humdrum score (it has no **kern spine with notes); "
            "check that you picked the right file."
        )
    prescan.scan_humdrum(text, name)
    return text
