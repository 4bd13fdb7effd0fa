"""Tests of xai.symbolic.io: every upload format loads into the right notes, and every bad upload says why in a sentence."""

import dataclasses
import hashlib
import io
import time
import zipfile

import mido
import numpy as np
import pytest

from xai.errors import InputError, ParameterError
from xai.symbolic import io as xio
from xai.symbolic import music

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"


# --- building test files --------------------------------------------------------------------------------------


def midi_bytes(tracks, *, ticks_per_beat=480, midi_type=1) -> bytes:
    """A standard MIDI file from lists of mido messages, one list per track."""
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=ticks_per_beat)
    for msgs in tracks:
        mid.tracks.append(mido.MidiTrack(msgs))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def line(pitches, *, beats=1.0, channel=0, ticks_per_beat=480, rest_before=0):
    """Messages for a melody of equal notes, optionally after a rest (in ticks)."""
    msgs, dt = [], int(beats * ticks_per_beat)
    for i, p in enumerate(pitches):
        msgs.append(mido.Message("note_on", channel=channel, note=p, velocity=90, time=rest_before if i == 0 else 0))
        msgs.append(mido.Message("note_off", channel=channel, note=p, velocity=0, time=dt))
    return msgs


def tempo_track(*changes):
    """A conductor track: (delta ticks, beats per minute) tempo changes."""
    return [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=dt) for dt, bpm in changes]


@pytest.fixture(scope="module")
def scale_mid() -> bytes:
    return midi_bytes([tempo_track((0, 120)), line(C_MAJOR)])


CHORDS = [(48, 55, 64, 72), (53, 57, 65, 72), (55, 59, 62, 71), (48, 55, 64, 72)]  # I IV V I, four voices


@pytest.fixture(scope="module")
def chorale_mid() -> bytes:
    voices = [line([chord[v] for chord in CHORDS], beats=4.0) for v in range(4)]
    return midi_bytes([tempo_track((0, 90))] + voices)


MUSICXML_TWO_PARTS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN"
  "http://www.musicxml.org/dtds/partwise.dtd">
<score-partwise version="4.0">
  <work><work-title>Duo in C</work-title></work>
  <part-list>
    <score-part id="P1"><part-name>Violin</part-name></score-part>
    <score-part id="P2"><part-name>Cello</part-name></score-part>
  </part-list>
  {parts}
</score-partwise>
"""


def musicxml_part(pid, pitches, octave, *, bars=2):
    """A part of whole... quarter notes, four to a 4/4 bar, cycling through ``pitches`` (step names)."""
    measures, k = [], 0
    for b in range(1, bars + 1):
        attrs = (
            "<attributes><divisions>1</divisions><key><fifths>0</fifths></key>"
            "<time><beats>4</beats><beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef>"
            "</attributes>"
            if b == 1
            else ""
        )
        notes = "".join(
            f"<note><pitch><step>{pitches[(k + i) % len(pitches)]}</step><octave>{octave}</octave></pitch>"
            "<duration>1</duration><type>quarter</type></note>"
            for i in range(4)
        )
        k += 4
        measures.append(f'<measure number="{b}">{attrs}{notes}</measure>')
    return f'<part id="{pid}">{"".join(measures)}</part>'


def musicxml_text(*, title=True) -> str:
    parts = musicxml_part("P1", "CDEF", 5) + musicxml_part("P2", "CG", 3)
    text = MUSICXML_TWO_PARTS.format(parts=parts)
    return text if title else text.replace("<work><work-title>Duo in C</work-title></work>", "")


def mxl_bytes(xml: str, *, container=True, name="score.xml") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.recordare.musicxml")
        if container:
            zf.writestr(
                "META-INF/container.xml",
                f'<?xml version="1.0"?><container><rootfiles><rootfile full-path="{name}" '
                'media-type="application/vnd.recordare.musicxml+xml"/></rootfiles></container>',
            )
        zf.writestr(name, xml)
    return buf.getvalue()


ABC_TUNE = "X:1\nT:Test\nM:4/4\nL:1/8\nK:G\nGABc dedB|dedB dedB|c2ec B2dB|A2A2 G4|]\n"
ABC_PITCHES = [67, 69, 71, 72, 74, 76, 74, 71] + [74, 76, 74, 71] * 2 + [72, 76, 72, 71, 74, 71] + [69, 69, 67]
ABC_TWO_TUNES = ABC_TUNE + "\nX:2\nT:Second\nM:3/4\nL:1/4\nK:D\nDEF|GAB|d3|]\n"

KERN = """!!!OTL: Little Song
**kern\t**kern
*M4/4\t*M4/4
=1\t=1
4C\t4c
4D\t4d
4E\t4e
4F\t4f
=2\t=2
4G\t4g
4A\t4a
4B\t4b
4c\t4cc
=3\t=3
2c\t2cc
2G\t2g
=4\t=4
1C\t1c
==\t==
*-\t*-
"""
KERN_BASS = [48, 50, 52, 53, 55, 57, 59, 60, 60, 55, 48]
KERN_TREBLE = [p + 12 for p in KERN_BASS]


def assert_sane_bars(piece):
    nums = piece.bar_numbers
    assert nums[0] in (0, 1)
    assert np.all(np.diff(nums) > 0)
    assert np.all(np.diff(piece.bar_starts) > 0)
    assert piece.bar_starts[0] == 0.0


# --- supported formats and limits -------------------------------------------------------------------------------


def test_supported_extensions_cover_the_four_formats():
    assert xio.SUPPORTED_EXTENSIONS == {
        ".mid": "midi",
        ".midi": "midi",
        ".xml": "musicxml",
        ".mxl": "musicxml",
        ".musicxml": "musicxml",
        ".abc": "abc",
        ".krn": "humdrum",
    }


def test_default_limits():
    assert xio.DEFAULT_LIMITS == xio.Limits()
    assert xio.DEFAULT_LIMITS.max_bytes == 10_000_000
    assert xio.DEFAULT_LIMITS.max_notes == 50_000
    assert xio.DEFAULT_LIMITS.max_minutes == 30.0
    assert xio.DEFAULT_LIMITS.max_tracks == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        xio.DEFAULT_LIMITS.max_bytes = 1


@pytest.mark.parametrize(
    "kwargs",
    [{"max_bytes": 0}, {"max_notes": -1}, {"max_tracks": 1.5}, {"max_minutes": 0}, {"max_minutes": float("nan")}],
)
def test_limits_refuse_nonsense(kwargs):
    with pytest.raises(ParameterError, match=next(iter(kwargs))):
        xio.Limits(**kwargs)


def test_limits_must_be_a_limits_object(scale_mid):
    with pytest.raises(ParameterError, match="limits"):
        xio.load_bytes(scale_mid, "scale.mid", limits={"max_bytes": 10})


# --- happy paths --------------------------------------------------------------------------------------------


def test_midi_scale_loads_with_its_notes(scale_mid):
    piece = xio.load_bytes(scale_mid, "scale.mid")
    assert isinstance(piece, music.Piece)
    assert piece.pitches.tolist() == C_MAJOR
    np.testing.assert_allclose(piece.onsets, np.arange(8.0))
    np.testing.assert_allclose(piece.durations, np.ones(8))
    assert piece.bar_numbers.tolist() == [1, 2]
    assert piece.duration_seconds == pytest.approx(4.0)  # eight beats at 120 bpm
    assert_sane_bars(piece)


def test_midi_chorale_keeps_four_voices(chorale_mid):
    piece = xio.load_bytes(chorale_mid, "chorale.mid")
    assert piece.n_notes == 16
    assert len(piece.part_names) == 4
    for k, chord in enumerate(CHORDS):
        assert sorted(piece.pitches[piece.onsets == 4.0 * k].tolist()) == sorted(chord)
    assert piece.bar_numbers.tolist() == [1, 2, 3, 4]


def test_midi_drums_are_left_out_of_a_mixed_file():
    drums = line([36, 38, 42, 38], channel=9)
    piece = xio.load_bytes(midi_bytes([drums, line([60, 64, 67])]), "band.mid")
    assert piece.pitches.tolist() == [60, 64, 67]


def test_extension_is_case_insensitive(scale_mid):
    assert xio.load_bytes(scale_mid, "SCALE.MID").n_notes == 8
    assert xio.load_bytes(scale_mid, "scale.Midi").n_notes == 8


def test_source_keeps_the_bytes_and_their_sha256(scale_mid):
    piece = xio.load_bytes(scale_mid, "scale.mid")
    assert piece.source.sha256 == hashlib.sha256(scale_mid).hexdigest()
    assert piece.source.data == scale_mid
    assert piece.source.format == "midi"
    assert piece.source.name == "scale.mid"
    assert not piece.source.is_scored


def test_title_falls_back_to_the_file_name_stem(scale_mid):
    assert xio.load_bytes(scale_mid, "my song.mid").title == "my song"
    piece = xio.load_bytes(scale_mid, "C:\\Users\\me\\Music\\etude.op10.mid")
    assert piece.title == "etude.op10"
    assert piece.source.name == "etude.op10.mid"


def test_musicxml_keeps_its_parts_and_title():
    text = musicxml_text()
    piece = xio.load_bytes(text.encode(), "duo.musicxml")
    assert piece.title == "Duo in C"
    assert piece.part_names == ("Violin", "Cello")
    assert piece.n_notes == 16
    violin = piece.pitches[piece.parts == 0].tolist()
    assert violin == [72, 74, 76, 77] * 2
    assert piece.pitches[piece.parts == 1].tolist() == [48, 55] * 4
    assert piece.bar_numbers.tolist() == [1, 2]
    assert piece.source.format == "musicxml"
    assert piece.source.is_scored
    assert_sane_bars(piece)


def test_musicxml_without_a_title_is_named_after_the_file():
    piece = xio.load_bytes(musicxml_text(title=False).encode(), "Duo.xml")
    assert piece.title == "Duo"


def test_musicxml_written_by_music21_loads(tmp_path):
    from music21 import note, stream

    part = stream.Part()
    for name in ["C4", "E4", "G4", "C5"]:
        part.append(note.Note(name, quarterLength=1.0))
    path = stream.Score([part]).write("musicxml", fp=tmp_path / "arpeggio.xml")
    piece = xio.load_bytes(path.read_bytes(), "arpeggio.xml")
    assert piece.pitches.tolist() == [60, 64, 67, 72]
    assert piece.title == "arpeggio"  # music21's placeholder "Music21 Fragment" is not a title


def test_title_that_is_a_file_name_loses_its_extension():
    text = musicxml_text().replace("Duo in C", "bwv66.6.mxl")
    assert xio.load_bytes(text.encode(), "upload.xml").title == "bwv66.6"


def test_musicxml_in_utf16_loads():
    text = musicxml_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    piece = xio.load_bytes(text.encode("utf-16"), "duo.xml")
    assert piece.n_notes == 16


@pytest.mark.parametrize("container", [True, False])
def test_compressed_musicxml_loads(container):
    data = mxl_bytes(musicxml_text(), container=container)
    piece = xio.load_bytes(data, "duo.mxl")
    assert piece.part_names == ("Violin", "Cello")
    assert piece.n_notes == 16
    assert piece.source.data == data  # the upload itself, zipped, so it can be engraved as it came


def test_compressed_musicxml_named_xml_is_recognised():
    assert xio.load_bytes(mxl_bytes(musicxml_text()), "duo.xml").n_notes == 16


def test_abc_loads_with_its_notes():
    piece = xio.load_bytes(ABC_TUNE.encode(), "tune.abc")
    assert piece.title == "Test"
    assert piece.pitches.tolist() == ABC_PITCHES
    assert piece.length == pytest.approx(16.0)
    assert piece.source.format == "abc"
    assert_sane_bars(piece)


def test_abc_full_first_bar_is_bar_one():
    piece = xio.load_bytes(ABC_TUNE.encode(), "tune.abc")
    assert piece.bar_numbers.tolist() == [1, 2, 3, 4]


def test_abc_pickup_is_bar_zero():
    tune = ABC_TUNE.replace("K:G\n", "K:G\nd2|")
    piece = xio.load_bytes(tune.encode(), "tune.abc")
    assert piece.bar_numbers.tolist() == [0, 1, 2, 3, 4]
    assert piece.bar_starts.tolist() == [0.0, 1.0, 5.0, 9.0, 13.0]


def test_abc_with_several_tunes_gives_the_first():
    piece = xio.load_bytes(ABC_TWO_TUNES.encode(), "collection.abc")
    assert piece.title == "Test"
    assert piece.pitches.tolist() == ABC_PITCHES


def test_abc_without_note_length_or_metre_uses_eighths():
    piece = xio.load_bytes(b"X:1\nT:Bare\nK:C\nCDEF GABc|\n", "bare.abc")
    assert piece.pitches.tolist() == C_MAJOR
    np.testing.assert_allclose(piece.durations, 0.5)


def test_abc_in_latin1_loads():
    tune = ABC_TUNE.replace("T:Test", "T:Müllerin")
    piece = xio.load_bytes(tune.encode("latin-1"), "lied.abc")
    assert piece.title == "Müllerin"


def test_humdrum_loads_with_its_notes():
    piece = xio.load_bytes(KERN.encode(), "song.krn")
    assert piece.title == "Little Song"
    assert piece.n_notes == 22
    assert len(piece.part_names) == 2
    by_part = [piece.pitches[piece.parts == k].tolist() for k in range(2)]
    assert sorted(by_part) == sorted([KERN_BASS, KERN_TREBLE])
    assert piece.bar_numbers.tolist() == [1, 2, 3, 4]
    assert piece.source.format == "humdrum"
    assert_sane_bars(piece)


def test_load_reads_a_file_from_disk(tmp_path, scale_mid):
    path = tmp_path / "scale.mid"
    path.write_bytes(scale_mid)
    for p in (path, str(path)):
        piece = xio.load(p)
        assert piece.pitches.tolist() == C_MAJOR
        assert piece.source.sha256 == hashlib.sha256(scale_mid).hexdigest()


def test_a_five_minute_midi_loads_quickly(rng):
    # Two voices of eighths and quarters at 120 bpm for five minutes: 1,800 notes; anything quadratic shows.
    tpb = 480
    upper = line(rng.integers(60, 80, size=1200).tolist(), beats=0.5)
    lower = line(rng.integers(40, 60, size=600).tolist(), beats=1.0)
    data = midi_bytes([tempo_track((0, 120)), upper, lower], ticks_per_beat=tpb)
    t0 = time.perf_counter()
    piece = xio.load_bytes(data, "long.mid")
    elapsed = time.perf_counter() - t0
    assert piece.n_notes == 1800
    assert piece.duration_seconds == pytest.approx(300.0)
    assert elapsed < 10.0  # about a second on a busy 2-core machine


# --- refusals -----------------------------------------------------------------------------------------------


def refusal(data, filename, **limits) -> str:
    """The message of the InputError that loading gives; fails the test if loading succeeds."""
    with pytest.raises(InputError) as info:
        xio.load_bytes(data, filename, limits=xio.Limits(**limits))
    msg = str(info.value)
    assert filename.replace("\\", "/").split("/")[-1] in msg  # every message names the file
    assert "Traceback" not in msg and "\n" not in msg
    return msg


@pytest.mark.parametrize("filename", ["notes.txt", "song.wav", "song.mp3", "score.pdf", "noextension"])
def test_unknown_extension_is_refused_with_the_list_of_formats(filename, scale_mid):
    msg = refusal(scale_mid, filename)
    assert "not a format this tool reads" in msg
    assert "MIDI (.mid)" in msg and "MusicXML (.xml, .mxl, .musicxml)" in msg and "Humdrum (.krn)" in msg


@pytest.mark.parametrize("filename", ["empty.mid", "empty.xml", "empty.mxl", "empty.abc", "empty.krn"])
def test_empty_file_is_refused(filename):
    assert "empty" in refusal(b"", filename)


def test_upload_over_the_size_limit_is_refused(scale_mid):
    msg = refusal(scale_mid, "scale.mid", max_bytes=len(scale_mid) - 1)
    assert f"{len(scale_mid) - 1} bytes" in msg
    assert "smaller file" in msg
    xio.load_bytes(scale_mid, "scale.mid", limits=xio.Limits(max_bytes=len(scale_mid)))  # exactly at the limit


def test_default_size_limit_is_stated_in_megabytes():
    msg = refusal(b"MThd" + bytes(12_000_000), "huge.mid")
    assert "is 12 MB, more than the 10 MB" in msg


def test_size_just_over_the_limit_is_stated_exactly():
    msg = refusal(b"MThd" + bytes(997), "edge.mid", max_bytes=1000)
    assert "1,001 bytes, more than the 1,000 bytes" in msg


def test_load_refuses_a_big_file_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "big.mid"
    path.write_bytes(b"MThd" + bytes(2000))

    def no_reading(self):
        raise AssertionError("the file was read")

    monkeypatch.setattr(type(path), "read_bytes", no_reading)
    with pytest.raises(InputError, match="1 kB"):
        xio.load(path, limits=xio.Limits(max_bytes=1000))


def test_load_of_a_missing_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="no file"):
        xio.load(tmp_path / "nothing.mid")


def test_corrupt_midi_is_refused(rng):
    garbage = b"MThd" + rng.integers(0, 256, size=200, dtype=np.uint8).tobytes()
    assert "not a readable MIDI file" in refusal(garbage, "corrupt.mid")


def test_midi_with_a_garbled_track_is_refused():
    header = b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0"
    track = b"\x00\x40\x40" + b"\x00\xf4\x01\x02"  # a data byte with no status, then an undefined status
    data = header + b"MTrk" + len(track).to_bytes(4, "big") + track
    assert "not a readable MIDI file" in refusal(data, "garbled.mid")


def test_truncated_midi_is_refused(chorale_mid):
    msg = refusal(chorale_mid[: len(chorale_mid) // 2], "cut.mid")
    assert "damaged or truncated" in msg


def test_midi_with_zero_ticks_per_beat_is_refused(scale_mid):
    data = scale_mid[:12] + b"\x00\x00" + scale_mid[14:]
    assert "not a readable MIDI file" in refusal(data, "zero.mid")


@pytest.mark.parametrize(("filename", "what"), [("picture.mid", "PNG image"), ("picture.xml", "PNG image")])
def test_image_renamed_as_music_is_refused(filename, what):
    msg = refusal(PNG_HEADER + bytes(64), filename)
    assert what in msg


@pytest.mark.parametrize("filename", ["picture.abc", "picture.krn", "picture.mxl"])
def test_image_renamed_as_a_text_format_is_refused(filename):
    assert "PNG image" in refusal(PNG_HEADER + bytes(64), filename)


def test_wav_renamed_as_midi_is_refused():
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32)
    assert "WAV recording" in refusal(wav, "recording.mid")


def test_midi_renamed_as_musicxml_suggests_renaming(scale_mid):
    msg = refusal(scale_mid, "scale.xml")
    assert "MIDI file" in msg and ".mid" in msg


def test_binary_file_as_abc_is_refused(rng):
    data = rng.integers(0, 256, size=300, dtype=np.uint8).tobytes() + b"\x00"
    assert "not a text file" in refusal(data, "noise.abc")


def test_midi_with_no_notes_is_refused():
    meta = [mido.MetaMessage("track_name", name="Empty"), mido.MetaMessage("set_tempo", tempo=500_000)]
    msg = refusal(midi_bytes([meta]), "silence.mid")
    assert "no notes" in msg


def test_drum_only_midi_is_refused():
    drums = line([36, 38, 42, 46] * 4, channel=9)
    msg = refusal(midi_bytes([tempo_track((0, 100)), drums]), "beat.mid")
    assert "only drums" in msg and "pitched notes" in msg


def test_two_hour_midi_is_refused():
    # Four one-beat notes spread over two hours at 60 bpm (7,200 beats) in a few dozen bytes.
    gap = (7200 - 4) * 480
    data = midi_bytes([tempo_track((0, 60)), line([60, 62, 64]) + line([65], rest_before=gap)])
    assert len(data) < 200
    msg = refusal(data, "endless.mid")
    assert "120.0 minutes" in msg and "30-minute limit" in msg


def test_minutes_follow_tempo_changes_before_parsing(chorale_mid):
    # 16 beats at 60 bpm then 16 at 240: 16 s + 4 s = 20 s, not 32 s at the first tempo nor 8 s at the last.
    data = midi_bytes([tempo_track((0, 60), (16 * 480, 240)), line(list(range(60, 92)))])
    assert mido.MidiFile(file=io.BytesIO(data)).length == pytest.approx(20.0)
    msg = refusal(data, "accelerando.mid", max_minutes=19.5 / 60)
    assert "0.3 minutes" in msg
    piece = xio.load_bytes(data, "accelerando.mid", limits=xio.Limits(max_minutes=20.5 / 60))
    assert piece.duration_seconds == pytest.approx(20.0)


def test_midi_spanning_too_many_beats_at_a_freak_tempo_is_refused():
    # A microsecond per beat: 100,000 beats last a tenth of a second, but would make 25,000 bars.
    freak = [mido.MetaMessage("set_tempo", tempo=1)]
    data = midi_bytes([freak, line([60, 62]) + line([64], rest_before=100_000 * 480)])
    msg = refusal(data, "freak.mid")
    assert "beats" in msg


def test_midi_with_thousands_of_tracks_is_refused():
    # 3,000 empty tracks written directly: a header and 3,000 "end of track" chunks.
    n = 3000
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big") + n.to_bytes(2, "big") + (480).to_bytes(2, "big")
    track = b"MTrk" + (4).to_bytes(4, "big") + b"\x00\xff\x2f\x00"
    msg = refusal(header + track * n, "orchestra.mid")
    assert "3,000 tracks" in msg and "64" in msg


def test_midi_track_limit_is_inclusive():
    tracks = [line([60 + k]) for k in range(5)]
    assert xio.load_bytes(midi_bytes(tracks), "five.mid", limits=xio.Limits(max_tracks=5)).n_notes == 5
    assert "5 tracks" in refusal(midi_bytes(tracks), "five.mid", max_tracks=4)


def test_type_2_midi_is_refused(scale_mid):
    data = midi_bytes([line([60, 62]), line([64])], midi_type=2)
    assert "type 2" in refusal(data, "patterns.mid")


def test_midi_with_too_many_notes_is_refused(scale_mid):
    msg = refusal(scale_mid, "scale.mid", max_notes=7)
    assert "8 notes" in msg and "7 this tool reads" in msg


@pytest.mark.parametrize("max_notes", [7, 10])  # refused before parsing (16 > 2 * 7), or after it (16 > 10)
def test_musicxml_with_too_many_notes_is_refused(max_notes):
    msg = refusal(musicxml_text().encode(), "duo.xml", max_notes=max_notes)
    assert "16 notes" in msg


def test_abc_with_too_many_notes_is_refused():
    msg = refusal(ABC_TUNE.encode(), "tune.abc", max_notes=20)
    assert "25 notes" in msg and "20 this tool reads" in msg


def test_humdrum_longer_than_the_limit_is_refused():
    msg = refusal(KERN.encode(), "song.krn", max_minutes=0.1)  # 16 beats at 100 bpm: 9.6 s
    assert "minute" in msg


def test_musicxml_that_is_not_a_score_is_refused():
    msg = refusal(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "drawing.xml")
    assert "does not look like a MusicXML score" in msg


def test_timewise_musicxml_is_refused_with_advice():
    data = b'<?xml version="1.0"?><score-timewise version="3.1"><part-list/></score-timewise>'
    assert "timewise" in refusal(data, "old.xml")


def test_broken_musicxml_is_refused_without_parser_jargon():
    text = musicxml_text()
    msg = refusal(text[: len(text) // 2].encode(), "half.musicxml")
    assert "could not be read as a MusicXML score" in msg
    assert "ParseError" not in msg and "line" not in msg


def test_parser_error_is_kept_as_the_cause():
    with pytest.raises(InputError) as info:
        xio.load_bytes(musicxml_text()[:300].encode(), "half.xml")
    assert info.value.__cause__ is not None


def test_damaged_mxl_is_refused():
    data = mxl_bytes(musicxml_text())
    assert "compressed MusicXML" in refusal(data[: len(data) // 2], "cut.mxl")


def test_mxl_without_a_score_inside_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    assert "no MusicXML score inside" in refusal(buf.getvalue(), "empty.mxl")


def test_mxl_that_unpacks_too_far_is_refused():
    padded = musicxml_text().replace("<part-list>", "<!--" + " " * 200_000 + "--><part-list>")
    data = mxl_bytes(padded)
    assert len(data) < 5_000
    msg = refusal(data, "bomb.mxl", max_bytes=10_000)
    assert "unpacks to" in msg and "100 kB" in msg


def test_text_that_is_not_abc_is_refused():
    msg = refusal(b"Dear friend,\nhere is the tune I promised.\n", "letter.abc")
    assert "does not look like an ABC tune" in msg


def test_abc_that_music21_cannot_read_is_refused():
    msg = refusal(b"X:1\nM:4/4\nL:1/8\nK:G\n[[[(((]]]|||\n" + b"G" * 3 + b"(3(3(3\n", "odd.abc")
    assert "could not be read as an ABC tune" in msg


def test_text_that_is_not_humdrum_is_refused():
    msg = refusal(ABC_TUNE.encode(), "tune.krn")
    assert "no **kern spine" in msg


def test_humdrum_with_no_notes_is_refused():
    kern = "**kern\n*M4/4\n=1\n1r\n==\n*-\n"
    assert "no pitched notes" in refusal(kern.encode(), "rest.krn")


def test_data_must_be_bytes():
    with pytest.raises(ParameterError, match="bytes"):
        xio.load_bytes(ABC_TUNE, "tune.abc")
