"""Figures and tables for audio models: band summaries, the front-end table, the band-centre figure."""

import numpy as np

from models import audio_nets
from xai.views import audio as audio_views


def test_band_summary_of_the_mel_bank_gives_its_centres_and_half_maximum_edges():
    freqs, resp = audio_nets.frequency_responses(audio_nets.MelFrontEnd())
    c, lo, hi = audio_views.band_summary(freqs, resp)
    edges = audio_nets.mel_to_hz(audio_nets.mel_edges())
    step = freqs[1] - freqs[0]
    assert np.all(np.abs(c - edges[1:-1]) <= step)  # the peak is the FFT bin nearest the centre
    assert np.all(lo <= c) and np.all(c <= hi)
    # above a few hundred Hz a triangle's half-maximum points lie halfway to its edges
    wide = edges[1:-1] > 500
    np.testing.assert_allclose(lo[wide], ((edges[:-2] + edges[1:-1]) / 2)[wide], atol=step)
    np.testing.assert_allclose(hi[wide], ((edges[1:-1] + edges[2:]) / 2)[wide], atol=step)


def test_band_summary_ignores_side_lobes():
    f = np.linspace(0, 100, 101)
    row = np.exp(-0.5 * ((f - 50) / 3) ** 2) + 0.9 * (np.abs(f - 80) < 1)  # a far lobe above half maximum
    c, lo, hi = audio_views.band_summary(f, row[None])
    assert c[0] == 50 and 45 < lo[0] < 50 < hi[0] < 55


def test_band_centres_draws_one_trace_per_bank():
    mel = audio_nets.frequency_responses(audio_nets.MelFrontEnd())
    conv = audio_nets.frequency_responses(audio_nets.ConvFrontEnd())
    fig = audio_views.band_centres({"mel": mel, "conv": conv})
    assert [t.name for t in fig.data] == ["mel", "conv"]
    assert len(fig.data[1].y) == audio_nets.N_BANDS


def test_front_end_rows_reads_cards_and_tolerates_missing_fields():
    cards = [
        {"name": "a", "architecture": {"front_end": "conv", "parameters": 10},
         "metrics": {"test": {"accuracy": 0.9}, "test_heldout_soundfont": {"accuracy": 0.8}},
         "training": {"history": [{}, {}], "seconds": 12.0}},
        {"name": "b"},
    ]
    cards[0]["metrics"]["test_heldout_soundfont"]["soundfont"] = "fluidr3"
    cards.append({"name": "c", "data_version": 2, "metrics": {"test_heldout_soundfont": {"accuracy": 0.7}}})
    rows = audio_views.front_end_rows(cards)
    assert rows[0] == {"model": "a", "front-end": "conv", "trained on": "2 soundfonts", "test accuracy": 0.9,
                       "held-out soundfont accuracy": 0.8, "held out": "fluidr3", "parameters": 10, "epochs": 2,
                       "training seconds": 12.0}
    assert rows[1]["test accuracy"] is None and rows[1]["held-out soundfont accuracy"] is None
    assert rows[2]["trained on"] == "5 soundfonts" and rows[2]["held out"] == "each of the five in turn"


def test_transcribed_notes_sit_on_the_band_of_their_fundamental():
    from xai.audio.predict import Spectrogram
    from xai.symbolic import music

    band_hz = np.array([100.0, 200.0, 440.0, 880.0, 1760.0])
    spec = Spectrogram(values=np.zeros((5, 50)), times=np.arange(50) * 0.1, band_hz=band_hz)
    piece = music.Piece(
        title="t", onsets=np.array([0.0, 2.0, 40.0]), durations=np.array([1.0, 1.0, 1.0]),
        pitches=np.array([69, 81, 69], dtype=np.int16), velocities=np.full(3, 80, dtype=np.int16),
        parts=np.zeros(3, dtype=np.int16), part_names=("p",), bar_starts=np.array([0.0]),
        bar_numbers=np.array([1]), tempi=((0.0, 120.0),))
    fig = audio_views.transcription_over_spectrogram(spec, piece)
    notes = fig.data[1]
    ys = np.asarray(notes.y, dtype=float)
    xs = np.asarray(notes.x, dtype=float)
    # A4 (440 Hz) on band 2, A5 (880 Hz) on band 3; at 120 qpm beat 2 is 1 s; the note at 20 s is past the end
    assert np.allclose(ys[~np.isnan(ys)], [2, 2, 3, 3])
    assert np.allclose(xs[~np.isnan(xs)], [0.0, 0.5, 1.0, 1.5])
