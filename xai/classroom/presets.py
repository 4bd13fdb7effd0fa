"""Class presets: views with their settings (a piece, a concept set, options) that a teacher saves and students
open from a list.

A preset is a name, a sentence for the students, and a share state (:mod:`xai.classroom.share`: a view and its validated
settings). Presets live in one JSON file in the user data folder beside the concept library (``presets.json``;
``$MUSICXAI_PRESETS`` overrides the path), written atomically under a lock so concurrent sessions never see half
a file; the lock is a file lock (``fcntl``), so servers and command lines running at once lose no save.
Everyone can read them; saving and deleting need the teacher password (at least :data:`MIN_PASSWORD`
characters):

- ``$MUSICXAI_TEACHER_PASSWORD``, or
- a set-up file ``teacher.json`` in the same folder holding a salted scrypt hash of it (write it with
  :func:`set_teacher_password` or ``python -m xai presets set-password``). A file from an older version (an
  unsalted SHA-256) is rewritten with scrypt at the next correct login.

With neither, teacher mode is off and the presets are read-only for everyone. A wrong password makes the next
answer wait (0.25 s, doubling, at most 4 s). A browser session keeps a random key (:func:`teacher_key`) once the
password is checked, never the password itself.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xai import storage
from xai.classroom import share
from xai.errors import ParameterError

__all__ = ["Preset", "PresetStore", "default_path", "teacher_mode_available", "teacher_mode_problem",
           "check_password", "set_teacher_password", "teacher_key", "check_key", "forget_key", "MIN_PASSWORD"]

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


MIN_PASSWORD = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # 16 MB and about 50 ms a check: slow for a guesser, quick for a teacher
_FAILED = {"count": 0}
_FAILED_LOCK = threading.Lock()
_MAX_DELAY = 4.0


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def _env_password() -> str | None:
    env = os.environ.get("MUSICXAI_TEACHER_PASSWORD")
    return env or None


def _setup() -> dict | None:
    """The set-up file's contents: ``{"scrypt": {...}}``, or the old ``{"password_sha256": ...}``; None without."""
    try:
        doc = json.loads(_setup_file().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    s = doc.get("scrypt")
    if isinstance(s, dict) and all(isinstance(s.get(k), str) for k in ("salt", "hash")) and \
            all(isinstance(s.get(k), int) and 1 <= s[k] <= 2**20 for k in ("n", "r", "p")):
        return doc
    legacy = doc.get("password_sha256")
    if isinstance(legacy, str) and len(legacy) == 64:
        return {"password_sha256": legacy}
    return None


def teacher_mode_available() -> bool:
    """Whether a usable teacher password is set up (else presets are read-only for everyone).

    A password from ``$MUSICXAI_TEACHER_PASSWORD`` shorter than :data:`MIN_PASSWORD` does not count: teacher
    mode stays off, and :func:`teacher_mode_problem` says why.
    """
    env = _env_password()
    if env is not None:
        return len(env) >= MIN_PASSWORD
    return _setup() is not None


def teacher_mode_problem() -> str | None:
    """A sentence saying why teacher mode is off, or None when it is on."""
    env = _env_password()
    if env is not None and len(env) < MIN_PASSWORD:
        return (f"Teacher mode is off: the password in MUSICXAI_TEACHER_PASSWORD has fewer than {MIN_PASSWORD} "
                "characters; set a longer one (or run 'python -m xai presets set-password').")
    if env is None and _setup() is None:
        return ("Teacher mode is off: set MUSICXAI_TEACHER_PASSWORD (or run 'python -m xai presets "
                "set-password') to save class presets.")
    return None


def check_password(password: str) -> bool:
    """Whether ``password`` is the teacher password; each wrong one makes the next answer wait longer.

    The set-up file holds a salted scrypt hash (memory-hard: a guesser with a GPU gains little). A file written
    by an older version (an unsalted SHA-256) is still accepted once, and rewritten with scrypt at that
    correct login. After a wrong password the answer comes only after a delay (0.25 s, doubling with each
    further failure, at most 4 s; a right password resets it), so guessing online is slow.
    """
    if not isinstance(password, str) or not password or not teacher_mode_available():
        return False
    ok = _matches(password)
    with _FAILED_LOCK:
        failures = 0 if ok else _FAILED["count"] + 1
        _FAILED["count"] = failures
    if not ok:
        time.sleep(min(0.25 * 2 ** (failures - 1), _MAX_DELAY))
    return ok


def _matches(password: str) -> bool:
    env = _env_password()
    if env is not None:
        return hmac.compare_digest(password.encode("utf-8"), env.encode("utf-8"))
    setup = _setup()
    if setup is None:
        return False
    if "scrypt" in setup:
        s = setup["scrypt"]
        try:
            salt, expected = bytes.fromhex(s["salt"]), bytes.fromhex(s["hash"])
            return hmac.compare_digest(_scrypt(password, salt, s["n"], s["r"], s["p"]), expected)
        except (ValueError, MemoryError):
            return False
    old = hashlib.sha256(password.encode("utf-8")).hexdigest()
    if not hmac.compare_digest(old, setup["password_sha256"]):
        return False
    try:  # the right password in an old file: store it the new way now (a short old one too: it is in use)
        _write_setup(password)
    except OSError:
        pass  # a read-only folder: the old file keeps working until the teacher sets a new password
    return True


def set_teacher_password(password: str) -> Path:
    """Write the set-up file with a salted scrypt hash of the password (readable by this user only)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ParameterError(f"The teacher password must have at least {MIN_PASSWORD} characters.")
    return _write_setup(password)


def _write_setup(password: str) -> Path:
    salt = secrets.token_bytes(16)
    record = {"scrypt": {"salt": salt.hex(), **_SCRYPT, "hash": _scrypt(password, salt, **_SCRYPT).hex()}}
    path = _setup_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(record, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


_KEYS: dict[str, float] = {}  # a browser session's key -> when it expires (time.monotonic)
KEY_HOURS = 8.0


def teacher_key(password: str) -> str | None:
    """A random key standing for the teacher password for :data:`KEY_HOURS` hours, or None for a wrong one.

    A page keeps the key in its session, not the password: the key is worthless outside this server process.
    """
    if not check_password(password):
        return None
    key = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _FAILED_LOCK:
        for k in [k for k, t in _KEYS.items() if t < now]:
            del _KEYS[k]
        _KEYS[key] = now + KEY_HOURS * 3600
    return key


def check_key(key) -> bool:
    """Whether ``key`` came from :func:`teacher_key` in this process, has not expired, and teacher mode is on."""
    if not isinstance(key, str) or not key:
        return False
    with _FAILED_LOCK:
        expires = _KEYS.get(key)
    return expires is not None and expires > time.monotonic() and teacher_mode_available()


def forget_key(key) -> None:
    """End a key's teacher mode (the teacher left)."""
    with _FAILED_LOCK:
        _KEYS.pop(key, None)


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
    """The presets file: read by anyone, changed only with the teacher password.

    With ``database`` (or, when no ``path`` is given, ``$MUSICXAI_DATABASE_URL``) the presets live in that database's
    ``presets`` table instead (:mod:`xai.storage`), so every server of an installation shows the same presets.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, database: str | None = None):
        self.path = Path(path) if path else default_path()
        url = database or (storage.database_url() if path is None else None)
        self.database = storage.Database(url, what="class presets") if url else None

    def list(self) -> list[Preset]:
        """Every preset, in the order saved; an absent file is an empty list, a broken one a ParameterError."""
        if self.database is not None:
            return self._db_list()
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

    @contextmanager
    def _locked(self):
        """Hold the presets for a read-change-write, against threads of this process and other processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCK:
            fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _write(self, presets: list[Preset]) -> None:
        """Write the whole file beside it, flush it to disk, then rename it over the old one (atomic)."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "w") as fh:
                fh.write(json.dumps({"format": FORMAT, "version": VERSION,
                                     "presets": [p.to_dict() for p in presets]}, indent=1))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def save(self, preset: Preset, *, password: str | None = None, key: str | None = None,
             replace: bool = False) -> Preset:
        """Add (or with ``replace``, overwrite) a preset; needs the teacher password or a :func:`teacher_key`."""
        _require_teacher(password, key)
        preset = _check_preset(preset)
        if self.database is not None:
            return self._db_save(preset, replace=replace)
        with self._locked():
            presets = self.list()
            if any(p.name == preset.name for p in presets) and not replace:
                raise ParameterError(f"A preset called '{preset.name}' exists already; choose another name.")
            presets = [p for p in presets if p.name != preset.name] + [preset]
            self._write(presets)
        return preset

    def delete(self, name: str, *, password: str | None = None, key: str | None = None) -> None:
        """Remove a preset; needs the teacher password or a :func:`teacher_key`."""
        _require_teacher(password, key)
        if self.database is not None:
            return self._db_delete(name)
        with self._locked():
            presets = self.list()
            if not any(p.name == name for p in presets):
                raise ParameterError(f"There is no class preset called '{name}'.")
            self._write([p for p in presets if p.name != name])


    # -- the shared database (one transaction each; writers are serialised by xai.storage)

    def _db_list(self) -> list[Preset]:
        with self.database.transaction(write=False) as con:
            rows = con.execute("SELECT name, view, state, description, created FROM presets ORDER BY id").fetchall()
        out = []
        for name, view, state, description, created in rows:
            try:
                out.append(_check_preset(Preset(name=name, view=view, state=json.loads(state),
                                                description=description, created=created)))
            except (ParameterError, TypeError, ValueError, AttributeError):
                continue  # one broken entry does not hide the others
        return out

    def _db_save(self, preset: Preset, *, replace: bool) -> Preset:
        with self.database.transaction(write=True) as con:
            if con.execute("SELECT 1 FROM presets WHERE name = ?", (preset.name,)).fetchone() is not None:
                if not replace:
                    raise ParameterError(f"A preset called '{preset.name}' exists already; choose another name.")
                con.execute("DELETE FROM presets WHERE name = ?", (preset.name,))  # a replaced preset goes last
            con.execute("INSERT INTO presets (name, view, state, description, created) VALUES (?, ?, ?, ?, ?)",
                        (preset.name, preset.view, json.dumps(preset.state), preset.description, preset.created))
        return preset

    def _db_delete(self, name: str) -> None:
        with self.database.transaction(write=True) as con:
            if con.execute("SELECT 1 FROM presets WHERE name = ?", (name,)).fetchone() is None:
                raise ParameterError(f"There is no class preset called '{name}'.")
            con.execute("DELETE FROM presets WHERE name = ?", (name,))


def _require_teacher(password: str | None, key: str | None = None) -> None:
    problem = teacher_mode_problem()
    if problem is not None:
        raise ParameterError(problem)
    if key is not None and check_key(key):
        return
    if not check_password(password or ""):
        raise ParameterError("That is not the teacher password; presets stay read-only.")


def from_link(link: str) -> tuple[str, dict]:
    """``(view, state)`` of a share link or bare token (as pasted from a view's share panel)."""
    link = (link or "").strip()
    token = link.split("share=", 1)[1].split("&", 1)[0] if "share=" in link else link
    return share.decode(token)
