"""One exception family for the whole package.

Pages and the CLI catch :class:`XaiError` once and show its message as a plain sentence; anything else is a bug.
"""


class XaiError(Exception):
    """Root of every error this package raises on purpose. Its message is written for a musician to read."""


class InputError(XaiError):
    """The user's input (a file, an excerpt, a concept) cannot be used as it is."""


class ParameterError(XaiError):
    """An option is out of its allowed range or of the wrong type."""


def check_int(name: str, value, low: int, high: int) -> int:
    """Validate an integer option in one error style shared by the package."""
    if isinstance(value, bool) or not isinstance(value, (int,)) or not low <= value <= high:
        raise ParameterError(f"The '{name}' parameter must be an int in [{low}, {high}], got {value!r}.")
    return int(value)
