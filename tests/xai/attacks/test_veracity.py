"""Veracity on a fake spectrogram model: the planted perturbation stays in its segments, the energy baseline
recovers them, LIME's picks are reported with flips. Also the CLI's attack command on a shipped model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests._fakes import FakeAudioModel
from xai.attacks import veracity

SAMPLES = 88_200


class FakeSpecNet(torch.nn.Module):
    """spectrogram: (B, 8 bands, 25 frames) of mean |x|; logits linear in the spectrogram (3 classes)."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.W = torch.nn.Parameter(torch.randn(3, 8 * 25, generator=g))

    def spectrogram(self, x):
        return x.reshape(x.shape[0], 8, 25, -1).abs().mean(-1)

    def from_spectrogram(self, s):
        return s.reshape(s.shape[0], -1) @ self.W.T

    def forward(self, x):
        return self.from_spectrogram(self.spectrogram(x))


def test_planted_perturbation_stays_in_its_segments():
    m = FakeAudioModel(FakeSpecNet(), classes=("a", "b", "c"), name="fake_spec")
    x = np.random.default_rng(0).standard_normal(SAMPLES).astype(np.float32) * 0.1
    r = veracity.check_clip(x, m, k=3, samples=300, random_state=1)
    c = r.planted
    assert c.success and c.original != c.adversarial
    outside = ~r.grid.mask(c.planted)
    assert np.all(r.delta_planted[outside] == 0)
    assert np.abs(r.delta_planted).max() <= veracity.SPEC_EPSILON
    assert c.energy_recall == 1.0 and c.energy_flip
    assert 0.0 <= c.lime_recall <= 1.0 and isinstance(c.lime_flip, bool)
    assert len(c.lime_top) == 3
    json.dumps(r.summary())
    from xai.contract import fields_equal

    assert fields_equal(r, type(r).from_json(r.to_json()))
    assert fields_equal(c, type(c).from_json(c.to_json()))


def test_silent_clip_is_refused():
    with pytest.raises(veracity.InputError, match="silent"):
        veracity.check_clip(np.zeros(SAMPLES, np.float32), FakeAudioModel(FakeSpecNet(), classes=("a", "b", "c"), name="fake_spec"))


@pytest.mark.slow
def test_cli_attack_json_and_wav(tmp_path, capsys):
    from xai import cli

    out = tmp_path / "adv.wav"
    rc = cli.main(["attack", "assets/examples/audio/folk__flute__sine.ogg", "--model", "instrument", "--method",
                   "pgd", "--json", "--out", str(out)])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert {"original", "adversarial", "success", "snr_db", "linf", "iterations"} <= set(d)
    assert d["linf"] <= 0.002 + 1e-9 and out.stat().st_size > 1000
    rc = cli.main(["attack", "assets/examples/audio/folk__flute__sine.ogg", "--epsilon", "-1"])
    assert rc == 2 and "positive" in capsys.readouterr().err
