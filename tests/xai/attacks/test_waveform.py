"""Waveform attacks on a tiny fake net: the bound holds after every step, goals are reached, SNR is right, bad
inputs get plain messages. No data caches needed."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tests._fakes import FakeAudioModel
from xai.attacks import waveform as adv
from xai.contract import resolve_target
from xai.errors import InputError, ParameterError

N = 512


class LinearNet(torch.nn.Module):
    """logits = x @ W: every class is reachable with a small L-infinity step (||W_c - W_y||_1 is large)."""

    def __init__(self, n_classes: int = 4, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W = torch.nn.Parameter(torch.randn(N, n_classes, generator=g))

    def forward(self, x):
        return x @ self.W


def _clips(b=6, seed=1):
    return (np.random.default_rng(seed).standard_normal((b, N)) * 0.1).astype(np.float32)


def test_snr_formula_on_hand_values():
    assert adv.snr_db(np.array([3.0, 4.0]), np.array([0.05, 0.0])) == pytest.approx(40.0)  # 20*log10(5/0.05)
    assert adv.snr_db(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])) == pytest.approx(0.0)
    batch = adv.snr_db(np.array([[3.0, 4.0], [1.0, 0.0]]), np.array([[0.5, 0.0], [0.0, 0.1]]))
    assert batch == pytest.approx([20.0, 20.0])
    assert adv.snr_db(np.array([1.0, 1.0]), np.zeros(2)) == math.inf
    with pytest.raises(InputError, match="silent"):
        adv.snr_db(np.zeros(4), np.ones(4))


def test_noise_at_snr_is_exact():
    x = _clips()
    n = adv.noise_at_snr(x, 30.0, random_state=3)
    assert adv.snr_db(x, n) == pytest.approx(np.full(len(x), 30.0), abs=1e-3)


@pytest.mark.parametrize("method", ["fgsm", "pgd", "cw"])
def test_bound_holds_after_every_step(method):
    eps = 0.003
    seen = []
    opt = adv.AttackOptions.for_method(method, epsilon=eps, steps=25, lr=0.05, stop_early=False,
                                       random_start=True)  # lr >> eps: the projection must do the work
    res = adv.attack_batch(_clips(), LinearNet(), opt, on_step=lambda t, d: seen.append(float(d.abs().max())))
    assert len(seen) == (1 if method == "fgsm" else 25)
    assert max(seen) <= np.float32(eps)
    assert res.linf.max() <= np.float32(eps)
    assert np.abs(res.adversarial - _clips()).max() <= np.float32(eps) + 1e-7


def test_bound_violation_is_detected():
    with pytest.raises(adv.BoundViolation):
        adv._check_bound(torch.tensor([0.0, 0.0021]), 0.002)


@pytest.mark.parametrize("method", ["fgsm", "pgd", "cw"])
def test_untargeted_attacks_change_the_answer(method):
    res = adv.attack_batch(_clips(), LinearNet(), adv.AttackOptions.for_method(method, epsilon=0.05))
    assert res.success.all()
    assert (res.adversarial_label != res.original_label).all()
    assert np.isfinite(res.snr_db).all()


@pytest.mark.parametrize("method", ["pgd", "cw"])
def test_targeted_success_for_every_class(method):
    net = LinearNet()
    x = _clips(4)
    for t in range(4):
        res = adv.attack_batch(x, net, adv.AttackOptions.for_method(method, epsilon=0.05, target=t, steps=200,
                                                                    lr=0.005))
        assert (res.adversarial_label == t).all()
        assert res.success.all()


def test_stops_when_the_goal_is_reached():
    res = adv.attack_batch(_clips(), LinearNet(), adv.AttackOptions.for_method("pgd", epsilon=0.05, steps=500,
                                                                               lr=0.005))
    assert res.success.all()
    assert res.iterations.max() < 500


def test_attack_clip_result_and_noise_control():
    m = FakeAudioModel(LinearNet(), classes=("a", "b", "c", "d"))
    x = _clips(1)[0]
    opt = adv.AttackOptions.for_method("pgd", epsilon=0.05, lr=0.005, steps=200)
    r = adv.attack_clip(x, m, opt, start_seconds=0.0, n_samples=N)
    d = r.summary()
    assert {"original", "adversarial", "success", "snr_db", "linf", "iterations"} <= set(d)
    assert d["success"] and d["original"] != d["adversarial"]
    assert d["snr_db"] == pytest.approx(adv.snr_db(r.original, r.delta), abs=1e-2)
    assert r.noise["snr_db"] == pytest.approx(d["snr_db"], abs=1e-2)
    json.dumps(d)


def test_bad_inputs_get_plain_messages():
    m = FakeAudioModel(LinearNet(), classes=("a", "b", "c", "d"))
    x = _clips(1)[0]
    with pytest.raises(ParameterError, match="positive"):
        adv.attack_clip(x, m, adv.AttackOptions(method="pgd", epsilon=0.0), n_samples=N)
    with pytest.raises(ParameterError, match="positive"):
        adv.attack_clip(x, m, adv.AttackOptions(method="pgd", epsilon=-0.1), n_samples=N)
    current = int(np.argmax(x @ m.net.W.detach().numpy()))
    with pytest.raises(ParameterError, match="already answers"):
        adv.attack_clip(x, m, adv.AttackOptions(method="pgd", epsilon=0.01, target=current), n_samples=N)
    with pytest.raises(InputError, match="silent"):
        adv.attack_clip(np.zeros(N, dtype=np.float32), m, adv.AttackOptions(method="pgd", epsilon=0.01), n_samples=N)
    with pytest.raises(ParameterError, match="method"):
        adv.AttackOptions.for_method("deepfool")
    with pytest.raises(ParameterError, match="no class"):
        resolve_target("zz", m.classes)


def test_progress_can_cancel():
    with pytest.raises(adv.Cancelled):
        adv.attack_batch(_clips(), LinearNet(), adv.AttackOptions.for_method("pgd", epsilon=1e-6, steps=50),
                         progress=lambda f, msg: f > 0.1)


def test_sign_adam_loop_is_reusable():
    x = torch.zeros(2, 8)

    def objective(xa):  # pull every sample up; done never
        return -xa.sum(1), torch.zeros(2, dtype=torch.bool)

    delta, done, iters = adv.linf_sign_adam(objective, x, epsilon=0.1, steps=40, lr=0.01)
    assert torch.allclose(delta, torch.full_like(delta, 0.1))
    assert not done.any() and (iters == 40).all()


def test_options_are_a_declaration_with_method_defaults():
    from xai.contract import Options

    assert issubclass(adv.AttackOptions, Options)
    spec = {s["name"]: s for s in adv.AttackOptions.spec()}
    assert spec["steps"]["low"] == 1 and spec["steps"]["high"] == 5000 and "random_state" in spec
    cw = adv.AttackOptions.for_method("cw")
    assert (cw.epsilon, cw.steps, cw.learning_rate(), cw.cw_alpha()) == (0.01, 200, 2e-4, 10.0)
    assert (cw.search_steps, cw.confidence) == (5, 0.0)
    assert adv.AttackOptions.for_method("fgsm").learning_rate() is None
    assert adv.AttackOptions.from_dict(cw.to_dict()) == cw
    with pytest.raises(ParameterError, match="'steps' parameter"):
        adv.AttackOptions(steps=0)
    with pytest.raises(ParameterError, match="'method' parameter"):
        adv.AttackOptions(method="deepfool")


def test_cancelled_is_the_one_exception():
    from xai import errors

    assert adv.Cancelled is errors.Cancelled


def test_results_round_trip_through_json():
    from xai.contract import fields_equal

    b = adv.attack_batch(_clips(2), LinearNet(), adv.AttackOptions.for_method("pgd", epsilon=0.05))
    assert fields_equal(b, type(b).from_json(b.to_json()))
    m = FakeAudioModel(LinearNet(), classes=("a", "b", "c", "d"))
    r = adv.attack_clip(_clips(1)[0], m, adv.AttackOptions.for_method("pgd", epsilon=0.05, target=None),
                        n_samples=N)
    back = type(r).from_json(r.to_json())
    assert fields_equal(r, back) and isinstance(back.options, adv.AttackOptions) and back.noise == r.noise


def test_to_wav_clips_to_the_sample_range():
    assert adv.to_wav(np.full(100, 2.0, np.float32))[:4] == b"RIFF"


# --- C&W proper (issue #18): least distortion subject to success, not PGD under another name -----------------------


def test_margin_is_carlini_wagner_f6():
    logits = torch.tensor([[3.0, 1.0, 0.5], [0.0, 2.0, 1.0]])
    y = torch.tensor([0, 1])
    assert adv._margin(logits, y, None, 0.0).tolist() == [2.0, 1.0]  # Z_y - max other
    assert adv._margin(logits, y, torch.tensor([2, 2]), 0.0).tolist() == [2.5, 1.0]  # max other - Z_t
    assert adv._margin(logits, y, torch.tensor([0, 1]), 0.5).tolist() == [-0.5, -0.5]  # floored at -kappa


def test_budget_is_shared_among_search_rounds():
    assert adv._round_lengths(200, 5) == [40] * 5
    assert adv._round_lengths(25, 4) == [6, 6, 6, 7]
    assert adv._round_lengths(3, 5) == [1, 1, 1]


def test_cw_reaches_the_goal_with_less_l2_than_pgd_on_the_same_clips():
    x, net = _clips(8, seed=5), LinearNet(seed=2)
    pgd = adv.attack_batch(x, net, adv.AttackOptions.for_method("pgd", epsilon=0.05, lr=0.005, steps=200))
    cw = adv.attack_batch(x, net, adv.AttackOptions.for_method("cw", epsilon=0.05, steps=300))
    assert pgd.success.all() and cw.success.all()  # the same success ...
    l2_pgd, l2_cw = np.linalg.norm(pgd.delta, axis=1), np.linalg.norm(cw.delta, axis=1)
    assert (l2_cw < l2_pgd).all()  # ... with a smaller perturbation on every clip
    assert np.median(l2_cw / l2_pgd) < 0.5
    assert (cw.snr_db > pgd.snr_db).all()


def test_cw_search_lowers_the_constant_after_success():
    """A larger budget with more search rounds never returns a larger perturbation: the best is kept."""
    x, net = _clips(4, seed=7), LinearNet(seed=3)
    one = adv.attack_batch(x, net, adv.AttackOptions.for_method("cw", epsilon=0.05, steps=60,
                                                                search_steps=1, stop_early=False))
    five = adv.attack_batch(x, net, adv.AttackOptions.for_method("cw", epsilon=0.05, steps=300,
                                                                 search_steps=5, stop_early=False))
    assert one.success.all() and five.success.all()
    assert (np.linalg.norm(five.delta, axis=1) <= np.linalg.norm(one.delta, axis=1) + 1e-6).all()
    assert (five.iterations == 300).all()


@pytest.mark.slow
def test_cw_on_the_shipped_instrument_model_is_quieter_than_pgd():
    from models import registry
    from xai.audio import clip as audio

    torch.set_num_threads(1)
    m = registry.load("instrument")
    x = audio.load_audio("assets/examples/audio/classical__piano__timgm6mb.ogg").waveform
    pgd = adv.attack_clip(x, m, adv.AttackOptions.for_method("pgd"))
    cw = adv.attack_clip(x, m, adv.AttackOptions.for_method("cw"))
    assert pgd.success and cw.success
    assert np.linalg.norm(cw.delta) < 0.5 * np.linalg.norm(pgd.delta)
    assert cw.snr_db > pgd.snr_db + 6.0 and not np.allclose(cw.delta, pgd.delta)


# --- bad input (issue #18): each a plain answer, not a traceback ------------------------------------------------


def _fake_model():
    return FakeAudioModel(LinearNet(), classes=("a", "b", "c", "d"))


def test_clip_the_model_already_gets_wrong_is_not_attacked():
    m, x = _fake_model(), _clips(1)[0]
    current = int(np.argmax(x @ m.net.W.detach().numpy()))
    wrong = (current + 1) % 4
    r = adv.attack_clip(x, m, adv.AttackOptions.for_method("pgd", epsilon=0.05), n_samples=N, true_label=wrong)
    assert r.success and r.iterations == 0 and r.linf == 0.0 and np.array_equal(r.adversarial, r.original)
    assert "already gets this clip wrong" in r.note and f"'{m.classes[current]}'" in r.note
    json.dumps(r.summary())
    # targeted: it still runs, and says the clip was wrong to begin with
    t = (current + 2) % 4
    r = adv.attack_clip(x, m, adv.AttackOptions.for_method("pgd", epsilon=0.05, lr=0.005, steps=200, target=t),
                        n_samples=N, true_label=wrong)
    assert r.success and r.adversarial_label == m.classes[t] and "already gets this clip wrong" in r.note
    with pytest.raises(ParameterError, match="true class"):
        adv.attack_clip(x, m, n_samples=N, true_label=9)


@pytest.mark.parametrize("method", ["pgd", "cw"])
def test_epsilon_too_small_to_change_anything_says_so(method):
    m, x = _fake_model(), _clips(1)[0]
    r = adv.attack_clip(x, m, adv.AttackOptions.for_method(method, epsilon=1e-7, steps=10), n_samples=N)
    assert not r.success and r.adversarial_label == r.original_label
    assert "larger ε" in r.note and "16-bit" in r.note and "-140 dBFS" in r.note
    assert r.linf <= np.float32(1e-7)


def test_faint_noise_is_not_music():
    m = _fake_model()
    noise = (np.random.default_rng(0).standard_normal(N) * 10 ** (-75 / 20)).astype(np.float32)  # -75 dBFS
    with pytest.raises(InputError, match=r"nearly silent \(-75 dBFS\)"):
        adv.attack_clip(noise, m, adv.AttackOptions.for_method("pgd", epsilon=0.01), n_samples=N)
    assert adv.check_audible(_clips(1)[0]) == pytest.approx(-20.0, abs=1.0)
