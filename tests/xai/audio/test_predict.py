"""Audio predictions over time with tiny untrained models."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from models import audio_nets
from models.registry import Model
from xai.audio import clip as audio
from xai.audio import predict as audio_predict
from xai.contract import fields_equal
from xai.errors import InputError

INPUT = {"sample_rate": 22050, "window_seconds": 1.0, "hop_seconds": 0.5}


def _model(net, classes, **card):
    torch.manual_seed(0)
    return Model(name="tiny", net=net.eval(), classes=tuple(classes), layers=audio_nets.LAYERS,
                 default_layer="block3", window_quarters=0.0, hop_quarters=0.0, card={"input": INPUT, **card})


def _clip(rng, seconds=3.0, silent_from=None):
    x = (rng.standard_normal(int(22050 * seconds)) * 0.1).astype(np.float32)
    if silent_from is not None:
        x[int(silent_from * 22050):] = 0
    return audio.Clip(waveform=x, sample_rate=22050, title="noise")


def test_windows_over_time_and_a_whole_recording_answer(rng):
    torch.manual_seed(0)
    m = _model(audio_nets.AudioCNN(3, width=2), "abc")
    p = audio_predict.classify_audio(_clip(rng), m)
    np.testing.assert_allclose(p.starts, [0, 0.5, 1.0, 1.5, 2.0])
    assert p.window_probabilities.shape == (5, 3)
    np.testing.assert_allclose(p.window_probabilities.sum(axis=1), 1, atol=1e-5)
    assert p.probabilities.sum() == pytest.approx(1) and p.label in "abc"
    d = json.loads(json.dumps(p.summary()))
    assert d["windows"][1]["start_seconds"] == 0.5 and d["windows"][1]["end_seconds"] == 1.5


def test_silent_windows_do_not_vote(rng):
    torch.manual_seed(0)
    m = _model(audio_nets.AudioCNN(2, width=2), "ab")
    p = audio_predict.classify_audio(_clip(rng, 4.0, silent_from=2.0), m)
    silent = np.isnan(p.window_probabilities).any(axis=1)
    assert silent.tolist() == [False, False, False, False, True, True, True]  # starts 0, 0.5, ..., 3
    assert p.summary()["windows"][-1]["label"] is None
    with pytest.raises(InputError):
        audio_predict.classify_audio(_clip(rng, 2.0, silent_from=0.0), m)


def test_midlevel_model_reports_named_features_in_units(rng):
    torch.manual_seed(0)
    net = audio_nets.MidLevelCNN(2, n_midlevel=3, width=2)
    net.mid_mean.copy_(torch.tensor([10.0, 60.0, 0.0]))
    m = _model(net, "ab", midlevel={"features": ["note_density", "register", "mode"]})
    p = audio_predict.classify_audio(_clip(rng), m)
    assert p.midlevel.shape == (5, 3) and p.midlevel_names == ("note_density", "register", "mode")
    assert abs(p.midlevel[:, 1].mean() - 60) < 20  # the training mean is added back
    assert set(p.summary()["windows"][0]["midlevel"]) == {"note_density", "register", "mode"}


def test_spectrogram_and_figures(rng):
    from xai.views import audio as audio_views

    torch.manual_seed(0)
    net = audio_nets.MidLevelCNN(2, n_midlevel=2, width=2)
    m = _model(net, "ab", midlevel={"features": ["note_density", "register"]})
    clip = _clip(rng)
    spec = audio_predict.model_spectrogram(clip, m)
    assert spec.values.shape == (audio_nets.N_BANDS, clip.n_samples // audio_nets.HOP + 1)
    assert spec.times[1] == pytest.approx(audio_nets.HOP / 22050) and np.all(np.diff(spec.band_hz) > 0)
    p = audio_predict.classify_audio(clip, m)
    assert len(audio_views.spectrogram(spec).data) == 1
    assert len(audio_views.probabilities_over_time(p).data) == 2
    fig = audio_views.midlevel_bars(p, [0, 0], [1, 1], window=0)
    np.testing.assert_allclose(fig.data[0].x, p.midlevel[0], atol=1e-6)
    fb = audio_views.filterbanks(an_mel := audio_nets.mel_filterbank(), an_mel, np.linspace(0, 11025, 513))
    assert len(fb.data) == 2 * len(range(0, audio_nets.N_BANDS, 4))
    assert audio_views.confusion([[1, 0], [0, 1]], "ab").data[0].z.sum() == 2


def test_long_recordings_get_at_most_max_windows(rng):
    torch.manual_seed(0)
    m = _model(audio_nets.AudioCNN(2, width=2), "ab")
    p = audio_predict.classify_audio(_clip(rng, 10.0), m, max_windows=5)
    assert len(p.starts) <= 6 and p.starts[-1] + 1.0 >= 10.0 - 1e-6  # the end is still covered
    assert np.diff(p.starts).min() >= 0.5


def test_a_prediction_and_a_spectrogram_round_trip_through_json(rng):
    torch.manual_seed(0)
    net = audio_nets.MidLevelCNN(2, n_midlevel=2, width=2)
    m = _model(net, "ab", midlevel={"features": ["note_density", "register"]})
    clip = _clip(rng, 3.0, silent_from=2.0)  # silent windows: NaN rows must survive
    p = audio_predict.classify_audio(clip, m)
    assert np.isnan(p.window_probabilities).any()
    back = audio_predict.AudioPrediction.from_json(p.to_json())
    assert fields_equal(p, back) and back.summary() == p.summary()
    spec = audio_predict.model_spectrogram(clip, m)
    assert fields_equal(spec, audio_predict.Spectrogram.from_json(spec.to_json()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.title = "changed"  # type: ignore[misc]


def test_filterbanks_are_the_mel_bank_and_the_models_own():
    torch.manual_seed(0)
    net = audio_nets.AudioCNN(2, width=2, front_end="learnable")
    mel, learned, freqs = audio_predict.filterbanks(_model(net, "ab"))
    assert mel.shape == learned.shape == (audio_nets.N_BANDS, audio_nets.N_FFT // 2 + 1)
    assert freqs[0] == 0 and freqs[-1] == pytest.approx(audio_nets.SAMPLE_RATE / 2) and freqs.size == mel.shape[1]
    np.testing.assert_allclose(learned, net.front.filters().detach().numpy())


def test_sentence_names_the_two_likeliest_classes_plain_or_marked_up():
    pred = audio_predict.AudioPrediction(model="m", classes=("a<b", "c", "d"), probabilities=np.array([0.2, 0.7, 0.1]),
                                         starts=np.zeros(1), window_seconds=4.0, window_probabilities=np.ones((1, 3)) / 3)
    assert audio_predict.sentence(pred, "style") == "The style model hears c (p = 0.70), then a<b (0.20)."
    marked = audio_predict.sentence(pred, "style", markup=True)
    assert marked == "The style model hears <b><i>c</i></b> (p = 0.70), then <i>a&lt;b</i> (0.20)."
    one = dataclasses.replace(pred, classes=("x",), probabilities=np.array([1.0]))
    assert audio_predict.sentence(one, "instrument") == "The instrument model hears x (p = 1.00)."
