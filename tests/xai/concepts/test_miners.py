"""Each miner on a hand-made excerpt that shows its concept and on one that nearly does but does not."""

import numpy as np
import pytest

from xai.concepts import miners
from xai.symbolic import music


def piece(notes, *, bar=4.0, length=16.0, time_signatures=()):
    """A Piece from (onset, duration, pitch, part) tuples, with bars of ``bar`` quarters over ``length``."""
    notes = sorted(notes, key=lambda n: (n[0], n[2]))
    on, dur, pit, prt = (np.array([n[k] for n in notes]) for k in range(4))
    n_parts = int(prt.max()) + 1 if len(notes) else 1
    starts = np.arange(0.0, length - 1e-9, bar)
    return music.Piece(
        title="test",
        onsets=on.astype(float),
        durations=dur.astype(float),
        pitches=pit.astype(np.int16),
        velocities=np.full(len(notes), 80, dtype=np.int16),
        parts=prt.astype(np.int16),
        part_names=tuple(f"Voice {k + 1}" for k in range(n_parts)),
        bar_starts=starts,
        bar_numbers=np.arange(1, starts.size + 1),
        time_signatures=tuple(time_signatures),
    )


def line(pitches, durations, *, part=0, start=0.0):
    """Consecutive notes of one part; ``durations`` is one value or a rhythm repeated as often as needed."""
    durations = np.resize(np.atleast_1d(np.asarray(durations, dtype=float)), len(pitches))
    onsets = start + np.concatenate([[0.0], np.cumsum(durations[:-1])])
    return [(float(o), float(d), int(p), part) for o, d, p in zip(onsets, durations, pitches)]


CHORDS = [(48, 55, 64, 72), (53, 57, 65, 72), (55, 59, 62, 71), (48, 55, 64, 72)]
C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


def chorale(stagger=0.0):
    """Four voices in block chords, one per quarter; with ``stagger`` each voice enters that much later."""
    return [(t + k * stagger, 1.0, CHORDS[t % 4][k], k) for t in range(16) for k in range(4)]


MOTIF = ([60, 62, 64, 60, 67], [1.0, 1.0, 0.5, 0.5, 2.0])


def melody_over(bass):
    """An upper voice moving by step in quarters over ``bass`` (part 1)."""
    return line([60, 62, 64, 65, 67, 65, 64, 62] * 2, 1.0) + bass


# Chords changing every beat above a bass: C, F/C, G7/C, C ... (voices 0, 2, 3).
CHANGES = [(t, 1.0, p, v) for t in range(12) for v, p in zip((0, 2, 3), [(72, 67, 64), (72, 69, 65), (71, 67, 65),
                                                                         (72, 67, 64)][t % 4])]


def jig():
    """6/8: quarter-eighth, quarter-eighth in every bar of 3 quarters."""
    return [(b * 3 + o, d, 67 + (b + k) % 3, 0) for b in range(5) for k, (o, d) in
            enumerate([(0, 1.0), (1, 0.5), (1.5, 1.0), (2.5, 0.5)])]


POSITIVE = {
    "homophonic": lambda: piece(chorale()),
    "imitation": lambda: piece(line(*MOTIF) + line([p + 7 for p in MOTIF[0]], MOTIF[1], part=1, start=4.0)),
    "parallel_thirds_sixths": lambda: piece(line([60, 62, 64, 65, 67, 69], 1.0)
                                            + line([57, 59, 60, 62, 64, 65], 1.0, part=1)),
    "chromaticism": lambda: piece(line(list(range(60, 72)), 1.0)),
    "pedal_point": lambda: piece(CHANGES + [(0.0, 12.0, 48, 1)]),
    "dotted_rhythm": lambda: piece(line([60, 62] * 4, [1.5, 0.5])),
    "syncopation": lambda: piece(line([60, 62, 64] * 5, [0.5, 1.0, 0.5])),
    "monophonic": lambda: piece(line(C_MAJOR * 2, 1.0)),
    "wide_leaps": lambda: piece(line([60, 72, 62, 74, 64, 76], 1.0)),
    "scale_run": lambda: piece(line([60, 62, 64, 65, 67], 0.5)),
    "triple_meter": lambda: piece(line(C_MAJOR * 2, 1.0), bar=3.0),
}

NEGATIVE = {
    # The same chords, but each voice enters a sixteenth after the one below: nothing starts together.
    "homophonic": lambda: piece(chorale(stagger=0.25)),
    # The motif doubled at the fifth at the same moment is parallel motion, not imitation.
    "imitation": lambda: piece(line(*MOTIF) + line([p + 7 for p in MOTIF[0]], MOTIF[1], part=1)),
    # Parallel fifths.
    "parallel_thirds_sixths": lambda: piece(line([60, 62, 64, 65, 67, 69], 1.0)
                                            + line([53, 55, 57, 58, 60, 62], 1.0, part=1)),
    # A minor with its raised sixth and seventh: two pitch classes outside the scale, not three.
    "chromaticism": lambda: piece(line([69, 71, 72, 74, 76, 78, 80, 81, 79, 77, 76, 74, 72, 71, 69], 1.0)),
    # A tune moving by step over a held bass: no change of harmony above it (the old rule counted its notes).
    "pedal_point": lambda: piece(melody_over([(0.0, 12.0, 48, 1)])),
    "dotted_rhythm": lambda: piece(line([60, 62] * 8, 1.0)),
    # Read as 6/8, quarter-eighth figures are on the beat; as 4/4 this would be syncopated.
    "syncopation": lambda: piece(jig(), bar=3.0, length=15.0),
    "monophonic": lambda: piece(line(C_MAJOR * 2, 1.0) + [(4.0, 1.0, 48, 1)]),
    # One octave leap in a stepwise tune.
    "wide_leaps": lambda: piece(line([60, 62, 64, 76, 74, 72], 1.0)),
    # The same scale slowly, in quarters.
    "scale_run": lambda: piece(line([60, 62, 64, 65, 67], 1.0)),
    "triple_meter": lambda: piece(line(C_MAJOR * 2, 1.0), bar=4.0),
}


def test_every_miner_has_both_cases_and_a_documented_rule():
    assert set(POSITIVE) == set(NEGATIVE) == set(miners.MINERS)
    assert len(miners.MINERS) >= 10
    for name, (rule, description) in miners.MINERS.items():
        assert callable(rule) and len(description) > 40, name
        assert any(ch.isdigit() for ch in description), f"{name}: the rule should state its thresholds"


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_miner_finds_its_concept(name):
    assert miners.MINERS[name][0](POSITIVE[name]()) is True


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_miner_rejects_a_near_miss(name):
    assert miners.MINERS[name][0](NEGATIVE[name]()) is False


@pytest.mark.parametrize("name", sorted(miners.MINERS))
def test_miner_handles_silence(name):
    assert miners.MINERS[name][0](piece([])) is False


def test_meter_is_read_from_bars_and_rhythm():
    assert miners.beat_length(piece(jig(), bar=3.0, length=15.0)) == 1.5
    waltz = piece(line([60, 64, 67] * 5, 1.0), bar=3.0, length=15.0)
    assert miners.beat_length(waltz) == 1.0
    assert miners.beat_length(piece(line([60] * 16, 1.0), bar=4.0)) == 1.0
    assert miners.syncopation(piece(jig(), bar=4.0))  # the jig's rhythm read in 4/4 is syncopated


def test_triple_meter_falls_back_to_the_time_signature():
    one_bar = dict(bar=32.0, length=16.0)
    tune = line(C_MAJOR * 2, 1.0)
    assert miners.triple_meter(piece(tune, time_signatures=[(0.0, "6/8")], **one_bar))
    assert not miners.triple_meter(piece(tune, time_signatures=[(0.0, "4/4")], **one_bar))
    assert not miners.triple_meter(piece(tune, **one_bar))


def test_chromaticism_threshold_is_three_outside_pitch_classes():
    a_minor = [69, 71, 72, 74, 76, 78, 80, 81, 79, 77, 76, 74, 72, 71, 69]
    with_d_sharp = a_minor[:-1] + [75, 76]  # a third outside pitch class (D#, leading note of the dominant)
    assert miners.chromaticism(piece(line(with_d_sharp, 1.0)))


def test_pedal_point_refuses_a_final_chord_and_a_suspension():
    held = [(0.0, 12.0, 48, 1)]
    final = [(t, 1.0, p, v) for t in range(12) for v, p in zip((0, 2, 3), (72, 67, 64))]  # one chord re-struck
    assert not miners.pedal_point(piece(final + held))
    # one suspension: 4-3 over the bass, then the bass moves
    susp = [(0.0, 2.0, 65, 0), (2.0, 2.0, 64, 0), (0.0, 4.0, 67, 2), (0.0, 4.0, 48, 1)] + line(
        [50, 52, 53, 55, 57, 59, 60, 62], 1.0, part=1, start=4.0)
    assert not miners.pedal_point(piece(susp))
    # the changes of harmony must fall before the excerpt's last bar
    assert miners.pedal_point(piece(CHANGES + held, length=16.0))
    assert not miners.pedal_point(piece([(t + 8.0, d, p, v) for t, d, p, v in CHANGES[:12]] + [(8.0, 8.0, 48, 1)],
                                        length=16.0))


def test_pedal_point_counts_beats_of_the_piece_not_quarters():
    """Music written in halves (a median note of two beats) is measured in halves: 6 quarters are 3 beats."""
    halves = [(2.0 * t, 2.0, p, v) for t in range(3) for v, p in zip((0, 2, 3), [(72, 67, 64), (72, 69, 65),
                                                                                 (71, 67, 65)][t])]
    quarters = [(t / 2, d / 2, p, v) for t, d, p, v in halves]
    assert miners.tactus(piece(halves + [(0.0, 6.0, 48, 1)])) == 2.0
    assert miners.tactus(piece(quarters + [(0.0, 3.0, 48, 1)])) == 1.0
    assert not miners.pedal_point(piece(halves + [(0.0, 6.0, 48, 1)]))
