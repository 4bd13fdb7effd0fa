"""Out-of-distribution indicator: Mahalanobis distance to the nearest class in the embedding, a threshold set on
held-out data, plain words for a recording (issue #18)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests._fakes import FakeAudioModel
from xai.audio import clip as audio
from xai.audio import ood
from xai.contract import fields_equal
from xai.errors import InputError


class LevelNet(torch.nn.Module):
    """embed: RMS of each quarter of the window (d = 4), so loudness patterns place a window."""

    def embed(self, x):
        return x.reshape(x.shape[0], 4, -1).pow(2).mean(-1).sqrt()


def _cal(rng) -> ood.Calibration:
    X = np.r_[rng.normal(0.1, 0.01, (200, 4)), rng.normal(0.2, 0.01, (200, 4))]
    y = np.r_[np.zeros(200, int), np.ones(200, int)]
    held = np.r_[rng.normal(0.1, 0.015, (100, 4)), rng.normal(0.2, 0.015, (100, 4))]
    return ood.calibrate("fake", ("a", "b"), X, y, held, heldout_soundfont="a new soundfont")


def test_mahalanobis_on_hand_values():
    means = np.array([[0.0, 0.0], [10.0, 0.0]])
    P = np.diag([1.0, 0.25])  # variance 1 and 4
    assert ood.distances(np.array([[0.0, 2.0], [9.0, 0.0]]), means, P) == pytest.approx([1.0, 1.0])


def test_threshold_is_the_heldout_quantile_and_far_points_are_outside(rng):
    cal = _cal(rng)
    near = cal.distance(rng.normal(0.2, 0.015, (500, 4)))
    assert 0.90 <= np.mean(near <= cal.threshold) <= 0.99  # the held-out kind is inside ~95 % of the time
    assert (cal.distance(np.full((3, 4), 0.6)) > cal.threshold).all()
    assert fields_equal(cal, type(cal).from_json(cal.to_json()))


def test_save_and_load_round_trip(rng, tmp_path):
    cal = _cal(rng)
    ood.save(cal, tmp_path)
    back = ood.load("fake", tmp_path)
    assert back.threshold == pytest.approx(cal.threshold) and np.allclose(back.precision, cal.precision)
    assert ood.available(tmp_path) == ["fake"] and ood.load("other", tmp_path) is None


def _clip(x):
    return audio.Clip(waveform=np.asarray(x, np.float32), sample_rate=audio.SAMPLE_RATE)


def _melody(seconds: float, rms: float) -> np.ndarray:
    """Harmonic notes (four partials) changing pitch every half second, at a steady level ``rms``."""
    sr = audio.SAMPLE_RATE
    t = np.arange(int(sr * seconds)) / sr
    f0 = 220.0 * 2 ** (np.array([0, 4, 7, 12, 7, 4, 2, 5])[(t * 2).astype(int) % 8] / 12)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(h * phase) / h for h in (1, 2, 3, 4))
    return x * rms / np.sqrt(np.mean(x**2))


def test_check_a_recording_in_plain_words(rng):
    cal = _cal(rng)
    m = FakeAudioModel(LevelNet(), classes=("a", "b"), name="fake")
    n = audio.SAMPLE_RATE * 8
    familiar = _melody(8, 0.2)  # RMS 0.2 in every quarter: class b's centre
    r = ood.check(_clip(familiar), m, cal)
    assert not r.outside and r.message.startswith("Within what the model knows") and "a new soundfont" in r.message
    assert r.not_music == ""
    loud = _melody(8, 0.6)
    r = ood.check(_clip(loud), m, cal)
    assert r.outside and r.message.startswith("Outside what the model knows") and r.n_outside == r.n_sounding
    faint = rng.standard_normal(n) * 1e-4  # silence with a little noise
    r = ood.check(_clip(faint), m, cal)
    assert r.outside and r.distance is None and r.message.startswith("Nearly silent") and r.n_sounding == 0
    assert fields_equal(r, type(r).from_json(r.to_json()))


def test_noise_and_a_steady_tone_are_not_music_even_where_the_distance_says_familiar(rng):
    cal = _cal(rng)
    m = FakeAudioModel(LevelNet(), classes=("a", "b"), name="fake")
    n = audio.SAMPLE_RATE * 8
    noise = rng.choice([-1, 1], n) * 0.2  # as loud as class b: the distance alone calls it familiar
    assert cal.distance(LevelNet().embed(torch.from_numpy(noise[: audio.SAMPLE_RATE * 4][None]).float()).numpy())[
        0] <= cal.threshold
    r = ood.check(_clip(noise), m, cal)
    assert r.outside and r.not_music == "noise" and r.message.startswith("This sounds like noise")
    tone = np.sin(2 * np.pi * 440 * np.arange(n) / audio.SAMPLE_RATE) * 0.2 * np.sqrt(2)
    r = ood.check(_clip(tone), m, cal)
    assert r.outside and r.not_music == "tone" and "one steady tone" in r.message
    assert r.summary()["not_music"] == "tone"


def test_signal_kind_on_music_noise_tone():
    sr = audio.SAMPLE_RATE
    rng = np.random.default_rng(0)
    X = np.stack([_melody(4, 0.1), rng.standard_normal(sr * 4) * 0.1,
                  np.sin(2 * np.pi * 330 * np.arange(sr * 4) / sr) * 0.1])
    assert list(ood.signal_kind(X)) == ["music", "noise", "tone"]


def test_model_without_calibration_is_a_plain_message(tmp_path, monkeypatch):
    monkeypatch.setattr(ood, "OOD_DIR", tmp_path)
    m = FakeAudioModel(LevelNet(), name="nobody")
    with pytest.raises(InputError, match="no out-of-distribution calibration"):
        ood.check(_clip(np.ones(audio.SAMPLE_RATE * 4) * 0.1), m)
