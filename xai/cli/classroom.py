"""Classroom commands: ``python -m xai label-noise`` precomputes the label-noise lab's curves.

Each run writes ``assets/label_noise/curves_<name>.json`` with its parameters, the runs, the summary and the
command that reproduces it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from xai.errors import ParameterError


def add_commands(sub) -> None:
    """Add the classroom commands to the CLI's subparsers."""
    p = sub.add_parser("label-noise", help="train the label-noise lab's small model at several noise levels "
                       "(symmetric and class-dependent) and write the accuracy curves")
    p.add_argument("--noise", type=float, action="append", metavar="P",
                   help="share of wrong training labels (repeat; default 0 0.2 0.4 0.6 0.8)")
    p.add_argument("--kind", action="append", choices=("symmetric", "class"), help="noise kind (repeat; default both)")
    p.add_argument("--seed", type=int, action="append", help="seed (repeat; default 0 1)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per run (default 8)")
    p.add_argument("--name", default="default", help="curves_<name>.json (default: default)")
    p.add_argument("--out", metavar="DIR", help="folder (default assets/label_noise); '-' writes nothing")
    p.add_argument("--json", action="store_true", help="print the whole curves document as JSON")
    p.set_defaults(run=_label_noise, show=_print_label_noise)

    p = sub.add_parser("presets", help="class presets: list them, or set the teacher password")
    psub = p.add_subparsers(dest="presets_command", required=True)
    q = psub.add_parser("list", help="the saved class presets, with their links (relative)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=_presets_list, show=_print_presets)
    q = psub.add_parser("set-password", help="write the teacher set-up file (reads the password from stdin)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=_set_password, show=lambda r: print(f"Teacher password set up in {r['path']}."))


def _label_noise(args) -> dict:
    from models.label_noise import load_subset
    from xai.classroom import label_noise as ln

    if not args.name.replace("_", "").replace("-", "").isalnum():
        raise ParameterError("The name may hold only letters, digits, '-' and '_'.")
    data = load_subset()
    noises = args.noise or [0.0, 0.2, 0.4, 0.6, 0.8]
    doc = ln.run_curves(data, noises=noises, kinds=tuple(args.kind or ln.KINDS), seeds=tuple(args.seed or (0, 1)),
                        epochs=args.epochs, progress=lambda f, m: print(m, file=sys.stderr, flush=True))
    cmd = ["python -m xai label-noise"] + [f"--noise {n:g}" for n in noises]
    cmd += [f"--kind {k}" for k in args.kind or ()] + [f"--seed {s}" for s in args.seed or ()]
    cmd += [f"--epochs {args.epochs}"] if args.epochs else []
    cmd += [f"--name {args.name}"] if args.name != "default" else []
    doc["parameters"]["command"] = " ".join(cmd)
    if args.out != "-":
        out = Path(args.out) if args.out else ln.CURVES_DIR
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"curves_{args.name}.json"
        path.write_text(json.dumps(doc, indent=1))
        doc["written"] = str(path)
    return doc


def _print_label_noise(result: dict) -> None:
    for row in result["summary"]:
        print(f"{row['kind']:>9}  noise {row['noise']:.2f}: test accuracy {row['mean']:.3f} "
              f"[{row['min']:.3f}, {row['max']:.3f}] over {row['n_seeds']} seeds")
    print(f"{result['seconds']:.0f} s" + (f"; written to {result['written']}" if "written" in result else ""))


def _presets_list(args) -> dict:
    from xai.classroom import presets

    items = presets.PresetStore().list()
    return {"path": str(presets.PresetStore().path), "teacher_mode": presets.teacher_mode_available(),
            "presets": [p.to_dict() | {"link": f"/{p.view}?share={p.token()}"} for p in items]}


def _print_presets(result: dict) -> None:
    if not result["presets"]:
        print(f"No class presets in {result['path']}.")
    for p in result["presets"]:
        print(f"{p['name']} ({p['view']}): {p['link']}")


def _set_password(args) -> dict:
    from xai.classroom import presets

    password = sys.stdin.readline().rstrip("\n")
    return {"path": str(presets.set_teacher_password(password))}
