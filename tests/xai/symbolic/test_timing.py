"""xai.symbolic.timing: the seconds grid of performance models (pedal, windows, roll) and ASAP annotations."""

from __future__ import annotations

import numpy as np
import pytest

from xai.symbolic import timing


def _notes(*rows) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def test_pedal_intervals_from_cc64_events():
    iv = timing.pedal_intervals([(3.0, 0), (1.0, 100), (2.0, 64), (5.0, 127), (6.0, 10)], end=9.0)
    assert iv.tolist() == [[1.0, 3.0], [5.0, 6.0]]  # sorted by time; 64 counts as down, a repeat press changes nothing
    assert timing.pedal_intervals([(4.0, 90)], end=7.5).tolist() == [[4.0, 7.5]]  # still down at the end
    assert timing.pedal_intervals([(8.0, 90)], end=7.5).tolist() == [[8.0, 8.0]]
    assert timing.pedal_intervals([], end=1.0).shape == (0, 2)


def test_a_note_released_under_the_pedal_sounds_until_the_pedal_lifts():
    notes = _notes([0.0, 1.0, 60, 0.5], [0.5, 3.0, 64, 0.5], [4.0, 4.5, 67, 0.5])
    out = timing.apply_pedal(notes, np.array([[0.8, 2.0], [4.2, 6.0]]))
    assert out[:, 1].tolist() == [2.0, 3.0, 6.0]  # released at 1.0 under the pedal; 3.0 after it lifts: kept
    assert out[:, [0, 2, 3]].tolist() == notes[:, [0, 2, 3]].tolist() and out.dtype == np.float64
    assert notes[0, 1] == 1.0  # a copy: the input is untouched


def test_a_restruck_pitch_cuts_its_pedalled_note_but_never_shortens_it():
    notes = _notes([0.0, 1.0, 60, 0.5], [1.5, 2.0, 60, 0.5], [0.2, 0.9, 62, 0.5], [0.5, 1.2, 62, 0.5])
    out = timing.apply_pedal(notes, np.array([[0.0, 5.0]]))
    assert out[:, 1].tolist() == [1.5, 5.0, 0.9, 5.0]  # clipped at the next onset of the same pitch; a note already
    # released after that onset (0.9 > 0.5) keeps its own release
    pedal_free = timing.apply_pedal(notes, np.zeros((0, 2)))
    assert np.array_equal(pedal_free, notes)
    assert timing.apply_pedal(np.zeros((0, 4)), np.array([[0.0, 1.0]])).shape == (0, 4)


def test_windows_start_at_the_first_onset_every_hop_while_a_window_fits():
    notes = _notes([3.4, 4.0, 60, 1], [40.0, 51.0, 62, 1])
    assert timing.window_starts(notes).tolist() == [3.0, 13.0, 23.0]  # floor(3.4); 48 s: [33, 53) would not fit
    assert timing.window_starts(notes, window=10.0, hop=5.0).tolist() == [3.0 + 5 * i for i in range(8)]
    assert timing.window_starts(notes[:1]).tolist() == [3.0]  # shorter than a window: one window
    assert timing.window_starts(np.zeros((0, 4))).size == 0


def test_render_puts_velocity_onsets_and_sounding_frames_on_the_10_fps_grid():
    notes = _notes([10.25, 10.5, 60, 0.5], [9.0, 10.3, 21, 0.8], [12.0, 12.01, 108, 1.0], [11.0, 12.0, 20, 1.0])
    roll = timing.render(notes, 10.0, n_frames=30)
    assert roll.shape == (2, timing.N_PITCHES, 30) and roll.dtype == np.float32
    p60 = 60 - timing.PITCH_LOW
    assert np.flatnonzero(roll[0, p60]).tolist() == [2] and roll[0, p60, 2] == pytest.approx(0.5)
    assert np.flatnonzero(roll[1, p60]).tolist() == [2, 3, 4]
    assert roll[0, 0].sum() == 0 and np.flatnonzero(roll[1, 0]).tolist() == [0, 1, 2]  # began before the window
    assert np.flatnonzero(roll[1, timing.N_PITCHES - 1]).tolist() == [20]  # at least one frame
    assert roll.sum() == roll[:, [0, p60, timing.N_PITCHES - 1]].sum()  # MIDI 20 is off the piano: dropped
    flat = timing.render(notes, 10.0, n_frames=30, flat_velocity=True, transpose=1)
    assert flat[0, p60 + 1, 2] == 1.0 and flat[1, timing.N_PITCHES - 1].sum() == 0  # 108 + 1 is dropped
    assert timing.render(np.zeros((0, 4)), 0.0).shape == (2, 88, timing.WINDOW_SECONDS * timing.FPS)


def test_performed_onsets_are_told_from_notated_ones(rng):
    beats = np.arange(64) / 4  # sixteenths
    assert not timing.is_performed(beats) and not timing.is_performed(beats + 1 / 48)
    assert timing.is_performed(beats + rng.uniform(0.003, 0.017, size=64))
    assert not timing.is_performed(rng.uniform(0, 10, size=10))  # too few notes to tell: a score


def test_asap_annotations_give_sorted_beats_and_downbeats():
    text = "1.5\t1.5\tb\n0.5\t0.5\tdb,3/4,2\nbad line\nnan\tnan\tb\n2.5\t2.5\tb\n3.5 3.5 db\n\n2.5\t2.5\tb\n"
    beats, downs = timing.read_annotations(text)
    assert beats.tolist() == [0.5, 1.5, 2.5, 3.5] and downs.tolist() == [0.5, 3.5]
    with pytest.raises(ValueError, match="no beats"):
        timing.read_annotations("header\nx y z\n")
