"""``python -m xai tcav-table``: the paper's TCAV table (concepts x composers x layers) with this product's statistics.

    python -m xai tcav-table --model piano_composer --workers 2 --out docs/tcav_piano_table.md
    python -m xai tcav-table --model piano_composer --layers block4 --seeds 0 --no-run   # format what is finished

It runs the model's TCAV study file (``studies/tcav_<model>.toml``; ``studies/tcav_piano.toml`` for
``piano_composer``; or ``--study``) through :mod:`xai.study` (so
finished cells are kept and never recomputed, and ``python -m xai study`` shares them), then formats the finished
cells with :mod:`xai.study.table`: mean ± spread over seeds, significance after the product's correction, and the
paper's marks beside ours. ``--layers``, ``--seeds``, ``--concepts`` and ``--classes`` run and show a part of the
study's grid. The exit status is 1 when some cells of that part are not finished (the page says which).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from xai.errors import ParameterError

__all__ = ["add_commands"]

ROOT = Path(__file__).resolve().parents[2]
STUDY_FILES = {"piano_composer": "tcav_piano.toml"}  # a model's TCAV study, where not studies/tcav_<model>.toml
AXES = (("layers", "layer"), ("seeds", "seed"), ("concepts", "concept"), ("classes", "target"))


def add_commands(sub) -> None:
    """Add the ``tcav-table`` command to the CLI's subparsers."""
    p = sub.add_parser("tcav-table", help="the paper's TCAV table: built-in concepts x classes x layers over seeds, "
                       "run as a study and written as markdown beside Foscarin et al.'s marks")
    p.add_argument("--model", default="piano_composer", help="the model whose study file is run: studies/tcav_<model>."
                   "toml, studies/tcav_piano.toml for piano_composer (the default)")
    p.add_argument("--study", metavar="FILE", help="a TCAV study file instead of the model's")
    p.add_argument("--results", metavar="DIR", help="the study's result folder (default: the file's 'output')")
    p.add_argument("--layers", nargs="+", metavar="LAYER", help="only these layers of the study")
    p.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="only these seeds of the study")
    p.add_argument("--concepts", nargs="+", metavar="NAME", help="only these concepts of the study")
    p.add_argument("--classes", nargs="+", metavar="CLASS", help="only these classes of the study")
    p.add_argument("--workers", type=int, default=2, help="local worker processes (default 2; 0: this process)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="run at most N unfinished cells now")
    p.add_argument("--no-run", action="store_true", help="run nothing: format the cells already finished")
    p.add_argument("--out", metavar="FILE.md", help="write the markdown table here (default: print it)")
    p.add_argument("--json-out", metavar="FILE.json", help="also write the table's numbers as JSON here")
    p.add_argument("--title", default=None, help="the page's title (default: the study's name)")
    p.add_argument("--note", action="append", default=[], metavar="TEXT",
                   help="a line for the page's 'how it was computed' (repeat): sizing, the concept set used")
    p.add_argument("--json", action="store_true", help="print the table's numbers as JSON")
    p.set_defaults(run=tcav_table, show=show_table)


def _subset(study, args):
    """The study with only the cells on the chosen values of each axis (each value must be in the study)."""
    cells = list(study.cells)
    for flag, param in AXES:
        chosen = getattr(args, flag)
        if not chosen:
            continue
        have = list(dict.fromkeys(c.params[param] for c in cells if c.kind == "tcav"))
        unknown = [v for v in chosen if v not in have]
        if unknown:
            raise ParameterError(f"The study has no {param} {', '.join(map(str, unknown))} in its grid; its "
                                 f"{flag} are {', '.join(map(str, have))}.")
        cells = [c for c in cells if c.kind != "tcav" or c.params[param] in chosen]
    cells = [c for c in cells if c.kind == "tcav"]
    if not cells:
        raise ParameterError(f"The study file {study.source} has no [[tcav]] cells to make a table of.")
    return dataclasses.replace(study, cells=tuple(cells))


def _fingerprints(study) -> dict[str, str]:
    """Each concept of the study's cells -> the fingerprint of the version a cell would test now (as the cell
    finds it: a library the study names first, then the model's built-in concepts); concepts not found are left
    out (their cells fail with their own message)."""
    from models import registry
    from xai.concepts import experiment
    from xai.concepts import library as concepts
    from xai.errors import InputError

    out: dict[str, str] = {}
    builtins: dict[str, dict] = {}
    for c in study.cells:
        name, lib, model = c.params["concept"], c.params.get("library") or "", c.params["model"]
        if name in out:
            continue
        try:
            if lib and name in concepts.Library(lib):
                out[name] = experiment.concept_fingerprint(concepts.Library(lib).get(name))
                continue
            if model not in builtins:
                builtins[model] = concepts.builtin(model=registry.load(model))
            found = builtins[model]
        except InputError:
            builtins.setdefault(model, {})
            continue
        if name in found:
            out[name] = experiment.concept_fingerprint(found[name])
    return out


def _command(args) -> str:
    parts = ["python -m xai tcav-table"]
    parts += [f"--study {args.study}"] if args.study else [f"--model {args.model}"]
    for flag, _ in AXES:
        if getattr(args, flag):
            parts.append(f"--{flag} " + " ".join(map(str, getattr(args, flag))))
    parts.append(f"--workers {args.workers}")
    if args.out:
        parts.append(f"--out {args.out}")
    return " ".join(parts)


def tcav_table(args) -> dict:
    """Run ``tcav-table``: the study's unfinished cells (unless ``--no-run``), then the table of the finished."""
    from xai.study import runner, spec
    from xai.study import table as tmod

    path = Path(args.study) if args.study else ROOT / "studies" / STUDY_FILES.get(args.model, f"tcav_{args.model}.toml")
    study = _subset(spec.load(path, output=args.results), args)
    prints = _fingerprints(study)
    old = tmod.stale(study, prints)
    load_before, t0 = os.getloadavg(), time.perf_counter()
    report = None
    if not args.no_run:
        store = runner.Store(study.output)
        for c in old:  # computed from another version of the concept: run again
            (store.cells / f"{c.key}.json").unlink(missing_ok=True)
        bar = None if args.json else runner.ProgressBar(len(study.cells))
        report = runner.run(study, workers=args.workers, progress=bar, limit=args.limit)
    wall, load_after = time.perf_counter() - t0, os.getloadavg()
    tab = tmod.build(study, fingerprints=prints)
    notes = list(args.note)
    if report is not None:
        notes.append(f"Run on {os.cpu_count()} CPU cores with {args.workers} worker process(es); load average "
                     f"{load_before[0]:.1f} before and {load_after[0]:.1f} after this command, which took "
                     f"{wall / 60:.1f} min for the {report.finished_now} cell(s) it computed.")
    text = tmod.markdown(tab, title=args.title, command=_command(args), notes=notes)
    for target, body in ((args.out, text), (args.json_out, tab.to_json() if args.json_out else None)):
        if target:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_text(body, encoding="utf-8")
    deepest = tab.layers[-1] if tab.layers else None
    args.exit_status = 0 if tab.n_finished == tab.n_cells else 1
    return {"table": dataclasses.asdict(tab), "markdown": None if args.out else text, "out": args.out,
            "json_out": args.json_out, "finished": tab.n_finished, "cells": tab.n_cells,
            "agreement": tmod.agreement(tab, deepest) if deepest else None, "wall_seconds": round(wall, 1)}


def show_table(r: dict) -> None:
    """Print the markdown (or where it was written) and the agreement with the paper."""
    if r["markdown"] is not None:
        print(r["markdown"])
    else:
        print(f"{r['finished']} of {r['cells']} cells finished; table written to {r['out']}", file=sys.stderr)
    a = r["agreement"]
    if a and a["compared"]:
        print(f"agreement with the paper at the deepest layer: {a['agree']} of {a['compared']} cells; same mark in "
              f"{a['same_sign']} of the {a['signed_by_paper']} it marks + or −", file=sys.stderr)
