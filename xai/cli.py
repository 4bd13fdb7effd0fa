"""Command line: ``python -m xai <command> ...`` for batch and scripted use.

Every command prints JSON with ``--json`` (or a short text summary without it). A bad input ends with one
plain sentence on stderr and exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import XaiError

__all__ = ["main"]


def _predict(args) -> dict:
    from models import registry

    from . import io, predict

    piece = io.load(args.file)
    model = registry.load(args.model)
    return predict.classify(piece, model).to_dict()


def _print_predict(result: dict) -> None:
    p = result["piece"]
    top = sorted(p["probabilities"].items(), key=lambda kv: -kv[1])
    print(f"{result['model']}: {p['label']} ({', '.join(f'{c} {v:.2f}' for c, v in top)})")
    for w in result["windows"]:
        lab = w["label"] or "(silent)"
        conf = f" {w['probabilities'][lab]:.2f}" if w["label"] else ""
        print(f"  bars {w['start_bar']}-{w['end_bar']}: {lab}{conf}")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m xai", description="Ask a music model why, from the command line.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="classify a piece: per piece and per bar-aligned window")
    p.add_argument("file", help="MIDI, MusicXML (.xml/.mxl/.musicxml), ABC or Humdrum (.krn) file")
    p.add_argument("--model", default="composer")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=_predict, show=_print_predict)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.run(args)
    except XaiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: there is no file at {e.filename}.", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        args.show(result)
    return 0
