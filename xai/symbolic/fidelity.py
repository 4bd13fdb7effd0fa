"""Read the music right: check a parsed piece against what its own file says, and mend what the parser misread.

music21 reads most files well, but not all of what a musician writes: ABC's ``Q:1/4 = 144`` (spaces around the
``=``) comes out five times too fast, ``K:Dphr ^F`` (a mode with an explicit accidental, standard ABC 2.1) loses
its F sharp, and a Humdrum score whose first bar is bar 115 comes out starting at bar 1. This module reads the
header fields from the file's own text or bytes (tempo, key and mode with explicit accidentals, metre, pickup,
bar numbers, title, composer, lyricist) into :class:`Fields`, mends the music21 score where a misreading can
only be undone there (:func:`normalise_abc`, :func:`repair_score`), and compares the finished
:class:`~xai.symbolic.music.Piece` with the fields (:func:`check`), correcting what it can (:func:`correct`).

What it finds is a :class:`Reading`: one :class:`Check` per field (what the file says, what was read, whether
they agree), the corrections made, and plain warnings for the musician where a value is implausible (a tempo
outside 20-400 quarter notes a minute, a key signature the notes contradict), each naming the value used.

This runs *after* parsing: the file has already been accepted by :mod:`xai.symbolic.io`'s checks, so the
readers here are forgiving (a field they cannot read is simply absent) and never raise on odd text.
"""

from __future__ import annotations

import codecs
import dataclasses
import html
import io
import re
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import PurePath
from xml.etree import ElementTree

import numpy as np

from xai.contract import Result
from xai.symbolic import music

__all__ = [
    "TEMPO_RANGE",
    "Fields",
    "Check",
    "Reading",
    "read_fields",
    "normalise_abc",
    "repair_score",
    "check",
    "correct",
    "key_agreement",
    "is_title",
]

TEMPO_RANGE = (20.0, 400.0)
"""Quarter notes per minute a musician would play; a tempo outside is shown as a warning and not used."""

_TEMPO_TOLERANCE = 0.01  # relative difference between two tempi that still counts as the same tempo
_MAX_XML_CHARS = 200_000_000  # never decode more than this (the loader has already capped uploads far lower)

_SHARP_ORDER = "FCGDAEB"
_FLAT_ORDER = "BEADGCF"
_STEP_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_MAJOR_SHARPS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7,
                 "F": -1, "Bb": -2, "Eb": -3, "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7,
                 "G#": 8, "D#": 9, "A#": 10, "E#": 11, "B#": 12, "Fb": -8}
_MODE_SHIFT = {"maj": 0, "ion": 0, "mix": -1, "dor": -2, "aeo": -3, "min": -3, "m": -3, "phr": -4, "loc": -5,
               "lyd": 1}
_MODE_NAME = {"maj": "major", "ion": "ionian", "mix": "mixolydian", "dor": "dorian", "aeo": "aeolian",
              "min": "minor", "m": "minor", "phr": "phrygian", "loc": "locrian", "lyd": "lydian"}
_ALTER_SIGN = {1: "♯", -1: "♭", 0: "♮", 2: "𝄪", -2: "𝄫"}

# Labels that name a voice, a section or a placeholder, never a piece.
_NOT_TITLES = re.compile(
    r"""^(?:canto|cant|can|alto|altus|tenor|tenore|basso|bassus|quinto|quintus|sesto|soprano|cantus|
    score|full\s+score|part|voice|piano|violin|viola|cello|music21(?:\s+fragment)?|untitled|title|
    first\s+section|second\s+section|third\s+section|prima\s+parte|seconda\s+parte|terza\s+parte|
    section\s+\w+|[ivxlc]+\.?|\d+\.?|coda|[a-z]\.\s*coda)$""",
    re.IGNORECASE | re.VERBOSE,
)
# "G.B. Guarini", "M.Moro", "W.A. Mozart": initials then a surname is a person, not a title.
_CATALOGUE = re.compile(r"^(?:K|KV|BWV|Op|Opus|Hob|D|WoO|RV|HWV)\.?\s*\d", re.IGNORECASE)
_PERSON = re.compile(r"^(?:[A-Z]\.\s*){1,3}(?:[a-z]+\s+)?[A-Z][A-Za-z'\-]+$")


# --- results -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fields(Result):
    """What a file says about itself, read from its own text (or MIDI bytes), not through music21.

    Every field is empty (``""``, ``None`` or ``()``) where the file does not say.

    Attributes
    ----------
    format : str
        ``'abc'``, ``'musicxml'``, ``'humdrum'`` or ``'midi'``.
    title : str
        The piece's title as a musician would name it: work and movement (``"Missa Ut re mi fa sol la:
        Sanctus"``), never a poet, a voice label or a section label; empty when the file has no such title.
    composer, lyricist : str
        As the file names them (lyricist includes a poet).
    tempi : tuple of float
        Every tempo the file writes, in quarter notes per minute, in the order written (the first is the
        opening tempo).
    tempo_marks : tuple of str
        The tempo fields as written (``"Q:1/4 = 144"``, ``"*MM72"``, ``"<sound tempo=88>"``), for messages.
    key : str
        The written key, e.g. ``"D phrygian ^F"``.
    key_signature : tuple of tuple of (str, int)
        The written signature as (step, alteration) pairs, explicit accidentals included: ``(("B", -1),
        ("E", -1), ("F", 1))`` for ``K:Dphr ^F``. ``None``-like empty tuple with ``key == ""`` means unknown.
    key_explicit : tuple of tuple of (str, int)
        The accidentals written beside the key (ABC), which music21 does not read.
    metre : str
        The first time signature, ``"6/8"`` (``"4/4"`` for common time).
    bar_numbers : tuple of int
        The bar numbers the source prints, in order (MusicXML ``measure/@number``, Humdrum ``=N``); empty for ABC
        and MIDI, whose bars are counted (1, 2, 3, ... with a pickup as bar 0).
    first_bar : int or None
        The first bar's number, where the file says it.
    pickup : bool or None
        Whether the music starts with an incomplete bar, where that can be told from the file.
    """

    format: str
    title: str = ""
    composer: str = ""
    lyricist: str = ""
    tempi: tuple[float, ...] = ()
    tempo_marks: tuple[str, ...] = ()
    key: str = ""
    key_signature: tuple[tuple[str, int], ...] = ()
    key_explicit: tuple[tuple[str, int], ...] = ()
    metre: str = ""
    bar_numbers: tuple[int, ...] = ()
    first_bar: int | None = None
    pickup: bool | None = None


@dataclass(frozen=True)
class Check(Result):
    """One field compared: what the file says, what was read, and whether they agree.

    ``ok`` is None where there is nothing to compare (the file does not say).
    """

    name: str
    ok: bool | None
    file_says: str
    read: str
    message: str = ""


@dataclass(frozen=True)
class Reading(Result):
    """How faithfully a piece was read from its file.

    Attributes
    ----------
    fields : Fields
        What the file says.
    checks : tuple of Check
        One per field compared (``tempo``, ``key``, ``metre``, ``first bar``, ``bar numbers``, ``title``),
        after any correction.
    corrections : tuple of str
        What :func:`correct` mended, in words (a misread tempo, bar numbers, the title).
    warnings : tuple of str
        Plain sentences for the musician, each naming the value used (an implausible tempo, a key signature
        the notes contradict).
    """

    fields: Fields
    checks: tuple[Check, ...] = ()
    corrections: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no check disagrees."""
        return all(c.ok is not False for c in self.checks)

    def check_named(self, name: str) -> Check | None:
        """The check called ``name``, or None."""
        return next((c for c in self.checks if c.name == name), None)


# --- decoding ------------------------------------------------------------------------------------------------------


def _xml_bytes(data: bytes) -> bytes:
    """The MusicXML document of a file, unpacked from a compressed ``.mxl`` when it is one."""
    if not data.startswith(b"PK\x03\x04"):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [i for i in zf.infolist() if not i.is_dir()]
            member = None
            if any(i.filename == "META-INF/container.xml" for i in names):
                try:
                    root = ElementTree.fromstring(zf.read("META-INF/container.xml"))
                    paths = [e.get("full-path") for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "rootfile"]
                    member = next((i for i in names if i.filename in paths), None)
                except ElementTree.ParseError:
                    member = None
            if member is None:
                member = next((i for i in names if not i.filename.startswith("META-INF/")
                               and i.filename.lower().endswith((".xml", ".musicxml"))), None)
            if member is None:
                return b""
            with zf.open(member) as fh:
                return fh.read(_MAX_XML_CHARS)
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError):
        return b""


def decode_text(data: bytes) -> str:
    """Text of a notated file: byte-order mark, XML declaration, UTF-8, else Latin-1 (every byte decodes).

    Parameters
    ----------
    data : bytes
        The file's bytes (a compressed ``.mxl`` is unpacked first).

    Returns
    -------
    str
        The text, without a byte-order mark.
    """
    data = _xml_bytes(data)
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace")
    m = re.match(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", data)
    for enc in ([m.group(1).decode("ascii")] if m else []) + ["utf-8"]:
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


# --- reading the fields --------------------------------------------------------------------------------------------


def read_fields(data: bytes, fmt: str) -> Fields:
    """Read what a file says about itself (tempo, key, metre, bars, title, people) from its own bytes.

    Parameters
    ----------
    data : bytes
        The file as handed in (``Piece.source.data``).
    fmt : str
        ``'abc'``, ``'musicxml'``, ``'humdrum'`` or ``'midi'`` (``Piece.source.format``).

    Returns
    -------
    Fields
        What the file says; fields it does not state are empty. Never raises on odd content.
    """
    if fmt == "midi":
        return _midi_fields(data)
    text = decode_text(data)
    if fmt == "abc":
        return _abc_fields(first_abc_tune(text))
    if fmt == "humdrum":
        return _kern_fields(text)
    if fmt == "musicxml":
        return _musicxml_fields(text)
    return Fields(format=str(fmt))


# --- ABC --------------------------------------------------------------------------------------------------------

_ABC_TUNE_START = re.compile(r"(?m)^(?=X:)")
_ABC_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
_ABC_INLINE_FIELD = re.compile(r"\[([KLMQ]):([^\]\n]*)\]")


def first_abc_tune(text: str) -> str:
    """The file header and the first tune of an ABC file (what the loader reads)."""
    parts = _ABC_TUNE_START.split(text)
    return text if len(parts) <= 2 else parts[0] + parts[1]


def _abc_unit(value: str) -> Fraction | None:
    """The unit note length of an ``L:`` field (``1/8``), in whole notes."""
    m = re.match(r"\s*(\d+)\s*/\s*(\d+)", value)
    if not m or int(m.group(2)) == 0:
        return None
    return Fraction(int(m.group(1)), int(m.group(2)))


def _abc_metre(value: str) -> tuple[str, Fraction | None]:
    """A metre field as ``"6/8"`` and its length in whole notes (``C`` is 4/4, ``C|`` is 2/2; ``none`` is free)."""
    v = value.strip()
    if v.startswith("C|"):
        return "2/2", Fraction(1)
    if v.startswith("C"):
        return "4/4", Fraction(1)
    m = re.match(r"\(?\s*([\d+ ]+?)\s*\)?\s*/\s*(\d+)", v)
    if not m:
        return "", None
    try:
        num = sum(int(x) for x in re.split(r"[+ ]+", m.group(1).strip()) if x)
    except ValueError:
        return "", None
    den = int(m.group(2))
    return (f"{num}/{den}", Fraction(num, den)) if den else ("", None)


def _default_unit(metre: Fraction | None) -> Fraction:
    """ABC's default unit note length: 1/16 for metres under 3/4, else 1/8 (also without a metre)."""
    return Fraction(1, 16) if metre is not None and metre < Fraction(3, 4) else Fraction(1, 8)


def abc_tempo(value: str, unit: Fraction) -> float | None:
    """Quarter notes per minute of one ABC ``Q:`` field, read as the ABC 2.1 standard says.

    ``1/4=144``, ``1/4 = 144``, ``"Allegro" 3/8=60``, ``1/4 3/8=40`` (beat of several lengths) and the older
    ``C=120`` / ``C2=120`` (unit note lengths) and ``120`` (unit note lengths per minute) are all read; a tempo
    given only in words (``"Slowly"``) has no number and gives None.
    """
    rest = re.sub(r'"[^"]*"', " ", value).strip()
    if "=" in rest:
        beat_text, _, number_text = rest.partition("=")
        number = re.match(r"\s*(\d+(?:\.\d+)?)", number_text)
        if not number:
            return None
        beat = Fraction(0)
        for token in beat_text.split():
            frac = re.fullmatch(r"(\d+)/(\d+)", token)
            old = re.fullmatch(r"[CL](\d*)", token)
            if frac and int(frac.group(2)):
                beat += Fraction(int(frac.group(1)), int(frac.group(2)))
            elif old:
                beat += unit * (int(old.group(1)) if old.group(1) else 1)
            else:
                return None
        qpm = float(number.group(1)) * float(beat) * 4.0
        return qpm if qpm > 0 else None
    number = re.fullmatch(r"(\d+(?:\.\d+)?)", rest)
    if number:
        return float(number.group(1)) * float(unit) * 4.0
    return None


def _abc_header_and_body(tune: str) -> tuple[list[str], list[str]]:
    """The tune's lines up to and including the first ``K:`` (header), and the rest (body)."""
    lines = tune.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*K:", line):
            return lines[: i + 1], lines[i + 1:]
    return lines, []


def _abc_fields(tune: str) -> Fields:
    header, body = _abc_header_and_body(tune)
    found: dict[str, list[str]] = {}
    for line in header:
        m = _ABC_FIELD_LINE.match(line.strip())
        if m:
            found.setdefault(m.group(1), []).append(m.group(2).strip())
    metre, metre_len = _abc_metre(found["M"][-1]) if "M" in found else ("", None)
    unit = _abc_unit(found["L"][-1]) if "L" in found else None
    unit = unit or _default_unit(metre_len)
    marks, tempi = [], []
    for q in found.get("Q", []):
        marks.append(f"Q:{q}")
        qpm = abc_tempo(q, unit)
        if qpm is not None:
            tempi.append(qpm)
    for line in body:  # tempo changes later in the tune, on their own line or inline
        fields = [(m.group(1), m.group(2)) for m in _ABC_INLINE_FIELD.finditer(line)]
        m = _ABC_FIELD_LINE.match(line.strip())
        if m and m.group(1) in "KLMQ":
            fields.append((m.group(1), m.group(2)))
        for name, value in fields:
            if name == "L":
                unit = _abc_unit(value) or unit
            elif name == "Q":
                marks.append(f"Q:{value.strip()}")
                qpm = abc_tempo(value, unit)
                if qpm is not None:
                    tempi.append(qpm)
    key_text = found["K"][-1] if "K" in found else ""
    key = parse_abc_key(key_text) if key_text else None
    titles = [t for t in found.get("T", []) if t]
    return Fields(
        format="abc",
        title=titles[0] if titles and is_title(titles[0]) else "",
        composer="; ".join(found.get("C", [])),
        lyricist="",
        tempi=tuple(tempi),
        tempo_marks=tuple(marks),
        key=key[0] if key else "",
        key_signature=key[1] if key else (),
        key_explicit=key[2] if key else (),
        metre=metre,
        pickup=_abc_pickup(body, unit, metre_len),
    )


def parse_abc_key(value: str) -> tuple[str, tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]] | None:
    """An ABC ``K:`` field as (description, signature, explicit accidentals).

    The signature is the (step, alteration) pairs the key writes: the tonic and mode's standard signature
    (``Dphr`` = B♭, E♭), changed by any explicit accidentals written after it (``^F`` adds F♯, ``=B`` removes
    the B♭), or only the explicit ones after ``exp``. ``K:none`` and highland-pipe keys (``HP``, ``Hp``) are read
    as ABC defines them. Clef and other settings (``bass``, ``clef=``, ``middle=``, ``-8va``) are ignored.

    Returns
    -------
    tuple or None
        None when the field names no key this reader knows.
    """
    tokens = value.split("%", 1)[0].split()
    if not tokens:
        return None
    head = tokens[0]
    if head.lower() == "none":
        return "none", (), ()
    if head in ("HP", "Hp"):
        sig = () if head == "HP" else (("F", 1), ("C", 1))
        return head, sig, ()
    m = re.match(r"^([A-Ga-g])([#b]?)(.*)$", head)
    explicit_only = False
    if m:
        tonic = m.group(1).upper() + m.group(2)
        rest = [m.group(3)] + tokens[1:] if m.group(3) else tokens[1:]
        mode_word = ""
        if rest and re.match(r"^[A-Za-z]", rest[0]) and not re.match(r"^(?:exp|clef|bass|treble|alto|tenor|"
                                                                       r"middle|transpose|octave|stafflines)",
                                                                       rest[0], re.IGNORECASE):
            mode_word = rest.pop(0)
        mode = next((k for k in sorted(_MODE_SHIFT, key=len, reverse=True) if mode_word.lower().startswith(k)),
                    "maj" if not mode_word else None)
        if mode is None or tonic not in _MAJOR_SHARPS:
            return None
        sharps = _MAJOR_SHARPS[tonic] + _MODE_SHIFT[mode]
        describe = f"{tonic.replace('#', '♯').replace('b', '♭')} {_MODE_NAME[mode]}"
    else:  # no tonic: explicit accidentals only (K:^f _b)
        rest, sharps, describe = tokens, 0, ""
    explicit = []
    for tok in rest:
        if tok.lower() == "exp":
            explicit_only = True
            continue
        acc = re.fullmatch(r"(\^\^|\^|__|_|=)([A-Ga-g])", tok)
        if acc:
            explicit.append((acc.group(2).upper(), {"^^": 2, "^": 1, "__": -2, "_": -1, "=": 0}[acc.group(1)]))
    sig = {} if explicit_only else dict(_signature(sharps))
    for step, alter in explicit:
        if alter:
            sig[step] = alter
        else:
            sig.pop(step, None)
    if not describe and not explicit:
        return None
    words = " ".join(f"{'^' * a if a > 0 else '_' * -a if a < 0 else '='}{s}" for s, a in explicit)
    return (f"{describe} {words}".strip(), tuple(sorted(sig.items(), key=lambda kv: "FCGDAEB".index(kv[0]))),
            tuple(explicit))


def _signature(sharps: int) -> list[tuple[str, int]]:
    """(step, alteration) pairs of a standard signature with ``sharps`` sharps (negative: flats), up to ±14."""
    out: dict[str, int] = {}
    order = _SHARP_ORDER if sharps >= 0 else _FLAT_ORDER
    sign = 1 if sharps >= 0 else -1
    for i in range(abs(int(sharps))):
        step = order[i % 7]
        out[step] = out.get(step, 0) + sign
    return list(out.items())


_ABC_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-gz xZX])([,']*)(\d*)(/*)(\d*)")


def _abc_pickup(body: list[str], unit: Fraction, metre: Fraction | None) -> bool | None:
    """Whether the tune's first bar is shorter than its metre, from the notes before the first bar line.

    A light reading of ABC note lengths (broken rhythms keep their pair's length, tuplets are scaled, chords
    count once, grace notes, decorations, chord symbols and lyrics are skipped); None when it cannot tell.
    """
    if metre is None or metre <= 0:
        return None
    music = []
    for line in body:
        s = line.split("%", 1)[0]
        if not s.strip() or re.match(r"^\s*[A-Za-z]:", s):
            continue
        music.append(s)
    text = " ".join(music)
    text = re.sub(r'"[^"]*"|![^!]*!|\+[^+\s]*\+|\{[^}]*\}|\[[A-Za-z]:[^\]]*\]', " ", text)
    first = re.split(r"\|\]|\|\||\[\||\|:|::|:\||\|\d?", text, maxsplit=1)
    if len(first) < 2:
        return None
    if not first[0].strip():  # the tune starts with a bar line: look at the bar after it
        rest = re.split(r"\|\]|\|\||\[\||\|:|::|:\||\|\d?", first[1], maxsplit=1)
        if len(rest) < 2:
            return None
        first = rest
    length = _abc_length(first[0], unit)
    if length is None or length <= 0:
        return None
    return length < metre * Fraction(95, 100)


def _abc_length(bar: str, unit: Fraction) -> Fraction | None:
    """Length of an ABC fragment in whole notes (see :func:`_abc_pickup`)."""
    bar = re.sub(r"\[([^\]]*)\]", lambda m: m.group(1).split()[0] if m.group(1).split() else "", bar)  # chords
    total = Fraction(0)
    tuplet_left, tuplet_factor = 0, Fraction(1)
    pos = 0
    pending_broken: Fraction | None = None
    previous = Fraction(0)
    while pos < len(bar):
        t = re.match(r"\((\d)(?::(\d)?)?(?::(\d))?", bar[pos:])
        if t:
            p = int(t.group(1))
            q = int(t.group(2)) if t.group(2) else (3 if p in (2, 4, 8) else 2)
            tuplet_left, tuplet_factor = int(t.group(3) or p), Fraction(q, p)
            pos += t.end()
            continue
        if bar[pos] in "<>":
            n = len(re.match(r"[<>]+", bar[pos:]).group(0))
            pending_broken = Fraction(2**n - 1, 2**n) * (1 if bar[pos] == ">" else -1)
            total += pending_broken * previous  # the note before is dotted (>) or shortened (<)
            pos += n
            continue
        m = _ABC_NOTE.match(bar, pos)
        if m and m.group(2).strip():
            num = int(m.group(4)) if m.group(4) else 1
            slashes = len(m.group(5))
            den = int(m.group(6)) if m.group(6) else 2**slashes if slashes else 1
            if den == 0:
                return None
            dur = unit * Fraction(num, den)
            if m.group(2) in "ZX":
                return None  # multi-bar rests: not a pickup question
            if tuplet_left:
                dur *= tuplet_factor
                tuplet_left -= 1
            if pending_broken is not None:  # the previous note took (or gave) this share of the pair
                dur -= pending_broken * dur
                pending_broken = None
            total += dur
            previous = dur
            pos = m.end()
            continue
        pos += 1
    return total


_Q_LINE = re.compile(r"(?m)^([ \t]*Q:)([^\n%]*)")
_Q_INLINE = re.compile(r"\[Q:([^\]\n]*)\]")
_L_ANY = re.compile(r"(?m)^[ \t]*L:([^\n%]*)|\[L:([^\]\n]*)\]")


def normalise_abc(text: str) -> str:
    """ABC text with every ``Q:`` tempo field rewritten so music21 reads it as the ABC standard means it.

    music21 splits a ``Q:`` beat on single spaces, so ``Q:1/4 = 144`` gains an empty beat it counts as a whole
    note (144 whole-and-a-quarter notes a minute, read as 720 quarters), and it reads a bare ``Q:120`` as quarter
    notes where ABC means unit note lengths. Each field with a number becomes ``Q:"text" 1/4=N`` with N in
    quarter notes per minute (a words-only tempo is left as written). A file without a version line is marked
    ABC 2.1, so an accidental holds to the end of its bar as the standard says (music21 reads such a file as
    ABC 1.3, where it holds for one note). Nothing else changes.

    Parameters
    ----------
    text : str
        ABC text (a tune, or a file of tunes).

    Returns
    -------
    str
        The same text with its tempo fields in canonical form.
    """
    metre = re.search(r"(?m)^[ \t]*M:([^\n%]*)", text)
    unit_default = _default_unit(_abc_metre(metre.group(1))[1] if metre else None)
    units = [(m.start(), _abc_unit(m.group(1) if m.group(1) is not None else m.group(2)))
             for m in _L_ANY.finditer(text)]
    for i, tune in enumerate(_ABC_TUNE_START.finditer(text)):
        if i:  # each tune starts again from the default unit
            units.append((tune.start(), None))
    units.sort(key=lambda u: u[0])

    def unit_at(pos: int) -> Fraction:
        unit = None
        for start, u in units:
            if start > pos:
                break
            unit = u
        return unit or unit_default

    def canonical(value: str, pos: int) -> str | None:
        qpm = abc_tempo(value, unit_at(pos))
        if qpm is None:
            return None
        words = " ".join(f'"{w}"' for w in re.findall(r'"([^"]*)"', value))
        return f"{words} 1/4={qpm:g}".strip()

    def line(m: re.Match) -> str:
        new = canonical(m.group(2), m.start())
        return m.group(0) if new is None else m.group(1) + new

    def inline(m: re.Match) -> str:
        new = canonical(m.group(1), m.start())
        return m.group(0) if new is None else f"[Q:{new}]"

    text = _Q_INLINE.sub(inline, _Q_LINE.sub(line, text))
    if not re.match(r"\s*%abc-\d", text):
        # Without a version line music21 reads ABC 1.3, where an accidental holds for one note only; in the ABC
        # 2.1 standard (and in every printed score) it holds to the end of the bar.
        text = "%abc-2.1\n" + text
    return text


# --- Humdrum -------------------------------------------------------------------------------------------------------

_KERN_REF = re.compile(r"^!!!\s*([A-Za-z@0-9]+)[^:]*:\s*(.*)$")


def _kern_fields(text: str) -> Fields:
    refs: dict[str, str] = {}
    found: dict = {"tempi": [], "marks": [], "metre": "", "key": "", "sig": None}
    bars: list[int] = []
    data_before_bar = seen_bar = False
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        ref = _KERN_REF.match(line)
        if ref:
            refs.setdefault(ref.group(1).upper(), ref.group(2).strip())
            continue
        if not line or line.startswith("!"):
            continue
        first = line.split("\t", 1)[0]
        if first.startswith("*"):
            _kern_interpretation(line.split("\t"), found)
            continue
        if first.startswith("="):
            seen_bar = True
            m = re.match(r"=+(\d+)", first)
            if m:
                bars.append(int(m.group(1)))
            continue
        if not seen_bar and first.strip(". "):
            data_before_bar = True
    first_bar = None
    if bars:
        first_bar = bars[0] - 1 if data_before_bar else bars[0]
        if data_before_bar:
            bars = [first_bar] + bars
    title = _kern_title(refs)
    return Fields(
        format="humdrum",
        title=title,
        composer=refs.get("COM", ""),
        lyricist=refs.get("LYR", "") or refs.get("TXA", ""),
        tempi=tuple(found["tempi"]),
        tempo_marks=tuple(found["marks"]),
        key=found["key"],
        key_signature=found["sig"] or (),
        metre=found["metre"],
        bar_numbers=tuple(bars),
        first_bar=first_bar,
        pickup=data_before_bar if bars else None,
    )


def _kern_interpretation(toks: list[str], found: dict) -> None:
    """Read one interpretation record (``*MM72``, ``*M3/2``, ``*k[b-]``, ``*F:ion``) into ``found``."""
    for tok in toks:
        mm = re.fullmatch(r"\*MM(\d+(?:\.\d+)?)", tok)
        if mm:
            found["marks"].append(tok)
            found["tempi"].append(float(mm.group(1)))
            break
    first = toks[0]
    m = re.fullmatch(r"\*M(\d+)/(\d+)", first)
    if m and not found["metre"]:
        found["metre"] = f"{m.group(1)}/{m.group(2)}"
    sigs = [tuple((s.upper(), a.count("#") - a.count("-")) for s, a in re.findall(r"([a-g])([#\-]+)", t))
            for t in toks if re.fullmatch(r"\*k\[[a-g#\-n]*\]", t)]
    if sigs and found["sig"] is None:
        found["sig"] = max(sigs, key=sigs.count)  # voices may differ (a flat in the lower parts only)
    m = re.fullmatch(r"\*([A-Ga-g][#\-]?):(\w*)", first)
    if m and not found["key"]:
        tonic = m.group(1)[0].upper() + m.group(1)[1:].replace("#", "♯").replace("-", "♭")
        mode = _MODE_NAME.get(m.group(2)[:3].lower(), "minor" if m.group(1).islower() else "major")
        found["key"] = f"{tonic} {mode}"


def _kern_title(refs: dict[str, str]) -> str:
    """Work and movement from the reference records: ``OPR`` (parent work), ``OMD`` or ``OTL`` (movement).

    In the Palestrina masses ``OPR`` names the mass, ``OMD`` the movement and ``OTL`` a section of it ("H.coda",
    "First Section"), so a section label never stands alone as the title when the work is known.
    """
    work, movement, own = (refs.get(k, "").strip() for k in ("OPR", "OMD", "OTL"))
    if work and is_title(work):
        part = movement if movement and is_title(movement) else own if own and is_title(own) else ""
        return f"{work}: {part}" if part and part != work else work
    if own and is_title(own):
        return own
    return movement if movement and is_title(movement) else ""


# --- MusicXML ------------------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _musicxml_root(text: str):
    """The parsed document, or None (the DOCTYPE is dropped first: entity definitions are never expanded)."""
    text = re.sub(r"<!DOCTYPE[^>\[]*(\[[^\]]*\])?\s*>", "", text, count=1)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None


def _musicxml_fields(text: str) -> Fields:
    root = _musicxml_root(text)
    if root is None:
        return Fields(format="musicxml")
    head = {_local(e.tag): e for e in root if _local(e.tag) != "part"}
    people: dict[str, list[str]] = {"composer": [], "lyricist": [], "other": []}
    ident = head.get("identification")
    for c in ident if ident is not None else ():
        if _local(c.tag) == "creator" and (c.text or "").strip():
            kind = (c.get("type") or "").lower()
            kind = "lyricist" if kind in ("lyricist", "poet", "librettist") else kind
            people["composer" if kind == "composer" else "lyricist" if kind == "lyricist" else "other"].append(
                " ".join(c.text.split()))
    names = [n for v in people.values() for n in v]
    work = head.get("work")
    title = _best_title(_text_of(work, "work-title") if work is not None else "",
                        _text_of(root, "movement-title"), _credit_title(root), names)
    parts = [e for e in root if _local(e.tag) == "part"]
    first = _musicxml_part(parts[0]) if parts else {}
    keys = [k for k in (_musicxml_part(p, key_only=True).get("key") for p in parts[1:]) if k] + (
        [first["key"]] if first.get("key") else [])
    fifths, mode = max(keys, key=keys.count) if keys else (None, "")  # the parts' usual signature
    return Fields(
        format="musicxml",
        title=title,
        composer="; ".join(people["composer"]),
        lyricist="; ".join(people["lyricist"]),
        tempi=tuple(first.get("tempi", ())),
        tempo_marks=tuple(first.get("marks", ())),
        key=_key_name(fifths, mode) if fifths is not None else "",
        key_signature=tuple(sorted(_signature(fifths), key=lambda kv: "FCGDAEB".index(kv[0])))
        if fifths is not None else (),
        metre=first.get("metre", ""),
        bar_numbers=tuple(first.get("bars", ())),
        first_bar=first.get("first_bar"),
        pickup=first.get("pickup"),
    )


def _key_name(fifths: int, mode: str) -> str:
    """``(2, 'major')`` -> ``'D major'``; ``(-1, 'minor')`` -> ``'D minor'``; other modes by their fifths."""
    majors = ["C♭", "G♭", "D♭", "A♭", "E♭", "B♭", "F", "C", "G", "D", "A", "E", "B", "F♯", "C♯"]
    if not -7 <= fifths <= 7:
        return f"{fifths} fifths"
    if mode == "minor":
        minors = ["A♭", "E♭", "B♭", "F", "C", "G", "D", "A", "E", "B", "F♯", "C♯", "G♯", "D♯", "A♯"]
        return f"{minors[fifths + 7]} minor"
    return f"{majors[fifths + 7]} major" if mode in ("", "major") else f"{majors[fifths + 7]} major ({mode})"


def _musicxml_part(part, *, key_only: bool = False) -> dict:
    """What one part's measures say: tempi (with their marks), bar numbers, first bar, pickup, metre, key."""
    out: dict = {"tempi": [], "marks": [], "bars": [], "metre": "", "key": None, "first_bar": None,
                 "pickup": None}
    for i, measure in enumerate(e for e in part if _local(e.tag) == "measure"):
        number = re.match(r"\s*(-?\d+)", measure.get("number") or "")
        if number:
            out["bars"].append(int(number.group(1)))
        if i == 0:
            out["first_bar"] = int(number.group(1)) if number else None
            out["pickup"] = measure.get("implicit") == "yes" or (number is not None and number.group(1) == "0")
        sounds, metronomes = [], []
        for el in measure.iter():
            tag = _local(el.tag)
            if tag == "key" and out["key"] is None and re.fullmatch(r"-?\d+", _text_of(el, "fifths")):
                out["key"] = (int(_text_of(el, "fifths")), _text_of(el, "mode"))
                if key_only:
                    return out
            elif tag == "sound" and re.fullmatch(r"\d+(?:\.\d+)?", el.get("tempo") or ""):
                sounds.append((float(el.get("tempo")), f'<sound tempo="{el.get("tempo")}">'))
            elif tag == "metronome" and _metronome_qpm(el):
                metronomes.append((_metronome_qpm(el), f"<metronome> {_metronome_qpm(el):g} quarters a minute"))
            elif tag == "time" and not out["metre"] and _text_of(el, "beats") and _text_of(el, "beat-type"):
                out["metre"] = f"{_text_of(el, 'beats')}/{_text_of(el, 'beat-type')}"
        for qpm, mark in sounds or metronomes:  # <sound tempo> is what plays; a metronome mark only where none
            if qpm > 0 and (not out["tempi"] or not _same_tempo(out["tempi"][-1], qpm)):
                out["tempi"].append(qpm)
                out["marks"].append(mark)
    return out


def _dedupe(values: list[float]) -> list[float]:
    """Consecutive repeats dropped (a tempo written on every part, or as both a sound and a metronome mark)."""
    out: list[float] = []
    for v in values:
        if not out or abs(out[-1] - v) > _TEMPO_TOLERANCE * v:
            out.append(v)
    return out


def _text_of(el, tag: str) -> str:
    for child in el.iter():
        if _local(child.tag) == tag:
            return (child.text or "").strip()
    return ""


_BEAT_QUARTERS = {"whole": 4.0, "half": 2.0, "quarter": 1.0, "eighth": 0.5, "16th": 0.25, "32nd": 0.125}


def _metronome_qpm(el) -> float | None:
    unit = _text_of(el, "beat-unit")
    per = _text_of(el, "per-minute")
    try:
        number = float(re.match(r"\s*(\d+(?:\.\d+)?)", per).group(1))
    except (AttributeError, ValueError):
        return None
    dots = sum(1 for c in el if _local(c.tag) == "beat-unit-dot")
    quarters = _BEAT_QUARTERS.get(unit)
    if quarters is None:
        return None
    return number * quarters * (2 - 0.5**dots)


def _credit_title(root) -> str:
    """The largest words printed on the first page (where a title usually sits), or ''."""
    best, size = "", -1.0
    for credit in root:
        if _local(credit.tag) != "credit" or credit.get("page", "1") != "1":
            continue
        ctype = _text_of(credit, "credit-type")
        for words in credit:
            if _local(words.tag) != "credit-words" or not (words.text or "").strip():
                continue
            try:
                s = float(words.get("font-size") or 0)
            except ValueError:
                s = 0.0
            if ctype == "title":
                s += 1000
            if s > size:
                best, size = words.text.strip(), s
    return best


def _best_title(work: str, movement: str, credit: str, people: list[str]) -> str:
    work = work if is_title(work, people) else ""
    movement = movement if is_title(movement, people) else ""
    if work and movement and movement.lower() not in work.lower() and work.lower() not in movement.lower():
        return f"{work}: {movement}"
    if work or movement:
        return work or movement
    return credit if is_title(credit, people) else ""


def is_title(text: str, people=()) -> bool:
    """Whether ``text`` reads as the title of a piece: not a voice or section label, a person, a placeholder,
    a file name or scanning garbage.

    Parameters
    ----------
    text : str
        A candidate title.
    people : sequence of str
        Names the file gives for its composer, lyricist or poet; a title equal to one is a person.

    Returns
    -------
    bool
        True for a title a musician would recognise.
    """
    t = html.unescape(str(text or "")).strip()
    if len(t) < 2 or _NOT_TITLES.match(t) or _PERSON.match(t):
        return False
    if any(t.lower() == p.strip().lower() for p in people if p and p.strip()):
        return False
    if PurePath(t).suffix.lower() in (".xml", ".mxl", ".musicxml", ".krn", ".abc", ".mid", ".midi"):
        return False
    chars = [c for c in t if not c.isspace()]
    letters = sum(c.isalpha() for c in chars)
    odd = sum(c in "\\~{}|<>`^_;" for c in chars)
    if _CATALOGUE.match(t):
        return True
    return letters >= 2 and letters >= 0.5 * len(chars) and odd == 0


# --- MIDI ----------------------------------------------------------------------------------------------------------


def _midi_fields(data: bytes) -> Fields:
    import mido

    try:
        mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception:  # noqa: BLE001 - the loader accepted it; a field we cannot read is simply absent
        return Fields(format="midi")
    tempi: list[tuple[int, float]] = []
    sigs: list[tuple[int, str]] = []
    title = ""
    for i, track in enumerate(mf.tracks):
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo" and msg.tempo > 0:
                tempi.append((tick, 60_000_000.0 / msg.tempo))
            elif msg.type == "time_signature":
                sigs.append((tick, f"{msg.numerator}/{msg.denominator}"))
            elif msg.type == "track_name" and i == 0 and not title and mf.type == 1:
                title = msg.name.strip()
    tempi.sort(key=lambda t: t[0])
    sigs.sort(key=lambda t: t[0])
    starts = [q for t, q in tempi if t == 0]
    ordered = ([starts[-1]] if starts else []) + [q for t, q in tempi if t > 0]  # the last at tick 0 wins
    return Fields(
        format="midi",
        title=title if is_title(title) else "",
        tempi=tuple(_dedupe(ordered)),
        tempo_marks=tuple(f"set tempo {q:g}" for q in _dedupe(ordered)),
        metre=sigs[0][1] if sigs and sigs[0][0] == 0 else ("" if sigs else ""),
    )


# --- mending the music21 score -------------------------------------------------------------------------------------


def repair_score(score, fields: Fields) -> tuple[str, ...]:
    """Mend, in place, what music21 misread in a parsed score that can only be mended before it becomes a Piece.

    For ABC, explicit accidentals in the key (``K:Dphr ^F``), which music21 ignores, are applied: every note
    spelled from the key signature (no accidental of its own in the bar) takes the signature's alteration for
    its letter, and the key signatures become the written one, so the score engraves with it and the model
    hears it. Other formats need nothing here.

    Parameters
    ----------
    score : music21.stream.Score or Opus
        The parsed score (the first score of an opus is mended).
    fields : Fields
        What the file says (:func:`read_fields`).

    Returns
    -------
    tuple of str
        The corrections made, in words (empty when nothing was changed).
    """
    if fields.format != "abc" or not fields.key_explicit:
        return ()
    from music21 import key, pitch, stream

    if isinstance(score, stream.Opus):
        scores = list(score.scores)
        if not scores:
            return ()
        score = scores[0]
    sig = dict(fields.key_signature)
    changed = 0
    for ks in list(score.recurse().getElementsByClass(key.KeySignature)):
        new = key.KeySignature(sharps=None)
        new.alteredPitches = [f"{s}{'#' * a if a > 0 else '-' * -a}" for s, a in fields.key_signature]
        site = ks.activeSite
        if site is not None:
            site.replace(ks, new)
    for n in score.recurse().notes:
        for p in getattr(n, "pitches", ()):
            acc = p.accidental
            if acc is not None and acc.displayStatus is not False:
                continue  # written in the bar (or carried from there): the writer's own accidental
            want = sig.get(p.step, 0)
            have = int(acc.alter) if acc is not None else 0
            if want != have:
                p.accidental = pitch.Accidental(want) if want else None
                if p.accidental is not None:
                    p.accidental.displayStatus = False
                changed += 1
    if not changed:
        return ()
    return (f"The key {fields.key} was applied to {changed} note{'s' if changed != 1 else ''} "
            "(the accidentals written beside the key were read from the file itself).",)


# --- comparing and correcting --------------------------------------------------------------------------------------


def key_agreement(piece: music.Piece, signature) -> dict[str, tuple[float, float]]:
    """How the notes use each altered letter of a key signature: note time on the signature's pitch and on the
    plain one.

    A signature with F sharp whose notes play F natural far more often than F sharp contradicts them (the
    sharp was lost in reading, or the key is wrong); modal and chromatic music, which adds accidentals the
    signature lacks, does not.

    Parameters
    ----------
    piece : Piece
        The notes.
    signature : iterable of (str, int)
        (step, alteration) pairs.

    Returns
    -------
    dict of str to (float, float)
        For each altered step: (share of note time on the signature's pitch, share on the unaltered pitch).
    """
    out: dict[str, tuple[float, float]] = {}
    if piece.n_notes == 0:
        return out
    weight = np.bincount(np.asarray(piece.pitches, dtype=np.int64) % 12,
                         weights=np.maximum(np.asarray(piece.durations, dtype=float), 1e-3), minlength=12)
    total = float(weight.sum()) or 1.0
    for step, alter in signature:
        if step in _STEP_PC and alter:
            out[step] = (float(weight[(_STEP_PC[step] + alter) % 12]) / total, float(weight[_STEP_PC[step]]) / total)
    return out


def _contradicted(agreement: dict[str, tuple[float, float]]) -> list[str]:
    """The altered steps whose plain pitch the notes use far more than the signature's."""
    return [s for s, (on, off) in agreement.items() if off > 2 * on and off >= 0.03]


def _fmt_qpm(q: float) -> str:
    return f"{q:.0f}" if abs(q - round(q)) < 0.05 else f"{q:.1f}"


def _sig_words(sig) -> str:
    if not sig:
        return "no sharps or flats"
    return ", ".join(f"{s}{_ALTER_SIGN.get(a, '')}" for s, a in sig)


def _same_tempo(a: float, b: float) -> bool:
    return abs(a - b) <= _TEMPO_TOLERANCE * max(a, b)


def _mend_tempo(piece: music.Piece, fields: Fields) -> tuple[music.Piece, list[str], list[str]]:
    """The opening tempo as the file states it, and an implausible tempo replaced (with a warning)."""
    tempi = list(piece.tempi) or [(0.0, music.DEFAULT_QPM)]
    corrections, warnings = [], []
    read = float(tempi[0][1])
    said = fields.tempi[0] if fields.tempi else None
    if said is not None and not _same_tempo(said, read):
        tempi[0] = (tempi[0][0], float(said))
        mark = fields.tempo_marks[0] if fields.tempo_marks else _fmt_qpm(said)
        corrections.append(f"The opening tempo was read as {_fmt_qpm(read)} quarter notes a minute; the file "
                           f"says {mark}, which is {_fmt_qpm(said)}, and that is used.")
    warnings += _implausible(tempi, replaced=True)
    low, high = TEMPO_RANGE
    tempi = [(b, min(max(q, low), high)) for b, q in tempi]
    if tuple(tempi) == tuple(piece.tempi):
        return piece, corrections, warnings
    return dataclasses.replace(piece, tempi=tuple(tempi)), corrections, warnings


def _implausible(tempi, *, replaced: bool) -> list[str]:
    low, high = TEMPO_RANGE
    bad = [q for _, q in tempi if not low <= q <= high]
    if not bad:
        return []
    used = min(max(bad[0], low), high) if replaced else bad[0]
    return [f"The file asks for a tempo of {_fmt_qpm(bad[0])} quarter notes a minute, outside the "
            f"{low:.0f}–{high:.0f} a musician would play; it is played at {_fmt_qpm(used)} here."]


def _tempo_check(piece: music.Piece, fields: Fields) -> Check:
    used = float(piece.tempi[0][1]) if piece.tempi else music.DEFAULT_QPM
    if not fields.tempi:
        return Check("tempo", None, "no tempo written", _fmt_qpm(used),
                     f"The file writes no tempo; it is played at {_fmt_qpm(used)} quarter notes a minute.")
    said = fields.tempi[0]
    low, high = TEMPO_RANGE
    ok = _same_tempo(said, used) or (not low <= said <= high and used in (low, high))
    return Check("tempo", ok, _fmt_qpm(said), _fmt_qpm(used))


def _key_check(piece: music.Piece, fields: Fields) -> tuple[Check, list[str]]:
    if not fields.key and not fields.key_signature:
        return Check("key", None, "no key written", ""), []
    agreement = key_agreement(piece, fields.key_signature)
    bad = _contradicted(agreement)
    said = f"{fields.key or 'signature'} ({_sig_words(fields.key_signature)})"
    if not bad:
        return Check("key", True, said, "the notes agree"), []
    words = ", ".join(f"{s}{_ALTER_SIGN.get(dict(fields.key_signature)[s], '')} on {agreement[s][0]:.0%} of the "
                      f"note time but {s}♮ on {agreement[s][1]:.0%}" for s in bad)
    warning = (f"The key signature ({_sig_words(fields.key_signature)}) does not fit the notes: {words}. The "
               "notes are used as read; check the key in your file.")
    return Check("key", False, said, words), [warning]


def _mend_bars(piece: music.Piece, fields: Fields) -> tuple[music.Piece, list[str]]:
    """The score's own bar numbers where it prints them and they map one to one onto the piece's bars."""
    numbers = np.asarray(piece.bar_numbers, dtype=np.int64)
    src = np.asarray(fields.bar_numbers, dtype=np.int64)
    if not src.size and numbers.size and fields.format in ("abc", "midi") and np.any(np.diff(numbers) != 1):
        # No printed numbers: bars are counted (music21 leaves gaps after repeats and endings).
        new = numbers[0] + np.arange(numbers.size, dtype=np.int64)
        return dataclasses.replace(piece, bar_numbers=new), [
            f"The bars were numbered with gaps ({numbers[0]}–{numbers[-1]} for {numbers.size} bars); they are "
            "counted one by one."]
    if numbers.size > 1 and np.any(np.diff(numbers) < 0) and (not src.size or np.all(np.diff(src) >= 0)):
        # A bar numbered back to 0 in mid-piece (music21 on a Humdrum repeat) continues the bar before it.
        fixed = np.maximum.accumulate(numbers)
        return dataclasses.replace(piece, bar_numbers=fixed), [
            f"A bar in mid-piece was numbered {int(numbers[np.argmax(np.diff(numbers) < 0) + 1])}; it keeps the "
            "number of the bar it continues."]
    if not src.size or not numbers.size or np.array_equal(numbers, src) or not np.all(np.diff(src) >= 0):
        return piece, []
    if src.size == numbers.size:
        new = src.copy()
        said = (f"The bars were numbered {numbers[0]}–{numbers[-1]} where the score numbers them "
                f"{src[0]}–{src[-1]}; the score's own numbers are used.")
    elif numbers.size > 1 and numbers[0] != src[0] and numbers[1] == src[1]:
        new = numbers.copy()
        new[0] = src[0]
        said = f"The first bar was numbered {numbers[0]} where the score numbers it {src[0]}; that is used."
    else:
        return piece, []
    return dataclasses.replace(piece, bar_numbers=new), [said]


def _bar_checks(piece: music.Piece, fields: Fields) -> list[Check]:
    numbers = np.asarray(piece.bar_numbers, dtype=np.int64)
    if not numbers.size:
        return []
    checks = []
    if fields.first_bar is not None:
        checks.append(Check("first bar", int(numbers[0]) == fields.first_bar, str(fields.first_bar),
                            str(int(numbers[0]))))
    elif fields.pickup is not None:
        checks.append(Check("first bar", int(numbers[0]) == (0 if fields.pickup else 1),
                            "a pickup (bar 0)" if fields.pickup else "a full first bar (bar 1)",
                            str(int(numbers[0]))))
    src = fields.bar_numbers
    if src:
        missing = sorted(set(numbers.tolist()) - set(src))
        ok = not missing and bool(np.all(np.diff(numbers) >= 0))
        checks.append(Check("bar numbers", ok, f"bars {src[0]}–{src[-1]}", f"bars {numbers[0]}–{numbers[-1]}",
                            f"Not numbered so in the score: {', '.join(map(str, missing[:5]))}." if missing else ""))
    else:
        ok = bool(numbers[0] in (0, 1) and np.all(np.diff(numbers) == 1))
        checks.append(Check("bar numbers", ok, "counted from 1 (a pickup is bar 0)",
                            f"bars {numbers[0]}–{numbers[-1]}"))
    return checks


def _metre_check(piece: music.Piece, fields: Fields) -> Check:
    read = piece.time_signatures[0][1] if piece.time_signatures else ""
    if not fields.metre:
        return Check("metre", None, "no metre written", read)
    return Check("metre", read == fields.metre, fields.metre, read)


def _title_check(piece: music.Piece, fields: Fields) -> Check:
    if fields.title:
        return Check("title", piece.title == fields.title, fields.title, piece.title)
    return Check("title", None, "no title written", piece.title,
                 "" if is_title(piece.title) else "The piece is named after its file.")


def check(piece: music.Piece, fields: Fields | None = None) -> Reading:
    """Compare a piece with what its file says, without changing it.

    Parameters
    ----------
    piece : Piece
        A piece read from a file (``piece.source`` set); a piece without a source gives an empty reading.
    fields : Fields, optional
        What the file says (read from ``piece.source`` when not given).

    Returns
    -------
    Reading
        The checks and warnings (no corrections: see :func:`correct`).
    """
    fields = _fields_of(piece, fields)
    if fields is None:
        return Reading(fields=Fields(format=""))
    key_chk, warnings = _key_check(piece, fields)
    checks = (_tempo_check(piece, fields), key_chk, _metre_check(piece, fields), *_bar_checks(piece, fields),
              _title_check(piece, fields))
    return Reading(fields=fields, checks=checks, warnings=tuple(_implausible(piece.tempi, replaced=False)
                                                                + warnings))


def correct(piece: music.Piece, fields: Fields | None = None) -> tuple[music.Piece, Reading]:
    """Compare a piece with what its file says and mend what was misread: the piece as its file means it.

    Mended: the opening tempo where the file states another (an implausible one is replaced by a plain
    default and warned about), bar numbers where the score prints others (a Humdrum score starting at bar 115),
    and the title where the file has a real one (the work and movement rather than a poet or a section label).

    Parameters
    ----------
    piece : Piece
        A piece read from a file (``piece.source`` set).
    fields : Fields, optional
        What the file says (read from ``piece.source`` when not given).

    Returns
    -------
    tuple of (Piece, Reading)
        The mended piece (the same object when nothing changed) and the reading, whose checks are of the
        mended piece.
    """
    fields = _fields_of(piece, fields)
    if fields is None:
        return piece, Reading(fields=Fields(format=""))
    out, corrections, warnings = _mend_tempo(piece, fields)
    out, said = _mend_bars(out, fields)
    corrections += said
    title = fields.title
    if not title and not is_title(out.title, [fields.composer, fields.lyricist]) and piece.source is not None:
        title = PurePath(piece.source.name).stem or out.title  # a poet or a voice label is no title: the file's name
    if title and out.title != title:
        corrections.append(f"The title was read as '{out.title}'; '{title}' is used.")
        out = dataclasses.replace(out, title=title)
    key_chk, key_warnings = _key_check(out, fields)
    checks = (_tempo_check(out, fields), key_chk, _metre_check(out, fields), *_bar_checks(out, fields),
              _title_check(out, fields))
    return out, Reading(fields=fields, checks=checks, corrections=tuple(corrections),
                        warnings=tuple(warnings + key_warnings))


def _fields_of(piece: music.Piece, fields: Fields | None) -> Fields | None:
    if fields is not None:
        return fields
    src = piece.source
    return None if src is None else read_fields(src.data, src.format)
