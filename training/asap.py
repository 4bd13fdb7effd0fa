"""ASAP (Aligned Scores and Performances) as piano-roll windows in seconds, grouped by work.

The data are real piano performances (MIDI from the MAESTRO competition recordings) plus one quantised
score MIDI per piece. Everything the composer classifier and its evaluation need lives here: unpacking the
archive into the data cache, reading ``metadata.csv``, assigning every file to a *work* (the unit that
cross-validation must never split), reading notes with the sustain pedal honoured, re-timing a performance
onto its annotated beats ("notes only"), and rendering 20-s windows at 10 frames per second.

Work ids (see :func:`work_id`): all performances and the score of one folder are one work; the movements of
one multi-movement work share an id (``Beethoven/Piano_Sonatas/18-2`` -> ``Beethoven/Piano_Sonata_18``,
likewise Haydn, Schubert and Chopin sonatas); a Bach prelude and its fugue share an id (by BWV number); the
Italian Concerto is one folder and one work; variant folders (``_no_repeat``, ``_no_2_repeat``,
``_no_first_repeat``, ``_repeat``, ``_no_trio``) join their base folder. Separate pieces published in one
opus (Chopin etudes, Schubert impromptus, Liszt transcendental etudes) are separate works.

Cache: :func:`build_cache` stores the notes of every recording (onset s, offset s, MIDI pitch, velocity
0..1), the notes-only re-timed notes, and the window tables (recording index, start second) in one
compressed ``.npz`` (plain arrays, no pickles). A window is rendered from its notes on demand with
:func:`render` (cheaper than storing ~40k dense rolls, and it lets training augment in note space).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xai.symbolic import timing

# Shared with the product (xai.symbolic.music.encode_for), so uploads are rendered as the training windows were.
from xai.symbolic.timing import apply_pedal, render, window_starts  # noqa: F401

CLASSES: tuple[str, ...] = ("Bach", "Beethoven", "Chopin", "Haydn", "Liszt", "Schubert")
# Too few works for an honest by-work evaluation: Mozart 4 works (16 performances), Schumann 3 (28).
LEFT_OUT: tuple[str, ...] = ("Mozart", "Schumann")

WINDOW_SECONDS = timing.WINDOW_SECONDS
HOP_SECONDS = timing.HOP_SECONDS
FPS = timing.FPS
PITCH_LOW = 21
PITCH_HIGH = 108
N_PITCHES = PITCH_HIGH - PITCH_LOW + 1
N_FRAMES = int(WINDOW_SECONDS * FPS)
PEDAL_THRESHOLD = timing.PEDAL_THRESHOLD
CACHE_VERSION = 1

ARCHIVE = Path(os.environ.get("MUSICXAI_DATA", "/work/shared/data")) / "asap.tar.xz"
ARCHIVE_SHA256 = "871aa7d4cc4398d3026b541d96459f43183a362aafbc26bc4f749ac0423f5942"
VARIANT_SUFFIX = re.compile(r"_(no_repeat|no_2_repeat|no_first_repeat|repeat|no_trio)$")


def cache_dir() -> Path:
    """The data cache of this project (``$MUSICXAI_CACHE`` or ``~/.cache/musicxai``).

    Everything derived from the archive lives there, never in the repository (the data's licence is
    non-commercial share-alike, and the unpacked archive is 334 MB).
    """
    return Path(os.environ.get("MUSICXAI_CACHE", Path.home() / ".cache" / "musicxai"))


def unpack(archive: Path | str = ARCHIVE, dest: Path | str | None = None) -> Path:
    """Unpack the ASAP archive into ``<cache>/asap/`` once and return the folder holding ``metadata.csv``.

    Idempotent: a marker file records a finished unpack, so a second call (or an interrupted first one
    followed by a retry) does the right thing without touching the archive again.
    """
    dest = Path(dest) if dest is not None else cache_dir() / "asap"
    marker = dest / ".unpacked"
    if not marker.exists():
        archive = Path(archive)
        if not archive.exists():
            raise FileNotFoundError(f"ASAP archive not found: {archive}")
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive, "r:xz") as tar:
            tar.extractall(dest, filter="data")
        marker.write_text(archive.name + "\n")
    return data_root(dest)


def data_root(dest: Path | str) -> Path:
    """The folder under ``dest`` that holds ``metadata.csv`` (the archive has a top-level ``asap/``).

    Kept separate from :func:`unpack` so tests and tools can point at any unpacked copy.
    """
    dest = Path(dest)
    for cand in (dest, dest / "asap"):
        if (cand / "metadata.csv").exists():
            return cand
    hits = sorted(dest.glob("*/metadata.csv"))
    if not hits:
        raise FileNotFoundError(f"No metadata.csv under {dest}")
    return hits[0].parent


def work_id(folder: str) -> str:
    """The work a folder belongs to, e.g. ``Beethoven/Piano_Sonatas/18-2_no_repeat`` -> ``Beethoven/Piano_Sonata_18``.

    Cross-validation splits by this id, so that no movement, variant, prelude/fugue partner or other
    performance of a test work is ever seen in training (splitting by performance leaks the piece).
    """
    parts = folder.strip("/").split("/")
    parts[-1] = VARIANT_SUFFIX.sub("", parts[-1])
    composer = parts[0]
    if composer == "Bach" and len(parts) >= 3 and parts[1] in ("Prelude", "Fugue"):
        return f"Bach/WTC_{parts[2]}"  # prelude + fugue of one BWV number
    if len(parts) >= 3 and parts[1] in ("Piano_Sonatas", "Keyboard_Sonatas"):
        number = parts[2].split("-")[0]  # '18-2' -> 18, '31-3_4' -> 31
        return f"{composer}/{parts[1][:-1]}_{number}"
    if len(parts) >= 3 and re.fullmatch(r"Sonata_\d+", parts[1]):
        return f"{composer}/{parts[1]}"  # Chopin/Sonata_2/3rd -> Chopin/Sonata_2
    return "/".join(parts)


@dataclass(frozen=True)
class Recording:
    """One MIDI file of ASAP: a performance or the score of a folder."""

    composer: str
    folder: str
    work: str
    path: str  # relative to the data root
    kind: str  # "performance" or "score"
    performer: str  # "" for scores
    annotations: str  # relative path of the beat annotations ("" if none)
    musicxml: str  # relative path of the folder's score ("" if absent)


def read_metadata(root: Path | str, composers: tuple[str, ...] = CLASSES) -> list[Recording]:
    """Every performance and every folder's score MIDI of the given composers, with its work id.

    Byte-identical performance files (a variant folder may hold a copy of its base folder's file) are kept
    once, so no performance is counted twice.
    """
    root = Path(root)
    with open(root / "metadata.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["composer"] in composers]
    out: list[Recording] = []
    seen_hash: set[str] = set()
    folders: dict[str, dict] = {}
    for r in rows:
        folders.setdefault(r["folder"], r)
        path = root / r["midi_performance"]
        digest = hashlib.sha1(path.read_bytes()).hexdigest()
        if digest in seen_hash:
            continue
        seen_hash.add(digest)
        xml = r["xml_score"] if (root / r["xml_score"]).exists() else ""
        out.append(
            Recording(
                composer=r["composer"],
                folder=r["folder"],
                work=work_id(r["folder"]),
                path=r["midi_performance"],
                kind="performance",
                performer=Path(r["midi_performance"]).stem,
                annotations=r["performance_annotations"],
                musicxml=xml,
            )
        )
    for folder, r in sorted(folders.items()):
        if not (root / r["midi_score"]).exists():
            continue
        digest = hashlib.sha1((root / r["midi_score"]).read_bytes()).hexdigest()
        if digest in seen_hash:
            continue
        seen_hash.add(digest)
        xml = r["xml_score"] if (root / r["xml_score"]).exists() else ""
        out.append(
            Recording(r["composer"], folder, work_id(folder), r["midi_score"], "score", "", r["midi_score_annotations"], xml)
        )
    return out


def pedal_intervals(midi) -> np.ndarray:
    """Sustain-pedal-down intervals (start, end) in seconds from CC64 of all instruments of a pretty_midi object.

    The pedal is down while CC64 >= 64 (:func:`xai.symbolic.timing.pedal_intervals`); a pedal still down at the
    end of the file is released at the file's end.
    """
    ccs = [(c.time, c.value) for inst in midi.instruments for c in inst.control_changes if c.number == 64]
    return timing.pedal_intervals(ccs, midi.get_end_time())


def read_notes(path: Path | str, *, pedal: bool = True, constant_velocity: float | None = None) -> np.ndarray:
    """Notes of a MIDI file as an (N, 4) float32 array (onset s, offset s, pitch, velocity/127), sorted by onset.

    Times are in seconds by the file's own tempo map (pretty_midi), so a score MIDI is "played" at its
    notated tempo. ``pedal`` honours CC64 (see :func:`apply_pedal`); ``constant_velocity`` replaces every
    velocity (used for scores, whose velocities carry no performance information).
    """
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(path))
    rows = [(n.start, n.end, n.pitch, n.velocity / 127.0) for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    notes = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    if pedal:
        notes = apply_pedal(notes, pedal_intervals(midi))
    if constant_velocity is not None:
        notes[:, 3] = constant_velocity
    notes = notes[np.argsort(notes[:, 0], kind="stable")]
    return notes.astype(np.float32)


def read_beats(path: Path | str) -> np.ndarray:
    """Beat times in seconds from an ASAP ``*_annotations.txt`` file (first column), sorted and strictly increasing."""
    times = []
    with open(path) as f:
        for line in f:
            if line.strip():
                times.append(float(line.split("\t")[0].split()[0]))
    t = np.asarray(sorted(times), dtype=np.float64)
    if len(t) > 1:
        t = t[np.concatenate([[True], np.diff(t) > 1e-6])]
    return t


def quantise_to_beats(notes: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Re-time a performance at a constant tempo: its expressive timing removed, its notes kept.

    Each onset and offset time is mapped to a beat position by piecewise-linear interpolation between the
    annotated beats (linear extrapolation with the first/last inter-beat interval outside them), then
    back to seconds at the performance's mean tempo: ``t' = beats[0] + position * mean_ibi`` with
    ``mean_ibi = (beats[-1] - beats[0]) / (len(beats) - 1)``. Together with flattened velocities this is the
    "notes only" input: what the score says, at the speed this pianist took on average.
    """
    notes = np.array(notes, dtype=np.float64, copy=True)
    beats = np.asarray(beats, dtype=np.float64)
    if len(beats) < 2 or len(notes) == 0:
        return notes.astype(np.float32)
    idx = np.arange(len(beats), dtype=np.float64)
    mean_ibi = (beats[-1] - beats[0]) / (len(beats) - 1)

    def to_pos(t: np.ndarray) -> np.ndarray:
        pos = np.interp(t, beats, idx)
        first, last = beats[1] - beats[0], beats[-1] - beats[-2]
        pos = np.where(t < beats[0], (t - beats[0]) / first, pos)
        return np.where(t > beats[-1], len(beats) - 1 + (t - beats[-1]) / last, pos)

    for c in (0, 1):
        notes[:, c] = beats[0] + to_pos(notes[:, c]) * mean_ibi
    notes[:, 1] = np.maximum(notes[:, 1], notes[:, 0] + 1e-3)
    return notes.astype(np.float32)




def cache_path() -> Path:
    """Where :func:`build_cache` writes its ``.npz``."""
    return cache_dir() / "asap" / f"asap_windows_v{CACHE_VERSION}.npz"


def build_cache(root: Path | str | None = None, *, force: bool = False, log=print) -> Path:
    """Read every recording of :data:`CLASSES`, and save notes, notes-only notes and window tables as one ``.npz``.

    Scores get a constant velocity of 1.0 (the same value the notes-only input uses) and no notes-only
    variant. A performance whose annotations cannot be read keeps its notes-only notes equal to its notes
    with velocity flattened (logged). Returns the path of the cache file.
    """
    out = cache_path()
    if out.exists() and not force:
        return out
    root = Path(root) if root is not None else unpack()
    recs = read_metadata(root)
    notes_all, q_all, meta = [], [], []
    for i, r in enumerate(recs):
        if r.kind == "score":
            notes = read_notes(root / r.path, pedal=False, constant_velocity=1.0)
            q = notes
        else:
            notes = read_notes(root / r.path, pedal=True)
            try:
                q = quantise_to_beats(notes, read_beats(root / r.annotations))
            except (OSError, ValueError) as e:  # pragma: no cover - data problem
                log(f"no beats for {r.path}: {e}")
                q = notes
            q = q.copy()
            q[:, 3] = 1.0
        notes_all.append(notes)
        q_all.append(q)
        meta.append(r)
        if i % 100 == 0:
            log(f"read {i}/{len(recs)} {r.path}")
    ws = [window_starts(n) for n in notes_all]
    wq = [window_starts(n) for n in q_all]

    def offsets(parts):
        return np.concatenate([[0], np.cumsum([len(x) for x in parts])]).astype(np.int64)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        notes=np.concatenate(notes_all).astype(np.float32),
        note_offsets=offsets(notes_all),
        notes_q=np.concatenate(q_all).astype(np.float32),
        note_q_offsets=offsets(q_all),
        win_rec=np.concatenate([np.full(len(w), i) for i, w in enumerate(ws)]).astype(np.int64),
        win_start=np.concatenate(ws).astype(np.float32),
        winq_rec=np.concatenate([np.full(len(w), i) for i, w in enumerate(wq)]).astype(np.int64),
        winq_start=np.concatenate(wq).astype(np.float32),
        composer=np.array([r.composer for r in meta]),
        folder=np.array([r.folder for r in meta]),
        work=np.array([r.work for r in meta]),
        path=np.array([r.path for r in meta]),
        kind=np.array([r.kind for r in meta]),
        performer=np.array([r.performer for r in meta]),
        annotations=np.array([r.annotations for r in meta]),
        musicxml=np.array([r.musicxml for r in meta]),
        classes=np.array(CLASSES),
    )
    tmp.replace(out)
    return out


class Dataset:
    """The cached ASAP recordings and windows, with per-recording note access.

    Thin wrapper over the ``.npz`` of :func:`build_cache`: ``notes(i)`` / ``notes_q(i)`` give recording i's
    notes; ``win_rec``/``win_start`` (and ``winq_*`` for notes-only) list the windows.
    """

    def __init__(self, path: Path | str | None = None):
        z = np.load(path or cache_path(), allow_pickle=False)
        self._notes, self._off = z["notes"], z["note_offsets"]
        self._notes_q, self._off_q = z["notes_q"], z["note_q_offsets"]
        self.win_rec, self.win_start = z["win_rec"], z["win_start"]
        self.winq_rec, self.winq_start = z["winq_rec"], z["winq_start"]
        for k in ("composer", "folder", "work", "path", "kind", "performer", "annotations", "musicxml"):
            setattr(self, k, z[k].astype(str))
        self.classes = tuple(z["classes"].astype(str))
        self.label = np.array([self.classes.index(c) for c in self.composer])
        self.is_score = self.kind == "score"

    def __len__(self) -> int:
        return len(self.composer)

    def notes(self, i: int) -> np.ndarray:
        """Notes of recording i (pedal applied)."""
        return self._notes[self._off[i] : self._off[i + 1]]

    def notes_q(self, i: int) -> np.ndarray:
        """Notes-only notes of recording i (beat-quantised, velocity 1.0)."""
        return self._notes_q[self._off_q[i] : self._off_q[i + 1]]


if __name__ == "__main__":  # pragma: no cover
    import time

    t = time.time()
    print(unpack())
    print(build_cache(force=False), f"{time.time() - t:.0f} s")


# ----------------------------------------------------------------------------------------------------------
# Folds and metrics shared by the baseline and the network (so both are measured on the same split).

SEED = 20240611
N_FOLDS = 5


def work_labels(works: np.ndarray, labels: np.ndarray) -> dict[str, int]:
    """Each work's composer label (every recording of a work has the same one), keyed by work id."""
    return {w: int(labels[np.flatnonzero(works == w)[0]]) for w in sorted(set(works.tolist()))}


def work_folds(works: np.ndarray, labels: np.ndarray, *, n_folds: int = N_FOLDS, seed: int = SEED) -> dict[str, int]:
    """Assign every work to one of ``n_folds`` folds, stratified by composer, with a fixed seed.

    This is a group k-fold whose groups are works: the works (not the windows or performances) are
    shuffled and dealt into folds per composer, so each fold tests about a fifth of every composer's
    works and no work is ever on both sides (splitting by performance leaks the piece).
    """
    from sklearn.model_selection import StratifiedKFold

    lab = work_labels(works, labels)
    uniq = sorted(lab)
    y = np.array([lab[w] for w in uniq])
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    out: dict[str, int] = {}
    for k, (_, test) in enumerate(skf.split(np.zeros(len(uniq)), y)):
        for i in test:
            out[uniq[i]] = k
    return out


def summarize(
    y_true: np.ndarray, logp: np.ndarray, works: np.ndarray, recs: np.ndarray, classes: tuple[str, ...] = CLASSES
) -> dict:
    """Window, performance and work metrics from per-window log-probabilities.

    A performance's or work's prediction is the class with the highest mean log-probability over its
    windows (a soft majority vote). Returns accuracy, balanced accuracy, per-class F1 and the confusion
    matrix (rows true, columns predicted) at the window level, and accuracy / balanced accuracy /
    confusion at the work level.
    """
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score

    k = len(classes)
    pred = logp.argmax(1)
    out = {
        "n_windows": int(len(y_true)),
        "window_accuracy": float((pred == y_true).mean()),
        "balanced_window_accuracy": float(balanced_accuracy_score(y_true, pred)),
        "per_class_f1": dict(zip(classes, map(float, f1_score(y_true, pred, labels=range(k), average=None, zero_division=0)))),
        "confusion": confusion_matrix(y_true, pred, labels=range(k)).tolist(),
    }
    for name, groups in (("performance", recs), ("work", works)):
        g_uniq, g_idx = np.unique(groups, return_inverse=True)
        s = np.zeros((len(g_uniq), k))
        np.add.at(s, g_idx, logp)
        g_true = np.zeros(len(g_uniq), dtype=int)
        g_true[g_idx] = y_true
        g_pred = s.argmax(1)
        out[f"n_{name}s"] = int(len(g_uniq))
        out[f"{name}_accuracy"] = float((g_pred == g_true).mean())
        out[f"balanced_{name}_accuracy"] = float(balanced_accuracy_score(g_true, g_pred))
        if name == "work":
            out["work_confusion"] = confusion_matrix(g_true, g_pred, labels=range(k)).tolist()
            out["work_per_class_f1"] = dict(
                zip(classes, map(float, f1_score(g_true, g_pred, labels=range(k), average=None, zero_division=0)))
            )
            out["works_wrong"] = {str(g): classes[p] for g, p, t in zip(g_uniq, g_pred, g_true) if p != t}
    return out


def aggregate(per_fold: list[dict], classes: tuple[str, ...] = CLASSES) -> dict:
    """Mean and std over folds of the scalar metrics, per-class F1 means, confusion matrices summed."""
    keys = [k for k, v in per_fold[0].items() if isinstance(v, float)]
    out = {k: {"mean": float(np.mean([f[k] for f in per_fold])), "std": float(np.std([f[k] for f in per_fold]))} for k in keys}
    out["per_class_f1"] = {c: float(np.mean([f["per_class_f1"][c] for f in per_fold])) for c in classes}
    out["work_per_class_f1"] = {c: float(np.mean([f["work_per_class_f1"][c] for f in per_fold])) for c in classes}
    out["confusion_summed"] = np.sum([f["confusion"] for f in per_fold], axis=0).tolist()
    out["work_confusion_summed"] = np.sum([f["work_confusion"] for f in per_fold], axis=0).tolist()
    out["works_wrong"] = {w: p for f in per_fold for w, p in f["works_wrong"].items()}
    return out
