"""xai.stats: the one Wilson interval every reported rate uses, checked on hand-computed values."""

import pytest

from xai.stats import wilson


def test_wilson_interval_on_hand_values():
    assert wilson(5, 10) == [0.2366, 0.7634]  # symmetric around 1/2
    assert wilson(0, 30) == [0.0, 0.1135]  # not empty at zero successes: 0 of 30 does not prove 0 %
    assert wilson(30, 30) == [0.8865, 1.0]
    z2 = 1.959964 ** 2
    assert wilson(0, 60, digits=None) == pytest.approx([0.0, z2 / (60 + z2)], abs=1e-12)  # at k = 0: z^2 / (n + z^2)


def test_no_observations_rule_nothing_out_and_impossible_counts_are_refused():
    assert wilson(0, 0) == [0.0, 1.0]
    with pytest.raises(ValueError):
        wilson(3, 2)
    with pytest.raises(ValueError):
        wilson(-1, 5)


def test_a_wider_confidence_gives_a_wider_interval():
    lo95, hi95 = wilson(6, 9)
    lo99, hi99 = wilson(6, 9, z=2.575829)
    assert lo99 < lo95 < 6 / 9 < hi95 < hi99
