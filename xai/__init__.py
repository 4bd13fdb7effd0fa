"""xai: ask a music model "why?" in musical terms."""
from .errors import InputError, ParameterError, XaiError

__all__ = ["XaiError", "InputError", "ParameterError"]
