"""Class presets: views with their settings (a piece, a concept set, options) that a teacher saves and students
open from a list.

A preset is a name, a sentence for the students, and a share state (:mod:`xai.classroom.share`: a view and its validated
settings). Presets live in one JSON file in the user data folder beside the concept library (``presets.json``;
``$MUSICXAI_PRESETS`` overrides the path), written atomically under a lock so concurrent sessions never see half
a file. Everyone can read them; saving and deleting need the teacher password:

- ``$MUSICXAI_TEACHER_PASSWORD``, or
- a set-up file ``teacher.json`` in the same folder holding ``{"password_sha256": "<hex>"}`` (write it with
  :func:`set_teacher_password` or ``python -m xai presets set-password``).

With neither, teacher mode is off and the presets are read-only for everyone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xai.classroom import share
from xai.errors import ParameterError

__all__ = ["Preset", "PresetStore", "default_path", "teacher_mode_available", "check_password",
           "set_teacher_password"]

FORMAT = "musicxai.presets"
VERSION = 1
MAX_NAME = 80
MAX_DESCRIPTION = 600
_LOCK = threading.Lock()


def _folder() -> Path:
    from xai.concepts.library import default_library_path

    return default_library_path().parent


def default_path() -> Path:
    """``$MUSICXAI_PRESETS``, else ``presets.json`` beside the concept library."""
    env = os.environ.get("MUSICXAI_PRESETS")
    return Path(env).expanduser() if env else _folder() / "presets.json"


def _setup_file() -> Path:
    return default_path().parent / "teacher.json"


def _password_hash() -> str | None:
    env = os.environ.get("MUSICXAI_TEACHER_PASSWORD")
    if env:
        return hashlib.sha256(env.encode("utf-8")).hexdigest()
    try:
        h = json.loads(_setup_file().read_text()).get("password_sha256")
    except (OSError, ValueError, AttributeError):
        return None
    return h if isinstance(h, str) and len(h) == 64 else None


def teacher_mode_available() -> bool:
    """Whether a teacher password is set up (else presets are read-only for everyone)."""
    return _password_hash() is not None


def check_password(password: str) -> bool:
    """Whether ``password`` is the teacher password (constant-time comparison)."""
    expected = _password_hash()
    if expected is None or not isinstance(password, str) or not password:
        return False
    return hmac.compare_digest(hashlib.sha256(password.encode("utf-8")).hexdigest(), expected)


def set_teacher_password(password: str) -> Path:
    """Write the set-up file with the password's SHA-256 (readable by this user only); returns its path."""
    if not isinstance(password, str) or len(password) < 6:
        raise ParameterError("The teacher password must have at least 6 characters.")
    path = _setup_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"password_sha256": hashlib.sha256(password.encode("utf-8")).hexdigest()}, fh)
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class Preset:
    """A saved view: ``view`` and ``state`` as in a share link, a name and a sentence for the students."""

    name: str
    view: str
    state: dict = field(default_factory=dict)
    description: str = ""
    created: str = ""

    def to_dict(self) -> dict:
        """The preset as plain data."""
        return asdict(self)

    def token(self) -> str:
        """The share token that opens this preset's view with its settings."""
        return share.encode(self.view, self.state)


def _check_preset(p: Preset) -> Preset:
    name = p.name.strip() if isinstance(p.name, str) else ""
    if not name or len(name) > MAX_NAME:
        raise ParameterError(f"A preset needs a name of 1 to {MAX_NAME} characters.")
    if not isinstance(p.description, str) or len(p.description) > MAX_DESCRIPTION:
        raise ParameterError(f"A preset's description may have at most {MAX_DESCRIPTION} characters.")
    state = share.validate(p.view, p.state)
    return Preset(name=name, view=p.view, state=state, description=p.description.strip(),
                  created=p.created or time.strftime("%Y-%m-%d %H:%M"))


class PresetStore:
    """The presets file: read by anyone, changed only with the teacher password."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else default_path()

    def list(self) -> list[Preset]:
        """Every preset, in the order saved; an absent file is an empty list, a broken one a ParameterError."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise ParameterError(f"The class presets cannot be read ({e.strerror}).") from e
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise ParameterError("The class presets file is damaged; ask the teacher to save a preset again.") from e
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
            raise ParameterError("The class presets file was written by another version of Music XAI.")
        out = []
        for d in doc.get("presets", []):
            try:
                out.append(_check_preset(Preset(**{k: d.get(k) for k in ("name", "view", "state", "description",
                                                                          "created")})))
            except (ParameterError, TypeError, AttributeError):
                continue  # one broken entry does not hide the others
        return out

    def get(self, name: str) -> Preset:
        """The preset called ``name``; a plain message when there is none."""
        for p in self.list():
            if p.name == name:
                return p
        raise ParameterError(f"There is no class preset called '{name}'.")

    def _write(self, presets: list[Preset]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"format": FORMAT, "version": VERSION,
                                   "presets": [p.to_dict() for p in presets]}, indent=1))
        os.replace(tmp, self.path)

    def save(self, preset: Preset, *, password: str, replace: bool = False) -> Preset:
        """Add (or with ``replace``, overwrite) a preset; needs the teacher password."""
        _require_teacher(password)
        preset = _check_preset(preset)
        with _LOCK:
            presets = self.list()
            if any(p.name == preset.name for p in presets) and not replace:
                raise ParameterError(f"A preset called '{preset.name}' exists already; choose another name.")
            presets = [p for p in presets if p.name != preset.name] + [preset]
            self._write(presets)
        return preset

    def delete(self, name: str, *, password: str) -> None:
        """Remove a preset; needs the teacher password."""
        _require_teacher(password)
        with _LOCK:
            presets = self.list()
            if not any(p.name == name for p in presets):
                raise ParameterError(f"There is no class preset called '{name}'.")
            self._write([p for p in presets if p.name != name])


def _require_teacher(password: str) -> None:
    if not teacher_mode_available():
        raise ParameterError("Teacher mode is off: set MUSICXAI_TEACHER_PASSWORD (or run 'python -m xai presets "
                             "set-password') to save class presets.")
    if not check_password(password):
        raise ParameterError("That is not the teacher password; presets stay read-only.")


def from_link(link: str) -> tuple[str, dict]:
    """``(view, state)`` of a share link or bare token (as pasted from a view's share panel)."""
    link = (link or "").strip()
    token = link.split("share=", 1)[1].split("&", 1)[0] if "share=" in link else link
    return share.decode(token)
