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
