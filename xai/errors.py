"""One exception family for the whole package.

Pages and the CLI catch :class:`XaiError` once and show its message as a plain sentence; anything else is a bug.
The classes are defined in :mod:`models.errors` (the lowest layer, so the model registry raises them too) and
re-exported here, where the rest of ``xai`` and the pages import them from.
"""

from models.errors import InputError, ParameterError, XaiError

__all__ = ["XaiError", "InputError", "ParameterError", "Cancelled", "check_int"]


class Cancelled(XaiError):
    """The user stopped a long computation (through its progress callback); nothing of it is kept."""


def check_int(name: str, value, low: int, high: int) -> int:
    """Validate an integer option in one error style shared by the package."""
    if isinstance(value, bool) or not isinstance(value, (int,)) or not low <= value <= high:
        raise ParameterError(f"The '{name}' parameter must be an int in [{low}, {high}], got {value!r}.")
    return int(value)
