"""Mid-level musical features computed exactly from a clip's score.

These are the named bottleneck of the interpretable audio style classifier (audio -> mid-level features ->
classes, after Chowdhury et al. 2019 and Hoedt et al. 2025): the network is trained to predict them from the
sound, and its class decision is a linear function of them, so an explanation can say "it heard dense,
low, dissonant music" in words a musician can check against the score.

Every feature is a function of a :class:`~xai.symbolic.music.Piece` excerpt (times converted to seconds through the
piece's tempo map) and of the excerpt length in seconds, documented with its unit. Notes are taken as
written (after the transposition the renderer applied), not as heard, so the targets carry no
estimation noise.
"""

from __future__ import annotations

import numpy as np

from xai.symbolic.music import Piece

__all__ = [
    "FEATURES",
    "FEATURE_DESCRIPTIONS",
    "note_density",
    "register",
    "pitch_range",
    "articulation",
    "dissonance",
    "mode",
    "polyphony",
    "rhythmic_regularity",
    "features",
]

FRAME_RATE = 20.0  # frames per second of the grid on which simultaneity is measured

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Interval classes heard as dissonant in common-practice terms: m2/M7, M2/m7, tritone.
_DISSONANT_IC = np.array([False, True, True, False, False, False, True])


def _times(piece: Piece, seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Onsets and offsets in seconds (clipped to the excerpt), pitches and parts of the notes that sound."""
    on = np.asarray(piece.seconds(piece.onsets), dtype=float).reshape(-1)
    off = np.asarray(piece.seconds(piece.onsets + piece.durations), dtype=float).reshape(-1)
    keep = (on < seconds) & (off > 0)
    return np.maximum(on[keep], 0.0), np.minimum(off[keep], seconds), piece.pitches[keep].astype(int), piece.parts[keep]


def _grid(on: np.ndarray, off: np.ndarray, pitches: np.ndarray, seconds: float) -> np.ndarray:
    """(frames, 128) boolean: which MIDI pitches sound in each frame of 1/FRAME_RATE s."""
    n = max(1, int(np.ceil(seconds * FRAME_RATE)))
    g = np.zeros((n, 128), dtype=bool)
    a = np.clip(np.floor(on * FRAME_RATE).astype(int), 0, n - 1)
    b = np.clip(np.ceil(off * FRAME_RATE).astype(int), a + 1, n)
    for s, e, p in zip(a, b, pitches):
        g[s:e, p] = True
    return g


def note_density(piece: Piece, seconds: float) -> float:
    """Notes per second: how many notes start in the excerpt, divided by its length."""
    on, _, _, _ = _times(piece, seconds)
    return float(np.count_nonzero(on < seconds)) / seconds


def register(piece: Piece, seconds: float) -> float:
    """Mean MIDI pitch, weighted by how long each note sounds (60 = middle C). 0 for an empty excerpt."""
    on, off, p, _ = _times(piece, seconds)
    w = off - on
    return float(np.sum(w * p) / np.sum(w)) if w.sum() > 0 else 0.0


def pitch_range(piece: Piece, seconds: float) -> float:
    """Semitones from the lowest to the highest note."""
    _, _, p, _ = _times(piece, seconds)
    return float(p.max() - p.min()) if p.size else 0.0


def articulation(piece: Piece, seconds: float) -> float:
    """Legato ratio: mean of (sounding duration / inter-onset interval to the next note of the same part).

    1 means each note lasts until the next one starts (legato); 0.5 means notes last half the gap
    (staccato-like). Overlaps count as 1. Notes without a later note in their part are left out; an
    excerpt without any such pair gets 1.
    """
    on, off, _, parts = _times(piece, seconds)
    ratios = []
    for k in np.unique(parts):
        o = on[parts == k]
        d = (off - on)[parts == k]
        starts = np.unique(o)
        if starts.size < 2:
            continue
        nxt = np.searchsorted(starts, o, side="right")
        has = nxt < starts.size
        ioi = starts[nxt[has]] - o[has]
        ratios.append(np.minimum(d[has] / ioi, 1.0))
    return float(np.mean(np.concatenate(ratios))) if ratios else 1.0


def dissonance(piece: Piece, seconds: float) -> float:
    """Share of dissonant intervals among all pairs of simultaneously sounding pitch classes.

    On a 20-frames-per-second grid, every pair of distinct pitch classes sounding together is one
    interval; m2/M7, M2/m7 and the tritone count as dissonant. Averaged over frames with at least two
    pitch classes; 0 for monophonic music.
    """
    on, off, p, _ = _times(piece, seconds)
    g = _grid(on, off, p, seconds)
    pc = np.zeros((g.shape[0], 12), dtype=bool)
    for c in range(12):
        pc[:, c] = g[:, c::12].any(axis=1)
    vals = []
    for row in pc[pc.sum(axis=1) >= 2]:
        cls = np.flatnonzero(row)
        d = np.abs(cls[:, None] - cls[None, :])[np.triu_indices(cls.size, 1)]
        ic = np.minimum(d, 12 - d)
        vals.append(_DISSONANT_IC[ic].mean())
    return float(np.mean(vals)) if vals else 0.0


def mode(piece: Piece, seconds: float) -> float:
    """Major-minus-minor strength: best Krumhansl-Kessler major-key correlation minus best minor-key one.

    The duration-weighted pitch-class histogram is correlated with the 12 rotations of each profile;
    positive values lean major, negative lean minor (range about -1 to 1). 0 for an empty excerpt.
    """
    on, off, p, _ = _times(piece, seconds)
    h = np.bincount(p % 12, weights=off - on, minlength=12)
    if h.sum() <= 0 or np.allclose(h, h[0]):
        return 0.0
    best = []
    for prof in (_MAJOR, _MINOR):
        r = [np.corrcoef(h, np.roll(prof, k))[0, 1] for k in range(12)]
        best.append(np.nanmax(r))
    return float(best[0] - best[1])


def polyphony(piece: Piece, seconds: float) -> float:
    """Mean number of notes sounding together, over the frames where anything sounds."""
    on, off, p, _ = _times(piece, seconds)
    g = _grid(on, off, p, seconds)
    n = g.sum(axis=1)
    return float(n[n > 0].mean()) if np.any(n > 0) else 0.0


def rhythmic_regularity(piece: Piece, seconds: float) -> float:
    """1 / (1 + coefficient of variation) of the gaps between successive onset times (any part).

    Equal gaps (a steady pulse of notes) give 1; mixed long and short gaps lower it. Onsets closer than
    10 ms count as one. An excerpt with fewer than three onsets gets 1.
    """
    on, _, _, _ = _times(piece, seconds)
    t = np.unique(np.round(on, 2))
    if t.size < 3:
        return 1.0
    ioi = np.diff(t)
    return float(1.0 / (1.0 + ioi.std() / ioi.mean()))


FEATURES = (
    "note_density", "register", "pitch_range", "articulation", "dissonance", "mode", "polyphony",
    "rhythmic_regularity",
)
FEATURE_DESCRIPTIONS = {name: globals()[name].__doc__.strip().splitlines()[0] for name in FEATURES}


def features(piece: Piece, seconds: float) -> np.ndarray:
    """All :data:`FEATURES` of an excerpt, in that order, as float32."""
    return np.array([globals()[name](piece, seconds) for name in FEATURES], dtype=np.float32)
