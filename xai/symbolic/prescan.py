"""Cheap checks of an upload before any parser runs: its size in events, its metres and its tempi.

A parser's cost is set by what a file says, not by its size: a 121-byte MIDI file with a 1/65536 time signature
asks for a bar line every 1/16384 of a beat, a 38-byte ABC tune with ``M:99999999/4`` for bars of 100 million
beats, a 25-kB ``.mxl`` for 200,000 rests; music21's ABC reader slows down with the square of a tune's length.
Each function here reads a file once, in time proportional to its size and without building anything big,
counts what the parser would have to build (MIDI events and notes, written notes and rests, bars, spines) and
checks the values that decide memory (metres, note lengths, divisions) and the ones that are divided by (tempi),
so the known bombs are refused in milliseconds with a plain sentence. What slips through still runs under a
time and memory budget (:mod:`xai.sandbox`).

Bounds (one set for every format)
---------------------------------
- a metre is ``n/d`` with ``n`` (or the sum of ``2+3+2``) from 1 to :data:`MAX_NUMERATOR` and ``d`` a power of
  two from 1 to :data:`MAX_DENOMINATOR`;
- a tempo is above 0 and at most :data:`MAX_QPM` beats a minute;
- notes and rests written in a score: at most :data:`MAX_WRITTEN` for MusicXML, :data:`MAX_KERN_TOKENS` for
  Humdrum and :data:`MAX_ABC_NOTES` for ABC (what music21 reads in a few seconds); a MIDI file at most
  :data:`MAX_MIDI_EVENTS` events, each delta time at most 4 bytes long (the MIDI standard's own limit).

Every refusal is an :class:`~xai.errors.InputError` naming the file, the value and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xai.errors import InputError

__all__ = [
    "MAX_NUMERATOR",
    "MAX_DENOMINATOR",
    "MAX_QPM",
    "MAX_MIDI_EVENTS",
    "MAX_WRITTEN",
    "MAX_MEASURES",
    "MAX_KERN_TOKENS",
    "MAX_ABC_NOTES",
    "MidiScan",
    "scan_midi",
    "scan_musicxml",
    "scan_abc",
    "scan_humdrum",
    "check_metre",
    "check_tempo",
]

MAX_NUMERATOR = 255  # beats in a bar: a MIDI byte's most; real cadenzas are written 65/4, 85/32 or 175/4
MAX_DENOMINATOR = 64  # a sixty-fourth-note beat
MAX_QPM = 1000.0  # beats a minute; MIDI tempo at least 60,000 microseconds a beat
MAX_MIDI_EVENTS = 500_000  # mido reads about this many in a few seconds
MAX_WRITTEN = 15_000  # MusicXML <note> elements (notes, rests, chord tones, grace notes)
MAX_MEASURES = 20_000  # MusicXML <measure> elements, all parts together
MAX_ELEMENTS = 2_000_000  # MusicXML elements of any kind
MAX_PARTS = 64
MAX_DIVISIONS = 1_000_000  # MusicXML ticks a quarter note
MAX_NOTE_QUARTERS = 4096  # the longest single duration in quarters (a long rest of 1,024 bars of 4/4)
MAX_KERN_TOKENS = 6_000  # Humdrum notes and rests (music21's Humdrum reader is the slowest of the three)
MAX_KERN_SPINES = 64
MAX_ABC_NOTES = 2_500  # music21's ABC reader takes time growing with the square of the tune's length
MAX_ABC_NUMBER = 1024  # a note length multiplier or divisor, a tuplet size, a multi-bar rest

_METRE_ADVICE = (f"this tool reads metres of 1 to {MAX_NUMERATOR} beats of a whole to a 1/{MAX_DENOMINATOR} note "
                 "(such as 3/4, 6/8 or 7/16); correct it in your music program and upload the file again.")


def check_metre(numerator: int, denominator: int, name: str, where: str, *, written: str | None = None) -> None:
    """Refuse a metre whose bar would be absurdly long or short (plain sentence naming ``where`` it is written).

    Parameters
    ----------
    numerator, denominator : int
        The metre as written (``denominator`` the note value of a beat, not its exponent).
    name : str
        The file's name, for the message.
    where : str
        Where in the file the metre is ("an M: line", "a time-signature event").
    written : str, optional
        The metre as the file writes it, for the message (default ``numerator/denominator``); a value that
        is not a number is passed as -1.
    """
    ok_den = 1 <= denominator <= MAX_DENOMINATOR and denominator & (denominator - 1) == 0
    if not (1 <= numerator <= MAX_NUMERATOR and ok_den):
        shown = _short(written) if written is not None else f"{_short(numerator)}/{_short(denominator)}"
        raise InputError(f"'{name}' has a metre of {shown} in {where}; " + _METRE_ADVICE)


def check_tempo(qpm: float, name: str, where: str) -> None:
    """Refuse a tempo of zero, below zero or above :data:`MAX_QPM` beats a minute."""
    if not 0 < qpm <= MAX_QPM:
        raise InputError(
            f"'{name}' has a tempo of {_short(qpm)} beats a minute in {where}; this tool reads tempi above 0 and up "
            f"to {MAX_QPM:g}; correct it in your music program and upload the file again."
        )


def _short(v) -> str:
    """A number as a musician would read it, shortened when it is absurdly long."""
    s = f"{v:g}" if isinstance(v, float) else str(v)
    return s if len(s) <= 12 else s[:10] + "…"


def _too_many(name: str, n: int, what: str, cap: int, fmt: str, *, stopped: bool = True) -> InputError:
    """``stopped``: the count stopped once past ``cap``, so the file has at least ``n`` (shown as 'n+')."""
    return InputError(
        f"'{name}' has {n:,}{'+' if stopped else ''} {what}, more than the {cap:,} this tool reads in {fmt}; "
        "upload a shorter piece or an excerpt."
    )


def _bad_value(name: str, what: str, value: str, where: str) -> InputError:
    return InputError(f"'{name}' has {what} of {_short(value)} in {where}, which no score needs; correct it in "
                      "your music program and upload the file again.")


# --- MIDI --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MidiScan:
    """What a walk over a MIDI file's bytes found: ``events`` counted, ``notes`` (note-ons with a velocity)."""

    events: int
    notes: int


def scan_midi(data: bytes, name: str, *, max_events: int = MAX_MIDI_EVENTS) -> MidiScan:
    """Walk a MIDI file's chunks and events without decoding them into objects; refuse the dangerous values.

    Checked: every delta time and length is at most 4 bytes long (a longer one overflows the reader), every
    tempo is above 0 and at most :data:`MAX_QPM` (one of 0 divides by zero), every time signature has a
    numerator of at least 1 and a denominator exponent up to 6 (1/64; 2**255 or 1/65536 build bar lines without
    end), and there are at most ``max_events`` events. What is merely damaged (a truncated
    track, a wrong chunk) is left to the MIDI reader, which refuses it with its own sentence.

    Parameters
    ----------
    data : bytes
        The whole file (its header already checked by the caller).
    name : str
        The file's name, for messages.
    max_events : int
        Most events in all tracks together (default :data:`MAX_MIDI_EVENTS`).

    Returns
    -------
    MidiScan
        The counts, for callers that want them.

    Raises
    ------
    InputError
        A value above, or more than ``max_events`` events.
    """
    pos, events, notes = 14 if data[:4] == b"MThd" else 0, 0, 0
    if pos:
        pos = 8 + int.from_bytes(data[4:8], "big")
    while pos + 8 <= len(data):
        kind, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
        start, end = pos + 8, min(pos + 8 + size, len(data))
        if kind == b"MTrk":
            events, notes = _scan_track(data, start, end, name, (events, notes), max_events)
        pos = start + size
    return MidiScan(events=events, notes=notes)


def _varlen(data: bytes, pos: int, end: int, name: str) -> tuple[int, int]:
    """A variable-length number at ``pos`` and the position after it; more than 4 bytes is refused."""
    value = 0
    for i in range(4):
        if pos + i >= end:
            return value, end
        b = data[pos + i]
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, pos + i + 1
    raise InputError(f"'{name}' has a time or length value longer than the MIDI standard allows (more than 4 "
                     "bytes), so it is damaged or was built to cause trouble; export it again from your music "
                     "program and upload the new file.")


def _scan_track(data: bytes, pos: int, end: int, name: str, counts: tuple[int, int],
                max_events: int) -> tuple[int, int]:
    """(events, notes) so far plus one track's bytes ``data[pos:end]``, checking delta times, tempi and metres."""
    events, notes = counts
    running = 0
    while pos < end:
        _, pos = _varlen(data, pos, end, name)
        if pos >= end:
            break
        status = data[pos]
        events += 1
        if events > max_events:
            raise _too_many(name, events, "events (notes, controllers, settings)", max_events, "a MIDI file")
        if status == 0xFF:
            if pos + 1 >= end:
                break
            meta = data[pos + 1]
            length, pos = _varlen(data, pos + 2, end, name)
            _check_meta(meta, data[pos:min(pos + length, end)], name)
            pos += length
        elif status in (0xF0, 0xF7):
            length, pos = _varlen(data, pos + 1, end, name)
            pos += length
        else:
            if status & 0x80:
                running, pos = status, pos + 1
            elif not running:
                break  # data bytes with no status: damaged; the MIDI reader will say so
            size = 1 if running & 0xF0 in (0xC0, 0xD0) else 2
            if running & 0xF0 == 0x90 and pos + 1 < end and data[pos + 1] > 0:
                notes += 1
            pos += size
    return events, notes


def _check_meta(meta: int, payload: bytes, name: str) -> None:
    if meta == 0x51 and len(payload) >= 3:
        tempo = int.from_bytes(payload[:3], "big")
        if tempo == 0:
            raise InputError(f"'{name}' has a tempo event of 0 microseconds a beat (an endless tempo), which no "
                             "music has; correct the tempo in your music program and upload the file again.")
        check_tempo(60_000_000 / tempo, name, "a tempo event")
    elif meta == 0x58 and len(payload) >= 2:
        exponent = payload[1]
        check_metre(payload[0], 2 ** min(exponent, 64), name, "a time-signature event")


# --- MusicXML ----------------------------------------------------------------------------------------------------

_XML_NOTE = re.compile(r"<note[\s>/]")
_XML_MEASURE = re.compile(r"<measure[\s>/]")
_XML_ELEMENT = re.compile(r"<[A-Za-z]")
_XML_PART = re.compile(r"<score-part[\s>/]")
_XML_TIME = re.compile(r"<time\b[^>]*>(.*?)</time>", re.S)
_XML_BEATS = re.compile(r"<beats>\s*([^<]*?)\s*</beats>")
_XML_BEAT_TYPE = re.compile(r"<beat-type>\s*([^<]*?)\s*</beat-type>")
_XML_DIVISIONS = re.compile(r"<divisions>\s*([^<]*?)\s*</divisions>")
_XML_DURATION = re.compile(r"<duration>\s*([^<]*?)\s*</duration>")
_XML_TEMPO = re.compile(r"<sound\b[^>]*\btempo\s*=\s*[\"']([^\"']*)[\"']")
_XML_PER_MINUTE = re.compile(r"<per-minute>\s*([^<]*?)\s*</per-minute>")
_XML_TUPLET = re.compile(r"<(?:actual|normal)-notes>\s*([^<]*?)\s*</(?:actual|normal)-notes>")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def scan_musicxml(text: str, name: str, *, max_written: int = MAX_WRITTEN) -> int:
    """Count a MusicXML score's notes, bars, parts and elements and check its metres, tempi and durations.

    Regular expressions over the text, so the cost is a few passes over the string whatever it holds.

    Parameters
    ----------
    text : str
        The score's XML (unpacked and decoded).
    name : str
        The file's name, for messages.
    max_written : int
        Most ``<note>`` elements (notes, rests, chord tones; default :data:`MAX_WRITTEN`).

    Returns
    -------
    int
        The number of ``<note>`` elements.

    Raises
    ------
    InputError
        Too many notes, bars, parts or elements; a metre, tempo, division, duration or tuplet no score needs.
    """
    fmt = "a MusicXML score"
    for pattern, what, cap in ((_XML_NOTE, "written notes and rests", max_written),
                               (_XML_MEASURE, "bars (all parts together)", MAX_MEASURES),
                               (_XML_PART, "parts", MAX_PARTS),
                               (_XML_ELEMENT, "XML elements", MAX_ELEMENTS)):
        n = _count(pattern, text, cap)
        if n > cap:
            raise _too_many(name, n, what, cap, fmt)
    for body in _XML_TIME.findall(text):
        beats, types = _XML_BEATS.findall(body), _XML_BEAT_TYPE.findall(body)
        for b, t in zip(beats, types):
            check_metre(_sum(b), _int(t), name, "a <time> element", written=f"{b}/{t}")
    divisions = [_num(v) for v in _XML_DIVISIONS.findall(text)]
    for d in divisions:
        if not 0 < d <= MAX_DIVISIONS:
            raise _bad_value(name, "a <divisions> value", f"{d:g}", "its attributes")
    fewest = min(divisions, default=1.0)
    for v in _XML_DURATION.findall(text):
        if not 0 <= _num(v) <= MAX_NOTE_QUARTERS * fewest:
            raise _bad_value(name, "a <duration>", v, "a note")
    for v in _XML_TEMPO.findall(text) + _XML_PER_MINUTE.findall(text):
        m = _NUMBER.search(v)
        if m is not None:  # a per-minute may be words ('c. 60'); only a number is checked
            check_tempo(float(m.group()), name, "a tempo mark")
    for v in _XML_TUPLET.findall(text):
        if not 0 < _num(v) <= MAX_ABC_NUMBER:
            raise _bad_value(name, "a tuplet", v, "a note")
    return _count(_XML_NOTE, text, max_written)


def _count(pattern: re.Pattern, text: str, cap: int) -> int:
    """How many matches, stopping one past ``cap`` (a bomb need not be counted to its end)."""
    n = 0
    for _ in pattern.finditer(text):
        n += 1
        if n > cap:
            break
    return n


def _num(v: str) -> float:
    m = _NUMBER.fullmatch(v.strip())
    return float(m.group()) if m else -1.0


def _int(v: str) -> int:
    v = v.strip()
    return int(v) if v.isdigit() and len(v) <= 30 else -1


def _sum(v: str) -> int:
    """A metre's numerator, '3' or '3+2+2' (an additive metre), as one number; -1 when it is neither."""
    parts = [p.strip() for p in v.split("+")]
    return sum(_int(p) for p in parts) if all(p.isdigit() and len(p) <= 30 for p in parts) else -1


# --- ABC ---------------------------------------------------------------------------------------------------------

_ABC_FIELD_LINE = re.compile(r"(?m)^[ \t]*([A-Za-z+]):(.*)$")
_ABC_INLINE_FIELD = re.compile(r"\[([A-Za-z]):([^\]\n]*)\]")
_ABC_STRIP = re.compile(r'%[^\n]*|"[^"\n]*"|![^!\n]*!|\+[^+\n\s]*\+')
_ABC_NOTE = re.compile(r"[A-Ga-gzx]")
_ABC_NUMBERS = re.compile(r"[A-Ga-gzxZ][,']*(\d+)|/(\d+)|\((\d+)")
_ABC_METRE = re.compile(r"^\(?\s*(\d[\d+\s]*)\)?\s*/\s*(\d+)\s*$")
_ABC_LENGTH = re.compile(r"^(\d+)\s*/\s*(\d+)$|^(\d+)$")
_ABC_TEMPO = re.compile(r"=\s*(\d+(?:\.\d*)?)|^\s*(\d+(?:\.\d*)?)\s*$")


def scan_abc(text: str, name: str, *, max_notes: int = MAX_ABC_NOTES) -> int:
    """Count an ABC tune's notes and check its metres (``M:``), note lengths (``L:``), tempi (``Q:``) and numbers.

    Parameters
    ----------
    text : str
        The tune (with the file header), as the loader hands it to music21.
    name : str
        The file's name, for messages.
    max_notes : int
        Most notes and rests (default :data:`MAX_ABC_NOTES`).

    Returns
    -------
    int
        The notes and rests counted.

    Raises
    ------
    InputError
        Too many notes; a metre, note length, tempo, note-length number or tuplet no tune needs.
    """
    fields = [(m.group(1), m.group(2)) for m in _ABC_FIELD_LINE.finditer(text)]
    fields += [(m.group(1), m.group(2)) for m in _ABC_INLINE_FIELD.finditer(text)]
    for key, value in fields:
        _check_abc_field(key.upper(), value.strip(), name)
    body = "\n".join(line for line in text.splitlines() if not _ABC_FIELD_LINE.match(line))
    body = _ABC_STRIP.sub(" ", _ABC_INLINE_FIELD.sub(" ", body))
    n = _count(_ABC_NOTE, body, max_notes)
    if n > max_notes:
        raise _too_many(name, n, "notes and rests", max_notes, "an ABC tune")
    for m in _ABC_NUMBERS.finditer(body):
        v = next(g for g in m.groups() if g is not None)
        if len(v) > 6 or int(v) > MAX_ABC_NUMBER:
            raise _bad_value(name, "a note length or tuplet", v, "the tune")
    return n


def _check_abc_field(key: str, value: str, name: str) -> None:
    if key == "M":
        if value.upper() in ("", "C", "C|", "NONE"):
            return
        m = _ABC_METRE.match(value)
        if m is not None:
            check_metre(_sum(m.group(1)), _int(m.group(2)), name, "an M: line", written=value)
        elif value.isdigit():
            check_metre(_int(value), 1, name, "an M: line", written=value)
    elif key == "L":
        m = _ABC_LENGTH.match(value)
        if m is not None:
            num, den = (m.group(1), m.group(2)) if m.group(3) is None else (m.group(3), "1")
            if not (1 <= _int(num) <= MAX_NUMERATOR and 1 <= _int(den) <= MAX_ABC_NUMBER):
                raise _bad_value(name, "a note length", value, "an L: line")
    elif key == "Q":
        m = _ABC_TEMPO.search(value)
        if m is not None:
            check_tempo(float(m.group(1) or m.group(2)), name, "a Q: line")
        for num, den in re.findall(r"(\d+)\s*/\s*(\d+)", value.split("=")[0]):
            if not (1 <= _int(num) <= MAX_NUMERATOR and 1 <= _int(den) <= MAX_ABC_NUMBER):
                raise _bad_value(name, "a tempo's note value", f"{num}/{den}", "a Q: line")


# --- Humdrum -----------------------------------------------------------------------------------------------------

_KERN_METRE = re.compile(r"^\*M(\d[\d+]*)/(\d+)")
_KERN_TEMPO = re.compile(r"^\*MM(\d+(?:\.\d*)?)")
_KERN_RECIP = re.compile(r"^[\[(&{<>]*(\d+)(?:%(\d+))?\.*[a-gA-Gr]")


def scan_humdrum(text: str, name: str, *, max_tokens: int = MAX_KERN_TOKENS) -> int:
    """Count a Humdrum file's notes and rests and check its metres (``*M``), tempi (``*MM``) and durations.

    Parameters
    ----------
    text : str
        The file's text.
    name : str
        The file's name, for messages.
    max_tokens : int
        Most notes, rests and chord tones (default :data:`MAX_KERN_TOKENS`).

    Returns
    -------
    int
        The notes and rests counted.

    Raises
    ------
    InputError
        Too many notes or spines; a metre, tempo or duration no score needs.
    """
    n = 0
    for line in text.splitlines():
        if not line or line.startswith("!"):
            continue
        cells = line.split("\t")
        if len(cells) > MAX_KERN_SPINES:
            raise _too_many(name, len(cells), "spines", MAX_KERN_SPINES, "a Humdrum score", stopped=False)
        if line.startswith("*"):
            for cell in cells:
                _check_kern_interpretation(cell, name)
            continue
        if line.startswith("="):
            continue
        for cell in cells:
            for token in cell.split(" "):
                if token and token != "." and not token.startswith("!"):
                    n += 1
                    _check_kern_duration(token, name)
        if n > max_tokens:
            raise _too_many(name, n, "notes and rests", max_tokens, "a Humdrum score")
    return n


def _check_kern_interpretation(cell: str, name: str) -> None:
    m = _KERN_TEMPO.match(cell)
    if m is not None:
        check_tempo(float(m.group(1)), name, "a *MM line")
        return
    m = _KERN_METRE.match(cell)
    if m is not None:
        check_metre(_sum(m.group(1)), _int(m.group(2)), name, "a *M line", written=cell[2:])


def _check_kern_duration(token: str, name: str) -> None:
    m = _KERN_RECIP.match(token)
    if m is None:
        return
    recip, ratio = m.group(1), m.group(2)
    zeros = len(recip) - len(recip.lstrip("0"))
    if len(recip) > 6 or int(recip) > MAX_ABC_NUMBER or zeros > 3 or (ratio is not None and (
            len(ratio) > 6 or not 0 < int(ratio) <= MAX_ABC_NUMBER)):
        raise _bad_value(name, "a note length", token[:20], "a **kern spine")
