"""Copy held-out example pieces into ``assets/examples/``: ``python -m training.examples``.

One piece per class, always from the model card's test split (never seen in training), copied as the
corpus file it is (MusicXML, Humdrum, ABC), plus one rendered as MIDI so every upload format has an example.
``assets/examples/examples.json`` lists them with their class and source.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from models.registry import ASSETS, card
from xai.symbolic import dataset as data
from xai.symbolic import music

EXAMPLES = ASSETS.parent / "examples"
TARGET_QUARTERS = 64.0  # prefer pieces of about this length: quick to load, long enough for several windows


def choose(table: data.PieceTable, test_ids: list[str]) -> dict[str, int]:
    """For each class, the test piece (a whole file, not one tune of a collection) closest to the target length."""
    pos = {pid: i for i, pid in enumerate(table.ids)}
    chosen = {}
    for ci, c in enumerate(data.CLASSES):
        cands = [pos[t] for t in test_ids if t in pos and table.labels[pos[t]] == ci and "#" not in t]
        lengths = np.array([table.piece(i).length for i in cands])
        # Very long pieces make a slow first impression; very short ones show only one window.
        score = np.abs(np.log(np.maximum(lengths, 1) / TARGET_QUARTERS))
        chosen[c] = cands[int(np.argmin(score))]
    return chosen


def main(argv=None) -> int:
    """Build the bundled example pieces (command line)."""
    from music21 import corpus

    test_ids = card("composer")["split"]["test_pieces"]
    table = data.build()
    root = os.path.commonpath([str(p) for p in corpus.getCorePaths()])
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for f in EXAMPLES.iterdir():
        if f.is_file():
            f.unlink()
    entries = []
    chosen = choose(table, test_ids)
    for c, i in chosen.items():
        rel = table.ids[i]
        dst = EXAMPLES / f"{c}__{Path(rel).name}"
        shutil.copyfile(os.path.join(root, rel), dst)
        entries.append({"file": dst.name, "title": f"{c}: {Path(rel).stem}", "class": c, "source": f"music21 corpus: {rel}"})
    # One MIDI example: another held-out chorale, written from its notes.
    pos = {pid: k for k, pid in enumerate(table.ids)}
    bach = [pos[t] for t in test_ids if t in pos and table.labels[pos[t]] == 0 and pos[t] != chosen["bach"]]
    piece = table.piece(bach[0])
    dst = EXAMPLES / f"bach__{Path(table.ids[bach[0]]).stem}.mid"
    dst.write_bytes(music.to_midi_bytes(piece))
    entries.append({"file": dst.name, "title": f"bach (MIDI): {Path(table.ids[bach[0]]).stem}", "class": "bach",
                    "source": f"music21 corpus: {table.ids[bach[0]]}, written as MIDI"})
    (EXAMPLES / "examples.json").write_text(json.dumps(entries, indent=1))
    for e in entries:
        print(e["file"], "<-", e["source"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
