"""Tests of xai.symbolic.music on hand-made pieces: piano rolls, bar-aligned windows, tempo maps, slicing, MIDI, audio."""

import io

import numpy as np
import pretty_midi
import pytest

from tests._fakes import scale_piece
from xai.errors import InputError
from xai.symbolic import music


def make_piece(notes, *, bar_starts=None, bar_numbers=None, tempi=((0.0, 100.0),), part_names=("Melody",)):
    """A piece from (onset, duration, pitch[, part]) tuples; 4/4 bars numbered from 1 unless given."""
    notes = [tuple(n) + (0,) * (4 - len(n)) for n in notes]
    on, dur, pitch, part = (np.array(col) for col in zip(*notes)) if notes else ([], [], [], [])
    end = max((o + d for o, d, _, _ in notes), default=4.0)
    if bar_starts is None:
        bar_starts = np.arange(0.0, max(end, 4.0), 4.0)
    bar_starts = np.asarray(bar_starts, dtype=float)
    if bar_numbers is None:
        bar_numbers = np.arange(1, bar_starts.size + 1)
    return music.Piece(
        title="Test piece",
        onsets=np.asarray(on, dtype=float),
        durations=np.asarray(dur, dtype=float),
        pitches=np.asarray(pitch, dtype=np.int16),
        velocities=np.full(len(notes), 80, dtype=np.int16),
        parts=np.asarray(part, dtype=np.int16),
        part_names=part_names,
        bar_starts=bar_starts,
        bar_numbers=np.asarray(bar_numbers, dtype=np.int64),
        tempi=tuple(tempi),
    )


def quarter_notes(n_beats, pitch=60):
    return [(float(b), 1.0, pitch) for b in range(n_beats)]


# --- piano_roll ---------------------------------------------------------------------------------------------


def test_piano_roll_shape_is_two_channels_by_88_keys_by_steps():
    piece = make_piece([(0.0, 1.0, 60), (2.0, 1.5, 64)])  # ends at beat 3.5
    roll = music.piano_roll(piece)
    assert roll.shape == (2, 88, 14)
    assert roll.dtype == np.float32


def test_piano_roll_marks_onset_once_and_sustain_for_the_whole_note():
    piece = make_piece([(1.0, 0.5, 60), (3.0, 1.0, 67)])
    roll = music.piano_roll(piece)
    row = 60 - music.PITCH_LOW
    assert np.flatnonzero(roll[0, row]).tolist() == [4]  # beat 1 at four steps per quarter
    assert np.flatnonzero(roll[1, row]).tolist() == [4, 5]  # half a beat = two sixteenths
    assert roll[0].sum() == 2  # one onset per note, nothing else
    assert np.flatnonzero(roll[1, 67 - music.PITCH_LOW]).tolist() == [12, 13, 14, 15]


def test_piano_roll_keeps_a_note_shorter_than_one_step():
    piece = make_piece([(0.0, 4.0, 48), (2.0, 0.01, 72)])
    roll = music.piano_roll(piece)
    assert roll[0, 72 - music.PITCH_LOW, 8] == 1
    assert roll[1, 72 - music.PITCH_LOW].sum() == 1


def test_piano_roll_repeated_notes_show_two_onsets():
    piece = make_piece([(0.0, 1.0, 60), (1.0, 1.0, 60)])
    roll = music.piano_roll(piece)
    row = 60 - music.PITCH_LOW
    assert np.flatnonzero(roll[0, row]).tolist() == [0, 4]
    assert roll[1, row].tolist() == [1.0] * 8


@pytest.mark.parametrize(
    ("pitch", "folded"),
    [(20, 32), (12, 24), (0, 24), (21, 21), (108, 108), (109, 97), (120, 108), (127, 103)],
)
def test_piano_roll_folds_pitches_outside_the_piano_by_octaves(pitch, folded):
    piece = make_piece([(0.0, 1.0, pitch)])
    roll = music.piano_roll(piece)
    assert np.flatnonzero(roll[0, :, 0]).tolist() == [folded - music.PITCH_LOW]
    assert folded % 12 == pitch % 12


def test_piano_roll_with_n_steps_cuts_and_pads():
    piece = make_piece([(0.0, 2.0, 60), (3.0, 1.0, 62)])
    short = music.piano_roll(piece, n_steps=6)
    assert short.shape == (2, 88, 6)
    assert short[1, 60 - music.PITCH_LOW].tolist() == [1, 1, 1, 1, 1, 1]
    assert short[:, 62 - music.PITCH_LOW].sum() == 0  # starts at step 12, past the end
    long = music.piano_roll(piece, n_steps=40)
    assert long[:, :, 16:].sum() == 0


def test_piano_roll_of_an_empty_piece_is_silent():
    roll = music.piano_roll(make_piece([]), n_steps=8)
    assert roll.shape == (2, 88, 8)
    assert roll.sum() == 0


# --- windows ------------------------------------------------------------------------------------------------


def test_windows_start_on_bar_lines_and_cover_the_piece():
    piece = make_piece(quarter_notes(40))  # ten 4/4 bars
    wins = music.windows(piece)
    assert [w.start_beat for w in wins] == [0.0, 8.0, 16.0, 24.0]
    assert all(w.end_beat - w.start_beat == music.WINDOW_QUARTERS for w in wins)
    assert wins[-1].end_beat >= piece.length
    assert [w.index for w in wins] == list(range(len(wins)))


def test_windows_report_the_bars_they_cover():
    piece = make_piece(quarter_notes(40))
    wins = music.windows(piece)
    assert [(w.start_bar, w.end_bar) for w in wins] == [(1, 4), (3, 6), (5, 8), (7, 10)]
    assert [w.n_notes for w in wins] == [16, 16, 16, 16]


def test_windows_in_three_four_start_on_the_next_bar_line():
    bars = np.arange(0.0, 36.0, 3.0)  # twelve 3/4 bars
    piece = make_piece(quarter_notes(36), bar_starts=bars)
    wins = music.windows(piece)
    starts = [w.start_beat for w in wins]
    assert set(starts) <= set(bars.tolist())
    assert starts == [0.0, 9.0, 18.0, 27.0]
    assert all(b - a <= music.WINDOW_QUARTERS for a, b in zip(starts, starts[1:]))  # no gaps
    assert [w.start_bar for w in wins] == [1, 4, 7, 10]


def test_windows_count_a_pickup_as_bar_zero():
    bars = [0.0, 1.0, 5.0, 9.0, 13.0, 17.0, 21.0]  # a one-beat pickup, then 4/4
    piece = make_piece(quarter_notes(25), bar_starts=bars, bar_numbers=range(7))
    wins = music.windows(piece)
    assert wins[0].start_bar == 0
    assert wins[0].start_beat == 0.0
    assert wins[1].start_beat == 9.0  # the first bar line at least a hop (8 beats) on
    assert (wins[1].start_bar, wins[1].end_bar) == (3, 6)


def test_windows_last_one_runs_past_the_end_and_is_padded():
    piece = make_piece(quarter_notes(36))  # nine bars: the last window (24-40) runs 4 beats past the end
    wins, rolls = music.encode(piece)
    assert wins[-1].end_beat > piece.length
    assert rolls.shape == (len(wins), 2, 88, music.WINDOW_QUARTERS * music.STEPS_PER_QUARTER)
    last = rolls[-1]
    inside = int((piece.length - wins[-1].start_beat) * music.STEPS_PER_QUARTER)
    assert last[:, :, :inside].sum() > 0
    assert last[:, :, inside:].sum() == 0


@pytest.mark.parametrize(("length", "hop"), [(0, 8), (16, 0), (-4, 8)])
def test_windows_refuse_non_positive_length_or_hop(length, hop):
    with pytest.raises(InputError, match="positive"):
        music.windows(make_piece(quarter_notes(8)), length=length, hop=hop)


# --- excerpt_rolls ------------------------------------------------------------------------------------------


def test_excerpt_rolls_mark_an_onset_for_a_note_held_across_the_window_start():
    held = (6.0, 4.0, 64)  # sounds from beat 6 to 10, across the window start at beat 8
    ends_at_start = (7.0, 1.0, 67)  # stops exactly at beat 8
    piece = make_piece([held, ends_at_start] + quarter_notes(24, pitch=48))
    roll = music.piano_roll(piece)
    wins = music.windows(piece)
    assert wins[1].start_beat == 8.0
    rolls = music.excerpt_rolls(roll, wins)
    assert roll[0, 64 - music.PITCH_LOW, 32] == 0  # no onset at beat 8 in the whole piece
    assert rolls[1, 0, 64 - music.PITCH_LOW, 0] == 1  # but the excerpt starts with one
    assert rolls[1, 1, 64 - music.PITCH_LOW, :8].tolist() == [1.0] * 8
    assert rolls[1, :, 67 - music.PITCH_LOW].sum() == 0
    np.testing.assert_array_equal(rolls[1, 1], roll[1, :, 32:96])  # sustain is an exact copy


def test_excerpt_rolls_of_no_windows_is_empty():
    out = music.excerpt_rolls(np.zeros((2, 88, 10), dtype=np.float32), [])
    assert out.shape == (0, 2, 88, 0)


def test_excerpt_rolls_pad_a_window_that_starts_past_the_roll():
    roll = np.ones((2, 88, 8), dtype=np.float32)
    win = music.Window(index=0, start_beat=4.0, end_beat=8.0, start_bar=2, end_bar=2, n_notes=0)
    out = music.excerpt_rolls(roll, [win])
    assert out.shape == (1, 2, 88, 16)
    assert out.sum() == 0


# --- tempo, bars, slicing -----------------------------------------------------------------------------------


def test_seconds_follow_a_tempo_change():
    piece = make_piece(quarter_notes(8), tempi=((0.0, 60.0), (4.0, 120.0)))
    assert piece.seconds(0.0) == 0.0
    assert piece.seconds(4.0) == pytest.approx(4.0)  # four beats at one a second
    assert piece.seconds(6.0) == pytest.approx(5.0)  # then two a second
    np.testing.assert_allclose(piece.seconds(np.array([1.0, 5.0, 8.0])), [1.0, 4.5, 6.0])
    assert piece.duration_seconds == pytest.approx(6.0)


def test_seconds_at_the_default_tempo():
    piece = make_piece(quarter_notes(4))
    assert piece.duration_seconds == pytest.approx(4 * 60 / music.DEFAULT_QPM)


def test_bar_at_and_bar_range():
    piece = make_piece(quarter_notes(16))  # bars 1-4 at beats 0, 4, 8, 12
    assert piece.bar_at(0.0) == 1
    assert piece.bar_at(3.99) == 1
    assert piece.bar_at(4.0) == 2
    assert piece.bar_range(2, 3) == (4.0, 12.0)
    assert piece.bar_range(4, 4) == (12.0, 16.0)  # the last bar ends with the last note
    assert piece.bar_range(1, 4) == (0.0, 16.0)


@pytest.mark.parametrize(("start", "end"), [(0, 2), (3, 5), (4, 2), (9, 9)])
def test_bar_range_outside_the_piece_is_an_input_error(start, end):
    piece = make_piece(quarter_notes(16))
    with pytest.raises(InputError, match="not in this piece, which has bars 1-4"):
        piece.bar_range(start, end)


def test_slice_shifts_clips_and_keeps_bar_numbers_and_tempo():
    notes = [(0.0, 4.0, 48), (3.0, 2.0, 60), (5.0, 1.0, 62), (9.0, 1.0, 64)]
    piece = make_piece(notes, tempi=((0.0, 60.0), (4.0, 120.0), (6.0, 90.0)))
    s = piece.slice(4.0, 8.0)  # bar 2
    assert s.pitches.tolist() == [60, 62]  # the held C3 ends at 4, the E4 starts at 9: both out
    np.testing.assert_allclose(s.onsets, [0.0, 1.0])
    np.testing.assert_allclose(s.durations, [1.0, 1.0])  # the C4 is clipped to the slice
    assert s.bar_numbers.tolist() == [2]
    assert s.bar_starts.tolist() == [0.0]
    assert s.tempi == ((0.0, 120.0), (2.0, 90.0))
    assert s.title == piece.title


def test_slice_starting_mid_bar_begins_with_that_bar():
    piece = make_piece(quarter_notes(16))
    s = piece.slice(6.0, 14.0)
    assert s.bar_starts.tolist() == [0.0, 2.0, 6.0]
    assert s.bar_numbers.tolist() == [2, 3, 4]
    assert s.n_notes == 8


# --- MIDI and audio -----------------------------------------------------------------------------------------


def read_midi(data: bytes) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(data))


def test_to_midi_bytes_round_trips_notes_and_timing():
    notes = [(0.0, 1.0, 60, 0), (1.0, 0.5, 64, 0), (1.5, 2.5, 67, 0), (0.0, 4.0, 36, 1)]
    piece = make_piece(notes, tempi=((0.0, 120.0),), part_names=("Right hand", "Left hand"))
    pm = read_midi(music.to_midi_bytes(piece))
    assert [inst.name for inst in pm.instruments] == ["Right hand", "Left hand"]
    right = sorted(pm.instruments[0].notes, key=lambda n: n.start)
    assert [n.pitch for n in right] == [60, 64, 67]
    np.testing.assert_allclose([n.start for n in right], [0.0, 0.5, 0.75], atol=0.005)
    np.testing.assert_allclose([n.end for n in right], [0.5, 0.75, 2.0], atol=0.005)
    assert [n.pitch for n in pm.instruments[1].notes] == [36]
    assert all(n.velocity == 80 for inst in pm.instruments for n in inst.notes)


def test_to_midi_bytes_keeps_the_tempo_map():
    piece = make_piece(quarter_notes(8), tempi=((0.0, 60.0), (4.0, 120.0)))
    pm = read_midi(music.to_midi_bytes(piece))
    starts = sorted(n.start for n in pm.instruments[0].notes)
    np.testing.assert_allclose(starts, piece.seconds(np.arange(8.0)), atol=0.005)
    times, qpm = pm.get_tempo_changes()
    np.testing.assert_allclose(times, [0.0, 4.0], atol=0.005)
    np.testing.assert_allclose(qpm, [60.0, 120.0], rtol=1e-3)
    # The beats survive too, not only the seconds: the fifth note is on beat 4 at the new tempo.
    beat_of = [pm.time_to_tick(t) / pm.resolution for t in starts]
    np.testing.assert_allclose(beat_of, np.arange(8.0), atol=0.01)


def test_to_midi_bytes_of_a_span_starts_at_zero():
    piece = make_piece(quarter_notes(16, pitch=60) + [(8.0, 1.0, 72)], tempi=((0.0, 60.0),))
    pm = read_midi(music.to_midi_bytes(piece, 8.0, 12.0))
    notes = sorted((n.start, n.pitch) for n in pm.instruments[0].notes)
    assert len(notes) == 5
    assert notes[0][0] == pytest.approx(0.0, abs=0.005)
    assert max(n.end for n in pm.instruments[0].notes) == pytest.approx(4.0, abs=0.005)


def test_render_audio_returns_wav_bytes():
    wav = music.render_audio(make_piece([(0.0, 1.0, 60), (1.0, 1.0, 64)], tempi=((0.0, 120.0),)))
    assert wav[:4] == b"RIFF"
    assert wav[8:12] == b"WAVE"
    assert len(wav) > 44 + 44_100  # a header and more than a quarter second of 16-bit stereo


def test_render_audio_of_an_empty_piece_is_an_input_error():
    with pytest.raises(InputError, match="no notes"):
        music.render_audio(make_piece([]))


# --- from_midi: MIDI read straight from its ticks ------------------------------------------------------------


def _midi(tracks, tpb=480):
    import mido

    mf = mido.MidiFile(ticks_per_beat=tpb)
    for msgs in tracks:
        t = mido.MidiTrack()
        t.extend(msgs)
        mf.tracks.append(t)
    return mf


def test_from_midi_bars_follow_time_signatures_and_tempo_changes():
    import mido

    meta = [mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0),
            mido.MetaMessage("set_tempo", tempo=1_000_000, time=0),  # 60 qpm
            mido.MetaMessage("set_tempo", tempo=500_000, time=480 * 6)]  # 120 qpm from beat 6
    notes = [mido.Message("track_name" if False else "note_on", note=60, velocity=90, time=0)]
    notes += [mido.Message("note_off", note=60, velocity=0, time=480 * 12)]
    piece = music.from_midi(_midi([meta, notes]), title="t")
    assert np.allclose(piece.bar_starts, [0, 3, 6, 9])
    assert list(piece.bar_numbers) == [1, 2, 3, 4]
    assert piece.time_signatures[0][1] == "3/4"
    assert piece.tempi == ((0.0, 60.0), (6.0, 120.0))
    assert np.isclose(piece.seconds(12.0), 6.0 + 3.0)
    assert piece.durations[0] == 12.0 and piece.velocities[0] == 90


def test_from_midi_parts_per_track_and_channel_drums_dropped_unended_notes_kept():
    import mido

    t1 = [mido.MetaMessage("track_name", name="Violin", time=0),
          mido.Message("note_on", note=67, velocity=80, channel=0, time=0),
          mido.Message("note_on", note=48, velocity=80, channel=1, time=0),
          mido.Message("note_on", note=36, velocity=80, channel=9, time=0),  # drum: dropped
          mido.Message("note_on", note=67, velocity=0, channel=0, time=480),  # velocity-0 note-on ends a note
          mido.Message("note_on", note=72, velocity=80, channel=0, time=480)]  # never ended: runs to track end
    piece = music.from_midi(_midi([t1]), title="t")
    assert sorted(piece.pitches.tolist()) == [48, 67, 72]
    assert len(piece.part_names) == 2 and piece.part_names[0] == "Violin"
    i67 = int(np.flatnonzero(piece.pitches == 67)[0])
    assert piece.durations[i67] == 1.0
    assert piece.onsets[piece.pitches == 72][0] == 2.0


def test_a_last_note_shorter_than_its_bar_does_not_shorten_the_piece():
    import mido

    meta = [mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)]
    notes = []
    for k in range(4):  # four bars of a whole note, the last one cut short to a dotted half
        notes.append(mido.Message("note_on", note=60 + k, velocity=80, time=0))
        notes.append(mido.Message("note_off", note=60 + k, velocity=0, time=480 * (3 if k == 3 else 4)))
    piece = music.from_midi(_midi([meta, notes]), title="t")
    assert piece.length == 16.0
    assert piece.bar_range(1, 4) == (0.0, 16.0)
    assert piece.slice(0.0, 16.0).length == 16.0


# --- piece keys and packed pieces -------------------------------------------------------------------------------


def test_piece_key_names_the_file_or_the_object():
    p = scale_piece(2)
    with_src = music.Piece(**{**p.__dict__, "source": music.Source.from_bytes("a.mid", "midi", b"MThd")})
    assert music.piece_key(with_src).endswith(":a.mid") and len(music.piece_key(with_src)) == 64 + 6
    assert music.piece_key(p) != music.piece_key(scale_piece(2))  # no file: never shared


def test_pack_and_unpack_pieces_round_trip():
    a, b = scale_piece(3, parts=2), scale_piece(2)
    packed = music.pack_pieces([a, b])
    assert packed["note_ptr"].tolist() == [0, a.n_notes, a.n_notes + b.n_notes]
    assert packed["bar_ptr"].tolist() == [0, a.bar_starts.size, a.bar_starts.size + b.bar_starts.size]
    assert packed["pitches"].dtype == np.int16 and packed["onsets"].dtype == np.float64
    for i, src in enumerate((a, b)):
        back = music.unpack_piece(packed, i, title="t", tempi=((0.0, 90.0),))
        for k in ("onsets", "durations", "pitches", "velocities", "parts", "bar_starts", "bar_numbers"):
            assert np.array_equal(getattr(back, k), getattr(src, k)), k
        assert back.part_names == tuple(f"Part {k + 1}" for k in range(int(src.parts.max()) + 1))
        assert back.tempi == ((0.0, 90.0),) and back.title == "t"


def test_packed_records_without_velocities_play_at_80_with_the_given_parts():
    a = scale_piece(2)
    record = {k: getattr(a, k) for k in ("onsets", "durations", "pitches", "parts", "bar_starts", "bar_numbers")}
    packed = music.pack_pieces([record], velocities=False)
    assert "velocities" not in packed
    back = music.unpack_piece(packed, 0, n_parts=3)
    assert (back.velocities == 80).all() and back.velocities.dtype == np.int16
    assert back.part_names == ("Part 1", "Part 2", "Part 3")
    empty = music.pack_pieces([])
    assert empty["note_ptr"].tolist() == [0] and empty["onsets"].size == 0


def test_clock_is_the_one_way_a_performance_cites_time():
    assert music.clock(65) == "1:05" and music.clock(0.4) == "0:00" and music.clock(-3) == "0:00"
    assert music.clock(65.54, tenths=True) == "1:05.5" and music.clock(600, tenths=True) == "10:00.0"
    w = music.Window(0, 0.0, 40.0, 1, 10, 100, start_second=20.0, end_second=40.0, bars_known=False)
    assert w.label == "0:20–0:40"
    known = music.Window(0, 0.0, 40.0, 1, 10, 100, start_second=20.0, end_second=40.0, bars_known=True)
    assert known.label.endswith("(0:20–0:40)") and known.label.startswith("bars 1")
