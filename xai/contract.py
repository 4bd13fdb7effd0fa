"""What every explainer shares: the model it needs, its options, its progress callback, its result.

The contract, in the spirit of captum's ``attribute`` and scikit-learn's estimators:

- **Call shape**: data first, the model second, then keyword-only options::

      result = tcav.score(examples, model, concept=..., layer=..., random_state=0)

  Wherever chance enters, the keyword is ``random_state`` (an int seed).
- **The model** is anything that satisfies :class:`Model` (``models.registry.Model`` does; so do the fakes the
  tests use): a name, a ``torch.nn.Module`` and its class names.
- **Options** are declared once per explainer as a frozen dataclass deriving :class:`Options`, each field made
  with :func:`option` (default, bounds or choices, help). The declaration validates values in one error style, and
  the CLI flags (:meth:`Options.add_arguments`), the page widgets (``pages/_widgets.option_widgets``), the run logs,
  cache keys and share links (:meth:`Options.to_dict`) are all built from it, so bounds live in one place.
- **Progress**: one callback type, ``progress(fraction, message)``. A callback that wants the work stopped raises
  (or, for loops that ask, returns True and the explainer raises) :class:`~xai.errors.Cancelled`.
- **Results** are frozen dataclasses deriving :class:`Result`: ``to_dict()`` gives JSON-able data (arrays tagged
  with their dtype and shape), ``from_dict()`` rebuilds an equal result, so a result round-trips through JSON.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from xai.errors import Cancelled, ParameterError

__all__ = ["Model", "Progress", "Cancelled", "no_progress", "option", "check_value", "Options", "Result", "jsonable",
           "fields_equal", "resolve_target"]

Progress = Callable[[float, str], "bool | None"]
"""``progress(fraction in [0, 1], message)``; returning True (or raising Cancelled) stops the work."""


def no_progress(fraction: float, message: str) -> None:
    """The default progress callback: says nothing, never cancels."""
    return None


@runtime_checkable
class Model(Protocol):
    """A model the explainers can use: what :func:`models.registry.load` returns, and what test fakes imitate.

    Symbolic models also carry ``window_quarters`` / ``hop_quarters`` (their input windows), and a model that
    caches derived results carries ``weights_sha256``; explainers read those with ``getattr`` where needed.
    """

    name: str
    classes: tuple[str, ...]

    @property
    def net(self) -> Any:  # a torch.nn.Module (not imported here: xai.contract stays light)
        """The network, in eval mode."""


def resolve_target(target, classes) -> int:
    """A class given by name or by index -> its index, with a plain message when there is no such class."""
    classes = tuple(classes)
    if isinstance(target, str) and target.lstrip("-").isdigit() and target not in classes:
        target = int(target)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if 0 <= int(target) < len(classes):
            return int(target)
        raise ParameterError(f"The class number {target} is out of range; the model has {len(classes)} classes "
                             f"(0 to {len(classes) - 1}).")
    if isinstance(target, str) and target in classes:
        return classes.index(target)
    raise ParameterError(f"There is no class '{target}' in this model; its classes are: {', '.join(classes)}.")


# --- options -----------------------------------------------------------------------------------------------------


def option(default, *, low=None, high=None, choices=None, help: str = "", label: str = ""):
    """One declared option: its default, its bounds (numbers) or choices (strings), one line of help, and the
    short label a page shows on its widget (default: the name in words)."""
    return field(default=default, metadata={"low": low, "high": high, "choices": choices, "help": help,
                                            "label": label})


_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _kind(f: dataclasses.Field) -> str:
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return t.replace("typing.", "").split("|")[0].strip()


def check_value(name: str, value, kind: str, meta: Mapping) -> None:
    """Validate one option value against its declaration, in the package's one error style."""
    low, high, choices = meta.get("low"), meta.get("high"), meta.get("choices")
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"The '{name}' parameter must be true or false, got {value!r}.")
        return
    if kind in ("int", "float"):
        ok_type = isinstance(value, (int, np.integer)) if kind == "int" else isinstance(value, (int, float, np.number))
        if isinstance(value, bool) or not ok_type or (kind == "float" and not math.isfinite(float(value))):
            raise ParameterError(f"The '{name}' parameter must be {'an int' if kind == 'int' else 'a number'}"
                                 f"{_range(low, high)}, got {value!r}.")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ParameterError(f"The '{name}' parameter must be {'an int' if kind == 'int' else 'a number'}"
                                 f"{_range(low, high)}, got {value!r}.")
        return
    if choices is not None and value not in choices:
        raise ParameterError(f"The '{name}' parameter must be one of {', '.join(map(str, choices))}; got {value!r}.")


def _range(low, high) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


@dataclasses.dataclass(frozen=True)
class Options:
    """Base of every explainer's options: validation, a plain-data spec, dict round trip, CLI flags.

    Subclass as a frozen dataclass whose fields are made with :func:`option`. Invalid values raise
    :class:`~xai.errors.ParameterError` when the options are created, so a page, the CLI and a study file are held
    to the same bounds.
    """

    def __post_init__(self):
        for f in dataclasses.fields(self):
            check_value(f.name, getattr(self, f.name), _kind(f), f.metadata)

    @classmethod
    def spec(cls) -> list[dict]:
        """The options as plain data: ``name``, ``type``, ``default``, ``low``, ``high``, ``choices``, ``help``."""
        return [{"name": f.name, "type": _kind(f), "default": f.default} | dict(f.metadata)
                for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict:
        """Every option's value (for run logs, cache keys and share links)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping | None = None, **overrides):
        """Options from a mapping (unknown keys are refused with a plain message), validated."""
        values = dict(values or {}) | overrides
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ParameterError(f"Unknown option(s): {', '.join(unknown)}. The options are: {', '.join(sorted(names))}.")
        return cls(**values)

    def replace(self, **changes):
        """A copy with some options changed (validated)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, *, skip: tuple[str, ...] = ()) -> None:
        """Add one ``--flag`` per option to an argparse parser, with the declared default, choices and help."""
        for s in cls.spec():
            if s["name"] in skip:
                continue
            flag = "--" + s["name"].replace("_", "-")
            bounds = _range(s.get("low"), s.get("high"))
            help_ = f"{s['help']} Default {s['default']}{(';' + bounds) if bounds else ''}."
            if s["type"] == "bool":
                parser.add_argument(flag, dest=s["name"], action=argparse.BooleanOptionalAction, default=s["default"],
                                    help=help_)
            else:
                parser.add_argument(flag, dest=s["name"], type=_TYPES.get(s["type"], str), default=s["default"],
                                    choices=s.get("choices"), help=help_)

    @classmethod
    def from_args(cls, args: argparse.Namespace):
        """The options from parsed CLI flags made by :meth:`add_arguments`."""
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)})


# --- results -----------------------------------------------------------------------------------------------------


def jsonable(obj):
    """Numbers, arrays, tuples and dataclasses -> plain JSON types (the one numpy-to-JSON helper).

    Lossy on purpose (arrays become lists): for exports and logs. :meth:`Result.to_dict` keeps dtype and shape.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _encode(obj):
    if isinstance(obj, Result):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, np.ndarray):
        data = obj.tolist() if obj.dtype != object else [_encode(v) for v in obj.tolist()]
        return {"__ndarray__": _nan_safe(data), "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if isinstance(obj, Mapping):
        return {"__mapping__": [[_encode(k), _encode(v)] for k, v in obj.items()]}
    if isinstance(obj, bytes):  # e.g. the original file a piece was read from
        return {"__bytes__": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v) for v in obj]
    if isinstance(obj, np.generic):
        return _nan_safe(obj.item())
    if isinstance(obj, float):
        return _nan_safe(obj)
    return obj


def _nan_safe(v):
    """JSON has no NaN or infinity: write them as tagged strings and read them back."""
    if isinstance(v, float) and not math.isfinite(v):
        return {"__float__": repr(v)}
    if isinstance(v, list):
        return [_nan_safe(x) for x in v]
    return v


def _decode(v, hint=None):
    if isinstance(v, dict):
        if "__float__" in v:
            return float(v["__float__"])
        if "__bytes__" in v:
            return base64.b64decode(v["__bytes__"])
        if "__ndarray__" in v:
            data = _un_nan(v["__ndarray__"])
            if v["dtype"] == "object":
                return np.array([_decode(x) for x in data], dtype=object).reshape(v["shape"])
            return np.asarray(data, dtype=v["dtype"]).reshape(v["shape"])
        if "__tuple__" in v:
            args = typing.get_args(hint) if hint is not None else ()
            inner = args[0] if args and (len(args) == 2 and args[1] is Ellipsis) else None
            return tuple(_decode(x, inner) for x in v["__tuple__"])
        if "__mapping__" in v:
            return {_hashable(_decode(k)): _decode(x) for k, x in v["__mapping__"]}
        cls = _dataclass_in(hint)
        if cls is not None:
            return cls.from_dict(v) if issubclass(cls, Result) else _build(cls, v)
        return {k: _decode(x) for k, x in v.items()}
    if isinstance(v, list):
        args = typing.get_args(hint) if hint is not None else ()
        return [_decode(x, args[0] if args else None) for x in v]
    return v


def _un_nan(v):
    if isinstance(v, dict) and "__float__" in v:
        return float(v["__float__"])
    if isinstance(v, list):
        return [_un_nan(x) for x in v]
    return v


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


def _dataclass_in(hint):
    if hint is None:
        return None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint
    for a in typing.get_args(hint):  # Optional[X], X | None
        if isinstance(a, type) and dataclasses.is_dataclass(a):
            return a
    return None


def _build(cls, data: Mapping):
    hints = typing.get_type_hints(cls)
    kwargs = {f.name: _decode(data[f.name], hints.get(f.name)) for f in dataclasses.fields(cls)
              if f.init and f.name in data}
    return cls(**kwargs)


class Result:
    """Base of every explainer's result: a frozen dataclass that round-trips through JSON.

    ``result == type(result).from_dict(json.loads(json.dumps(result.to_dict())))`` holds field by field (arrays
    keep dtype and shape; tuples stay tuples; NaN stays NaN). Results hold numbers and musical metadata, never
    figures: figures are drawn from them by :mod:`xai.views`.
    """

    SCHEMA: ClassVar[int] = 1

    def to_dict(self) -> dict:
        """JSON-able data of every field, with the result's type and schema version."""
        out = {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"__result__": type(self).__name__, "__schema__": self.SCHEMA} | out

    @classmethod
    def from_dict(cls, data: Mapping):
        """Rebuild a result from :meth:`to_dict`'s data (or its JSON)."""
        kind = data.get("__result__", cls.__name__)
        if kind != cls.__name__:
            raise ParameterError(f"This is a {kind} result, not a {cls.__name__}.")
        return _build(cls, data)

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str):
        """Rebuild a result from :meth:`to_json`'s string."""
        return cls.from_dict(json.loads(text))


def fields_equal(a, b) -> bool:
    """Field-by-field equality of two results (arrays compared with NaN equal to NaN); used by tests."""
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return type(a) is type(b) and all(fields_equal(getattr(a, f.name), getattr(b, f.name))
                                          for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype == object or b.dtype == object:
            return a.shape == b.shape and all(fields_equal(x, y) for x, y in zip(a.ravel(), b.ravel(), strict=True))
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(fields_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(fields_equal(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b

