"""Veracity on a fake spectrogram model: the planted perturbation stays in its segments, the energy baseline
recovers them, LIME's picks are reported with flips. Also the CLI's attack command on a shipped model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests._fakes import FakeAudioModel
from xai.attacks import veracity
from xai.contract import fields_equal
from xai.stats import wilson

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
    assert fields_equal(r, type(r).from_json(r.to_json()))
    assert fields_equal(c, type(c).from_json(c.to_json()))


def test_every_paper_setting_is_run_and_the_decoy_misleads_energy_only():
    m = FakeAudioModel(FakeSpecNet(), classes=("a", "b", "c"), name="fake_spec")
    x = np.random.default_rng(0).standard_normal(SAMPLES).astype(np.float32) * 0.1
    r = veracity.check_clip(x, m, k=3, samples=300, random_state=1)
    assert list(r.cases()) == list(veracity.SETTINGS) == ["free", "confident", "planted", "decoy"]
    free, conf, dec = r.free, r.confident, r.decoy
    assert free.success and np.count_nonzero(r.delta_free) > r.delta_free.size // 2  # the whole input moved
    assert np.abs(r.delta_free).max() <= veracity.SPEC_EPSILON / 3 + 1e-6
    assert conf.success and len(conf.random_top) == 3 and isinstance(conf.random_flip, bool)
    assert dec.success and len(dec.decoy) == 3 and not set(dec.decoy) & set(dec.planted)
    spec = torch.from_numpy(r.spectrogram)
    decoy_only = torch.from_numpy(r.delta_decoy * r.grid.mask(dec.decoy))
    assert int(m.net.from_spectrogram((spec + decoy_only)[None]).argmax(1)[0]) == dec.original  # harmless alone
    assert set(dec.energy_top) == set(dec.decoy) and dec.energy_recall == 0.0  # energy follows the decoy ...
    assert dec.energy_flip is False and dec.planted_flip is True  # ... its pick flips nothing, the planted part does
    assert r.planted.planted_flip  # the planted part alone is what changed the answer
    assert fields_equal(r, type(r).from_json(r.to_json()))


def test_summary_counts_only_successful_attacks_and_pairs_them():
    def row(success, lime, energy):
        return {"free": {"success": success, "lime_flip": lime, "energy_flip": energy, "random_flip": False,
                         "r2": 0.5, "lime_recall": None, "energy_recall": None}}

    rows = [row(True, True, False)] * 6 + [row(True, False, False)] * 3 + [row(False, None, None)]
    s = veracity.summarise(rows, "free")
    assert s["n"] == 9 and s["clips"] == 10 and s["attack_success"]["rate"] == 0.9
    assert s["lime_flip"]["k"] == 6 and s["lime_flip"]["n"] == 9 and s["energy_flip"]["rate"] == 0.0
    assert s["lime_flip"]["ci95"] == wilson(6, 9)
    assert s["mcnemar_lime_vs_energy"] == {"lime_only": 6, "energy_only": 0, "p": pytest.approx(0.0312, abs=1e-4)}


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


def test_rate_and_recall_in_words_carry_the_interval_and_n():
    r = veracity._rate([True, False, True, None, False])
    text = veracity.rate_text(r)
    lo, hi = r["ci95"]
    assert text == f"50% [{lo:.0%}–{hi:.0%}] (2 of 4)" and lo < 0.5 < hi
    assert veracity.rate_text(veracity._rate([None])) == "– (n = 0)"
    assert veracity.recall_text(None) == "–" and veracity.recall_text(2 / 3) == "67%"
