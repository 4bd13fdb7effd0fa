"""Build the shipped concept data: built-in concepts, TCAV's pool of random excerpts, held-out class excerpts.

``python -m training.concept_sets build`` writes, from the corpus cache (:func:`xai.symbolic.dataset.build`):

- ``assets/concepts/builtin.json``: one concept per rule of :mod:`xai.concepts.miners`, each up to 40 excerpts (model
  windows, 16 quarters, bar-aligned) where the rule holds, from **training** pieces only, at most 3 per piece
  and not overlapping, chosen with the data set's seed. The rules never see class labels; the classes the
  examples came from are recorded (concept metadata and ``builtin_report.json``) as a confound report: a
  concept found mostly in one class can score high for that class for that reason alone.
- ``assets/concepts/pool.npz``: ``random``, 500 training windows (uint8 rolls, the same number from each
  class, seeded) for TCAV's random sets, with ``random_sources`` (their piece ids, a JSON string) so TCAV can
  leave out pool rows that share a piece with a concept's examples; and ``class_<name>``, 200 windows per
  class from **validation** pieces, the inputs TCAV scores. Nothing comes from the test split.
- ``assets/concepts/builtin_report.json``: per concept, windows found, pieces, and their class distribution.

It takes a minute or two on one core (the corpus cache must exist: ``python -m training.data build``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from xai.concepts import library as concepts
from xai.concepts import miners
from xai.symbolic import dataset as data
from xai.symbolic import music

OUT = concepts.ASSETS
PER_CONCEPT = 40
PER_PIECE = 3
POOL_SIZE = 500
PER_CLASS = 200
MIN_NOTES = 4  # as the training windows (data.window_set): a window with fewer notes is near-silence
HOP = music.HOP_QUARTERS


def scan(table: data.PieceTable, pieces: np.ndarray, *, progress=print) -> tuple[dict, list]:
    """Run every miner over every window of ``pieces``.

    Returns ({miner: [(piece index, Window), ...]}, [(piece index, Window), ...] of all windows scanned).
    """
    hits: dict[str, list] = {name: [] for name in miners.MINERS}
    every = []
    t0 = time.time()
    for n, i in enumerate(pieces, 1):
        piece = table.piece(int(i))
        for w in music.windows(piece, hop=HOP):
            if w.n_notes < MIN_NOTES:
                continue
            every.append((int(i), w))
            excerpt = piece.slice(w.start_beat, w.end_beat)
            for name, (rule, _) in miners.MINERS.items():
                if rule(excerpt):
                    hits[name].append((int(i), w))
        if n % 200 == 0 or n == len(pieces):
            progress(f"scanned {n}/{len(pieces)} pieces, {len(every)} windows, {time.time() - t0:.0f} s")
    return hits, every


def pick(found: list, *, n: int, per_piece: int, rng: np.random.Generator) -> list:
    """Up to ``n`` of ``found`` (piece, Window) spread over pieces: one from each piece in a random order, then a
    second from each, ..., at most ``per_piece`` per piece and never two overlapping windows of one piece."""
    by_piece = defaultdict(list)
    for i, w in found:
        by_piece[i].append(w)
    chosen_per_piece = {}
    for i, wins in by_piece.items():
        mine = []
        for k in rng.permutation(len(wins)):
            w = wins[k]
            if all(w.end_beat <= c.start_beat + 1e-9 or w.start_beat >= c.end_beat - 1e-9 for c in mine):
                mine.append(w)
            if len(mine) == per_piece:
                break
        chosen_per_piece[i] = mine
    order = [sorted(by_piece)[k] for k in rng.permutation(len(by_piece))]
    out = []
    for r in range(per_piece):
        for i in order:
            if len(out) == n:
                return out
            if r < len(chosen_per_piece[i]):
                out.append((i, chosen_per_piece[i][r]))
    return out


def build_concepts(table: data.PieceTable, hits: dict, *, seed: int = data.SEED) -> tuple[list, dict]:
    """One built-in concept per miner from its hits; returns (concepts, report)."""
    out, report = [], {}
    for k, (name, (_, rule)) in enumerate(miners.MINERS.items()):
        # A generator per miner (by its position): adding a miner at the end leaves the others' picks alone.
        rng = np.random.default_rng([seed, k])
        found = hits[name]
        candidates = pick(found, n=PER_CONCEPT * 2, per_piece=PER_PIECE, rng=rng)
        examples = []
        for i, w in candidates:
            ex = concepts.Example.from_span(
                table.piece(i), w.start_beat, w.end_beat, label=f"found by the '{name}' rule", origin="builtin"
            )
            examples.append(ex)
        # The same music can sit in two corpus files (a chorale harmonised twice): keep it once.
        examples = list(concepts.dedupe(examples)[0])[:PER_CONCEPT]
        chosen_classes = _class_counts(table, [table.ids.index(e.source_name) for e in examples])
        concept = concepts.Concept(
            name=name.replace("_", " "),
            description=rule,
            examples=tuple(examples),
            origin="builtin",
            author="miner",
            created=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            metadata={
                "miner": f"xai.concepts.miners.{name}",
                "split": "train",
                "seed": seed,
                "hop_quarters": HOP,
                "class_counts": chosen_classes,
            },
        )
        if len(examples) >= concepts.MIN_EXAMPLES:
            concepts.check_usable(concept)
            out.append(concept)
        report[concept.name] = {
            "rule": rule,
            "windows_found": len(found),
            "pieces_found": len({i for i, _ in found}),
            "found_by_class": _class_counts(table, [i for i, _ in found]),
            "examples": len(examples),
            "example_pieces": len({e.source_name for e in examples}),
            "examples_by_class": chosen_classes,
            "shipped": len(examples) >= concepts.MIN_EXAMPLES,
        }
    return out, report


def _class_counts(table: data.PieceTable, piece_indices: list[int]) -> dict[str, int]:
    counts = np.bincount(table.labels[np.asarray(piece_indices, dtype=np.int64)], minlength=len(data.CLASSES))
    return {c: int(n) for c, n in zip(data.CLASSES, counts)}


def random_windows(table: data.PieceTable, every: list, *, n: int, seed: int = data.SEED) -> tuple[np.ndarray, list]:
    """``n`` training windows, the same number from each class (as the classifier was trained, balanced), as
    uint8 rolls, with the piece id of each."""
    rng = np.random.default_rng([seed, 1000])
    labels = np.array([table.labels[i] for i, _ in every])
    quota = [n // len(data.CLASSES) + (c < n % len(data.CLASSES)) for c in range(len(data.CLASSES))]
    sel = []
    for c, q in enumerate(quota):
        idx = np.flatnonzero(labels == c)
        sel.extend(rng.choice(idx, size=min(q, idx.size), replace=False).tolist())
    sel = sorted(sel)
    by_piece = defaultdict(list)
    for s in sel:
        by_piece[every[s][0]].append(every[s][1].index)
    rows, sources = [], []
    for i in sorted(by_piece):
        _, X = music.encode(table.piece(i), hop=HOP)
        rows.append(X[by_piece[i]].astype(np.uint8))
        sources.extend([table.ids[i]] * len(by_piece[i]))
    return np.concatenate(rows), sources


def class_windows(table: data.PieceTable, pieces: np.ndarray, *, n: int, seed: int = data.SEED) -> dict:
    """Up to ``n`` windows per class from ``pieces`` (uint8 rolls), seeded."""
    X, y, _ = data.window_set(table, pieces, hop=HOP, cap_per_class=n, min_notes=MIN_NOTES, random_state=seed)
    return {c: X[y == k] for k, c in enumerate(data.CLASSES)}


def build(out: Path = OUT, *, progress=print) -> dict:
    """Write builtin.json, pool.npz and builtin_report.json under ``out``; return the report."""
    table = data.build(progress=progress)
    sp = data.split(table)
    hits, every = scan(table, sp["train"], progress=progress)
    built, report = build_concepts(table, hits)
    pool, sources = random_windows(table, every, n=POOL_SIZE)
    held_out = class_windows(table, sp["val"], n=PER_CLASS)

    out.mkdir(parents=True, exist_ok=True)
    (out / "builtin.json").write_text(concepts.dumps(built), encoding="utf-8")
    arrays = {"random": pool, "random_sources": np.array(json.dumps(sources))}
    arrays |= {f"class_{c}": X for c, X in held_out.items()}
    np.savez_compressed(out / "pool.npz", **arrays)
    window_totals = _class_counts(table, [i for i, _ in every])
    full_report = {
        "made_by": "python -m training.concept_sets build",
        "seed": data.SEED,
        "concept_split": "train",
        "class_examples_split": "val",
        "train_windows_by_class": window_totals,
        "random_pool_by_class": {c: int(sum(table.labels[table.ids.index(s)] == k for s in sources))
                                 for k, c in enumerate(data.CLASSES)},
        "class_examples": {c: int(len(X)) for c, X in held_out.items()},
        "concepts": report,
    }
    (out / "builtin_report.json").write_text(json.dumps(full_report, indent=1), encoding="utf-8")
    return full_report


def _print(report: dict) -> None:
    classes = list(data.CLASSES)
    print(f"{'concept':24s} {'found':>6s} {'pieces':>6s} {'kept':>5s} {'pieces':>6s}   kept by class "
          f"({', '.join(c[:5] for c in classes)})   share of class windows found")
    totals = report["train_windows_by_class"]
    for name, r in report["concepts"].items():
        kept = " ".join(f"{r['examples_by_class'][c]:3d}" for c in classes)
        rate = " ".join(f"{r['found_by_class'][c] / max(totals[c], 1):4.2f}" for c in classes)
        flag = "" if r["shipped"] else "  (too few: not shipped)"
        print(f"{name:24s} {r['windows_found']:6d} {r['pieces_found']:6d} {r['examples']:5d} "
              f"{r['example_pieces']:6d}   {kept}   {rate}{flag}")
    print(f"random pool by class: {report['random_pool_by_class']}; class examples: {report['class_examples']}")


def main(argv=None) -> int:
    """Build the shipped concept sets (``build``) or print what they hold."""
    ap = argparse.ArgumentParser(prog="python -m training.concept_sets")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="mine the built-in concepts and write the random pool and class excerpts")
    b.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    t0 = time.time()
    report = build(args.out)
    _print(report)
    for f in ("builtin.json", "pool.npz", "builtin_report.json"):
        print(f"{args.out / f}: {(args.out / f).stat().st_size / 1024:.0f} KiB")
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
