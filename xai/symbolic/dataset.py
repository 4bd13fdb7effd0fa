"""The style data set: music21 corpus pieces, grouped into six classes, split by piece.

Parsing the corpus cold takes minutes, so parsed pieces are cached as plain arrays (``.npz`` + JSON, no
pickles) under ``$MUSICXAI_CACHE`` (default ``~/.cache/musicxai``). Excerpts are made from the cached pieces
with :func:`xai.symbolic.music.encode`, the same path an uploaded file takes.

Run ``python -m training.data build`` to fill the cache (about 5 minutes on 2 cores, cold). music21 is imported
only where the corpus is parsed (it takes seconds to import; a filled cache needs none of it).
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xai._scratch import use_private_scratch
from xai.symbolic import music

CLASSES = ("bach", "palestrina", "monteverdi", "trecento", "classical", "folk")
SEED = 20221204
SPLIT_FRACTIONS = (0.7, 0.15, 0.15)  # train, validation, test: by piece
PALESTRINA_FILES = 200  # of 1,318 mass movements; enough windows, a tolerable parse time
RYAN_FILES = 300  # of 1,059 tunes in Ryan's Mammoth Collection
ESSEN_FILES = ("essenFolksong/kinder0.abc", "essenFolksong/dva0.abc", "essenFolksong/erk5.abc")
CACHE_VERSION = 2  # 2: ABC bar numbering fixed (a full first bar is bar 1)


def cache_dir() -> Path:
    """Where parsed corpus pieces are cached: ``$MUSICXAI_CACHE`` (default ``~/.cache/musicxai``)."""
    return Path(os.environ.get("MUSICXAI_CACHE", Path.home() / ".cache" / "musicxai"))


def corpus_files() -> dict[str, list[str]]:
    """Corpus-relative file paths for each class, chosen without looking at any model.

    - bach: the chorales (MusicXML/Humdrum files named bwv*; the .rntxt analyses are not music);
    - palestrina: a seeded sample of the mass movements (Humdrum);
    - monteverdi: the madrigals (.mxl);
    - trecento: all pieces;
    - classical: Beethoven, Mozart and Haydn string-quartet movements (.mxl only: op. 18 no. 1 also ships as
      .krn, the same music; Mozart K. 545 is a piano sonata and left out);
    - folk: a seeded sample of Ryan's Mammoth Collection (one tune per file, so no duplicates, unlike
      O'Neill's overlapping files) plus three Essen collections (German songs).
    """
    from music21 import corpus

    paths = [str(p) for p in corpus.getCorePaths()]
    root = os.path.commonpath(paths)
    rel = sorted(os.path.relpath(p, root).replace(os.sep, "/") for p in paths)

    def under(d, exts):
        return [r for r in rel if r.startswith(d + "/") and r.endswith(exts)]

    rng = np.random.default_rng(SEED)
    pal = under("palestrina", (".krn",))
    ryan = under("ryansMammoth", (".abc",))
    files = {
        "bach": [r for r in under("bach", (".mxl", ".xml", ".krn")) if r.split("/")[-1].startswith("bwv")],
        "palestrina": sorted(rng.choice(pal, size=min(PALESTRINA_FILES, len(pal)), replace=False).tolist()),
        "monteverdi": under("monteverdi", (".mxl",)),
        "trecento": under("trecento", (".xml", ".mxl")),
        "classical": [
            r
            for r in under("beethoven", (".mxl",)) + under("mozart", (".mxl",)) + under("haydn", (".mxl",))
            if "k545" not in r
        ],
        "folk": sorted(rng.choice(ryan, size=min(RYAN_FILES, len(ryan)), replace=False).tolist())
        + [f for f in ESSEN_FILES if f in rel],
    }
    return files


def _parse_file(rel_path: str) -> list[dict]:
    """Parse one corpus file into plain dicts of arrays (one per score; Essen files hold many tunes)."""
    from music21 import corpus, stream

    use_private_scratch()  # music21 pickles what it parses: into this installation's own folder, not /tmp
    try:
        s = corpus.parse(rel_path)
    except Exception as e:  # noqa: BLE001 - a corpus file that fails in any way is reported, not fatal to the build
        return [{"error": f"{rel_path}: {e}"}]
    scores = list(s.scores) if isinstance(s, stream.Opus) else [s]
    out = []
    for k, sc in enumerate(scores):
        pid = rel_path if len(scores) == 1 else f"{rel_path}#{k}"
        try:
            p = music.from_music21(sc, title=pid)
        except Exception as e:  # noqa: BLE001 - as above: one odd score must not stop a minutes-long build
            out.append({"error": f"{pid}: {e}"})
            continue
        if p.n_notes == 0:
            continue
        out.append(
            {
                "id": pid,
                "file": rel_path,
                "onsets": p.onsets,
                "durations": p.durations,
                "pitches": p.pitches,
                "parts": p.parts,
                "bar_starts": p.bar_starts,
                "bar_numbers": p.bar_numbers,
                "n_parts": len(p.part_names),
            }
        )
    return out


@dataclass
class PieceTable:
    """Parsed pieces of every class as flat arrays: the corpus cache in memory."""

    ids: list[str]
    labels: np.ndarray  # int index into CLASSES
    n_parts: np.ndarray
    note_ptr: np.ndarray  # piece i's notes are [note_ptr[i], note_ptr[i+1])
    onsets: np.ndarray
    durations: np.ndarray
    pitches: np.ndarray
    parts: np.ndarray
    bar_ptr: np.ndarray
    bar_starts: np.ndarray
    bar_numbers: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def piece(self, i: int) -> music.Piece:
        """Piece ``i`` of the table (titled by its corpus id; every note at velocity 80)."""
        return music.unpack_piece(vars(self), i, title=self.ids[i], n_parts=int(self.n_parts[i]))

    def save(self, path: Path) -> None:
        """Write the table as one compressed ``.npz`` of plain arrays (ids as JSON; no pickles)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            labels=self.labels,
            n_parts=self.n_parts,
            note_ptr=self.note_ptr,
            onsets=self.onsets,
            durations=self.durations,
            pitches=self.pitches,
            parts=self.parts,
            bar_ptr=self.bar_ptr,
            bar_starts=self.bar_starts,
            bar_numbers=self.bar_numbers,
            ids=np.array(json.dumps({"version": CACHE_VERSION, "ids": self.ids})),
        )

    @classmethod
    def load(cls, path: Path) -> PieceTable:
        """Read a table written by :meth:`save`; ValueError when it was written by another cache version."""
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["ids"]))
        if meta.get("version") != CACHE_VERSION:
            raise ValueError("cache version mismatch")
        return cls(
            ids=meta["ids"],
            **{k: z[k] for k in z.files if k != "ids"},
        )

    @classmethod
    def from_records(cls, records: list[dict], labels: list[int]) -> PieceTable:
        """A table of parsed records (``id``, ``n_parts`` and the note and bar arrays of a piece), one label each."""
        packed = music.pack_pieces(records, velocities=False)
        return cls(
            ids=[r["id"] for r in records],
            labels=np.asarray(labels, dtype=np.int64),
            n_parts=np.asarray([r["n_parts"] for r in records], dtype=np.int64),
            **packed,
        )


def build(*, workers: int = 2, progress=print) -> PieceTable:
    """Parse every class's corpus files (in parallel) and cache them; returns the table."""
    path = cache_dir() / f"corpus_v{CACHE_VERSION}.npz"
    if path.exists():
        try:
            return PieceTable.load(path)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):  # damaged or from another version
            progress(f"Ignoring unreadable cache {path}; parsing again.")
    files = corpus_files()
    jobs = [(c, f) for c in CLASSES for f in files[c]]
    # Largest files first keeps both workers busy to the end.
    from music21 import corpus as m21corpus

    root = os.path.commonpath([str(p) for p in m21corpus.getCorePaths()])
    jobs.sort(key=lambda j: -os.path.getsize(os.path.join(root, j[1])))
    records: dict[str, list] = {c: [] for c in CLASSES}
    errors = []
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=workers) as ex:
        futs = {ex.submit(_parse_file, f): c for c, f in jobs}
        for i, fut in enumerate(as_completed(futs), 1):
            for r in fut.result():
                if "error" in r:
                    errors.append(r["error"])
                else:
                    records[futs[fut]].append(r)
            if i % 50 == 0 or i == len(jobs):
                progress(f"parsed {i}/{len(jobs)} files in {time.time() - t0:.0f} s")
    flat, labels = [], []
    for ci, c in enumerate(CLASSES):
        for r in sorted(records[c], key=lambda r: r["id"]):
            flat.append(r)
            labels.append(ci)
    table = PieceTable.from_records(flat, labels)
    table.save(path)
    if errors:
        progress(f"{len(errors)} files could not be parsed: {errors[:5]}")
    return table


def split(table: PieceTable, *, random_state: int = SEED) -> dict[str, np.ndarray]:
    """Assign each piece to train / val / test, per class, by a seeded permutation. No piece is in two splits."""
    rng = np.random.default_rng(random_state)
    out = {"train": [], "val": [], "test": []}
    for ci in range(len(CLASSES)):
        idx = np.flatnonzero(table.labels == ci)
        idx = idx[rng.permutation(idx.size)]
        n_val = max(1, int(round(SPLIT_FRACTIONS[1] * idx.size)))
        n_test = max(1, int(round(SPLIT_FRACTIONS[2] * idx.size)))
        out["test"].extend(idx[:n_test])
        out["val"].extend(idx[n_test : n_test + n_val])
        out["train"].extend(idx[n_test + n_val :])
    return {k: np.sort(np.asarray(v, dtype=np.int64)) for k, v in out.items()}


def window_set(
    table: PieceTable,
    pieces: np.ndarray,
    *,
    hop: float,
    cap_per_class: int | None = None,
    min_notes: int = 4,
    random_state: int = SEED,
    features=None,
) -> tuple[np.ndarray, ...]:
    """Excerpts of the given pieces: (X (N, 2, 88, 64) as uint8, labels, piece index per window[, features]).

    Windows with fewer than ``min_notes`` notes are dropped; with a cap, each class is subsampled (seeded)
    to at most ``cap_per_class`` windows so the classes are balanced. ``features(piece, windows)``, if given,
    computes extra per-window features (the baseline's) on exactly the same windows.
    """
    xs, ys, ps, fs = [], [], [], []
    for i in pieces:
        piece = table.piece(int(i))
        wins, X = music.encode(piece, hop=hop)
        keep = [k for k, w in enumerate(wins) if w.n_notes >= min_notes]
        if not keep:
            continue
        xs.append(X[keep].astype(np.uint8))
        ys.append(np.full(len(keep), table.labels[i]))
        ps.append(np.full(len(keep), i))
        if features is not None:
            fs.append(features(piece, [wins[k] for k in keep]))
    X = np.concatenate(xs)
    y = np.concatenate(ys)
    p = np.concatenate(ps)
    F = np.concatenate(fs) if features is not None else None
    if cap_per_class:
        rng = np.random.default_rng(random_state)
        sel = []
        for ci in np.unique(y):
            idx = np.flatnonzero(y == ci)
            if idx.size > cap_per_class:
                idx = np.sort(rng.choice(idx, size=cap_per_class, replace=False))
            sel.append(idx)
        sel = np.concatenate(sel)
        X, y, p = X[sel], y[sel], p[sel]
        F = F[sel] if F is not None else None
    return (X, y, p) if F is None else (X, y, p, F)
