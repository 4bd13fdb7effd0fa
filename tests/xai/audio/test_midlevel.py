"""Mid-level features on hand-made pieces whose values can be worked out by hand."""

import numpy as np
import pytest

from xai.audio import midlevel
from xai.symbolic.music import Piece


def piece(notes, qpm=60.0):
    """notes: (onset beat, duration beats, pitch[, part]). At 60 qpm a beat is a second."""
    a = np.array([n if len(n) == 4 else (*n, 0) for n in notes], dtype=float).reshape(-1, 4)
    return Piece(
        title="t", onsets=a[:, 0], durations=a[:, 1], pitches=a[:, 2].astype(np.int16),
        velocities=np.full(len(a), 80, np.int16), parts=a[:, 3].astype(np.int16),
        part_names=tuple(f"P{k}" for k in range(int(a[:, 3].max()) + 1 if len(a) else 1)),
        bar_starts=np.array([0.0]), bar_numbers=np.array([1]), tempi=((0.0, qpm),),
    )


SCALE = piece([(i, 1, p) for i, p in enumerate([60, 62, 64, 65])])  # C D E F, one per second, legato


def test_density_counts_notes_per_second_and_follows_tempo():
    assert midlevel.note_density(SCALE, 4.0) == 1.0
    eight = [(i, 1, 60) for i in range(8)]
    assert midlevel.note_density(piece(eight, qpm=120), 4.0) == 2.0  # all 8 beats fit in 4 s
    assert midlevel.note_density(piece(eight, qpm=60), 4.0) == 1.0  # only the first 4 do


def test_register_is_duration_weighted_mean_pitch():
    p = piece([(0, 3, 60), (3, 1, 72)])
    assert midlevel.register(p, 4.0) == pytest.approx(63.0)


def test_range():
    assert midlevel.pitch_range(SCALE, 4.0) == 5.0


def test_articulation_legato_and_staccato():
    assert midlevel.articulation(SCALE, 4.0) == pytest.approx(1.0)
    stacc = piece([(i, 0.25, 60) for i in range(4)])
    assert midlevel.articulation(stacc, 4.0) == pytest.approx(0.25)
    # a part's notes are compared with the next note of the same part only
    two = piece([(0, 0.5, 60, 0), (1, 0.5, 62, 0), (0, 2, 48, 1), (2, 2, 50, 1)])
    assert midlevel.articulation(two, 4.0) == pytest.approx((0.5 + 1.0) / 2)


def test_dissonance():
    assert midlevel.dissonance(SCALE, 4.0) == 0.0  # monophonic
    triad = piece([(0, 4, 60), (0, 4, 64), (0, 4, 67)])
    assert midlevel.dissonance(triad, 4.0) == 0.0
    cluster = piece([(0, 4, 60), (0, 4, 61)])
    assert midlevel.dissonance(cluster, 4.0) == 1.0
    dom7 = piece([(0, 4, 55), (0, 4, 59), (0, 4, 62), (0, 4, 65)])  # G B D F: one tritone + one m7 of 6 pairs
    assert midlevel.dissonance(dom7, 4.0) == pytest.approx(2 / 6)


def test_mode_major_vs_minor():
    major = piece([(0, 2, 60), (0, 2, 64), (0, 2, 67), (2, 1, 65), (3, 1, 62)])
    minor = piece([(0, 2, 57), (0, 2, 60), (0, 2, 64), (2, 1, 62), (3, 1, 59)])
    minor_c = piece([(0, 2, 60), (0, 2, 63), (0, 2, 67), (2, 1, 65), (3, 1, 62)])
    assert midlevel.mode(major, 4.0) > 0
    assert midlevel.mode(minor_c, 4.0) < 0
    assert midlevel.mode(minor, 4.0) != 0


def test_polyphony():
    assert midlevel.polyphony(SCALE, 4.0) == pytest.approx(1.0)
    assert midlevel.polyphony(piece([(0, 4, 60), (0, 4, 64), (0, 4, 67)]), 4.0) == pytest.approx(3.0)
    assert midlevel.polyphony(piece([(0, 4, 60), (0, 2, 64)]), 4.0) == pytest.approx(1.5)


def test_rhythmic_regularity():
    assert midlevel.rhythmic_regularity(SCALE, 4.0) == pytest.approx(1.0)
    uneven = piece([(0, 0.1, 60), (0.1, 0.1, 60), (2, 0.1, 60), (2.1, 0.1, 60)])
    assert midlevel.rhythmic_regularity(uneven, 4.0) < 0.6


def test_notes_past_the_excerpt_are_ignored_and_clipped():
    p = piece([(0, 1, 60), (3.5, 2, 72), (5, 1, 90)])
    assert midlevel.note_density(p, 4.0) == 0.5
    assert midlevel.pitch_range(p, 4.0) == 12
    assert midlevel.register(p, 4.0) == pytest.approx((60 + 72 * 0.5) / 1.5)


def test_features_vector_and_empty_excerpt():
    v = midlevel.features(SCALE, 4.0)
    assert v.shape == (len(midlevel.FEATURES),) and v.dtype == np.float32
    e = midlevel.features(piece([]), 4.0)
    assert np.all(np.isfinite(e))
    assert set(midlevel.FEATURE_DESCRIPTIONS) == set(midlevel.FEATURES)
