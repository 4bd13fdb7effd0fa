"""Bottleneck feature accuracy: r with intervals, the instrument's share of a feature, r within instruments."""

from __future__ import annotations

import numpy as np
import pytest

from xai.audio import bottleneck
from xai.contract import fields_equal


def test_a_feature_read_from_the_instrument_alone_has_no_within_instrument_accuracy(rng):
    n = 600
    inst = rng.integers(0, 6, n)
    offset = inst * 10.0  # register set by the instrument's range
    music = rng.standard_normal(n)  # what the excerpt itself does
    true = np.c_[offset + music, music]
    pred = np.c_[offset + rng.standard_normal(n) * 0.5, music + 0.3 * rng.standard_normal(n)]
    fa = bottleneck.feature_accuracy(pred, true, inst, ["register", "density"])
    reg, den = fa.table()
    assert reg["r"] > 0.95 and reg["instrument_share"] > 0.9  # looks excellent overall ...
    assert abs(reg["r_within_instrument"]) < 0.15  # ... but knows nothing within an instrument
    assert den["r"] == pytest.approx(den["r_within_instrument"], abs=0.05) and den["instrument_share"] < 0.05
    lo, hi = den["r_ci95"]
    assert lo < den["r"] < hi and reg["n"] == n
    assert fields_equal(fa, type(fa).from_json(fa.to_json()))


def test_fisher_interval_on_hand_values():
    assert bottleneck.pearson_ci(0.5, 103) == pytest.approx([0.3393, 0.6317], abs=1e-3)
    assert bottleneck.pearson_ci(0.5, 3) == [None, None]
