"""Running one function in several threads at once, for the tests of what sessions share (the concept library,
class presets, the database): the errors any thread raised come back instead of vanishing with the thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable


def errors_in_threads(target: Callable, args: Iterable[tuple], *, timeout: float | None = 60) -> list[Exception]:
    """Start one thread per ``args`` tuple, all calling ``target``, wait for each (``timeout`` seconds at most),
    and return the exceptions raised in them (empty when every call went through)."""
    errors: list[Exception] = []

    def run(*a) -> None:
        try:
            target(*a)
        except Exception as e:  # noqa: BLE001 - any failure in a thread is what the caller looks for
            errors.append(e)

    threads = [threading.Thread(target=run, args=a) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return errors
