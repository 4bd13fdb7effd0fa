"""xai.held.Held: the server-wide in-memory store behind TCAV, discovery, LIME and attack results."""

import pytest

from xai.held import Held


def test_least_recently_used_is_dropped_and_errors_are_not_held():
    h = Held(2)
    calls = []

    def compute(v):
        def f():
            calls.append(v)
            return v
        return f

    assert h.get_or_compute("a", compute(1)) == (1, False)
    assert h.get_or_compute("b", compute(2)) == (2, False)
    assert h.get_or_compute("a", compute(9)) == (1, True)  # held; now the most recent
    h.put("c", 3)  # drops "b", the least recently used
    assert h.get("b") is None and h.get("a") == 1 and h.get("c") == 3
    with pytest.raises(ZeroDivisionError):
        h.get_or_compute("d", lambda: 1 / 0)
    assert h.get("d") is None
    h.pop("a")
    assert h.get("a") is None
    assert calls == [1, 2]


def test_only_found_results_are_held():
    h = Held(4)
    assert h.get_or_find("k", lambda: (None, "missing")) == (None, "missing")
    assert h.get("k") is None  # a miss is not held: a result found later is picked up
    assert h.get_or_find("k", lambda: ("r", "found")) == ("r", "found")
    assert h.get_or_find("k", lambda: (None, "missing")) == ("r", "found")
