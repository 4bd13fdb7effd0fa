"""Build the data caches: ``python -m training.data build`` (the parsed corpus) and ``... render`` (audio clips).

``render`` needs the Debian soundfonts that ``scripts/setup_audio_data.sh`` installs (data building only; the app
and the tests need none); see :mod:`xai.audio.dataset` for the five soundfonts, their licences and the splits.

The caches live under ``$MUSICXAI_CACHE`` (default ``~/.cache/musicxai``); the readers are
:mod:`xai.symbolic.dataset` and :mod:`xai.audio.dataset`, which the product uses at run time.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from xai.audio import dataset as audio_data
from xai.symbolic import dataset as data


def main(argv=None) -> int:
    """Parse the corpus into the cache (``build``), print a summary, or render audio clips (``render``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["render"]:  # the audio data set has its own module and options
        return audio_data.main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m training.data")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("render", help="render corpus excerpts to audio (see xai/audio/dataset.py)")
    b = sub.add_parser("build", help="parse the corpus classes into the cache")
    b.add_argument("--workers", type=int, default=2)
    sub.add_parser("summary", help="pieces and windows per class and split")
    args = ap.parse_args(argv)
    table = data.build(workers=getattr(args, "workers", 2))
    sp = data.split(table)
    for c_i, c in enumerate(data.CLASSES):
        counts = {k: int(np.sum(table.labels[v] == c_i)) for k, v in sp.items()}
        print(f"{c:12s} pieces {counts}")
    print(f"{len(table)} pieces, {table.pitches.size} notes; cache at {data.cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
