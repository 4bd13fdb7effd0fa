"""Run a study's cells on local processes or a Ray cluster, keeping every finished cell on disk.

The result folder holds one JSON file per finished cell (``cells/<key>.json``: kind, parameters, result, seconds,
where it ran), written atomically (a temporary file renamed), so a run stopped at any moment (Ctrl-C, a killed
worker, a lost machine) keeps everything finished and never leaves half a file. A cell that failed is written to
``failed/<key>.json`` with its message and is tried again on the next run; a finished cell is never run again.
``summary.json`` lists every cell with its state after each run.

Local processes (``workers``) are a spawn-started process pool holding at most one cell per worker: if a worker
dies (killed, out of memory), the cells it may have been running are marked failed with a plain message and the
rest of the study goes on in a fresh pool. On Ray (``ray_address``) each cell is one task that Ray does not retry;
a task whose worker died is marked failed the same way.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from xai.contract import Result
from xai.errors import InputError, ParameterError
from xai.study.spec import Cell, Study
from xai.study.tasks import execute

__all__ = ["StudyReport", "run", "finished", "Store", "ProgressBar"]

ROOT = Path(__file__).resolve().parents[2]
WORKER_DIED = ("the worker process running it stopped (killed, or out of memory); the cell was not finished. "
               "Run the study again to retry it")


@dataclass(frozen=True)
class StudyReport(Result):
    """What a run of a study did: how many cells there are, were already done, ran now, and which failed."""

    name: str
    output: str
    n_cells: int
    already_done: int
    finished_now: int
    failed: tuple[tuple[str, str, str], ...]  # (key, title, message)
    seconds: float
    backend: str
    interrupted: bool = False

    @property
    def remaining(self) -> int:
        """Cells not finished after this run (failed or never started)."""
        return self.n_cells - self.already_done - self.finished_now

    def summary(self) -> str:
        """The run in a few sentences for the terminal."""
        lines = [f"{self.name}: {self.already_done + self.finished_now} of {self.n_cells} cells finished "
                 f"({self.finished_now} now, {self.already_done} before) in {self.seconds:.1f} s on {self.backend}; "
                 f"results in {self.output}."]
        for _, title, msg in self.failed:
            lines.append(f"  failed: {title}: {msg}")
        if self.interrupted:
            lines.append("  stopped before the end; finished cells are kept.")
        if self.remaining:
            lines.append(f"  {self.remaining} cell(s) left: run the same command again to do only those.")
        return "\n".join(lines)


class Store:
    """The result folder of a study: finished cells, failed cells and the summary."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.cells = self.folder / "cells"
        self.failed = self.folder / "failed"

    def prepare(self) -> None:
        """Create the folders (a plain message if that is impossible)."""
        try:
            self.cells.mkdir(parents=True, exist_ok=True)
            self.failed.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"The study's result folder {self.folder} cannot be created ({e.strerror}).") from None

    def done(self, cell: Cell) -> bool:
        """Whether the cell is finished (its file exists and holds these parameters)."""
        rec = self.read(cell)
        return rec is not None and rec.get("params") == cell.params and rec.get("kind") == cell.kind

    def read(self, cell: Cell) -> dict | None:
        """The stored record of a finished cell, or None."""
        try:
            return json.loads((self.cells / f"{cell.key}.json").read_text())
        except (OSError, ValueError):
            return None

    def _write(self, path: Path, record: dict) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, indent=1, allow_nan=True))
        os.replace(tmp, path)

    def save(self, cell: Cell, outcome: dict) -> None:
        """Keep a finished cell (and forget an earlier failure of it)."""
        self._write(self.cells / f"{cell.key}.json", {"kind": cell.kind, "params": cell.params, "title": cell.title(),
                                                      "result": outcome["result"], "seconds": outcome.get("seconds"),
                                                      "host": outcome.get("host")})
        (self.failed / f"{cell.key}.json").unlink(missing_ok=True)

    def fail(self, cell: Cell, message: str) -> None:
        """Note a failed cell with its message (it is retried on the next run)."""
        self._write(self.failed / f"{cell.key}.json", {"kind": cell.kind, "params": cell.params,
                                                       "title": cell.title(), "error": message})

    def write_summary(self, study: Study) -> None:
        """``summary.json``: every cell with its state (finished, failed, not run)."""
        rows = []
        for c in study.cells:
            state = "finished" if (self.cells / f"{c.key}.json").exists() else (
                "failed" if (self.failed / f"{c.key}.json").exists() else "not run")
            rows.append({"key": c.key, "kind": c.kind, "title": c.title(), "state": state})
        self._write(self.folder / "summary.json", {"study": study.name, "source": study.source,
                                                   "description": study.description, "cells": rows})


def finished(study: Study) -> dict[str, dict]:
    """The stored records of a study's finished cells, by key (for comparing runs and building tables)."""
    store = Store(study.output)
    return {c.key: rec for c in study.cells if (rec := store.read(c)) is not None}


class ProgressBar:
    """A one-line progress bar on a terminal (a line per cell otherwise): done of total, failures, time."""

    def __init__(self, total: int, *, stream=None, width: int = 28):
        self.total, self.width = max(total, 1), width
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()

    def __call__(self, done: int, failed: int, message: str) -> None:
        """Redraw after a cell: ``done`` finished, ``failed`` failed, ``message`` about the last one."""
        elapsed = time.perf_counter() - self.t0
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        text = (f"[{bar}] {done}/{self.total} cells" + (f", {failed} failed" if failed else "")
                + f", {elapsed:.0f} s: {message}")
        if self.tty:
            self.stream.write("\r" + text[:160].ljust(160))
            if done + failed >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


Progress = Callable[[int, int, str], None]


def run(study: Study, *, workers: int = 1, ray_address: str | None = None, progress: Progress | None = None,
        limit: int | None = None) -> StudyReport:
    """Run the study's unfinished cells; returns what happened (finished work is on disk either way).

    Parameters
    ----------
    study : Study
        From :func:`xai.study.spec.load`.
    workers : int
        Local worker processes (ignored with ``ray_address``); 0 runs the cells in this process.
    ray_address : str, optional
        A Ray cluster: ``auto`` (the cluster this machine belongs to), ``host:port`` or ``ray://host:port``;
        ``local`` starts a Ray instance on this machine with ``workers`` CPUs.
    progress : callable(done, failed, message), optional
        Hears after every cell (:class:`ProgressBar` draws a bar).
    limit : int, optional
        Run at most this many of the unfinished cells (the rest stay for the next run).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= 512:
        raise ParameterError(f"The 'workers' parameter must be an int in [0, 512], got {workers!r}.")
    store = Store(study.output)
    store.prepare()
    todo = [c for c in study.cells if not store.done(c)]
    already = len(study.cells) - len(todo)
    if limit is not None:
        todo = todo[:max(0, int(limit))]
    t0 = time.perf_counter()
    state = {"done": already, "failed": [], "new": 0}

    def finish(cell: Cell, outcome: dict) -> None:
        if outcome.get("ok"):
            store.save(cell, outcome)
            state["done"] += 1
            state["new"] += 1
            msg = f"{cell.title()} ({outcome.get('seconds', 0):.1f} s)"
        else:
            store.fail(cell, outcome["error"])
            state["failed"].append((cell.key, cell.title(), outcome["error"]))
            msg = f"{cell.title()} failed"
        if progress:
            progress(state["done"], len(state["failed"]), msg)

    interrupted = False
    if ray_address:
        backend = f"Ray ({ray_address})"
        runner = _run_ray
        kwargs = {"address": ray_address, "workers": max(1, workers)}
    elif workers == 0:
        backend, runner, kwargs = "this process", _run_inline, {}
    else:
        backend, runner, kwargs = f"{workers} local process{'es' if workers > 1 else ''}", _run_local, {
            "workers": workers}
    try:
        if todo:
            runner(todo, finish, **kwargs)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        store.write_summary(study)
    return StudyReport(name=study.name, output=str(study.output), n_cells=len(study.cells), already_done=already,
                       finished_now=state["new"], failed=tuple(state["failed"]),
                       seconds=round(time.perf_counter() - t0, 2), backend=backend, interrupted=interrupted)


def _run_inline(cells: list[Cell], finish) -> None:
    for c in cells:
        finish(c, execute(c.kind, c.params))


def _run_local(cells: list[Cell], finish, *, workers: int) -> None:
    """A spawn-started pool with at most ``workers`` cells in flight; a broken pool is replaced."""
    queue = list(reversed(cells))
    while queue:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
        flying: dict = {}
        broken = False
        try:
            while (queue or flying) and not broken:
                while queue and len(flying) < workers:
                    c = queue.pop()
                    flying[pool.submit(execute, c.kind, c.params)] = c
                ready, _ = wait(flying, return_when=FIRST_COMPLETED)
                for f in ready:
                    c = flying.pop(f)
                    try:
                        finish(c, f.result())
                    except BrokenProcessPool:
                        broken = True
                        finish(c, {"ok": False, "error": WORKER_DIED})
            for c in flying.values():  # the others in flight when a worker died: their outcome is unknown
                finish(c, {"ok": False, "error": WORKER_DIED})
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _run_ray(cells: list[Cell], finish, *, address: str, workers: int) -> None:
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is pinned in requirements.txt
        raise InputError("Running a study on Ray needs the 'ray' package; install requirements.txt.") from None
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)}}
    started_here = not ray.is_initialized()
    if started_here:
        try:
            if address == "local":
                ray.init(address="local", num_cpus=workers, include_dashboard=False, runtime_env=env,
                         log_to_driver=False)
            else:
                ray.init(address=address, runtime_env=env, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise InputError(f"No Ray cluster could be reached at '{address}' ({_first_line(e)}). Start one with "
                             "'ray start --head' (see README, 'Batch studies on a cluster') or use local "
                             "workers.") from None
    task = ray.remote(num_cpus=1, max_retries=0)(execute)
    try:
        pending = {task.remote(c.kind, c.params): c for c in cells}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                c = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as e:  # the worker died or the node was lost
                    outcome = {"ok": False, "error": WORKER_DIED if "died" in str(e).lower() or isinstance(
                        e, ray.exceptions.WorkerCrashedError) else f"Ray could not run it ({_first_line(e)})"}
                finish(c, outcome)
    finally:
        if started_here:
            ray.shutdown()


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or ["no detail"])[0][:200]


def cells_of(study: Study, kinds: Iterable[str]) -> list[Cell]:
    """The study's cells of the given kinds, in order."""
    kinds = set(kinds)
    return [c for c in study.cells if c.kind in kinds]
