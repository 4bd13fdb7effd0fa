"""Run untrusted work (parsing a stranger's file) in a child process that is killed past a CPU and memory budget.

A parser can be made to spin or to allocate without end by a few hostile bytes (a 1/65536 time signature, a
metre of 99,999,999 beats, 200,000 rests in a 25-kB archive). Checks before parsing catch the known cases
(:mod:`xai.symbolic.prescan`); this module is the backstop for the ones nobody has thought of: the work runs in
a child process with ``RLIMIT_CPU`` and ``RLIMIT_AS`` set, and is killed after a wall-clock limit too, so one
upload can never take the server down for everyone else.

How
---
A *zygote* is started once: a small single-threaded Python process that imports the heavy modules (music21,
mido) and then waits for requests on a pipe. For each request it forks a child, which limits itself, does the
work and writes its answer to a pipe; the zygote waits for it (killing it at the wall-clock limit), collects its
exit status and answers. A call therefore costs a fork, not an interpreter start and the imports (tens of
milliseconds; ``tests/xai/test_sandbox.py`` measures it). The server itself is never forked: it runs threads
(Streamlit sessions), and a fork taken while another thread holds a lock can hang. A few zygotes (half the
processors) serve calls at once; more calls wait their turn, so a crowd of uploads queues instead of multiplying
the server's memory.

Nothing is pickled either way: a request is a JSON header (the function's name and its options) plus the
upload's bytes, and the answer is the bytes the work returned or a small JSON record of its error.

Every failure is a plain sentence in :class:`OverBudget` (an :class:`~xai.errors.InputError`); an
:class:`~xai.errors.XaiError` raised by the work is raised again in the parent with its class and message; any
other error is a bug, raised as :class:`WorkerError` (never shown to a user as it is).
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import os
import queue
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from xai.errors import InputError, ParameterError, XaiError

__all__ = ["Budget", "DEFAULT_BUDGET", "OverBudget", "WorkerError", "run", "preload", "shutdown"]

_MAX_ANSWER = 256 * 2**20
_EXIT_MEMORY = 86
_XAI = {"InputError": InputError, "ParameterError": ParameterError, "XaiError": XaiError}


@dataclass(frozen=True)
class Budget:
    """How much one piece of untrusted work may use before it is stopped.

    Parameters
    ----------
    cpu_seconds : float
        Processor time of the child (default 10 s); past it the kernel stops the child (``RLIMIT_CPU``).
    memory_mb : int
        Memory the child may add to what it starts with (default 768 MB; ``RLIMIT_AS``, virtual memory).
    wall_seconds : float, optional
        Longest wait in all (default ``3 * cpu_seconds + 10``: a busy machine shares its processors, so wall
        time runs ahead of CPU time; the CPU limit is the one that decides).
    """

    cpu_seconds: float = 10.0
    memory_mb: int = 768
    wall_seconds: float | None = None

    def __post_init__(self):
        for name in ("cpu_seconds",) + (("wall_seconds",) if self.wall_seconds is not None else ()):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 < v <= 3600:
                raise ParameterError(f"The '{name}' parameter must be a number in (0, 3600], got {v!r}.")
        m = self.memory_mb
        if isinstance(m, bool) or not isinstance(m, int) or not 16 <= m <= 1 << 20:
            raise ParameterError(f"The 'memory_mb' parameter must be an int in [16, 1048576], got {m!r}.")

    @property
    def wall(self) -> float:
        """The wall-clock limit in seconds."""
        return float(self.wall_seconds) if self.wall_seconds is not None else 3.0 * self.cpu_seconds + 10.0


DEFAULT_BUDGET = Budget()


class OverBudget(InputError):
    """The work took more time or memory than its budget allows (or crashed its process) and was stopped.

    ``reason`` is ``'time'``, ``'memory'`` or ``'crash'``.
    """

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class WorkerError(Exception):
    """An unexpected error inside the child: a bug, reported with the child's exception type and message."""


_PRELOAD: set[str] = set()
_WARM: set[str] = set()


def preload(*modules: str, warm: str | None = None) -> None:
    """Name modules the zygotes import once, and a function they call once, so that no call pays for either.

    Parameters
    ----------
    *modules : str
        Modules to import (``"music21"``).
    warm : str, optional
        ``'module:function'`` called with no arguments after the imports: work that fills the caches and runs
        the lazy imports a first call would (parsing a tiny file of each format); its errors are ignored.

    Takes effect for zygotes started afterwards (the first :func:`run` starts them); the users of this module
    name their own (``preload("xai.symbolic.io", "music21", warm="xai.symbolic.io:_warm_up")``).
    """
    _PRELOAD.update(modules)
    if warm:
        _WARM.add(warm)


def run(func: Callable[[bytes, dict], bytes] | str, payload: bytes, options: dict | None = None, *,
        budget: Budget = DEFAULT_BUDGET, what: str = "This file") -> bytes:
    """Call ``func(payload, options)`` in a child process under ``budget`` and return the bytes it returns.

    Parameters
    ----------
    func : callable or str
        A module-level function (or its ``'module:name'``) taking ``(payload: bytes, options: dict)`` and
        returning ``bytes``; the child imports it by name.
    payload : bytes
        The untrusted data (an upload's bytes).
    options : dict, optional
        Plain JSON data for the function (a file name, limits).
    budget : Budget
        CPU, memory and wall-clock limits (default :data:`DEFAULT_BUDGET`).
    what : str
        How messages name the work ("'song.abc'").

    Returns
    -------
    bytes
        What ``func`` returned.

    Raises
    ------
    OverBudget
        The child ran past its CPU or wall-clock time, ran out of its memory, or died.
    XaiError
        ``func`` raised one (same class and message; its cause, when it had one, is a :class:`WorkerError`
        naming the original exception).
    WorkerError
        ``func`` raised anything else (a bug), or returned something other than bytes.
    """
    if not isinstance(budget, Budget):
        raise ParameterError(f"The 'budget' parameter must be a Budget, got {type(budget).__name__}.")
    if not isinstance(payload, (bytes, bytearray)):
        raise ParameterError(f"The 'payload' parameter must be bytes, got {type(payload).__name__}.")
    name = func if isinstance(func, str) else f"{func.__module__}:{func.__qualname__}"
    header = json.dumps({"func": name, "options": options or {}, "cpu": budget.cpu_seconds,
                         "memory_mb": budget.memory_mb, "wall": budget.wall}).encode("utf-8")
    zygote = _POOL.take()
    try:
        status, answer = zygote.call(header, bytes(payload), budget.wall + 10.0)
    except (OSError, EOFError, TimeoutError, ValueError):
        zygote.close()  # a zygote that broke or hung is replaced by a fresh one at the next call
        _POOL.give(None)
        raise _over_time(what, budget) from None
    _POOL.give(zygote)
    return _answer(status, answer, what, budget)


def shutdown() -> None:
    """Stop the zygotes (they also stop by themselves when this process ends)."""
    _POOL.close()


# ------------------------------------------------------------------------------------------------ the parent side


def _answer(status: dict, answer: bytes, what: str, budget: Budget) -> bytes:
    """The work's bytes, or the error its child reported (or its death) raised as the right exception."""
    if status.get("timed_out"):
        raise _over_time(what, budget)
    tag, body = answer[:1], answer[1:]
    if tag == b"R" and status.get("exit") == 0:
        return body
    if tag == b"E":
        try:
            err = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise WorkerError("the worker sent an unreadable answer") from exc
        kind, message, cause = err.get("kind"), str(err.get("message", "")), err.get("cause")
        if kind == "memory":
            raise _over_memory(what, budget)
        if kind in _XAI:
            exc = _XAI[kind](message)
            if cause:
                raise exc from WorkerError(str(cause))
            raise exc
        raise WorkerError(f"{err.get('type', 'Error')}: {message}")
    sig = status.get("signal")
    if sig in (signal.SIGXCPU, signal.SIGKILL):
        raise _over_time(what, budget)
    if status.get("exit") == _EXIT_MEMORY:
        raise _over_memory(what, budget)
    raise OverBudget(
        f"{what} made the reader stop unexpectedly (it may be damaged or built to cause trouble); "
        "export it again from your music program and upload the new file.", "crash")


def _over_time(what: str, budget: Budget) -> OverBudget:
    return OverBudget(
        f"{what} takes too long to read (more than {budget.cpu_seconds:g} s of work), so it was stopped; "
        "upload a shorter piece or an excerpt.", "time")


def _over_memory(what: str, budget: Budget) -> OverBudget:
    return OverBudget(
        f"{what} needs more memory to read than this tool allows ({budget.memory_mb:,} MB), so it was stopped; "
        "upload a shorter piece or an excerpt.", "memory")


class _Zygote:
    """One zygote process and its pipes; used by one thread at a time (the pool hands it out)."""

    def __init__(self, modules: list[str], warm: list[str]):
        code = ("import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
                "from xai.sandbox import _zygote_main; _zygote_main(json.loads(sys.argv[2]), json.loads(sys.argv[3]))")
        path = [p for p in sys.path if p and os.path.isdir(p)]
        self.proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(path), json.dumps(modules),
                                      json.dumps(warm)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)

    def call(self, header: bytes, payload: bytes, timeout: float) -> tuple[dict, bytes]:
        out = self.proc.stdin
        out.write(struct.pack(">IQ", len(header), len(payload)) + header)
        out.write(payload)
        out.flush()
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        n_status, n_answer = struct.unpack(">IQ", _read_exact(fd, 12, deadline))
        status = json.loads(_read_exact(fd, n_status, deadline).decode("utf-8"))
        return status, _read_exact(fd, n_answer, deadline)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        for f in (self.proc.stdin, self.proc.stdout):
            f.close()


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    if n > _MAX_ANSWER:
        raise ValueError("answer too long")
    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError("the zygote did not answer")
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the zygote ended")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class _Pool:
    """Zygotes started on first use, handed to one caller at a time; at most half the processors' worth."""

    def __init__(self, size: int):
        self.size = size
        self.idle: queue.LifoQueue = queue.LifoQueue()
        self.tokens = threading.BoundedSemaphore(size)
        self.lock = threading.Lock()
        self.all: list[_Zygote] = []

    def take(self) -> _Zygote:
        self.tokens.acquire()
        try:
            z = self.idle.get_nowait()
        except queue.Empty:
            try:
                z = _Zygote(["xai.sandbox", *sorted(_PRELOAD)], sorted(_WARM))
            except OSError:
                self.tokens.release()
                raise
            with self.lock:
                self.all.append(z)
        return z

    def give(self, z: _Zygote | None) -> None:
        if z is not None:
            self.idle.put(z)
        else:
            with self.lock:
                self.all = [x for x in self.all if x.proc.poll() is None]
        self.tokens.release()

    def close(self) -> None:
        with self.lock:
            zygotes, self.all = self.all, []
        while True:
            try:
                self.idle.get_nowait()
            except queue.Empty:
                break
        for z in zygotes:
            z.close()


_POOL = _Pool(max(1, (os.cpu_count() or 2) // 2))


# ------------------------------------------------------------------------------------------------ the zygote side


def _zygote_main(modules: list[str], warm: list[str]) -> None:
    """The zygote's loop: import ``modules``, call the ``warm`` functions, then fork a child per request."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)  # a print() anywhere must never corrupt the answers
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for m in modules:
        try:
            importlib.import_module(m)
        except ImportError:
            pass  # the child imports it again and reports the error properly
    for name in warm:
        try:
            _resolve(name)()
        except Exception:  # noqa: BLE001 - a warm-up is an optimisation; a failing one costs only time
            pass
    # The objects imported above are never freed: keep the garbage collector off them in every child, or its
    # first full pass touches every page and copies them all.
    gc.freeze()
    while True:
        head = _read_all(proto_in, 12)
        if head is None:
            os._exit(0)
        n_header, n_payload = struct.unpack(">IQ", head)
        header = json.loads(_read_all(proto_in, n_header) or b"{}")
        payload = _read_all(proto_in, n_payload) if n_payload else b""
        status, answer = _serve(header, payload or b"")
        blob = json.dumps(status).encode("utf-8")
        os.write(proto_out, struct.pack(">IQ", len(blob), len(answer)) + blob)
        view = memoryview(answer)
        while view:
            view = view[os.write(proto_out, view):]


def _read_all(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _serve(header: dict, payload: bytes) -> tuple[dict, bytes]:
    """Fork a child for one request and wait for its answer, killing it at the wall-clock limit."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(r)
        _child(w, header, payload)  # never returns
    os.close(w)
    deadline = time.monotonic() + float(header.get("wall", 40.0))
    chunks, got, timed_out = [], 0, False
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([r], [], [], left)[0]:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        chunk = os.read(r, 1 << 20)
        if not chunk:
            break
        got += len(chunk)
        if got > _MAX_ANSWER:
            os.kill(pid, signal.SIGKILL)
            chunks = []
            break
        chunks.append(chunk)
    os.close(r)
    _, code = os.waitpid(pid, 0)
    status = {"timed_out": timed_out, "exit": os.waitstatus_to_exitcode(code)}
    if os.WIFSIGNALED(code):
        status["signal"] = os.WTERMSIG(code)
    return status, b"".join(chunks)


def _limit_self(cpu_seconds: float, memory_mb: int) -> None:
    """Apply the budget to this (child) process: CPU seconds, address space beyond the current, no core dumps."""
    cpu = max(1, math.ceil(cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU at the soft limit, SIGKILL a second later
    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * resource.getpagesize()
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = size + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child(w: int, header: dict, payload: bytes) -> None:
    """The child's whole life: do the work, write one answer, and end here whatever happens.

    It must never return: it is a copy of the zygote, and a copy that went back to the zygote's loop would
    read the next request too.
    """
    code = 1
    try:
        msg = _work(header, payload)
        view = memoryview(msg)
        while view:
            view = view[os.write(w, view):]
        code = 0
    except MemoryError:
        code = _EXIT_MEMORY
    except BaseException:  # noqa: BLE001 - anything else: the exit status says the child failed
        code = 1
    finally:
        os._exit(code)


def _work(header: dict, payload: bytes) -> bytes:
    """Limit this process, call the work, and make its answer: R + its bytes, or E + a JSON error record."""
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)  # the default action ends the process: what the budget means
    try:
        _limit_self(float(header["cpu"]), int(header["memory_mb"]))
        out = _resolve(str(header["func"]))(payload, header.get("options") or {})
        if not isinstance(out, (bytes, bytearray)):
            raise TypeError(f"the worker must return bytes, got {type(out).__name__}")
        return b"R" + bytes(out)
    except MemoryError:
        return b"E" + json.dumps({"kind": "memory"}).encode()
    except XaiError as exc:
        if _ran_out_of_memory(exc):  # a reader that turns every failure into "damaged" must not hide this one
            return b"E" + json.dumps({"kind": "memory"}).encode()
        kind = next((k for k, c in _XAI.items() if isinstance(exc, c)), "XaiError")
        cause = exc.__cause__
        return b"E" + json.dumps({"kind": kind, "message": str(exc),
                                  "cause": f"{type(cause).__name__}: {cause}"[:2000] if cause else None}).encode()
    except Exception as exc:  # noqa: BLE001 - a bug in the work, reported by name; the parent raises WorkerError
        if _ran_out_of_memory(exc):
            return b"E" + json.dumps({"kind": "memory"}).encode()
        return b"E" + json.dumps({"kind": "bug", "type": type(exc).__name__, "message": str(exc)[:2000]}).encode()


def _resolve(name: str):
    """The function named ``'module:qualified.name'``."""
    module, _, qualname = name.partition(":")
    func = importlib.import_module(module)
    for part in qualname.split("."):
        func = getattr(func, part)
    return func


def _ran_out_of_memory(exc: BaseException) -> bool:
    """Whether a MemoryError is among the causes and contexts of ``exc``."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, MemoryError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
