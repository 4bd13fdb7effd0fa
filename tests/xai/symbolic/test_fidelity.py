"""Tests of xai.symbolic.fidelity: the file's own fields are read as a musician writes them, misreadings are mended,
and implausible values are warned about with the value used."""

import dataclasses
import io
import zipfile
from fractions import Fraction

import mido
import numpy as np
import pytest

from xai.contract import fields_equal
from xai.symbolic import fidelity as F
from xai.symbolic import io as xio
from xai.symbolic import music
from xai.symbolic.examples import EXAMPLES_DIR

PHRYGIAN = b"""X:1
T:The Phrygian Test
C:Trad.
M:6/8
L:1/8
Q:1/4 = 144
K:Dphr ^F
DEF GAB|c2d efg|FFF FFF|D3 D3|
"""


def _piece_from_abc(text: bytes) -> music.Piece:
    """The ABC tune as music21 reads it after the fidelity layer's text and score repairs."""
    from music21 import converter

    fields = F.read_fields(text, "abc")
    score = converter.parseData(F.normalise_abc(text.decode()), format="abc")
    F.repair_score(score, fields)
    return music.from_music21(score, title="t", source=music.Source.from_bytes("t.abc", "abc", text))


# --- ABC fields ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, unit, qpm", [
    ("1/4=144", Fraction(1, 8), 144.0),
    ("1/4 = 144", Fraction(1, 8), 144.0),
    (" 1/4 =144 ", Fraction(1, 8), 144.0),
    ('"Allegro" 3/8=60', Fraction(1, 8), 90.0),
    ('3/8=60 "Slowly"', Fraction(1, 8), 90.0),
    ("1/4 3/8=40", Fraction(1, 8), 100.0),
    ("1/2=72", Fraction(1, 8), 144.0),
    ("C=120", Fraction(1, 8), 60.0),
    ("C2=120", Fraction(1, 16), 60.0),
    ("190", Fraction(1, 8), 95.0),
])
def test_abc_tempo_reads_every_written_form(value, unit, qpm):
    assert F.abc_tempo(value, unit) == pytest.approx(qpm)


@pytest.mark.parametrize("value", ['"Slowly"', "", "=", "1/0=90", "fast=90"])
def test_abc_tempo_in_words_or_unreadable_has_no_number(value):
    assert F.abc_tempo(value, Fraction(1, 8)) is None


def test_normalise_abc_rewrites_tempo_fields_only():
    text = "X:1\nM:2/4\nL:1/8\nQ:1/4 = 144\nK:G\nGABc|[Q:1/2 = 60]dcBA|\nQ:\"Lento\"\n"
    out = F.normalise_abc(text)
    assert "Q:1/4=144\n" in out
    assert "[Q:1/4=120]" in out
    assert 'Q:"Lento"' in out  # words only: left as written
    assert out.removeprefix("%abc-2.1\n").replace("Q:1/4=144", "Q:1/4 = 144").replace("[Q:1/4=120]", "[Q:1/2 = 60]") == text


@pytest.mark.parametrize("value, signature, explicit", [
    ("Dphr ^F", {"B": -1, "E": -1, "F": 1}, (("F", 1),)),
    ("D exp _b", {"B": -1}, (("B", -1),)),
    ("Ador", {"F": 1}, ()),
    ("A Dorian", {"F": 1}, ()),
    ("Gm =e", {"B": -1}, (("E", 0),)),
    ("Bb", {"B": -1, "E": -1}, ()),
    ("F#m", {"F": 1, "C": 1, "G": 1}, ()),
    ("E phr bass", {"F": 0} and {}, ()),
    ("none", {}, ()),
    ("Hp", {"F": 1, "C": 1}, ()),
])
def test_abc_key_with_modes_and_explicit_accidentals(value, signature, explicit):
    _, sig, exp = F.parse_abc_key(value)
    assert dict(sig) == signature
    assert exp == explicit


def test_abc_fields_of_a_tune():
    f = F.read_fields(PHRYGIAN, "abc")
    assert f.title == "The Phrygian Test"
    assert f.composer == "Trad."
    assert f.tempi == (144.0,)
    assert f.metre == "6/8"
    assert dict(f.key_signature) == {"B": -1, "E": -1, "F": 1}
    assert f.pickup is False


@pytest.mark.parametrize("body, pickup", [
    ("DEF GAB|c2d efg|", False),
    ("A|DEF GAB|c2d efg|", True),
    ("A>B c>d e>f g>a|", False),  # broken rhythm keeps the pair's length (L:1/16 in 2/4 below)
    ("|:D2 E2 F2 G2|A2 B2 c2 d2:|", False),
])
def test_abc_pickup_is_read_from_the_first_bar(body, pickup):
    metre = "2/4\nL:1/16" if ">" in body else "6/8\nL:1/8" if " " in body.split("|")[0] else "4/4\nL:1/8"
    text = f"X:1\nT:t\nM:{metre}\nK:D\n{body}\n".encode()
    assert F.read_fields(text, "abc").pickup is pickup


# --- mending ABC: the issue's two folk-tune misreadings -------------------------------------------------------------


def test_tempo_with_spaces_plays_at_the_written_tempo():
    piece = _piece_from_abc(PHRYGIAN)
    assert piece.tempi[0][1] == pytest.approx(144.0)  # music21 alone reads 720


def test_mode_with_explicit_accidental_keeps_its_sharp():
    piece = _piece_from_abc(PHRYGIAN)
    names = [music.note_name(p) for p in piece.pitches]
    assert names.count("F♯4") == 7 and "F4" not in names
    assert "E♭4" in names and "B♭4" in names  # the mode's own flats stay


def test_an_accidental_written_in_the_bar_wins_over_the_key():
    text = PHRYGIAN.replace(b"FFF FFF|", b"=FFF FFF|")  # a natural carries through its bar
    names = [music.note_name(p) for p in _piece_from_abc(text).pitches]
    assert names.count("F4") == 6


def test_loader_reads_the_folk_tune_right():
    """Through the loader, as an upload: ♩ = 144, the F sharps kept, the tune's own title, a plain reading."""
    piece = xio.load_bytes(PHRYGIAN, "phrygian.abc")
    assert piece.tempi[0][1] == pytest.approx(144.0)
    assert piece.duration_seconds == pytest.approx(4 * 3 * 60 / 144, rel=0.01)  # 4 bars of 6/8 at ♩ = 144
    assert "F4" not in [music.note_name(p) for p in piece.pitches]
    assert piece.title == "The Phrygian Test"


# --- other formats --------------------------------------------------------------------------------------------------


def test_humdrum_fields_and_bars_of_the_palestrina_example():
    path = EXAMPLES_DIR / "palestrina__Sanctus_60_d.krn"
    f = F.read_fields(path.read_bytes(), "humdrum")
    assert f.title == "Missa Ut re mi fa sol la: Sanctus"  # not the section label 'H.coda'
    assert f.composer.startswith("Palestrina")
    assert f.first_bar == 115 and f.bar_numbers[:3] == (115, 116, 117)
    assert f.metre == "3/2"
    piece, reading = F.correct(xio.load(path))
    assert int(piece.bar_numbers[0]) == 115
    assert piece.title == f.title
    assert reading.ok


def test_humdrum_tempo_and_pickup():
    text = b"!!!OTL: Little song\n**kern\n*MM72\n*M3/4\n*k[f#]\n4d\n=1\n2g\n4a\n=2\n2.g\n*-\n"
    f = F.read_fields(text, "humdrum")
    assert f.tempi == (72.0,) and f.tempo_marks == ("*MM72",)
    assert f.pickup is True and f.first_bar == 0 and f.bar_numbers == (0, 1, 2)
    assert dict(f.key_signature) == {"F": 1}


def _musicxml(*, title_xml: str = "", measures: str = "", encoding: str = "utf-8", zipped: bool = False) -> bytes:
    body = (f"<?xml version='1.0' encoding='{encoding.upper()}'?>\n<!DOCTYPE score-partwise PUBLIC '-//Recordare//DTD MusicXML 3.1 "
            f"Partwise//EN' 'http://www.musicxml.org/dtds/partwise.dtd'>\n<score-partwise version='3.1'>{title_xml}"
            "<part-list><score-part id='P1'><part-name>Voice</part-name></score-part></part-list>"
            f"<part id='P1'>{measures}</part></score-partwise>")
    data = body.encode("utf-16") if encoding == "utf-16" else body.encode()
    if not zipped:
        return data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("META-INF/container.xml", "<container><rootfiles><rootfile full-path='s.xml'/></rootfiles>"
                                              "</container>")
        zf.writestr("s.xml", data)
    return buf.getvalue()


_MEASURES = ("<measure number='0' implicit='yes'><attributes><divisions>1</divisions><key><fifths>-1</fifths>"
             "<mode>major</mode></key><time><beats>3</beats><beat-type>4</beat-type></time></attributes>"
             "<direction><sound tempo='88'/></direction>"
             "<note><pitch><step>C</step><octave>5</octave></pitch><duration>1</duration></note></measure>"
             "<measure number='1'><note><pitch><step>F</step><octave>4</octave></pitch><duration>3</duration></note>"
             "</measure>")


@pytest.mark.parametrize("encoding, zipped", [("utf-8", False), ("utf-16", False), ("utf-16", True)])
def test_musicxml_fields_in_any_encoding(encoding, zipped):
    data = _musicxml(title_xml="<work><work-title>Sonata</work-title></work><movement-title>Adagio</movement-title>",
                     measures=_MEASURES, encoding=encoding, zipped=zipped)
    f = F.read_fields(data, "musicxml")
    assert f.title == "Sonata: Adagio"
    assert f.tempi == (88.0,)
    assert f.key == "F major" and dict(f.key_signature) == {"B": -1}
    assert f.metre == "3/4"
    assert f.first_bar == 0 and f.pickup is True and f.bar_numbers == (0, 1)


@pytest.mark.parametrize("title_xml", [
    "<movement-title>G.B. Guarini</movement-title>",  # the poet (the Monteverdi example)
    "<movement-title>CANTO</movement-title>",  # a voice label
    "<movement-title>Tasso</movement-title><identification><creator type='poet'>Tasso</creator></identification>",
    "<movement-title>Music21 Fragment</movement-title>",
    "<movement-title>\\J.D. 'JUa..J..UU</movement-title>",  # scanning garbage
])
def test_a_poet_a_voice_or_garbage_is_no_title(title_xml):
    assert F.read_fields(_musicxml(title_xml=title_xml, measures=_MEASURES), "musicxml").title == ""


@pytest.mark.parametrize("text, ok", [
    ("Non più guerra, pietate", True), ("Op. 18 no. 1, mvmnt. 3", True), ("K.156", True), ("Kyrie", True),
    ("CANTO", False), ("H.coda", False), ("First Section", False), ("II", False), ("bwv20.7.mxl", False),
    ("W.A. Mozart", False), ("", False),
])
def test_is_title(text, ok):
    assert F.is_title(text) is ok


def _midi(tempo_us: int, *, numerator: int = 3) -> bytes:
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name="Minuet in G", time=0),
                                      mido.MetaMessage("set_tempo", tempo=tempo_us, time=0),
                                      mido.MetaMessage("time_signature", numerator=numerator, denominator=4, time=0)]))
    notes = []
    for p in (67, 60, 62, 64, 66, 67):
        notes += [mido.Message("note_on", note=p, velocity=80, time=0),
                  mido.Message("note_off", note=p, velocity=0, time=480)]
    mid.tracks.append(mido.MidiTrack(notes))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def test_midi_fields():
    f = F.read_fields(_midi(mido.bpm2tempo(90)), "midi")
    assert f.tempi == (pytest.approx(90.0),)
    assert f.metre == "3/4"
    assert f.title == "Minuet in G"


def test_implausible_tempo_is_warned_about_with_the_value_used():
    piece = xio.load_bytes(_midi(mido.bpm2tempo(1000)), "fast.mid")
    mended, reading = F.correct(piece)
    assert mended.tempi[0][1] == F.TEMPO_RANGE[1]
    assert len(reading.warnings) == 1
    assert "1000 quarter notes a minute" in reading.warnings[0] and "played at 400" in reading.warnings[0]
    assert "_" not in reading.warnings[0] and "Exception" not in reading.warnings[0]


def test_key_that_contradicts_the_notes_is_warned_about():
    text = b"X:1\nT:Wrong key\nM:4/4\nL:1/4\nK:D\n=F=F=F=F|=F=F=F=F|=c=c=c=c|D4|\n"
    piece, reading = F.correct(xio.load_bytes(text, "wrong.abc"))
    assert reading.check_named("key").ok is False
    assert any("F♯" in w and "does not fit the notes" in w for w in reading.warnings)


# --- the reading as a whole -----------------------------------------------------------------------------------------


def test_check_does_not_change_the_piece_and_correct_is_idempotent():
    piece = xio.load(EXAMPLES_DIR / "palestrina__Sanctus_60_d.krn")
    before = piece.bar_numbers.copy()
    F.check(piece)
    assert np.array_equal(piece.bar_numbers, before)
    once, _ = F.correct(piece)
    twice, reading = F.correct(once)
    assert twice is once and reading.corrections == ()


def test_reading_round_trips_through_json():
    _, reading = F.correct(xio.load_bytes(PHRYGIAN, "phrygian.abc"))
    again = F.Reading.from_json(reading.to_json())
    assert fields_equal(again, reading)
    assert dataclasses.is_dataclass(again.fields) and again.fields.key_signature == reading.fields.key_signature


def test_piece_without_a_file_has_an_empty_reading():
    piece = dataclasses.replace(xio.load_bytes(PHRYGIAN, "p.abc"), source=None)
    mended, reading = F.correct(piece)
    assert mended is piece and reading.checks == () and reading.ok
