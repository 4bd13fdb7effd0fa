"""Audio networks: front-end maths, shapes, gradients to the waveform, and the learnable bank's start at mel."""

import numpy as np
import pytest
import torch

from models import audio_nets as an


def test_mel_filterbank_shape_peaks_and_coverage():
    fb = an.mel_filterbank()
    assert fb.shape == (an.N_BANDS, an.N_FFT // 2 + 1)
    assert fb.max() <= 1.0 + 1e-6 and fb.min() >= 0
    # centres increase, and every band has some support
    centres = np.argmax(fb, axis=1)
    assert np.all(np.diff(centres) >= 0) and np.all(fb.sum(axis=1) > 0)
    # a 1 kHz tone falls into the band whose centre is nearest 1 kHz
    freqs = np.linspace(0, an.SAMPLE_RATE / 2, an.N_FFT // 2 + 1)
    k = int(np.argmin(np.abs(freqs - 1000)))
    band_centres = an.mel_to_hz(an.mel_edges()[1:-1])
    assert np.argmax(fb[:, k]) == int(np.argmin(np.abs(band_centres - freqs[k])))


def test_mel_scale_round_trip():
    f = np.array([0.0, 100.0, 1000.0, 8000.0])
    np.testing.assert_allclose(an.mel_to_hz(an.hz_to_mel(f)), f, atol=1e-6)


def test_learnable_bank_starts_equal_to_mel(rng):
    mel, learn = an.MelFrontEnd(), an.LearnableFilterBank()
    np.testing.assert_allclose(learn.filters().detach().numpy(), mel.filters().numpy(), atol=1e-4)
    x = torch.from_numpy(rng.standard_normal((2, 22050)).astype(np.float32)) * 0.1
    np.testing.assert_allclose(learn(x).detach().numpy(), mel(x).numpy(), atol=1e-3)


def test_learnable_bank_parameters_get_gradients(rng):
    learn = an.LearnableFilterBank()
    x = torch.from_numpy(rng.standard_normal((1, 4096)).astype(np.float32))
    learn(x).mean().backward()
    assert set(dict(learn.named_parameters())) == {"centre_shift", "log_lower", "log_upper"}
    for p in (learn.centre_shift, learn.log_lower, learn.log_upper):
        assert p.grad is not None and torch.count_nonzero(p.grad) > 0


def test_spectrogram_of_a_tone_peaks_at_its_band():
    t = torch.arange(22050) / 22050.0
    x = torch.sin(2 * torch.pi * 440 * t)[None]
    s = an.MelFrontEnd()(x)
    assert s.shape == (1, an.N_BANDS, 22050 // an.HOP + 1)
    band = int(s.mean(dim=2).argmax())
    centres = an.mel_to_hz(an.mel_edges()[1:-1])
    assert abs(centres[band] - 440) < 60


@pytest.mark.parametrize("front_end", ["mel", "learnable", "conv"])
def test_classifier_shapes_and_gradient_to_waveform(front_end, rng):
    torch.manual_seed(0)
    net = an.AudioCNN(5, width=4, front_end=front_end).eval()
    x = torch.from_numpy(rng.standard_normal((3, 2 * 22050)).astype(np.float32) * 0.1).requires_grad_(True)
    logits = net(x)
    assert logits.shape == (3, 5)
    logits[:, 1].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # the spectrogram entry point continues to the same output
    with torch.no_grad():
        np.testing.assert_allclose(net.from_spectrogram(net.spectrogram(x)).numpy(), logits.detach().numpy(),
                                   atol=1e-5)
    # any length works (pooling over time)
    assert net(torch.zeros(1, 30000)).shape == (1, 5)
    assert net.features(net.spectrogram(x)).min() >= 0  # ReLU blocks: non-negative maps


def test_midlevel_net_is_linear_in_its_named_bottleneck(rng):
    torch.manual_seed(0)
    net = an.MidLevelCNN(6, n_midlevel=8, width=4).eval()
    net.mid_mean.fill_(2.0)
    net.mid_std.fill_(3.0)
    x = torch.from_numpy(rng.standard_normal((2, 22050)).astype(np.float32) * 0.1)
    with torch.no_grad():
        z, logits = net.forward_both(x)
        assert z.shape == (2, 8) and logits.shape == (2, 6)
        np.testing.assert_allclose(net(x).numpy(), logits.numpy(), atol=1e-6)
        np.testing.assert_allclose(net.head(z).numpy(), logits.numpy(), atol=1e-6)
        np.testing.assert_allclose(net.midlevel(x).numpy(), (z * 3 + 2).numpy(), atol=1e-5)
    assert isinstance(net.head, torch.nn.Linear) and net.head.in_features == 8


def test_build_from_card_spec():
    net = an.build({"type": "MidLevelCNN", "classes": list("abc"), "midlevel_features": list("xyz"), "width": 4})
    assert isinstance(net, an.MidLevelCNN) and net.head.out_features == 3
    net = an.build({"type": "AudioCNN", "classes": list("ab"), "front_end": "learnable", "width": 4})
    assert isinstance(net.front, an.LearnableFilterBank)
    net = an.build({"type": "AudioCNN", "classes": list("ab"), "front_end": "conv", "width": 4})
    assert isinstance(net.front, an.ConvFrontEnd)


def _harmonic_notes(rng, seconds=3.0, sr=an.SAMPLE_RATE):
    """Harmonic notes (5 partials) at random pitches, one every 0.25 s, over quiet noise: a spectrum with shape."""
    t = np.arange(int(seconds * sr)) / sr
    x = 0.003 * rng.standard_normal(t.size)
    for start in np.arange(0, seconds, 0.25):
        f0 = 440 * 2 ** (rng.integers(-24, 19) / 12)
        env = np.clip((t - start) * 50, 0, 1) * np.exp(-4 * np.clip(t - start, 0, None)) * (t >= start)
        x += sum(0.2 / h * np.sin(2 * np.pi * h * f0 * t) for h in range(1, 6) if h * f0 < sr / 2) * env
    return torch.from_numpy(x.astype(np.float32))[None]


def test_conv_front_end_shape_and_gradient_to_the_waveform(rng):
    fe = an.ConvFrontEnd()
    assert fe.conv.weight.shape == (2 * an.N_BANDS, 1, an.N_FFT) and fe.conv.stride == (an.HOP,)
    x = torch.from_numpy(rng.standard_normal((2, 22050)).astype(np.float32) * 0.1).requires_grad_(True)
    s = fe(x)
    # the same frames as the STFT front-ends, so the CNN behind it is unchanged
    assert s.shape == an.MelFrontEnd()(x.detach()).shape == (2, an.N_BANDS, 22050 // an.HOP + 1)
    s[:, 10].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert fe.conv.weight.grad is not None and torch.count_nonzero(fe.conv.weight.grad) > 0


def test_conv_front_end_starts_close_to_the_log_mel_spectrogram(rng):
    """At initialisation the conv bank's log band power tracks the log-mel spectrogram (measured r = 0.95)."""
    x = _harmonic_notes(rng)
    with torch.no_grad():
        mel, conv = an.MelFrontEnd()(x).numpy().ravel(), an.ConvFrontEnd()(x).numpy().ravel()
    r = float(np.corrcoef(mel, conv)[0, 1])
    assert r > 0.9, r
    # "up to scale": the white-noise calibration keeps the log levels within one natural-log unit on average
    assert abs(float(np.mean(mel - conv))) < 1.0


def test_conv_front_end_bands_start_at_the_mel_centres():
    fe = an.ConvFrontEnd()
    mel_centres = an.mel_to_hz(an.mel_edges()[1:-1])
    f, h = fe.frequency_responses()
    assert h.shape == (an.N_BANDS, f.size)
    # each band's response peaks within a few percent (or one FFT step) of its mel centre
    assert np.all(np.abs(fe.band_centres_hz() - mel_centres) <= np.maximum(0.05 * mel_centres, 2 * (f[1] - f[0])))
    # and the bands get wider with frequency, as the mel bands do
    width = (h > h.max(axis=1, keepdims=True) / 2).sum(axis=1)
    assert width[-1] > 4 * width[8]


@pytest.mark.parametrize("front_end", ["mel", "learnable", "conv"])
def test_frequency_responses_share_one_axis_and_peak_at_one(front_end):
    freqs, h = an.frequency_responses(an.FRONT_ENDS[front_end]())
    assert freqs.shape == (an.N_FFT // 2 + 1,) and h.shape == (an.N_BANDS, freqs.size)
    np.testing.assert_allclose(h.max(axis=1), 1.0)
    assert freqs[0] == 0 and freqs[-1] == an.SAMPLE_RATE / 2
