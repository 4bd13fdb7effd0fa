"""Build the excerpt corpus that concept discovery runs over for ``piano_composer``.

``python -m training.piano_discovery_set build`` writes ``assets/discovery/excerpts_piano_composer.npz``: 20-second
windows of ASAP **performances** (the data cache of :mod:`training.asap`), read exactly as an upload is
(:func:`xai.symbolic.io.load`, the beat annotations beside each file giving its bars; :func:`xai.symbolic.music.
encode_for` giving the rolls the model reads). Why these excerpts (docs/discovery_heldout.md):

- the shipped model was trained on every work but one per composer (its card's ``held_out_works``), so there is
  no unseen material with more than one work per composer; concepts found in one work per composer could not be
  told apart from that work's own texture;
- so the factorisation is **fitted** on windows of the works the model was trained on (one performance per work,
  as Foscarin et al. 2022 take one performance per piece, evenly spaced windows, :data:`FIT_PER_CLASS` per
  composer), and **held out** are the windows of the six works the model never saw (:data:`HELD_PER_WORK` at
  most per work): the excerpt set names them (``meta['heldout_pieces']``) and discovery holds out exactly those.

Time runs in quarters at the default tempo (100 per minute), so an excerpt plays in real time with no tempo map
of its own, and its seconds are ``beats * 0.6``; bars are the annotated downbeats.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from models import registry
from training import asap
from xai.concepts import library as concepts
from xai.concepts.excerpts import ASSETS, ExcerptSet, excerpts_file
from xai.symbolic import io, music

MODEL = "piano_composer"
FIT_PER_CLASS = 40  # fitted windows per composer, from the works the model was trained on
HELD_PER_WORK = 24  # most windows per held-out work (Beethoven's sonata 8 has 126 over three performances)
MIN_NOTES = 8  # a window with fewer notes is mostly silence
SEED = 20240611
BEATS_PER_SECOND = music.DEFAULT_QPM / 60.0


def _beats_piece(piece: music.Piece, title: str) -> music.Piece:
    """The performance on a time line of quarters at the default tempo: notes as heard (pedal applied), bars as
    annotated, so that an excerpt plays and is drawn in real time without a tempo map."""
    notes = music.note_seconds(piece)
    bars = np.asarray(piece.seconds(piece.bar_starts), dtype=np.float64) * BEATS_PER_SECOND
    return music.Piece(
        title=title, onsets=notes[:, 0].astype(np.float64) * BEATS_PER_SECOND,
        durations=(notes[:, 1] - notes[:, 0]).astype(np.float64) * BEATS_PER_SECOND,
        pitches=notes[:, 2].astype(np.int16), velocities=np.round(notes[:, 3] * 127).astype(np.int16),
        parts=np.zeros(len(notes), dtype=np.int16), part_names=("Piano",), bar_starts=bars,
        bar_numbers=np.asarray(piece.bar_numbers, dtype=np.int64), bar_source=piece.bar_source)


def _evenly(indices: list[int], n: int) -> list[int]:
    """``n`` of ``indices`` spread evenly over them (all when there are no more than ``n``)."""
    if len(indices) <= n:
        return list(indices)
    return [indices[int(k)] for k in np.round(np.linspace(0, len(indices) - 1, n)).astype(int)]


def _plan(ds: asap.Dataset, held: set[str], rng: np.random.Generator) -> list[tuple[int, int]]:
    """(recording, windows wanted) per performance read: one seeded performance per training work, every
    performance of a held-out work."""
    plan = []
    for w in sorted(set(ds.work[~ds.is_score].tolist())):
        recs = [i for i in np.flatnonzero((ds.work == w) & ~ds.is_score)]
        if w in held:
            plan.extend((int(i), -1) for i in recs)
        else:
            plan.append((int(rng.choice(recs)), 0))
    return plan


def _read(root: Path, ds: asap.Dataset, i: int, model) -> tuple:
    """A performance read as an upload is: its piece, windows, rolls and the file's hash."""
    path = root / ds.path[i]
    piece = io.load(path)
    wins, X = music.encode_for(piece, model)
    return piece, wins, X, hashlib.sha256(path.read_bytes()).hexdigest()


def choose(ds: asap.Dataset, root: Path, model, *, held: set[str], seed: int = SEED, progress=print) -> list[dict]:
    """The chosen windows, each with its roll, notes, bars and provenance."""
    rng = np.random.default_rng(seed)
    plan = _plan(ds, held, rng)
    fit_works = {c: len({ds.work[i] for i, k in plan if k == 0 and ds.composer[i] == c}) for c in ds.classes}
    out = []
    for j, (i, _) in enumerate(plan):
        piece, wins, X, sha = _read(root, ds, i, model)
        ok = [w.index for w in wins if w.n_notes >= MIN_NOTES]
        c = str(ds.composer[i])
        n = HELD_PER_WORK if ds.work[i] in held else -(-FIT_PER_CLASS // max(1, fit_works[c])) + 1
        title = f"{ds.folder[i]} ({ds.performer[i]})"
        bpiece = _beats_piece(piece, title)
        for k in _evenly(ok, n):
            w = wins[k]
            s = float(w.start_second) * BEATS_PER_SECOND
            ex = concepts.Example.from_span(bpiece, s, s + float(model.card["input"]["window_seconds"])
                                            * BEATS_PER_SECOND, origin="discovered")
            out.append({"rec": i, "work": str(ds.work[i]), "composer": c, "held": ds.work[i] in held,
                        "piece_id": str(ds.path[i]), "sha": sha, "x": X[k], "example": ex})
        if j % 20 == 0:
            progress(f"read {j + 1}/{len(plan)} performances")
    return _balance(out, ds.classes, rng)


def _balance(found: list[dict], classes, rng) -> list[dict]:
    """At most :data:`FIT_PER_CLASS` fitted windows per composer (seeded), and at most :data:`HELD_PER_WORK` per
    held-out work (the evenly spaced ones of all its performances)."""
    keep = []
    for c in classes:
        fit = [k for k, r in enumerate(found) if r["composer"] == c and not r["held"]]
        keep += sorted(rng.choice(fit, size=min(FIT_PER_CLASS, len(fit)), replace=False).tolist())
        for w in sorted({r["work"] for r in found if r["composer"] == c and r["held"]}):
            keep += _evenly([k for k, r in enumerate(found) if r["work"] == w], HELD_PER_WORK)
    return [found[k] for k in sorted(keep)]


def build_set(chosen: list[dict], classes: tuple[str, ...], *, meta: dict) -> ExcerptSet:
    """The excerpt set of the chosen windows (rolls stored as uint8 of 127 x the model's values: exact)."""
    X = np.stack([r["x"] for r in chosen])
    q = np.round(X * 127.0)
    if not np.allclose(q / 127.0, X, atol=1e-6):
        raise ValueError("a roll holds a value that is not a multiple of 1/127")
    ex = [r["example"] for r in chosen]
    return ExcerptSet(
        X=q.astype(np.uint8), labels=np.array([classes.index(r["composer"]) for r in chosen], dtype=np.int64),
        classes=tuple(classes), piece_ids=tuple(r["piece_id"] for r in chosen),
        piece_sha256=tuple(r["sha"] for r in chosen),
        start_bar=np.array([e.start_bar for e in ex], dtype=np.int64),
        end_bar=np.array([e.end_bar for e in ex], dtype=np.int64),
        start_beat=np.array([e.start_beat for e in ex]), end_beat=np.array([e.end_beat for e in ex]),
        n_parts=np.ones(len(ex), dtype=np.int64), **music.pack_pieces(ex, velocities=False), meta=meta,
    )


def build(out: Path | None = None, *, progress=print) -> ExcerptSet:
    """Choose the windows, write the set to ``out`` and return it."""
    model = registry.load(MODEL)
    split = model.card["split"]
    held = set(split["held_out_works"].values())
    ds, root = asap.Dataset(asap.build_cache(log=progress)), asap.unpack()
    chosen = choose(ds, root, model, held=held, progress=progress)
    pieces = sorted({r["piece_id"] for r in chosen if r["held"]})
    meta = {
        "made_by": "python -m training.piano_discovery_set build",
        "model": MODEL,
        "grid": "seconds",
        "x_scale": 127,
        "seconds_per_beat": 1.0 / BEATS_PER_SECOND,
        "window_seconds": float(model.card["input"]["window_seconds"]),
        "split": "fitted: one performance of each work the model was trained on; held out: every performance "
                 "of the model's held-out works (docs/discovery_heldout.md)",
        "heldout_pieces": pieces,
        "heldout_works": sorted(held),
        "works": {r["piece_id"]: r["work"] for r in chosen},
        "seed": SEED, "fit_per_class": FIT_PER_CLASS, "held_per_work": HELD_PER_WORK, "min_notes": MIN_NOTES,
    }
    ex = build_set(chosen, tuple(model.classes), meta=meta)
    check = ex.rolls()
    if not np.array_equal(check, np.stack([r["x"] for r in chosen])):
        raise ValueError("the stored rolls do not give back the model's input exactly")
    ex.save(out or ASSETS / excerpts_file(MODEL))
    return ex


def main(argv=None) -> int:
    """Build the piano excerpt corpus (command line) and print what it holds."""
    ap = argparse.ArgumentParser(prog="python -m training.piano_discovery_set")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write the piano excerpt corpus for concept discovery")
    b.add_argument("--out", type=Path, default=ASSETS / excerpts_file(MODEL))
    args = ap.parse_args(argv)
    t0 = time.time()
    ex = build(args.out)
    held = np.isin(np.asarray(ex.piece_ids), ex.meta["heldout_pieces"])
    for k, c in enumerate(ex.classes):
        mine = ex.labels == k
        print(f"{c}: {int((mine & ~held).sum())} fitted from {len({ex.meta['works'][p] for p in np.asarray(ex.piece_ids)[mine & ~held]})} works, "
              f"{int((mine & held).sum())} held out")
    print(f"{len(ex)} excerpts, {ex.pitches.size} notes; {args.out}: {args.out.stat().st_size / 1024:.0f} KiB; "
          f"{time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
