"""Build the shipped excerpt corpus for concept discovery: ``assets/discovery/excerpts.npz``.

``python -m training.discovery_set build`` takes, from the corpus cache (:func:`xai.symbolic.dataset.build`), about
:data:`PER_CLASS` model windows per class (16 quarters, bar-aligned, every :data:`HOP` quarters, at least
:data:`MIN_NOTES` notes, chosen with the data set's seed) from the **validation and test** pieces only, so the
concepts are found in music the model was not trained on. For each window it keeps the uint8 piano roll the
model reads, the piece id, class and composer, the bars and beats it spans, and its notes (flat arrays with
pointers), so the app can draw, play and save an excerpt without parsing the corpus (which takes minutes).

Then ``python -m xai discover --precompute`` factorises the shipped model's layers over these excerpts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from xai.concepts import discovery
from xai.concepts import library as concepts
from xai.symbolic import dataset as data
from xai.symbolic import music

OUT = discovery.ASSETS / discovery.EXCERPTS_FILE
PER_CLASS = 150
MIN_NOTES = 4  # as the training windows (data.window_set)
HOP = music.HOP_QUARTERS


def candidates(table: data.PieceTable, pieces: np.ndarray) -> list[tuple[int, music.Window]]:
    """Every window of ``pieces`` with enough notes, as (piece index, Window)."""
    out = []
    for i in pieces:
        piece = table.piece(int(i))
        out.extend((int(i), w) for w in music.windows(piece, hop=HOP) if w.n_notes >= MIN_NOTES)
    return out


def choose(table: data.PieceTable, found: list, *, per_class: int = PER_CLASS, seed: int = data.SEED) -> list:
    """Up to ``per_class`` of ``found`` per class, drawn without replacement by a seeded generator, in corpus order."""
    rng = np.random.default_rng([seed, 2000])
    labels = np.array([table.labels[i] for i, _ in found])
    sel = []
    for c in range(len(data.CLASSES)):
        idx = np.flatnonzero(labels == c)
        if idx.size > per_class:
            idx = np.sort(rng.choice(idx, size=per_class, replace=False))
        sel.extend(idx.tolist())
    return [found[k] for k in sorted(sel)]


def build_set(table: data.PieceTable, chosen: list, *, meta: dict) -> discovery.ExcerptSet:
    """The excerpt set of the chosen (piece index, Window) pairs: rolls, provenance and notes."""
    rolls, examples, labels = [], [], []
    by_piece: dict[int, list] = {}
    for i, w in chosen:
        by_piece.setdefault(i, []).append(w)
    for i in sorted(by_piece):
        piece = table.piece(i)
        wins, X = music.encode(piece, hop=HOP)
        # The same cut as the model's: the windows chosen are among these (same piece, same hop).
        index = {(round(w.start_beat, 6), round(w.end_beat, 6)): k for k, w in enumerate(wins)}
        for w in by_piece[i]:
            rolls.append(X[index[(round(w.start_beat, 6), round(w.end_beat, 6))]].astype(np.uint8))
            examples.append(concepts.Example.from_span(piece, w.start_beat, w.end_beat, origin="discovered"))
            labels.append(int(table.labels[i]))
    return discovery.ExcerptSet(
        X=np.stack(rolls),
        labels=np.asarray(labels, dtype=np.int64),
        classes=tuple(data.CLASSES),
        piece_ids=tuple(e.source_name for e in examples),
        piece_sha256=tuple(e.source_sha256 for e in examples),
        start_bar=np.array([e.start_bar for e in examples], dtype=np.int64),
        end_bar=np.array([e.end_bar for e in examples], dtype=np.int64),
        start_beat=np.array([e.start_beat for e in examples]),
        end_beat=np.array([e.end_beat for e in examples]),
        n_parts=np.array([max(len(e.part_names), 1) for e in examples], dtype=np.int64),
        **music.pack_pieces(examples, velocities=False),
        meta=meta,
    )


def build(out: Path = OUT, *, per_class: int = PER_CLASS, progress=print) -> discovery.ExcerptSet:
    """Choose the excerpts from the validation and test pieces, write them to ``out`` and return them."""
    table = data.build(progress=progress)
    sp = data.split(table)
    pieces = np.concatenate([sp["val"], sp["test"]])
    found = candidates(table, pieces)
    chosen = choose(table, found, per_class=per_class)
    meta = {
        "made_by": "python -m training.discovery_set build",
        "split": "validation + test pieces",
        "seed": data.SEED,
        "per_class": per_class,
        "hop_quarters": HOP,
        "window_quarters": music.WINDOW_QUARTERS,
        "min_notes": MIN_NOTES,
        "windows_found_by_class": {c: int(sum(table.labels[i] == k for i, _ in found))
                                   for k, c in enumerate(data.CLASSES)},
    }
    ex = build_set(table, chosen, meta=meta)
    ex.save(out)
    return ex


def main(argv=None) -> int:
    """Build the excerpt corpus (command line) and print what it holds."""
    ap = argparse.ArgumentParser(prog="python -m training.discovery_set")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write the excerpt corpus for concept discovery")
    b.add_argument("--out", type=Path, default=OUT)
    b.add_argument("--per-class", type=int, default=PER_CLASS)
    args = ap.parse_args(argv)
    t0 = time.time()
    ex = build(args.out, per_class=args.per_class)
    counts = np.bincount(ex.labels, minlength=len(ex.classes))
    print("excerpts by class: " + ", ".join(f"{c} {n}" for c, n in zip(ex.classes, counts)))
    comp = {}
    for c in ex.composers:
        comp[c] = comp.get(c, 0) + 1
    print("by composer: " + ", ".join(f"{c} {n}" for c, n in sorted(comp.items())))
    print(f"{len(ex)} excerpts from {len(set(ex.piece_ids))} pieces, {ex.pitches.size} notes; "
          f"{args.out}: {args.out.stat().st_size / 1024:.0f} KiB; {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
