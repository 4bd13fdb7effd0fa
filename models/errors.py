"""The exception family of the whole product, defined in its lowest layer.

``models`` may not import ``xai`` (import-linter contract), yet the registry must raise the same
:class:`InputError` the pages and the CLI catch. So the family lives here and :mod:`xai.errors` re-exports it:
pages and the CLI catch :class:`XaiError` once and show its message as a plain sentence; anything else is a bug.
"""


class XaiError(Exception):
    """Root of every error this package raises on purpose. Its message is written for a musician to read."""


class InputError(XaiError):
    """The user's input (a file, an excerpt, a concept, a model name) cannot be used as it is."""


class ParameterError(XaiError):
    """An option is out of its allowed range or of the wrong type."""
