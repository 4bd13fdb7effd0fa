"""Command line: ``python -m xai <command> ...`` for batch and scripted use.

Every command prints JSON with ``--json`` (or a short text summary without it). A bad input ends with one
plain sentence on stderr and exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from xai.cli import audio as audio_cli
from xai.cli import symbolic as symbolic_cli
from xai.errors import XaiError

__all__ = ["main"]


def _predict(args) -> dict:
    if audio_cli._is_recording(args.file):
        return audio_cli.predict(args)
    return symbolic_cli.predict_score(args)


def _print_predict(result: dict) -> None:
    if "recording" in result:
        return audio_cli.show_predict(result)
    return symbolic_cli.print_prediction(result)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m xai", description="Ask a music model why, from the command line.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="classify a piece: per piece and per bar-aligned window")
    p.add_argument("file", help="MIDI, MusicXML (.xml/.mxl/.musicxml), ABC or Humdrum (.krn) file; or a recording "
                   "(.wav/.flac/.ogg/.mp3) with an audio --model such as 'instrument'")
    p.add_argument("--model", default="composer")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=_predict, show=_print_predict)

    for topic in COMMAND_MODULES:
        _command_module(topic).add_commands(sub)
    return ap


# Subcommands that live in their own module, xai/cli/<topic>.py, each with ``add_commands(sub)`` adding parsers
# whose defaults set ``run`` (args -> JSON-able result) and ``show`` (result -> printed text); every parser has
# ``--json``.
COMMAND_MODULES = ("local", "attacks", "recommender", "classroom", "concepts", "study", "attribution", "tables")


def _command_module(topic: str):
    from importlib import import_module

    return import_module(f"xai.cli.{topic}")


def main(argv=None) -> int:
    """Parse ``argv``, run the command and print its result; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        result = args.run(args)
    except XaiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: there is no file at {e.filename}.", file=sys.stderr)
        return 2
    try:
        if args.json:
            print(json.dumps(result, indent=1))
        else:
            args.show(result)
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
    return getattr(args, "exit_status", 0)  # a command may say its work is unfinished (``study``: 1)
