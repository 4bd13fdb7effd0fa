"""The sandbox: work in a child process comes back as bytes, and is stopped past its CPU, memory or wall time."""

from __future__ import annotations

import os
import statistics
import threading
import time

import pytest

from xai import sandbox
from xai.errors import InputError, ParameterError

SMALL = sandbox.Budget(cpu_seconds=1, memory_mb=256, wall_seconds=8)


@pytest.fixture(autouse=True, scope="module")
def _zygotes_know_this_module():
    """Fresh zygotes that import this module once (as the loaders' zygotes import theirs)."""
    sandbox.shutdown()
    sandbox.preload(__name__, "music21", "mido")  # as heavy as the score loaders' zygotes
    yield
    sandbox.shutdown()


# The work, as the child finds it: module-level functions of (payload, options) -> bytes.


def echo(payload: bytes, options: dict) -> bytes:
    return payload + str(options.get("suffix", "")).encode()


def spin(payload: bytes, options: dict) -> bytes:
    while True:
        pass


def hog(payload: bytes, options: dict) -> bytes:
    blocks = []
    while True:
        blocks.append(bytearray(16 * 2**20))


def sleep(payload: bytes, options: dict) -> bytes:
    time.sleep(60)
    return b""


def refuse(payload: bytes, options: dict) -> bytes:
    try:
        {}["tempo"]
    except KeyError as exc:
        raise InputError("'song.mid' has a tempo of 0 beats a minute.") from exc
    return b""


def bug(payload: bytes, options: dict) -> bytes:
    raise KeyError("a bug")


def crash(payload: bytes, options: dict) -> bytes:
    os.abort()


def not_bytes(payload: bytes, options: dict) -> int:
    return 5


def test_result_and_options_come_back():
    assert sandbox.run(echo, b"abc", {"suffix": "!"}) == b"abc!"
    assert sandbox.run(f"{__name__}:echo", b"") == b""


def test_a_large_payload_round_trips():
    data = os.urandom(5_000_000)
    assert sandbox.run(echo, data) == data


def test_overhead_of_a_call_is_small():
    sandbox.run(echo, b"warm-up")  # starts the zygote once (imports music21)
    times = []
    for _ in range(10):
        t = time.perf_counter()
        sandbox.run(echo, b"x")
        times.append(time.perf_counter() - t)
    median_ms = 1000 * statistics.median(times)
    print(f"sandbox overhead: median {median_ms:.0f} ms, best {1000 * min(times):.0f} ms")
    assert median_ms < 250  # a fork, not an interpreter start (about 20 ms on a quiet machine)


def test_endless_work_is_stopped_by_its_cpu_budget():
    t = time.perf_counter()
    with pytest.raises(sandbox.OverBudget) as info:
        sandbox.run(spin, b"", budget=SMALL, what="'loop.abc'")
    assert info.value.reason == "time"
    assert "'loop.abc' takes too long to read (more than 1 s of work)" in str(info.value)
    assert time.perf_counter() - t < SMALL.wall + 2


def test_work_that_waits_is_stopped_by_the_wall_clock():
    budget = sandbox.Budget(cpu_seconds=5, memory_mb=256, wall_seconds=1)
    t = time.perf_counter()
    with pytest.raises(sandbox.OverBudget) as info:
        sandbox.run(sleep, b"", budget=budget)
    assert info.value.reason == "time"
    assert time.perf_counter() - t < 5


def test_memory_past_the_budget_is_refused_in_a_sentence():
    with pytest.raises(sandbox.OverBudget) as info:
        sandbox.run(hog, b"", budget=SMALL, what="'bomb.xml'")
    assert info.value.reason == "memory"
    assert "'bomb.xml' needs more memory to read than this tool allows (256 MB)" in str(info.value)
    assert isinstance(info.value, InputError)


def test_a_crash_is_a_plain_refusal():
    with pytest.raises(sandbox.OverBudget) as info:
        sandbox.run(crash, b"", budget=SMALL, what="'odd.krn'")
    assert info.value.reason == "crash"
    assert "'odd.krn' made the reader stop unexpectedly" in str(info.value)


def test_an_input_error_keeps_its_message_and_names_its_cause():
    with pytest.raises(InputError, match="tempo of 0 beats") as info:
        sandbox.run(refuse, b"")
    assert type(info.value) is InputError
    assert isinstance(info.value.__cause__, sandbox.WorkerError)
    assert "KeyError" in str(info.value.__cause__)


@pytest.mark.parametrize("work", [bug, not_bytes])
def test_a_bug_is_no_input_error(work):
    with pytest.raises(sandbox.WorkerError):
        sandbox.run(work, b"")


def test_the_sandbox_works_after_every_kind_of_failure():
    for work in (spin, hog, crash, bug):
        with pytest.raises((sandbox.OverBudget, sandbox.WorkerError)):
            sandbox.run(work, b"", budget=SMALL)
    assert sandbox.run(echo, b"still here") == b"still here"


def test_calls_from_many_threads_all_get_their_own_answer():
    answers: dict[int, bytes] = {}

    def call(i: int) -> None:
        answers[i] = sandbox.run(echo, str(i).encode())

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == {i: str(i).encode() for i in range(8)}


@pytest.mark.parametrize("kwargs", [{"cpu_seconds": 0}, {"cpu_seconds": float("nan")}, {"memory_mb": 1},
                                    {"memory_mb": 1.5}, {"wall_seconds": -1}])
def test_budget_refuses_nonsense(kwargs):
    with pytest.raises(ParameterError):
        sandbox.Budget(**kwargs)


def test_payload_must_be_bytes():
    with pytest.raises(ParameterError):
        sandbox.run(echo, "text")
