"""Cheap checks before parsing: every bomb and crash value of issue #17 refused in a sentence, honest files pass."""

from __future__ import annotations

import struct
import time

import pytest

from xai.errors import InputError
from xai.symbolic import prescan

# --- MIDI ----------------------------------------------------------------------------------------------------------


def varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi(*events: bytes, division: int = 480) -> bytes:
    notes = b"".join(b"\x00\x90" + bytes([p, 80]) + varlen(480) + b"\x80" + bytes([p, 0]) for p in (60, 62, 64))
    track = b"".join(events) + notes + b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 1, 1, division) + b"MTrk" + struct.pack(">I", len(track)) + track


def tempo(us: int) -> bytes:
    return b"\x00\xff\x51\x03" + us.to_bytes(3, "big")


def timesig(num: int, exponent: int) -> bytes:
    return b"\x00\xff\x58\x04" + bytes([num, exponent, 24, 8])


def refusal(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "Error" not in msg and "Traceback" not in msg  # a sentence for a musician, no exception names
    return msg


def test_an_honest_midi_file_passes_with_its_counts():
    scan = prescan.scan_midi(midi(tempo(500_000), timesig(3, 2)), "waltz.mid")
    assert scan.notes == 3
    assert scan.events == 2 + 6 + 1


def test_midi_tempo_zero_is_refused():
    msg = refusal(prescan.scan_midi, midi(tempo(0)), "zero.mid")
    assert "'zero.mid' has a tempo event of 0 microseconds a beat" in msg


@pytest.mark.parametrize("us", [1, 59_999])
def test_midi_tempo_faster_than_the_limit_is_refused(us):
    assert "beats a minute" in refusal(prescan.scan_midi, midi(tempo(us)), "fast.mid")


@pytest.mark.parametrize("us", [60_000, 500_000, 0xFFFFFF])
def test_midi_tempi_in_range_pass(us):
    prescan.scan_midi(midi(tempo(us)), "ok.mid")


@pytest.mark.parametrize("exponent, shown", [(7, "4/128"), (16, "4/65536"), (0xFF, "4/1844674407…")])
def test_midi_time_signature_denominators_past_1_64_are_refused(exponent, shown):
    msg = refusal(prescan.scan_midi, midi(timesig(4, exponent)), "bomb.mid")
    assert f"a metre of {shown} in a time-signature event" in msg


def test_a_midi_time_signature_of_zero_beats_is_refused():
    assert "a metre of 0/4" in refusal(prescan.scan_midi, midi(timesig(0, 2)), "bomb.mid")


@pytest.mark.parametrize("num, exponent", [(1, 0), (64, 6), (7, 3), (4, 2), (65, 2), (175, 2), (85, 5), (255, 0)])
def test_midi_metres_at_the_limits_pass(num, exponent):
    prescan.scan_midi(midi(timesig(num, exponent)), "ok.mid")


@pytest.mark.parametrize("n_bytes", [5, 201])
def test_a_delta_time_longer_than_four_bytes_is_refused(n_bytes):
    delta = b"\x81" * (n_bytes - 1) + b"\x00"
    msg = refusal(prescan.scan_midi, midi(delta + b"\x90\x3c\x50"), "long.mid")
    assert "longer than the MIDI standard allows (more than 4 bytes)" in msg


def test_a_four_byte_delta_time_passes():
    prescan.scan_midi(midi(varlen(0x0FFFFFFF) + b"\x90\x3c\x50"), "ok.mid")


def test_too_many_midi_events_are_refused_quickly():
    many = b"\x00\xb0\x07\x64" + b"\x00\x07\x64" * 2_000
    msg = refusal(prescan.scan_midi, midi(many), "busy.mid", max_events=1_000)
    assert "more than the 1,000 this tool reads in a MIDI file" in msg


def test_the_midi_scan_stops_quietly_at_damage_the_reader_will_name():
    data = midi(tempo(500_000))
    for cut in range(14, len(data)):
        prescan.scan_midi(data[:cut], "cut.mid")  # a truncated file is the MIDI reader's to refuse


# --- metres and tempi --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("num, den", [(99_999_999, 4), (1, 65_536), (0, 4), (3, 0), (4, 3), (256, 4), (4, 128)])
def test_check_metre_refuses(num, den):
    assert "this tool reads metres of 1 to 255 beats" in refusal(prescan.check_metre, num, den, "x.abc", "an M: line")


@pytest.mark.parametrize("qpm", [0, -5, 1000.5, float("inf"), float("nan")])
def test_check_tempo_refuses(qpm):
    assert "tempi above 0 and up to 1000" in refusal(prescan.check_tempo, qpm, "x.abc", "a Q: line")


# --- ABC -----------------------------------------------------------------------------------------------------------


def abc(header: str = "M:4/4\nL:1/8\n", body: str = "CDEF GABc|") -> str:
    return f"X:1\nT:Tune\n{header}K:C\n{body}\n"


def test_an_honest_abc_tune_passes_with_its_note_count():
    assert prescan.scan_abc(abc(body='"C"CDEF !trill!GABc|[CEG]4 z4|'), "tune.abc") == 8 + 3 + 1


@pytest.mark.parametrize("metre", ["99999999/4", "1/65536", "0/4", "3/0", "(2+3+99999)/8", "99999999"])
def test_abc_metre_bombs_are_refused(metre):
    assert "in an M: line" in refusal(prescan.scan_abc, abc(f"M:{metre}\nL:1/8\n"), "bomb.abc")


def test_an_abc_metre_change_inside_the_tune_is_checked():
    assert "1/65536" in refusal(prescan.scan_abc, abc(body="CDEF|[M:1/65536]GABc|"), "bomb.abc")


@pytest.mark.parametrize("metre", ["C", "C|", "none", "6/8", "2+2+3/8", "(3+2)/8", "64/64", "65/4", "175/4"])
def test_abc_metres_musicians_write_pass(metre):
    prescan.scan_abc(abc(f"M:{metre}\nL:1/8\n"), "ok.abc")


@pytest.mark.parametrize("length", ["1/99999999", "99999/1", "0/8", "1/0"])
def test_abc_note_length_bombs_are_refused(length):
    assert "in an L: line" in refusal(prescan.scan_abc, abc(f"M:4/4\nL:{length}\n"), "bomb.abc")


@pytest.mark.parametrize("q", ["0", "1/4=0", "1/4=9999999", "C=99999"])
def test_abc_tempo_bombs_are_refused(q):
    assert "in a Q: line" in refusal(prescan.scan_abc, abc(f"M:4/4\nL:1/8\nQ:{q}\n"), "bomb.abc")


@pytest.mark.parametrize("q", ["1/4=120", '"Allegro" 1/4=132', "3/8=60", "120"])
def test_abc_tempi_musicians_write_pass(q):
    prescan.scan_abc(abc(f"M:4/4\nL:1/8\nQ:{q}\n"), "ok.abc")


@pytest.mark.parametrize("body", ["C99999999 D|", "C/99999999 D|", "Z99999|", "(99999CDE|"])
def test_abc_note_lengths_and_tuplets_beyond_reason_are_refused(body):
    assert "a note length or tuplet" in refusal(prescan.scan_abc, abc(body=body), "bomb.abc")


def test_a_long_abc_tune_is_refused_before_the_quadratic_parser():
    body = "\n".join("CDEF GABc|" for _ in range(prescan.MAX_ABC_NOTES // 8 + 1))
    t = time.perf_counter()
    msg = refusal(prescan.scan_abc, abc(body=body), "long.abc")
    assert time.perf_counter() - t < 0.5
    assert f"more than the {prescan.MAX_ABC_NOTES:,} this tool reads in an ABC tune" in msg


def test_abc_text_in_quotes_and_decorations_is_not_counted_as_notes():
    assert prescan.scan_abc(abc(body='"Gm7 Eb"!fermata!C|'), "ok.abc") == 1


# --- Humdrum -------------------------------------------------------------------------------------------------------


def kern(interp: str = "*M4/4", tokens=("4c", "4d", "4e", "4f")) -> str:
    return "**kern\n" + interp + "\n=1\n" + "\n".join(tokens) + "\n*-\n"


def test_an_honest_humdrum_score_passes_with_its_count():
    assert prescan.scan_humdrum(kern(tokens=("4c", ".", "4e 4g", "4r", "!comment", "=2", "2.f")), "ok.krn") == 5


@pytest.mark.parametrize("interp", ["*M99999999/4", "*M1/65536", "*M0/4", "*M3/0"])
def test_humdrum_metre_bombs_are_refused(interp):
    assert "in a *M line" in refusal(prescan.scan_humdrum, kern(interp), "bomb.krn")


@pytest.mark.parametrize("interp", ["*MM0", "*MM99999999"])
def test_humdrum_tempo_bombs_are_refused(interp):
    assert "in a *MM line" in refusal(prescan.scan_humdrum, kern(interp), "bomb.krn")


@pytest.mark.parametrize("token", ["0000000c", "99999999c", "1%0c", "1%99999999c", "1025c"])
def test_humdrum_durations_beyond_reason_are_refused(token):
    assert "a note length" in refusal(prescan.scan_humdrum, kern(tokens=(token,)), "bomb.krn")


@pytest.mark.parametrize("token", ["000c", "3%2c", "4.c", "[4c", "16ccc#", "4r"])
def test_humdrum_durations_musicians_write_pass(token):
    prescan.scan_humdrum(kern(tokens=(token,)), "ok.krn")


def test_too_many_humdrum_spines_or_notes_are_refused():
    wide = "\t".join(["**kern"] * 65) + "\n" + "\t".join(["4c"] * 65) + "\n"
    assert "65 spines, more than the 64" in refusal(prescan.scan_humdrum, wide, "wide.krn")
    tokens = ["16c"] * (prescan.MAX_KERN_TOKENS + 1)
    assert "notes and rests" in refusal(prescan.scan_humdrum, kern(tokens=tokens), "long.krn")


# --- MusicXML ------------------------------------------------------------------------------------------------------


def xml(beats="4", beat_type="4", divisions="1", notes=None, measures=1, extra="") -> str:
    note = "<note><pitch><step>C</step><octave>4</octave></pitch><duration>1</duration></note>"
    notes = note * 4 if notes is None else notes
    attrs = (f"<attributes><divisions>{divisions}</divisions><time><beats>{beats}</beats>"
             f"<beat-type>{beat_type}</beat-type></time></attributes>")
    body = "".join(f'<measure number="{i + 1}">{attrs if i == 0 else ""}{extra}{notes}</measure>'
                   for i in range(measures))
    return ('<score-partwise><part-list><score-part id="P1"/></part-list><part id="P1">' + body
            + "</part></score-partwise>")


def test_an_honest_musicxml_score_passes_with_its_count():
    assert prescan.scan_musicxml(xml(measures=3), "ok.xml") == 12


@pytest.mark.parametrize("beats, beat_type", [("99999999", "4"), ("1", "65536"), ("4", "0"), ("0", "4"),
                                              ("3+99999", "8"), ("4", "3"), ("abc", "4")])
def test_musicxml_metre_bombs_are_refused(beats, beat_type):
    assert "in a <time> element" in refusal(prescan.scan_musicxml, xml(beats, beat_type), "bomb.xml")


@pytest.mark.parametrize("div", ["0", "-1", "1000000000000", "abc"])
def test_musicxml_divisions_beyond_reason_are_refused(div):
    assert "<divisions>" in refusal(prescan.scan_musicxml, xml(divisions=div), "bomb.xml")


@pytest.mark.parametrize("dur", ["99999999", "-4", "nan"])
def test_musicxml_durations_beyond_reason_are_refused(dur):
    note = f"<note><pitch><step>C</step><octave>4</octave></pitch><duration>{dur}</duration></note>"
    assert "<duration>" in refusal(prescan.scan_musicxml, xml(notes=note), "bomb.xml")


@pytest.mark.parametrize("extra", ['<sound tempo="0"/>', '<sound tempo="99999999"/>',
                                   "<metronome><per-minute>0</per-minute></metronome>"])
def test_musicxml_tempo_bombs_are_refused(extra):
    assert "a tempo of" in refusal(prescan.scan_musicxml, xml(extra=extra), "bomb.xml")


def test_musicxml_tempo_in_words_passes():
    prescan.scan_musicxml(xml(extra="<metronome><per-minute>c. 60</per-minute></metronome>"), "ok.xml")


def test_200000_rests_are_refused_at_once():
    rest = "<note><rest/><duration>1</duration></note>"
    t = time.perf_counter()
    msg = refusal(prescan.scan_musicxml, xml(notes=rest * 4, measures=50_000), "rests.xml")
    assert time.perf_counter() - t < 1.0
    assert f"more than the {prescan.MAX_WRITTEN:,} this tool reads in a MusicXML score" in msg


def test_musicxml_bars_and_parts_are_bounded():
    assert "bars" in refusal(prescan.scan_musicxml, xml(notes="", measures=prescan.MAX_MEASURES + 1), "bars.xml")
    parts = '<score-part id="P"/>' * (prescan.MAX_PARTS + 1)
    assert "parts" in refusal(prescan.scan_musicxml, xml().replace('<score-part id="P1"/>', parts), "parts.xml")
