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


def test_holm_and_wilson_on_hand_values():
    from xai.attacks import robustness

    assert robustness.holm([0.01, 0.04, 0.03, None]) == [0.03, 0.06, 0.06, None]
    assert robustness.wilson(5, 10) == [0.2366, 0.7634]
    s = robustness.with_statistics({"parameters": {"n_style_clips": 4}, "style": {"models": {"m": {
        "accuracy": [1.0, 0.5]}}, "paired_tests": [
        {"a": "m", "b": "n", "epsilon": 1, "mcnemar_p": 0.02, "wilcoxon_p": 0.01},
        {"a": "m", "b": "n", "epsilon": 2, "mcnemar_p": 0.04, "wilcoxon_p": 0.01}]}})
    t = s["style"]["paired_tests"]
    assert [x["mcnemar_p_holm"] for x in t] == [0.04, 0.04]
    assert [x["wilcoxon_p_holm"] for x in t] == [0.01, 0.01]  # one test per pair of models, not per epsilon
    assert s["style"]["models"]["m"]["accuracy_ci95"][1] == robustness.wilson(2, 4)
