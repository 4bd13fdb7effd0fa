"""The per-batch audio augmentation: what each part does to a waveform, and that 0 switches it off."""

import math

import numpy as np
import torch

from training import audio_augment as aug

SR = 22_050


def _tone(hz: float, n: int = 4, seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return torch.sin(2 * math.pi * hz * t).repeat(n, 1)


def _level_db(x: torch.Tensor) -> np.ndarray:
    return 20 * np.log10(x.pow(2).mean(1).sqrt().numpy())


def test_all_off_returns_the_batch_unchanged():
    x = torch.randn(3, 1000)
    out = aug.batch(x, SR, {"eq_db": 0.0, "band_stop": 0.0, "time_mask": 0.0}, torch.Generator().manual_seed(0))
    assert torch.equal(out, x)


def test_random_eq_changes_a_tone_by_at_most_half_its_range_and_differs_per_clip():
    x = _tone(1000.0, n=16)
    out = aug.batch(x, SR, {"eq_db": 12.0}, torch.Generator().manual_seed(1))
    change = _level_db(out) - _level_db(x)
    assert np.all(np.abs(change) <= 6.0 + 1e-3)
    assert change.std() > 1.0  # each clip gets its own curve


def test_eq_curve_is_smooth_and_within_bounds():
    g = aug.random_eq(5, 2049, SR, db=12.0, gen=torch.Generator().manual_seed(2))
    db = 20 * torch.log10(g)
    assert float(db.abs().max()) <= 6.0 + 1e-4
    assert float((db[:, 1:] - db[:, :-1]).abs().max()) < 1.0  # no jumps between neighbouring bins


def test_band_stop_removes_a_tone_inside_the_band_only_when_drawn():
    gen = torch.Generator().manual_seed(3)
    g = aug.band_stop(200, 2049, SR, p=0.5, gen=gen)
    removed = (g < 0.2).any(1)
    assert 0.3 < float(removed.float().mean()) < 0.7
    assert float(g.min()) >= 10 ** (-40 / 20) - 1e-6
    assert torch.all(g[~removed] == 1.0)


def test_time_mask_silences_one_stretch_of_at_most_a_quarter():
    x = torch.ones(50, 4000)
    out = aug.time_mask(x, p=1.0, max_fraction=0.25, gen=torch.Generator().manual_seed(4))
    zeros = (out == 0).sum(1)
    assert int(zeros.max()) <= 1000 and int(zeros.max()) > 500
    for row in out:  # one contiguous stretch
        z = torch.nonzero(row == 0).flatten()
        if len(z):
            assert int(z[-1] - z[0]) + 1 == len(z)


def test_same_generator_seed_gives_the_same_batch():
    x = torch.randn(4, 2000)
    p = {"eq_db": 10.0, "band_stop": 0.5, "time_mask": 0.5}
    a = aug.batch(x, SR, p, torch.Generator().manual_seed(5))
    b = aug.batch(x, SR, p, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_the_card_sentence_names_what_is_on_and_nothing_when_off():
    assert aug.describe({"eq_db": 0.0, "band_stop": 0.0, "time_mask": 0.0}) == ""
    text = aug.describe({"eq_db": 12.0, "band_stop": 0.3, "time_mask": 0.0})
    assert "+-6 dB" in text and "probability 0.3" in text and "silenced" not in text


def test_time_roll_rotates_drawn_clips_and_keeps_their_content():
    gen = torch.Generator().manual_seed(0)
    x = torch.arange(40, dtype=torch.float32).reshape(4, 10)
    y = aug.time_roll(x, p=1.0, gen=gen)
    assert torch.equal(torch.sort(y, dim=1).values, x)  # the same samples, in rotated order
    for a, b in zip(x, y):
        k = int(b[0] - a[0])
        assert torch.equal(b, torch.roll(a, -k))
    assert torch.equal(aug.time_roll(x, p=0.0, gen=gen), x)
    assert "rotated in time" in aug.describe({"time_roll": 0.5})
