"""Figures and tables for audio models: band summaries, the front-end table, the band-centre figure."""

import numpy as np

from models import audio_nets
from xai import audio_views


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
    rows = audio_views.front_end_rows(cards)
    assert rows[0] == {"model": "a", "front-end": "conv", "test accuracy": 0.9, "held-out soundfont accuracy": 0.8,
                       "parameters": 10, "epochs": 2, "training seconds": 12.0}
    assert rows[1]["test accuracy"] is None and rows[1]["held-out soundfont accuracy"] is None
