"""music21's scratch folder moved somewhere private: one per installation, readable by this user only (mode 700).

music21 keeps its scratch files, including the pickles it writes of every file it parses from a path and loads
back on the next parse of the same path, under ``/tmp/music21`` by default: a folder shared by every user of
the machine, where a local user could read what was parsed or plant a pickle that the server would then load.
:func:`use_private_scratch` points music21 at ``$MUSICXAI_CACHE/music21`` (default
``~/.cache/musicxai/music21``), created with mode 700, before anything is parsed. The setting is made in memory
only (music21's preferences file is left alone). Uploads are parsed from memory or with pickling turned off
(:mod:`xai.symbolic.io`, :mod:`xai.symbolic.score`), so nothing of a user's upload is pickled at all.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

__all__ = ["scratch_dir", "use_private_scratch"]

_DONE = False
_LOCK = threading.Lock()


def scratch_dir() -> Path:
    """Where music21's scratch files go: ``$MUSICXAI_CACHE/music21`` (default ``~/.cache/musicxai/music21``)."""
    return Path(os.environ.get("MUSICXAI_CACHE", Path.home() / ".cache" / "musicxai")) / "music21"


def use_private_scratch() -> Path:
    """Create the private scratch folder (mode 700) and make it music21's, once per process; returns it.

    A folder that exists already is made mode 700 again, and refused when another user owns it (a folder
    planted by someone else is no private folder); music21 then keeps its default and this raises
    PermissionError, which callers treat as a bug of the installation.
    """
    global _DONE
    with _LOCK:
        path = scratch_dir()
        if _DONE:
            return path
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise PermissionError(f"{path} is not a folder of this user; remove it and start again.")
        if stat.S_IMODE(info.st_mode) != 0o700:
            path.chmod(0o700)
        from music21 import environment

        environment.Environment()["directoryScratch"] = str(path)
        _DONE = True
        return path
