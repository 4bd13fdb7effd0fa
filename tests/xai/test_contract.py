"""xai.contract: options validate and build CLI flags; results round-trip through JSON; one resolve_target."""

import argparse
import dataclasses
import json

import numpy as np
import pytest

from xai.contract import Model, Options, Result, fields_equal, jsonable, option, resolve_target
from xai.errors import ParameterError


@dataclasses.dataclass(frozen=True)
class DemoOptions(Options):
    samples: int = option(100, low=10, high=1000, help="How many samples.")
    width: float = option(0.25, low=0.0, high=1.0, help="Kernel width.")
    kind: str = option("mean", choices=("mean", "zero"), help="What an off segment becomes.")
    exact: bool = option(False, help="Enumerate every coalition.")


@dataclasses.dataclass(frozen=True)
class Inner(Result):
    name: str
    values: np.ndarray


@dataclasses.dataclass(frozen=True)
class Demo(Result):
    scores: np.ndarray
    bars: tuple[int, ...]
    inner: Inner
    per_class: dict
    p: float
    note: str | None = None
    raw: bytes = b""


def test_options_validate_in_one_style():
    assert DemoOptions().samples == 100
    with pytest.raises(ParameterError, match=r"The 'samples' parameter must be an int in \[10, 1000\], got 3"):
        DemoOptions(samples=3)
    with pytest.raises(ParameterError, match="'kind' parameter must be one of mean, zero"):
        DemoOptions(kind="noise")
    with pytest.raises(ParameterError, match="'width'"):
        DemoOptions(width=float("nan"))
    with pytest.raises(ParameterError, match="Unknown option"):
        DemoOptions.from_dict({"sample": 3})
    assert DemoOptions.from_dict(DemoOptions(samples=20).to_dict()) == DemoOptions(samples=20)


def test_cli_flags_come_from_the_declaration():
    ap = argparse.ArgumentParser()
    DemoOptions.add_arguments(ap)
    args = ap.parse_args(["--samples", "200", "--kind", "zero", "--exact"])
    assert DemoOptions.from_args(args) == DemoOptions(samples=200, kind="zero", exact=True)
    with pytest.raises(SystemExit):
        ap.parse_args(["--kind", "noise"])
    spec = {s["name"]: s for s in DemoOptions.spec()}
    assert spec["samples"]["low"] == 10 and spec["samples"]["type"] == "int" and spec["kind"]["choices"]


def test_results_round_trip_through_json():
    r = Demo(scores=np.array([[0.1, np.nan], [np.inf, 2.0]], dtype=np.float32), bars=(3, 4, 5),
             inner=Inner("a", np.arange(4, dtype=np.int16)), per_class={"bach": 0.5, "folk": float("nan")}, p=0.01,
             raw=b"MThd\x00\xff")
    back = Demo.from_json(json.dumps(json.loads(r.to_json())))
    assert fields_equal(r, back)
    assert back.raw == b"MThd\x00\xff" and back.scores.dtype == np.float32 and back.bars == (3, 4, 5) and back.inner.values.dtype == np.int16
    assert not fields_equal(r, dataclasses.replace(r, bars=(3, 4, 6)))
    with pytest.raises(ParameterError, match="not a Inner"):
        Inner.from_dict(r.to_dict())


def test_jsonable_and_resolve_target():
    assert jsonable({"a": np.float32(1.5), "b": (np.int64(2), float("nan"))}) == {"a": 1.5, "b": [2, None]}
    assert resolve_target("folk", ("bach", "folk")) == 1
    assert resolve_target(0, ("bach", "folk")) == 0 and resolve_target("1", ("bach", "folk")) == 1
    with pytest.raises(ParameterError, match="no class 'jazz'"):
        resolve_target("jazz", ("bach", "folk"))
    with pytest.raises(ParameterError, match="out of range"):
        resolve_target(5, ("bach", "folk"))


def test_the_shipped_registry_model_satisfies_the_protocol():
    from models import registry

    assert isinstance(registry.load("composer"), Model)
