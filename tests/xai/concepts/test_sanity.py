"""The TCAV sanity suite on every shipped symbolic model: random concepts must not pass as concepts.

This recomputes the documented test subset (xai.concepts.sanity.TEST_SUBSET: 20 random concepts x 3 classes x the
default layer, a null of 20 random sets x 10 runs, 100 class excerpts; about 1.5 minutes on 2 cores) and compares
it with the numbers shipped in assets/concepts/sanity_<model>.json. 60 cells cannot pin a 5 % rate down (the Wilson
interval is printed), but 3 false positives among them would fail the test.
"""

import json

import numpy as np
import pytest

from xai.concepts import sanity, tcav
from xai.concepts.options import SanityOptions


def _symbolic_models():
    from models import registry

    return registry.available("symbolic")


@pytest.mark.parametrize("name", _symbolic_models())
def test_random_concepts_are_not_reported_and_a_planted_one_is(name):
    from models import registry

    model = registry.load(name)
    sub = sanity.TEST_SUBSET
    rep = sanity.run(model, targets=model.classes[: sub["targets"]], layers=[model.default_layer],
                     options=SanityOptions(**sub["options"]), random_state=sub["random_state"])
    s = rep.summary()
    print(json.dumps({k: s[k] for k in ("false_positives", "raw_p", "planted", "randomisation", "seeds")}, indent=1))
    fp = s["false_positives"]
    assert fp["rate"] <= 0.05 and fp["per_cell_max"] <= 0.05
    assert s["planted"]["significant"] == [True]
    assert s["randomisation"][-1]["significant"] == [False]  # the tested layer itself random: nothing left
    assert s["seeds"]["significance_agrees"]
    shipped = (sanity.shipped(name) or {}).get("test_subset")
    assert shipped is not None, f"no sanity numbers ship for '{name}': python -m xai sanity --model {name} --recompute --write (several minutes on 2 cores)"
    np.testing.assert_allclose(rep.p_values, np.array(shipped["p_values"]), atol=1e-6)
    assert shipped["false_positives"]["significant"] == fp["significant"]


def test_null_p_value_is_uniform_under_the_null(rng):
    # A statistic drawn from the same normal distribution as its null sample: p < 0.05 about 5 % of the time.
    p = np.array([tcav.null_p_value(rng.normal(), rng.normal(size=20)) for _ in range(4000)])
    assert abs((p < 0.05).mean() - 0.05) < 0.012
    assert tcav.null_p_value(5.0, rng.normal(size=50)) < 1e-4
    assert tcav.empirical_p_value(100.0, np.arange(19.0)) == pytest.approx(1 / 20)


def test_bootstrap_interval_and_learning_curve_helpers():
    assert tcav.bootstrap_interval(np.arange(101.0)) == pytest.approx((2.5, 97.5))
    # accuracy 0.55 + 0.05 log(n): reaching 0.75 needs e^4 ~ 55 examples
    sizes = np.array([5, 10, 20, 40])
    assert tcav.examples_needed(sizes, 0.55 + 0.05 * np.log(sizes), 0.75) == pytest.approx(np.exp(4), rel=1e-6)
    assert tcav.examples_needed(sizes, np.full(4, 0.5), 0.75) is None
    assert tcav.random_accuracy_bound(np.full(10, 0.5)) == pytest.approx(0.5)


