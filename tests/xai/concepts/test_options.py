"""xai.concepts.options: the concept methods' options, declared once with bounds the CLI and the pages share."""

from __future__ import annotations

import pytest

from xai.concepts import options
from xai.errors import ParameterError

ALL = (options.TCAVOptions, options.DiscoveryOptions, options.SanityOptions)


@pytest.mark.parametrize("cls", ALL)
def test_every_option_has_help_and_a_default_inside_its_own_bounds(cls):
    spec = cls.spec()
    assert spec and len({s["name"] for s in spec}) == len(spec)
    for s in spec:
        assert s["help"], s["name"]
        if s["low"] is not None:
            assert s["low"] <= s["default"] <= s["high"], s["name"]
        if s["choices"] is not None:
            assert s["default"] in s["choices"], s["name"]
    assert cls().to_dict() == {s["name"]: s["default"] for s in spec}


@pytest.mark.parametrize(("cls", "name", "bad"), [
    (options.TCAVOptions, "n_random", 1), (options.TCAVOptions, "n_random", 501),
    (options.TCAVOptions, "cav_test_fraction", 0.6), (options.TCAVOptions, "classifier", "svm"),
    (options.TCAVOptions, "correction", "sidak"), (options.TCAVOptions, "max_examples", options.MIN_SET_SIZE - 1),
    (options.DiscoveryOptions, "method", "pca"), (options.DiscoveryOptions, "n_concepts", 0),
    (options.DiscoveryOptions, "holdout", 0.51), (options.DiscoveryOptions, "contrast", "yes"),
    (options.SanityOptions, "concept_size", options.MIN_SET_SIZE - 1), (options.SanityOptions, "n_seeds", 1),
])
def test_values_outside_the_bounds_are_refused_in_a_sentence(cls, name, bad):
    with pytest.raises(ParameterError, match=f"'{name}'"):
        cls(**{name: bad})


def test_edges_are_accepted_and_choices_are_the_declared_tuples():
    assert options.TCAVOptions(n_random=2, n_runs=200, cav_test_fraction=0.5).n_random == 2
    assert options.DiscoveryOptions(holdout=0.0, method="ntd").holdout == 0.0
    spec = {s["name"]: s for s in options.TCAVOptions.spec()}
    assert spec["correction"]["choices"] == options.CORRECTIONS and spec["classifier"]["choices"] == options.CLASSIFIERS
    assert {s["name"]: s for s in options.DiscoveryOptions.spec()}["method"]["choices"] == options.METHODS
    assert options.DiscoveryOptions().holdout == options.HOLDOUT


def test_options_round_trip_through_a_dict_and_refuse_unknown_names():
    o = options.SanityOptions(n_concepts=5, n_seeds=4)
    assert options.SanityOptions.from_dict(o.to_dict()) == o
    with pytest.raises(ParameterError, match="Unknown option"):
        options.TCAVOptions.from_dict({"n_randoms": 3})
