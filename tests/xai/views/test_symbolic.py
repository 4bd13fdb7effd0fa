"""Figures from xai.views: built from tiny hand-made pieces and a fake model, checked for what a user reads."""

from __future__ import annotations

import io
import time
import wave

import numpy as np
import plotly.graph_objects as go
import pytest

from tests._fakes import FakeModel, scale_piece
from xai import views
from xai.errors import ParameterError
from xai.symbolic import music, predict


@pytest.fixture
def piece():
    return scale_piece(12, parts=2)


@pytest.fixture
def prediction(piece):
    return predict.classify(piece, FakeModel())


def _with_silence(piece: music.Piece, start: float, end: float) -> music.Piece:
    """The piece with no notes in [start, end), keeping its bars."""
    keep = (piece.onsets < start) | (piece.onsets >= end)
    fields = {**piece.__dict__}
    for k in ("onsets", "durations", "pitches", "velocities", "parts"):
        fields[k] = getattr(piece, k)[keep]
    return music.Piece(**fields)


def test_class_colours_are_fixed_by_class_order_and_shared_by_figures(prediction):
    colors = views.class_colors(prediction.classes)
    assert colors == views.class_colors(list(prediction.classes))
    assert len(set(colors.values())) == len(prediction.classes)
    timeline = views.prediction_timeline(prediction)
    assert {t.name: t.marker.color for t in timeline.data if t.name in colors} == colors
    bars = views.probability_bars(prediction).data[0]
    top_index = list(bars.y).index(prediction.label)
    assert bars.marker.color[top_index] == colors[prediction.label]


def test_probability_bars_are_sorted_with_the_top_class_highlighted(prediction):
    fig = views.probability_bars(prediction)
    assert isinstance(fig, go.Figure)
    bar = fig.data[0]
    assert bar.orientation == "h" and len(bar.y) == len(prediction.classes)
    # plotly draws the first category at the bottom: the most likely class is last, i.e. on top
    assert list(bar.x) == sorted(bar.x)
    assert bar.y[-1] == prediction.label
    assert sum(c.startswith("#") for c in bar.marker.color) == 1  # only the top class in full colour
    assert "<b>" in fig.layout.yaxis.ticktext[-1] and "<b>" not in fig.layout.yaxis.ticktext[0]


def test_timeline_labels_windows_by_bars(prediction):
    fig = views.prediction_timeline(prediction)
    assert len(fig.data) == len(prediction.classes)
    ticks = list(fig.layout.xaxis.ticktext)
    w0 = prediction.windows[0]
    assert ticks[0] == f"bars {w0.start_bar}–{w0.end_bar}" == "bars 1–4"
    for t in fig.data:
        assert len(t.x) == len(prediction.windows)
    stacked = np.sum([np.asarray(t.y, dtype=float) for t in fig.data], axis=0)
    assert np.allclose(stacked, 1.0)


@pytest.mark.parametrize("kind", ["stacked", "lines"])
def test_timeline_leaves_silent_windows_as_gaps(piece, kind):
    quiet = _with_silence(piece, 16.0, 40.0)  # bars 5-10 silent
    pred = predict.classify(quiet, FakeModel())
    silent = [i for i, lab in enumerate(pred.window_labels()) if lab is None]
    assert silent
    fig = views.prediction_timeline(pred, kind=kind)
    for t in fig.data[: len(pred.classes)]:
        y = np.asarray(t.y, dtype=float)
        assert np.isnan(y[silent]).all() and not np.isnan(np.delete(y, silent)).any()
    assert any(t.mode == "text" and "silent" in list(t.text) for t in fig.data if isinstance(t, go.Scatter))


def test_timeline_refuses_an_unknown_kind(prediction):
    with pytest.raises(ParameterError, match="'kind'"):
        views.prediction_timeline(prediction, kind="pie")


def test_piano_roll_draws_every_note_on_the_model_grid(piece):
    fig = views.piano_roll(piece)
    heat = next(t for t in fig.data if isinstance(t, go.Heatmap))
    z = np.asarray(heat.z, dtype=float)
    roll = music.piano_roll(piece)
    assert np.count_nonzero(~np.isnan(z)) == np.count_nonzero(roll[1])
    # parts in different colours: part k is 2k+1 (sounding) / 2k+2 (note start)
    assert set(np.unique(z[~np.isnan(z)])) == {1.0, 2.0, 3.0, 4.0}
    assert fig.layout.dragmode == "select"
    assert [t.name for t in fig.data if t.showlegend] == list(piece.part_names)


def test_piano_roll_has_bar_numbers_on_top_and_note_names_on_the_pitch_axis(piece):
    fig = views.piano_roll(piece)
    assert fig.layout.xaxis.side == "top"
    assert list(fig.layout.xaxis.ticktext)[:3] == ["1", "2", "3"]
    assert list(fig.layout.xaxis.tickvals)[:3] == [0.0, 4.0, 8.0]
    assert "C4" in fig.layout.yaxis.ticktext and "C5" in fig.layout.yaxis.ticktext
    beats = views.piano_roll(piece, key_bars=False)
    assert beats.layout.xaxis.ticktext is None and "beats" in beats.layout.xaxis.title.text


def test_piano_roll_marks_windows_highlights_and_selection(piece, prediction):
    best = prediction.most_confident(3)
    fig = views.piano_roll(piece, prediction=prediction, highlight=best, selected=best[-1])
    shapes = fig.layout.shapes
    bands = [s for s in shapes if s.line.width == 1]
    outlined = [s for s in shapes if s.line.width == 3]
    chosen = [s for s in shapes if s.line.dash == "dot"]
    assert len(bands) == len(prediction.windows)
    assert len(outlined) == len(best) == len(fig.layout.annotations) == 3
    assert len(chosen) == 1 and chosen[0].x0 == prediction.windows[best[-1]].start_beat
    assert fig.layout.annotations[0].text.startswith("<b>#1</b> bars")
    # labels of overlapping windows sit on separate rows
    assert len({round(a.y, 6) for a in fig.layout.annotations}) == 3
    assert len(views.piano_roll(piece, prediction=prediction).layout.annotations) == 0


def test_piano_roll_of_a_five_minute_piece_is_a_handful_of_traces(rng):
    n = 2400  # eighth notes in four parts over 600 quarters: 6 minutes at 100 qpm
    on = np.sort(rng.uniform(0, 600, n))
    long = music.Piece(
        title="long",
        onsets=on,
        durations=np.full(n, 0.5),
        pitches=rng.integers(36, 90, n).astype(np.int16),
        velocities=np.full(n, 80, dtype=np.int16),
        parts=rng.integers(0, 4, n).astype(np.int16),
        part_names=("S", "A", "T", "B"),
        bar_starts=np.arange(0, 600, 4.0),
        bar_numbers=np.arange(1, 151),
        tempi=((0.0, 100.0),),
    )
    pred = predict.classify(long, FakeModel())
    t0 = time.perf_counter()
    fig = views.piano_roll(long, prediction=pred, highlight=pred.most_confident(3), selected=0)
    assert time.perf_counter() - t0 < 3.0
    assert len(fig.data) < 12
    assert len(fig.layout.xaxis.ticktext) <= 26  # bar labels thinned so they stay readable


def test_window_captions_and_rows_name_bars_and_labels(piece):
    quiet = _with_silence(piece, 16.0, 40.0)
    pred = predict.classify(quiet, FakeModel())
    rows = views.window_rows(pred)
    assert len(rows) == len(pred.windows)
    assert rows[0]["bars"] == "bars 1–4" and rows[0]["label"] in pred.classes
    silent = next(i for i, lab in enumerate(pred.window_labels()) if lab is None)
    assert rows[silent]["label"] == "" and rows[silent]["confidence"] is None
    assert views.window_caption(pred, silent).endswith("· silent")
    assert views.window_caption(pred, 0).startswith("bars 1–4 · ")
    assert views.bars_text(7, 7) == "bar 7"
    assert views.note_name(60) == "C4" and views.note_name(69) == "A4"


def test_listening_wav_is_mono_at_the_asked_rate():
    rate, secs = 48000, 0.5
    t = np.arange(int(rate * secs)) / rate
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(tone, 2).tobytes())
    out = views.listening_wav(buf.getvalue())
    with wave.open(io.BytesIO(out)) as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 22050)
        assert abs(w.getnframes() - 22050 * secs) <= 2


def test_reading_names_the_top_class_and_warns_when_unsure(prediction):
    text = views.reading(prediction)
    assert f"<b><i>{prediction.label}</i></b>" in text
    plain = views.reading(prediction, markup=False)
    assert "<" not in plain and plain.startswith(f"The model hears this as {prediction.label} (p = ")
    unsure = predict.Prediction(model="m", classes=("a&b", "c"), piece_probabilities=np.array([0.52, 0.48]),
                                windows=(), window_probabilities=np.zeros((0, 2)))
    assert "<b><i>a&amp;b</i></b>" in views.reading(unsure) and "<b>unsure</b>" in views.reading(unsure)
    assert views.reading(unsure, markup=False) == ("The model hears this as a&b (p = 0.52). Next comes c (0.48). "
                                                   "It is unsure: no style stands out clearly.")


def test_piece_summary_counts_bars_parts_notes_and_windows(piece, prediction):
    line = views.piece_summary(piece, prediction)
    assert line.startswith("unknown format · 12 bars (bars 1–12)")
    assert f"2 parts · {piece.n_notes:,} notes · {len(prediction.windows)} windows" in line


@pytest.mark.parametrize(("start", "end", "bars"), [
    (4.0, 12.0, (2, 3)),     # exactly bars 2 and 3
    (12.0, 4.0, (2, 3)),     # drawn right to left
    (3.9, 12.1, (2, 3)),     # a box a little past the bar lines does not take the neighbours
    (3.0, 13.0, (1, 4)),     # a quarter or more into a bar takes it
    (-5.0, 2.0, (1, 1)),     # before the piece: its first bar
    (30.0, 99.0, (8, 8)),    # past the end: its last bar
    (9.0, 9.1, (3, 3)),      # a tiny box: the bar it sits in
])
def test_selection_bars_turns_a_box_on_the_roll_into_printed_bars(start, end, bars):
    assert views.symbolic.selection_bars(scale_piece(8), start, end) == bars
