"""``python -m xai study STUDY.toml``: run a declared grid of cells, resumably, locally or on a Ray cluster.

    python -m xai study studies/tcav_piano.toml --workers 2
    python -m xai study studies/robustness_3_seeds.toml --ray auto
    python -m xai study studies/tcav_piano.toml --check      # read and check the file, count the cells, run nothing

A finished cell is kept in the study's result folder and skipped when the command is run again; a failed cell is
tried again. The exit status is 0 when every cell is finished, 1 when some are not (the summary says which and
why), 2 for a study file that cannot be used.
"""

from __future__ import annotations

import sys

__all__ = ["add_commands"]


def study(args) -> dict:
    """Run ``study``: check the file, then run its unfinished cells with a progress bar."""
    from xai.study import runner, spec

    s = spec.load(args.file, output=args.out)
    kinds: dict[str, int] = {}
    for c in s.cells:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    if args.check:
        store = runner.Store(s.output)
        done = sum(store.done(c) for c in s.cells) if s.output.exists() else 0
        return {"study": s.name, "output": str(s.output), "cells": len(s.cells), "by_kind": kinds,
                "finished": done, "checked": True}
    bar = None if args.json else runner.ProgressBar(len(s.cells))
    if bar is not None:
        print(f"{s.name}: {len(s.cells)} cells ({', '.join(f'{n} {k}' for k, n in kinds.items())}); results in "
              f"{s.output}", file=sys.stderr)
    rep = runner.run(s, workers=args.workers, ray_address=args.ray, progress=bar, limit=args.limit)
    out = {"study": rep.name, "output": rep.output, "cells": rep.n_cells, "by_kind": kinds,
           "finished": rep.already_done + rep.finished_now, "finished_now": rep.finished_now,
           "failed": [{"cell": t, "message": m} for _, t, m in rep.failed], "remaining": rep.remaining,
           "seconds": rep.seconds, "backend": rep.backend, "interrupted": rep.interrupted, "text": rep.summary()}
    args.exit_status = 0 if rep.remaining == 0 else 1
    return out


def show_study(r: dict) -> None:
    """Print the run's summary (or the checked file's cell count)."""
    if r.get("checked"):
        print(f"{r['study']}: {r['cells']} cells ({', '.join(f'{n} {k}' for k, n in r['by_kind'].items())}), "
              f"{r['finished']} finished; results in {r['output']}")
        return
    print(r["text"])


def add_commands(sub) -> None:
    """Add the ``study`` command to the CLI's subparsers."""
    p = sub.add_parser("study", help="run a declared grid of TCAV / discovery / robustness / ... cells, resumably, "
                       "on local processes or a Ray cluster")
    p.add_argument("file", help="the study file (TOML; see xai/study/spec.py and studies/)")
    p.add_argument("--workers", type=int, default=1,
                   help="local worker processes (default 1; 0 runs in this process)")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="run the cells on a Ray cluster: 'auto', host:port, ray://host:port, or 'local' to start one "
                   "here with --workers CPUs")
    p.add_argument("--out", metavar="DIR", default=None, help="result folder (default: the file's 'output')")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="run at most N unfinished cells now")
    p.add_argument("--check", action="store_true", help="check the file and count its cells; run nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=study, show=show_study)
