"""xai.errors: one exception family (caught once by pages and the CLI) and the shared integer check."""

import pytest

import models.errors
from xai import errors


def test_every_error_the_package_raises_on_purpose_is_an_xai_error():
    for cls in (errors.InputError, errors.ParameterError, errors.Cancelled):
        assert issubclass(cls, errors.XaiError) and issubclass(cls, Exception)
    assert not issubclass(errors.InputError, errors.ParameterError)
    assert not issubclass(errors.Cancelled, (errors.InputError, errors.ParameterError))
    assert not issubclass(errors.XaiError, (ValueError, RuntimeError))  # a bug elsewhere is never one of ours


def test_the_classes_are_the_models_layers_own():
    assert errors.InputError is models.errors.InputError and errors.XaiError is models.errors.XaiError
    assert errors.ParameterError is models.errors.ParameterError
    assert set(errors.__all__) == {"XaiError", "InputError", "ParameterError", "Cancelled", "check_int"}


@pytest.mark.parametrize("value", [3, 1, 5])
def test_check_int_accepts_ints_in_bounds(value):
    out = errors.check_int("k", value, 1, 5)
    assert out == value and type(out) is int


@pytest.mark.parametrize("value", [0, 6, 2.0, True, "3", None])
def test_check_int_refuses_in_one_sentence(value):
    with pytest.raises(errors.ParameterError, match=r"^The 'k' parameter must be an int in \[1, 5\], got .+\.$"):
        errors.check_int("k", value, 1, 5)
