"""Figures and tables for audio models: band summaries, the front-end table, the band-centre figure."""

import numpy as np
import pytest

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


def _prediction(midlevel=True):
    from xai.audio.predict import AudioPrediction

    wp = np.array([[0.7, 0.3], [np.nan, np.nan], [0.2, 0.8]])
    return AudioPrediction(model="style_audio", classes=("folk", "jazz"), probabilities=np.array([0.45, 0.55]),
                           starts=np.array([0.0, 2.0, 4.0]), window_seconds=3.0, window_probabilities=wp,
                           midlevel_names=("note_density", "pitch_range") if midlevel else (),
                           midlevel=np.array([[2.0, 10.0], [4.0, 14.0], [6.0, 18.0]]) if midlevel else None)


def test_spectrogram_shows_seconds_across_and_band_frequencies_up():
    from xai.audio.predict import Spectrogram

    band_hz = np.geomspace(50, 8000, 11)
    spec = Spectrogram(values=np.arange(11 * 4, dtype=float).reshape(11, 4), times=np.arange(4) * 0.5,
                       band_hz=band_hz)
    fig = audio_views.spectrogram(spec)
    heat = fig.data[0]
    np.testing.assert_array_equal(np.asarray(heat.z), spec.values)
    assert list(heat.x) == [0.0, 0.5, 1.0, 1.5] and heat.customdata[10][0] == 8000
    assert list(fig.layout.yaxis.tickvals) == [0, 2, 4, 6, 8, 10]
    assert fig.layout.yaxis.ticktext[0] == "50 Hz" and fig.layout.yaxis.ticktext[-1] == "8000 Hz"
    assert fig.layout.xaxis.title.text == "seconds" and fig.layout.yaxis.title.text == "frequency"


def test_probabilities_over_time_draw_each_class_at_window_middles_with_gaps_for_silence():
    fig = audio_views.probabilities_over_time(_prediction())
    assert [t.name for t in fig.data] == ["folk", "jazz"]
    assert list(fig.data[0].x) == [1.5, 3.5, 5.5]
    assert fig.data[1].y[0] == 0.3 and np.isnan(fig.data[1].y[1]) and fig.data[1].y[2] == 0.8
    assert list(fig.data[0].customdata) == ["0.0-3.0 s", "2.0-5.0 s", "4.0-7.0 s"]
    assert fig.layout.title.text == "style_audio: jazz overall" and tuple(fig.layout.yaxis.range) == (0, 1)
    assert audio_views.probabilities_over_time(_prediction(), title="mine").layout.title.text == "mine"


def test_midlevel_bars_are_in_training_standard_deviations():
    fig = audio_views.midlevel_bars(_prediction(), mean=[3.0, 14.0], std=[0.5, 2.0],
                                    descriptions={"pitch_range": "semitones between lowest and highest"})
    bar = fig.data[0]
    np.testing.assert_allclose(bar.x, [2.0, 0.0])  # the mean over windows: (4 - 3) / 0.5, (14 - 14) / 2
    assert list(bar.y) == ["note density", "pitch range"]
    assert bar.customdata[1][1] == "semitones between lowest and highest"
    one = audio_views.midlevel_bars(_prediction(), mean=[3.0, 14.0], std=[0.5, 2.0], window=0)
    np.testing.assert_allclose(one.data[0].x, [-2.0, -2.0])
    assert list(one.data[0].marker.color) == ["#B3412B", "#B3412B"]  # below average: the other colour
    with pytest.raises(ValueError, match="no mid-level features"):
        audio_views.midlevel_bars(_prediction(midlevel=False), mean=[0], std=[1])


def test_filterbanks_draw_every_fourth_band_of_both_banks_on_a_log_axis():
    f = np.linspace(20, 8000, 50)
    mel, learned = np.random.default_rng(0).uniform(size=(2, 9, 50))
    fig = audio_views.filterbanks(mel, learned, f)
    assert [t.name for t in fig.data] == ["mel", "learned"] * 3  # bands 0, 4, 8
    np.testing.assert_array_equal(fig.data[3].y, learned[4])
    assert [t.showlegend for t in fig.data] == [True, True, False, False, False, False]
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.title.text == "frequency (Hz)"


def test_confusion_puts_true_classes_down_and_predictions_across():
    fig = audio_views.confusion([[5, 1], [2, 7]], ["flute", "violin"])
    heat = fig.data[0]
    assert list(heat.x) == list(heat.y) == ["flute", "violin"]
    np.testing.assert_array_equal(np.asarray(heat.z), [[5, 1], [2, 7]])
    assert fig.layout.xaxis.title.text == "predicted" and fig.layout.yaxis.title.text == "true"
    assert fig.layout.yaxis.autorange == "reversed"


def test_front_end_comparability_says_when_rows_are_not_like_for_like():
    five = {"trained on": "5 soundfonts", "held out": "each of the five in turn"}
    same = [{"model": "a"} | five, {"model": "b"} | five]
    assert "like for like" in audio_views.front_end_comparability(same)
    assert "5 soundfonts" in audio_views.front_end_comparability(same)
    mixed = same + [{"model": "c", "trained on": "2 soundfonts", "held out": "fluidr3"}]
    text = audio_views.front_end_comparability(mixed)
    assert text.startswith("**Compare rows only") and "`c`: trained on 2 soundfonts, held out fluidr3" in text
    assert "`a`, `b`: trained on 5 soundfonts" in text


def test_start_shift_caption_warns_only_when_the_card_measured_a_drop():
    card = {"classes": ["piano", "organ", "violin"],
            "metrics": {"test_start_shifted": {"seconds": 1.0, "as_rendered": 0.98, "late": 0.55, "rotated": 0.6,
                                               "late_per_class": [0.97, 0.01, 0.05]}}}
    text = audio_views.start_shift_caption(card)
    assert "0.98 to 0.55" in text and text.index("organ 0.01") < text.index("violin 0.05") < text.index("piano")
    card["metrics"]["test_start_shifted"]["late"] = 0.95
    assert audio_views.start_shift_caption(card) is None
    assert audio_views.start_shift_caption({"metrics": {}}) is None


def test_start_shift_caption_uses_the_paired_control_when_the_card_has_it():
    sh = {"seconds": 1.0, "as_rendered": 0.60, "late": 0.50, "rotated": 0.60, "truncated": 0.50,
          "late_per_class": [0.7, 0.2, 0.5],
          "onset_cost_points": {"late_vs_truncated": {"mean": -0.5, "ci95": [-2.6, 1.5]},
                                "rotated_vs_as_rendered": {"mean": 0.0, "ci95": [-2.0, 2.0]}}}
    card = {"classes": ["bach", "monteverdi", "folk"], "metrics": {"test_start_shifted": sh}}
    assert audio_views.start_shift_caption(card) is None  # 10 points lost read late, but so without the onset shift
    sh["onset_cost_points"]["late_vs_truncated"] = {"mean": 4.6, "ci95": [1.9, 7.3]}
    text = audio_views.start_shift_caption(card)
    assert "4.6 points less often" in text and "1.9 to 7.3" in text and text.index("monteverdi") < text.index("folk")


def test_weakest_late_orders_classes_and_skips_those_without_clips():
    shifted = {"late_per_class": [0.9, None, 0.1, 0.5]}
    assert audio_views.weakest_late(["a", "b", "c", "d"], shifted, k=2) == [("c", 0.1), ("d", 0.5)]
