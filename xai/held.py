"""A thread-safe in-memory store of results, least recently used dropped first (:class:`Held`).

The app keeps its TCAV, discovery, LIME and attack results here, one store per kind, made once per server by
``pages._cache``: Streamlit's ``st.cache_data`` copies a result on every rerun and replays the elements a cached
call drew, which a result computed under a progress bar made outside the call (or cancelled half-way) cannot
use. Nothing here knows Streamlit; any long-running server can hold results this way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class Held:
    """Results held in memory for the whole server, least recently used dropped past ``keep``.

    For results whose computation feeds an ``st.progress`` bar made outside the call (or can be cancelled),
    which Streamlit's replay of cached elements does not allow, and which need not be copied on every rerun,
    as ``st.cache_data`` would. Thread-safe: sessions run in threads.
    """

    def __init__(self, keep: int):
        self.keep = int(keep)
        self._store: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The held value for ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._store:
                return None
            self._store.move_to_end(key)
            return self._store[key]

    def put(self, key, value) -> None:
        """Hold ``value`` under ``key`` (the most recently used), dropping the least recently used past ``keep``."""
        with self._lock:
            self._store[key] = value
            self._store.move_to_end(key)
            while len(self._store) > self.keep:
                self._store.popitem(last=False)

    def pop(self, key) -> None:
        """Drop the value held under ``key``, if any."""
        with self._lock:
            self._store.pop(key, None)

    def get_or_compute(self, key, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """``(value, was_held)``: the held value, else ``compute()`` held and returned. An error is not held."""
        with self._lock:
            if key in self._store:
                self._store.move_to_end(key)
                return self._store[key], True
        value = compute()
        self.put(key, value)
        return value, False

    def get_or_find(self, key, find: Callable[[], tuple[Any, str]]) -> tuple[Any, str]:
        """``find()``'s ``(result or None, status)``, held only when a result was found (so one found later, by
        another session or the CLI, is picked up)."""
        value = self.get(key)
        if value is not None:
            return value
        value = find()
        if value[0] is not None:
            self.put(key, value)
        return value
