"""The robustness study's building blocks on a tiny fake net: the epsilon sweep, the paired tests, one clip's sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.xai.attacks.test_waveform import LinearNet, _clips
from xai.attacks import robustness as st


def test_study_sweep_and_paired_tests_on_a_fake_net():
    x = _clips(8)
    net = LinearNet()
    with torch.no_grad():
        y = net(torch.from_numpy(x)).argmax(1).numpy()
    r = st._attack_sweep(net, x, y, (1e-4, 0.05), steps=100, random_state=0, progress=None, label="fake")
    assert r["accuracy"][0] == 1.0 and r["accuracy"][-1] == 0.0  # right when clean, all flipped at 0.05
    assert len(r["snr_at_success"]) == 8 and all(np.isfinite(r["snr_at_success"]))
    t = st._mcnemar(np.array([1, 1, 1, 0], bool), np.array([0, 0, 0, 0], bool))
    assert t["a_only_correct"] == 3 and t["b_only_correct"] == 0 and t["mcnemar_p"] == pytest.approx(0.25)


def test_clip_sweep_finds_the_smallest_flipping_epsilon():
    class M:
        title = "fake"
        classes = ("a", "b", "c", "d")
        net = LinearNet()

    rows = st.clip_sweep(_clips(1)[0], {"fake": M()}, epsilons=(1e-7, 0.05), steps=100)
    assert rows[0]["epsilon"] == 0.05 and rows[0]["snr_db"] is not None


def test_holm_and_the_wilson_intervals_of_the_study():
    from xai.attacks import robustness
    from xai.stats import wilson

    assert robustness.holm([0.01, 0.04, 0.03, None]) == [0.03, 0.06, 0.06, None]
    s = robustness.with_statistics({"parameters": {"n_style_clips": 4}, "style": {"models": {"m": {
        "accuracy": [1.0, 0.5]}}, "paired_tests": [
        {"a": "m", "b": "n", "epsilon": 1, "mcnemar_p": 0.02, "wilcoxon_p": 0.01},
        {"a": "m", "b": "n", "epsilon": 2, "mcnemar_p": 0.04, "wilcoxon_p": 0.01}]}})
    t = s["style"]["paired_tests"]
    assert [x["mcnemar_p_holm"] for x in t] == [0.04, 0.04]
    assert [x["wilcoxon_p_holm"] for x in t] == [0.01, 0.01]  # one test per pair of models, not per epsilon
    assert s["style"]["models"]["m"]["accuracy_ci95"][1] == wilson(2, 4)


class _Data:
    """A stand-in for the audio test split: waveforms and style labels."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.style = x, y

    def __len__(self) -> int:
        return len(self.x)

    def waveform(self, idx):
        return self.x[idx]


class _Model:
    def __init__(self, net, sha: str):
        self.net, self.weights_sha256, self.title = net, sha, "fake"


class _Rolled(torch.nn.Module):
    """The same net with its classes rolled by one: always wrong where the original is right."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.roll(self.net(x), 1, dims=1)


def test_seed_study_spread_over_seeds_and_paired_tests(monkeypatch):
    monkeypatch.setattr(st, "STYLE_EPSILONS", (1e-6, 0.05))
    x = _clips(12)
    ref = LinearNet(seed=0)
    with torch.no_grad():
        y = ref(torch.from_numpy(x)).argmax(1).numpy()
    right = [(k, _Model(LinearNet(seed=k), f"r{k}")) for k in range(3)]  # seed 0 is right on every clip
    wrong = [(k, _Model(_Rolled(ref), f"w{k}")) for k in range(3)]  # wrong on every clip, every seed
    s = st.seed_study(_Data(x, y), {"right": right, "wrong": wrong}, n_clips=12, steps=100)
    assert s["epsilons"] == [0.0, 1e-6, 0.05] and s["n_clips"] == 12
    runs = s["kinds"]["right"]["seeds"]
    assert runs[0]["model"] == "right" and runs[0]["weights_sha256"] == "r0"  # the shipped model is tracked
    assert runs[1]["replica_of"] == "right" and "model" not in runs[1]
    acc = s["kinds"]["right"]["accuracy"]
    per_seed = np.array([r["accuracy"] for r in runs])
    assert acc["mean"] == pytest.approx(per_seed.mean(0), abs=1e-4)
    assert acc["sd"][0] == pytest.approx(per_seed[:, 0].std(ddof=1), abs=1e-4)
    assert runs[0]["accuracy"][0] == 1.0 and acc["mean"][-1] == 0.0  # all flipped at 0.05
    for (lo, hi), m in zip(acc["ci95"], acc["mean"]):
        assert lo <= m <= hi
    assert s["kinds"]["wrong"]["seeds"][0]["accuracy"][0] == 0.0
    small = next(t for t in s["paired_tests"] if t["epsilon"] == 1e-6)
    assert small["seeds_a_better"] == sum(r["accuracy"][1] > 0 for r in runs) >= 1 and small["seeds_b_better"] == 0
    assert small["wilcoxon_p"] < 0.01 and small["wilcoxon_p_holm"] >= small["wilcoxon_p"]
    big = next(t for t in s["paired_tests"] if t["epsilon"] == 0.05)
    assert big["wilcoxon_p"] == 1.0 and big["seeds_a_better"] == 0  # nothing left to tell apart


def test_seed_study_figure_draws_every_seed_and_the_mean(monkeypatch):
    from xai.views import attacks as av

    monkeypatch.setattr(st, "STYLE_EPSILONS", (1e-6, 0.05))
    x = _clips(6)
    models = {"style_audio": [(k, _Model(LinearNet(seed=k), str(k))) for k in range(3)]}
    s = st.seed_study(_Data(x, np.zeros(6, dtype=int)), models, n_clips=6, steps=20)
    fig = av.accuracy_over_seeds(s)
    assert len(fig.data) == 1 + 3 + 1  # band, three seeds, mean
    assert list(fig.data[-1].y) == s["kinds"]["style_audio"]["accuracy"]["mean"]


def test_replica_seeds_needs_every_style_model(tmp_path, monkeypatch):
    monkeypatch.setattr(st, "SEEDS_DIR", tmp_path)
    for k, names in ((1, st.STYLE_MODELS), (2, st.STYLE_MODELS[:1])):
        (tmp_path / f"seed{k}").mkdir()
        for n in names:
            (tmp_path / f"seed{k}" / f"{n}.safetensors").write_bytes(b"")
    assert st.replica_seeds() == [0, 1]  # seed 2 lacks two kinds
    assert st.seed_folder(3) == tmp_path / "seed3"


def test_test_accuracy_over_seeds_reads_the_shipped_and_replica_cards(tmp_path, monkeypatch):
    import json

    from models import registry

    monkeypatch.setattr(st, "SEEDS_DIR", tmp_path)
    (tmp_path / "seed1").mkdir()
    for n in st.STYLE_MODELS:
        (tmp_path / "seed1" / f"{n}.json").write_text(json.dumps({"metrics": {"test": {"accuracy": 0.5}}}))
    rows = {r["model"]: r for r in st.test_accuracy_over_seeds([0, 1])}
    shipped = registry.card("style_audio")["metrics"]["test"]["accuracy"]
    assert rows["style_audio"]["per_seed"] == [round(shipped, 4), 0.5]
    assert rows["style_audio"]["mean"] == pytest.approx((shipped + 0.5) / 2, abs=1e-4)
    assert rows["style_audio"]["sd"] == pytest.approx(np.std([shipped, 0.5], ddof=1), abs=1e-4)
