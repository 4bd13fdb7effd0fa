"""TCAV's shipped sets for ``piano_composer``: random performance windows and held-out windows per composer.

``python -m training.piano_pool`` reads the ASAP cache (:mod:`training.asap`) and writes
``assets/concepts/pool_piano_composer.npz`` in the layout of ``pool.npz`` (``random``, ``random_sources``,
``class_<composer>``), rolls stored as uint8 (value x 127: velocities are k/127, so nothing is lost):

- ``random``: windows drawn at random (seeded) from the performances of the works the shipped model trained on,
  at most :data:`PER_WORK` per work so no popular work dominates; ``random_sources`` names each row's work.
- ``class_<composer>``: every window (up to :data:`PER_CLASS`) of the performances of that composer's held-out
  work (``held_out_works`` on the model card): music the model never saw, scored for its composer.

Windows are rendered by :func:`xai.symbolic.timing.render`, the one rendering of training and the product.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from xai.symbolic import timing

from . import asap

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "concepts" / "pool_piano_composer.npz"
N_RANDOM = 400
PER_WORK = 6
PER_CLASS = 40
SEED = 20240611


def build(out: Path = OUT) -> Path:
    """Write the pool file from the ASAP cache; returns its path."""
    card = json.loads((ROOT / "assets" / "models" / "piano_composer.json").read_text())
    held = set(card["split"]["held_out_works"].values())
    ds = asap.Dataset()
    rng = np.random.default_rng(SEED)
    perf = ~ds.is_score[ds.win_rec]
    held_win = np.array([ds.work[r] in held for r in ds.win_rec])
    train_rows = np.flatnonzero(perf & ~held_win)
    rng.shuffle(train_rows)
    taken: dict[str, int] = {}
    rows = []
    for i in train_rows:
        w = ds.work[ds.win_rec[i]]
        if taken.get(w, 0) < PER_WORK:
            taken[w] = taken.get(w, 0) + 1
            rows.append(int(i))
        if len(rows) == N_RANDOM:
            break

    def roll(i: int) -> np.ndarray:
        return np.round(timing.render(ds.notes(int(ds.win_rec[i])), float(ds.win_start[i])) * 127).astype(np.uint8)

    arrays = {"random": np.stack([roll(i) for i in rows]),
              "random_sources": np.array(json.dumps([str(ds.work[ds.win_rec[i]]) for i in rows]))}
    for c in asap.CLASSES:
        mine = np.flatnonzero(perf & held_win & (ds.composer[ds.win_rec] == c))
        if len(mine) > PER_CLASS:
            mine = np.sort(rng.choice(mine, PER_CLASS, replace=False))
        arrays[f"class_{c}"] = np.stack([roll(i) for i in mine])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return out


if __name__ == "__main__":  # pragma: no cover
    p = build()
    with np.load(p) as z:
        print(p, p.stat().st_size, {k: z[k].shape for k in z.files})
