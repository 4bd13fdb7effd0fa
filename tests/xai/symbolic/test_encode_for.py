"""encode_for: one path from a piece to any symbolic model's input (quarters or seconds), and odd performances."""

from __future__ import annotations

import io as _io

import mido
import numpy as np
import pytest

from tests._fakes import FakeModel
from xai.errors import InputError
from xai.symbolic import io, music, timing
from xai.symbolic.examples import EXAMPLES_DIR

PIANO = EXAMPLES_DIR / "piano"


class SecondsModel(FakeModel):
    """A fake that reads 20-s windows every 10 s at 10 frames a second, as piano_composer's card says."""

    def __init__(self):
        super().__init__(name="seconds_fake")
        self.window_quarters = self.hop_quarters = 0.0
        self.card = {"input": {"window_seconds": 20.0, "hop_seconds": 10.0, "frames_per_second": 10}}


def midi_bytes(notes, *, pedal=(), tempo: int | None = 500_000, tpb: int = 384) -> bytes:
    """A one-track MIDI file of (onset s, offset s, pitch, velocity) notes and (time s, CC64 value) pedal events."""
    spt = (tempo or 500_000) / 1e6 / tpb
    ev = [(on, "note_on", p, v) for on, _off, p, v in notes] + [(off, "note_off", p, 0) for _on, off, p, _v in notes]
    ev += [(t, "cc", 64, v) for t, v in pedal]
    ev.sort(key=lambda e: (e[0], e[1] != "note_off"))
    track = mido.MidiTrack()
    if tempo is not None:
        track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    last = 0
    for t, kind, a, b in ev:
        tick = int(round(t / spt))
        dt, last = tick - last, tick
        if kind == "cc":
            track.append(mido.Message("control_change", control=a, value=b, time=dt))
        else:
            track.append(mido.Message(kind, note=a, velocity=b, time=dt))
    mf = mido.MidiFile(ticks_per_beat=tpb)
    mf.tracks.append(track)
    buf = _io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def performance(seconds: float, rng, **kw) -> bytes:
    """Notes at irregular times (a performance, not a score) for ``seconds`` seconds."""
    on = np.sort(rng.uniform(0, seconds - 0.5, size=int(seconds * 4)))
    return midi_bytes([(float(t), float(t) + 0.3, int(p), int(v)) for t, p, v in
                       zip(on, rng.integers(40, 90, on.size), rng.integers(30, 110, on.size))], **kw)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_quarters_models_get_exactly_encode():
    piece = io.load(EXAMPLES_DIR / "bach__bwv104.6.mid")
    wins, X = music.encode_for(piece, FakeModel())
    wins0, X0 = music.encode(piece)
    assert wins == wins0 and np.array_equal(X, X0)


def test_seconds_windows_match_the_training_renderer(rng):
    piece = io.load_bytes(performance(65.0, rng, pedal=[(1.0, 100), (5.0, 0)]), "perf.mid")
    assert piece.performed and not piece.bars_known and piece.pedal is not None
    wins, X = music.encode_for(piece, SecondsModel())
    assert X.shape == (len(wins), 2, 88, 200)
    notes = music.note_seconds(piece)
    starts = timing.window_starts(notes)
    assert [w.start_second for w in wins] == pytest.approx(starts.tolist())
    assert np.array_equal(X[1], timing.render(notes, float(starts[1])))
    assert wins[1].label.startswith("0:") and "bar" not in wins[1].label


def test_the_pedal_holds_a_released_note_until_it_lifts():
    data = midi_bytes([(0.0, 0.5, 60, 64)] + [(t, t + 0.1, 72, 64) for t in np.arange(0.0, 8.0, 0.37)],
                      pedal=[(0.2, 127), (3.0, 0)])
    notes = music.note_seconds(io.load_bytes(data, "pedal.mid"))
    c4 = notes[notes[:, 2] == 60]
    assert c4[0, 1] == pytest.approx(3.0, abs=0.01)
    assert c4[0, 3] == pytest.approx(64 / 127, abs=1e-6)  # a performance keeps its velocities


def test_a_score_plays_at_velocity_one_without_pedal():
    piece = io.load(EXAMPLES_DIR / "bach__bwv104.6.mid")
    assert not piece.performed and piece.bars_known
    notes = music.note_seconds(piece)
    assert np.all(notes[:, 3] == 1.0)
    wins, X = music.encode_for(piece, SecondsModel())
    assert wins[0].bars_known and wins[0].start_bar == 1 and wins[-1].end_bar >= wins[0].end_bar


def test_asap_annotations_give_a_performance_its_bars():
    piece = io.load(PIANO / "schubert_moment_musical3_Tetzloff09M.mid")  # its _annotations.txt lies beside it
    assert piece.bar_source == "annotations" and piece.bars_known
    wins, _ = music.encode_for(piece, SecondsModel())
    assert wins[0].bars_known and wins[1].start_bar > wins[0].start_bar
    assert "bars" in wins[1].label and "(0:" in wins[1].label


@pytest.mark.parametrize("case", ["pedal only", "overlapping", "no tempo", "short"])
def test_odd_performances_get_a_sentence_or_an_answer(case, rng):
    model = SecondsModel()
    if case == "pedal only":
        data = midi_bytes([], pedal=[(0.0, 127), (4.0, 0)])
        with pytest.raises(InputError, match="contains no notes"):
            io.load_bytes(data, "pedal.mid")
        return
    if case == "overlapping":  # 1,000 notes all held down together under the pedal
        data = midi_bytes([(i * 0.01, 30.0, 30 + i % 60, 60) for i in range(1000)], pedal=[(0.0, 127)])
    elif case == "no tempo":
        data = performance(30.0, rng, tempo=None)
    else:
        data = performance(4.0, rng)
    piece = io.load_bytes(data, f"{case}.mid")
    wins, X = music.encode_for(piece, model)
    assert len(wins) >= 1 and X.shape[1:] == (2, 88, 200) and np.isfinite(X).all()
    if case == "short":  # shorter than one window: one window, silent after the music
        assert len(wins) == 1 and not X[0, :, :, 60:].any()


def test_explainers_that_need_bars_say_so_for_a_seconds_model():
    # LIME and note attacks read seconds now (tests/xai/local/test_lime_seconds.py); attributions still refuse.
    with pytest.raises(InputError, match="not available yet"):
        music.require_quarters(SecondsModel(), "Attributions")
    music.require_quarters(FakeModel(), "Attributions")
