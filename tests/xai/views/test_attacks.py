"""Attack figures from hand-made numbers: the probability bars, the three spectrograms, the study's curves, the
piano-roll diff of note edits and the veracity grid carry exactly the values, names and axis titles they are given."""

import numpy as np
import pytest

from tests._fakes import two_voices
from xai.attacks.notes import Edit
from xai.views import attacks as av

STUDY = {"epsilons": [0.0, 1e-4, 1e-3], "chance": 0.25,
         "models": {"style_audio": {"title": "black box", "accuracy": [0.9, 0.5, 0.1],
                                    "mean_snr_by_epsilon": [60.0, 40.0], "snr_at_success": [41.0, 39.5]},
                    "style_midlevel": {"title": "mid-level", "accuracy": [0.8, 0.7, 0.3],
                                       "mean_snr_by_epsilon": [60.0, 40.0], "snr_at_success": [38.0]}}}
INSTRUMENT = {"chance": 0.1, "untargeted": [
    {"epsilon": 1e-4, "accuracy": 0.6, "noise_accuracy_same_snr": 0.8, "mean_snr_db": 50.0},
    {"epsilon": 1e-3, "accuracy": 0.1, "noise_accuracy_same_snr": 0.75, "mean_snr_db": 30.0}],
    "targeted": {"epsilon": 2e-3, "n_attacks": 12, "success_by_class": {"flute": 0.5, "piano": 1.0}}}


def test_probabilities_group_original_adversarial_and_noise():
    fig = av.probabilities(("a", "b"), [0.7, 0.3], [0.2, 0.8], noise=[0.6, 0.4], target="b")
    assert [t.name for t in fig.data] == ["original", "adversarial", "white noise at the same SNR"]
    assert list(fig.data[1].y) == [0.2, 0.8] and list(fig.data[0].x) == ["a", "b"]
    assert fig.layout.yaxis.title.text == "probability" and fig.layout.annotations[0].text == "target"


def test_spectrograms_show_both_and_their_difference():
    a = np.zeros((3, 5))
    b = a.copy()
    b[1, 2] = 0.5
    fig = av.spectrograms(a, b, seconds=4.0, band_hz=[100.0, 200.0, 400.0])
    assert len(fig.data) == 3
    np.testing.assert_allclose(np.asarray(fig.data[2].z), b - a)
    assert list(fig.data[0].y) == ["100", "200", "400"] and fig.data[0].x[-1] == pytest.approx(4.0)
    assert fig.layout.yaxis.title.text == "band centre (Hz)" and fig.layout.xaxis.title.text == "seconds"


def test_study_curves_carry_the_accuracies_and_snrs():
    fig = av.accuracy_vs_epsilon(STUDY)
    assert [t.name for t in fig.data] == ["black box", "mid-level"]
    assert list(fig.data[0].y) == [0.9, 0.5, 0.1]
    assert list(fig.layout.xaxis.ticktext) == ["clean", "0.0001", "0.001"]
    assert fig.layout.yaxis.title.text == "accuracy"
    box = av.snr_at_success(STUDY)
    assert list(box.data[0].y) == [41.0, 39.5] and box.layout.yaxis.title.text == "SNR at success (dB)"
    ins = av.instrument_curve(INSTRUMENT)
    assert [list(t.y) for t in ins.data] == [[0.6, 0.1], [0.8, 0.75], [50.0, 30.0]]
    tgt = av.targeted_by_class(INSTRUMENT)
    assert list(tgt.data[0].x) == ["flute", "piano"] and "12 attacks" in tgt.layout.title.text


def test_clip_sweep_bars_name_the_snr():
    rows = [{"model": "style_audio", "title": "black box", "epsilon": 1e-3, "snr_db": 42.04},
            {"model": "style_midlevel", "title": "mid-level", "epsilon": None, "snr_db": None}]
    fig = av.clip_sweep(rows)
    assert list(fig.data[0].text) == ["42.0 dB", "not flipped"]
    assert fig.data[0].y[0] == 1e-3 and np.isnan(fig.data[0].y[1])


def test_roll_diff_marks_added_and_removed_notes_with_pitch_names():
    piece = two_voices(2)
    edits = [Edit("delete", 48, 0.0, 1.0, 0), Edit("insert", 61, 2.0, 1.0, 1)]
    fig = av.roll_diff(piece, piece, edits)
    names = [t.name for t in fig.data]
    assert names == ["unchanged", "removed", "added"]
    assert list(fig.data[2].y[:2]) == [61, 61] and "C♯4" in fig.data[2].text[0]
    assert "C4" in fig.layout.yaxis.ticktext and fig.layout.xaxis.title.text == "beats (quarters)"
    assert [a.text for a in fig.layout.annotations] == ["1", "2"]  # bar numbers


def test_veracity_grid_shades_planted_and_marks_picks():
    fig = av.veracity_grid(np.array([0, 5]), [5, 2], [0], n_time=3, n_bands=2)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (2, 3) and z[0, 0] == 1 and z[1, 2] == 1 and z.sum() == 2
    text = fig.data[0].text
    assert text[1][2] == "L " and text[0][1] == "L " and text[0][0] == "E"
    assert fig.layout.xaxis.title.text == "time segment"


def test_study_curves_get_interval_bands_when_the_study_has_them():
    from xai.attacks import robustness

    study = robustness.with_statistics({"parameters": {"n_style_clips": 10}, "style": STUDY})["style"]
    fig = av.accuracy_vs_epsilon(study)
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(bands) == 2 and bands[0].name.endswith("95 % interval")
    lo, hi = study["models"][next(iter(study["models"]))]["accuracy_ci95"][0]
    assert lo < 0.9 < hi and bands[0].y[0] == hi
