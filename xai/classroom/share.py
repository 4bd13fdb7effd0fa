"""Share a view as a link: its state as a signed, versioned, validated token for ``?share=<token>``.

A token is ``v<version>.<payload>.<signature>``: the payload is the JSON ``{"view": ..., "state": ...}``,
compressed (zlib) and base64url-encoded; the signature is HMAC-SHA256 over the version and payload with a
per-installation secret (first 16 bytes, base64url). Never pickle: the state is plain JSON, and decoding checks
it against the view's schema (allowed keys and their types), so a link can set only what the view's own widgets
could set, and a tampered link is refused.

The secret is ``$MUSICXAI_SECRET`` when set (tests, or several servers sharing links), else a random key
created once in the user's data folder beside the concept library (``secret.key``, see
:func:`xai.concepts.library.default_library_path`). Links therefore open on the installation that made them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import zlib
from collections.abc import Iterable
from pathlib import Path

from xai.errors import ParameterError

__all__ = ["VERSION", "SCHEMAS", "encode", "decode", "validate", "register_schema", "secret_path", "Str", "Num",
           "view_index"]

VERSION = 1
MAX_TOKEN_CHARS = 8000  # a URL stays well under browsers' limits
MAX_STATE_KEYS = 40
MAX_STR = 300
MAX_LIST = 64
MAX_JSON_BYTES = 64_000  # a view's settings, unpacked: far more than any view has
MAX_DEPTH = 4  # {"view", "state": {key: [values]}} is 3 deep
_SIG_BYTES = 16
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class Str:
    """A string value of at most ``max_len`` characters, optionally one of ``choices``."""

    def __init__(self, max_len: int = MAX_STR, choices: tuple[str, ...] | None = None):
        self.max_len, self.choices = max_len, choices

    def check(self, key: str, v) -> None:
        """Refuse a value this setting cannot take, with a plain message naming ``key``."""
        if not isinstance(v, str) or len(v) > self.max_len or (self.choices is not None and v not in self.choices):
            raise ParameterError(f"This link sets '{key}' to a value the page does not accept.")


class Num:
    """An int or float value within [low, high] (bools are not numbers here)."""

    def __init__(self, low: float = -1e9, high: float = 1e9, integer: bool = False):
        self.low, self.high, self.integer = low, high, integer

    def check(self, key: str, v) -> None:
        """Refuse a value this setting cannot take, with a plain message naming ``key``."""
        ok_type = isinstance(v, int) if self.integer else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok_type or not (self.low <= v <= self.high):
            raise ParameterError(f"This link sets '{key}' to a value the page does not accept.")


class _List:
    def __init__(self, item, max_len: int = MAX_LIST):
        self.item, self.max_len = item, max_len

    def check(self, key: str, v) -> None:
        if not isinstance(v, list) or len(v) > self.max_len:
            raise ParameterError(f"This link sets '{key}' to a value the page does not accept.")
        for x in v:
            _check(self.item, key, x)


def List(item, max_len: int = MAX_LIST) -> _List:  # noqa: N802 - reads like a type in a schema
    """A list of at most ``max_len`` items, each matching ``item`` (a type or a checker)."""
    return _List(item, max_len)


def _check(spec, key: str, v) -> None:
    if v is None:  # every key may be left unset
        return
    if hasattr(spec, "check"):
        spec.check(key, v)
    elif spec is bool:
        if not isinstance(v, bool):
            raise ParameterError(f"This link sets '{key}' to a value the page does not accept.")
    elif spec is int:
        Num(integer=True).check(key, v)
    elif spec is float:
        Num().check(key, v)
    elif spec is str:
        Str().check(key, v)
    else:  # pragma: no cover - a schema bug
        raise TypeError(f"unknown schema type {spec!r}")


_PIECE = {"source": Str(20, ("example", "upload", "transcribed")), "example": Str(120), "model": Str(60)}

#: Per view: the keys a link may set and their types. Every view with a share panel is declared here, so this
#: module knows them all as soon as it is imported; a view not listed (none today) gets the generic check.
SCHEMAS: dict[str, dict] = {
    "classify": {**_PIECE, "bar": int, "window": int},
    "tcav": {"model": Str(60), "concepts": List(Str(120), 16), "relative_to": Str(120), "targets": List(Str(60), 32),
             "layers": List(Str(60), 16), "seed": int, "run": bool, "n_random": int, "cav_test_fraction": float,
             "classifier": Str(20), "alpha": float, "alpha_significance": float, "correction": Str(20),
             "min_cav_accuracy": float, "max_examples": int},
    "discover": {"model": Str(60), "layer": Str(60), "method": Str(10), "k": int, "scope": Str(60), "concept": int,
                 "n": int, "f_classes": List(Str(60), 32), "f_composers": List(Str(120), 64)},
    "audio": {"source": Str(20, ("example", "upload")), "example": Str(200), "instrument": Str(60), "style": Str(60),
              "model": Str(60)},
    "label_noise": {"kind": Str(20, ("symmetric", "class")), "noise": float, "seed": int, "epochs": int,
                    "target": Str(60), "curves": Str(120)},
    "tour": {"step": int},
    "presets": {"preset": Str(120)},
    "hubness": {"embedding": Str(60), "k": int, "reduction": Str(20), "item": int},
    # pages/lime.py: the input (a score's piece or a recording's clip), the segments, the model and class, and
    # every numeric option of the explanation (LIME's own options carry ``seed``; ``random_state`` is its new name)
    "lime": {**_PIECE, "input": Str(20, ("score", "recording")), "segments": Str(20), "target": Str(60),
             "start_bar": int, "end_bar": int, "n_bars": int, "clip_source": Str(20, ("example", "upload")),
             "clip_example": Str(200), "start_s": float, "off": Str(10), "samples": int, "kernel_width": float,
             "seed": int, "random_state": int, "top_k": int, "stability_seeds": int, "bars_per_segment": int,
             "n_registers": int, "n_time": int, "n_bands": int, "batch_size": int},
    # pages/attack.py (the recording tab): the clip, the model and the attack's settings
    "attack": {"model": Str(60), "method": Str(20), "target": Str(60), "epsilon": float, "steps": int,
               "start_s": float, "spectral": bool, "lr": float, "alpha": float,
               "clip_source": Str(20, ("example", "upload")), "clip_example": Str(200)},
    # pages/attribute.py: the input (a score's piece or a recording's clip), the model, class and window, and the
    # attribution's options (xai.local.attribution.AttributionOptions)
    "attribute": {**_PIECE, "input": Str(20, ("score", "recording")), "target": Str(60), "start_bar": int,
                  "clip_source": Str(20, ("example", "upload")), "clip_example": Str(200), "start_s": float,
                  "method": Str(20, ("ig", "saliency", "occlusion", "gradcam")),
                  "baseline": Str(20, ("silence", "mean", "blurred")), "n_steps": int,
                  "segments": Str(20, ("auto", "bars-voices", "bars-registers")), "bars_per_segment": int,
                  "n_registers": int, "n_time": int, "n_bands": int, "top_k": int, "randomised_layers": int,
                  "compare_lime": bool, "lime_samples": int, "random_state": int},
}
GENERIC = "generic"


def view_index(views: Iterable) -> dict:
    """The app's views by the name a share link gives them (a view's file name without ``.py``), in order.

    ``views``: objects with a ``path`` such as ``"pages/classify.py"`` (the app's navigation entries); each is
    returned as given under its name, so the caller reads its path, title or anything else it carries.
    """
    return {v.path.rsplit("/", 1)[-1].removesuffix(".py"): v for v in views}


def register_schema(view: str, schema: dict) -> None:
    """Let a page declare which keys (and types: bool, int, float, str, :class:`Str`, :class:`Num`,
    :func:`List`) its links may carry; call at import of the page or its xai module."""
    for spec in schema.values():
        _check(spec, "schema", None)
    SCHEMAS[view] = dict(schema)


def _check_view(view) -> str:
    if not isinstance(view, str) or not view or len(view) > 40 or not view.replace("_", "").isalnum():
        raise ParameterError("This share link names a view that does not exist.")
    return view


def validate(view: str, state) -> dict:
    """The state checked against the view's schema: only its keys, each of its type; ParameterError otherwise.

    A view without a declared schema accepts at most 40 keys of plain values (bool, number, a short string or
    a short list of them) — never nested objects.
    """
    _check_view(view)
    if not isinstance(state, dict):
        raise ParameterError("This share link does not hold a view's settings.")
    if len(state) > MAX_STATE_KEYS:
        raise ParameterError("This share link holds more settings than any view has.")
    schema = SCHEMAS.get(view)
    for key, v in state.items():
        if not isinstance(key, str) or len(key) > 60:
            raise ParameterError("This share link holds a setting with an invalid name.")
        if schema is None:
            if isinstance(v, list):
                _List(_Scalar()).check(key, v)
            else:
                _Scalar().check(key, v)
        elif key not in schema:
            raise ParameterError(f"This share link sets '{key}', which the {view} view does not have.")
        else:
            _check(schema[key], key, v)
    return dict(state)


class _Scalar:
    def check(self, key: str, v) -> None:
        if v is None or isinstance(v, bool):
            return
        if isinstance(v, (int, float)) and abs(v) <= 1e12:
            return
        if isinstance(v, str) and len(v) <= MAX_STR:
            return
        raise ParameterError(f"This link sets '{key}' to a value the page does not accept.")


# -------------------------------------------------------------------------------------------------- the secret


def secret_path() -> Path:
    """Where the installation's signing key lives: ``secret.key`` beside the concept library."""
    from xai.concepts.library import default_library_path

    return default_library_path().parent / "secret.key"


def _secret() -> bytes:
    env = os.environ.get("MUSICXAI_SECRET")
    if env:
        return env.encode("utf-8")
    path = secret_path()
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:  # create it readable by this user only; if another process won the race, use theirs
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    return bytes.fromhex(key)


def _mac(msg: bytes) -> bytes:
    return hmac.new(_secret(), msg, hashlib.sha256).digest()[:_SIG_BYTES]


def _sign(msg: bytes) -> str:
    return _b64(_mac(msg))


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# ------------------------------------------------------------------------------------------------ encode/decode


def _plain(v):
    if hasattr(v, "tolist"):  # numpy scalars and arrays
        return v.tolist()
    raise TypeError(f"{type(v).__name__} is not JSON-able")



def encode(view: str, state: dict) -> str:
    """A url-safe token for the view and its state (validated first; ParameterError if it does not fit).

    Tuples become lists and numpy numbers plain numbers first, as they would after a round trip through JSON."""
    try:
        state = json.loads(json.dumps(state, default=_plain, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise ParameterError("These settings cannot be put in a link.") from e
    state = validate(view, state)
    try:
        text = json.dumps({"view": view, "state": state}, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ParameterError("These settings cannot be put in a link.") from e
    head = f"v{VERSION}"
    payload = _b64(zlib.compress(text.encode("utf-8"), 9))
    token = f"{head}.{payload}.{_sign((head + '.' + payload).encode('ascii'))}"
    if len(token) > MAX_TOKEN_CHARS:
        raise ParameterError("These settings are too long to fit in a link.")
    return token


def _depth(text: str) -> int:
    """How deeply JSON text nests arrays and objects, read without parsing it (so no recursion limit is hit)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


_BROKEN = "This share link is broken (it was cut short or changed); showing the page as it opens by default."


def decode(token) -> tuple[str, dict]:
    """``(view, state)`` from a token made by :func:`encode`; ParameterError with a plain sentence when the
    token is malformed, was changed after signing, comes from another version, or names an unknown setting."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise ParameterError(_BROKEN)
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].startswith("v"):
        raise ParameterError(_BROKEN)
    head, payload, sig = parts
    if head != f"v{VERSION}":
        raise ParameterError("This share link was made by another version of Music XAI and cannot be opened here; "
                             "showing the page as it opens by default.")
    # Only base64url characters get as far as the signature check, which compares bytes with bytes.
    if not _B64URL.fullmatch(payload) or not _B64URL.fullmatch(sig) or len(sig) % 4 == 1:
        raise ParameterError(_BROKEN)
    if not hmac.compare_digest(_unb64(sig), _mac((head + "." + payload).encode("ascii"))):
        raise ParameterError("This share link was changed after it was made, or made on another installation; "
                             "showing the page as it opens by default.")
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(_unb64(payload), MAX_JSON_BYTES)
        if inflate.unconsumed_tail:
            raise ValueError("too long")
        text = raw.decode("utf-8")
        if _depth(text) > MAX_DEPTH:
            raise ValueError("nested too deeply")
        d = json.loads(text)
    except (ValueError, zlib.error, UnicodeDecodeError) as e:
        raise ParameterError(_BROKEN) from e
    if not isinstance(d, dict) or set(d) != {"view", "state"}:
        raise ParameterError(_BROKEN)
    view = _check_view(d["view"])
    return view, validate(view, d["state"])
