"""The baseline the CNN must beat: pitch-class and interval histograms with logistic regression.

Features per window (from the notes, not the roll): a duration-weighted pitch-class histogram (12), a
melodic-interval histogram within each part (-12..+12 semitones, clipped: 25), and a harmonic-interval
histogram of notes starting together (0..11 semitones mod 12: 12). Each histogram is normalised to sum 1.
"""

from __future__ import annotations

import numpy as np

from xai.symbolic import music

N_FEATURES = 12 + 25 + 12


def window_features(piece: music.Piece, wins: list[music.Window]) -> np.ndarray:
    """Histogram features of each window, shape (N, 49)."""
    out = np.zeros((len(wins), N_FEATURES), dtype=np.float64)
    on, dur, pitch, part = piece.onsets, piece.durations, piece.pitches.astype(int), piece.parts
    for i, w in enumerate(wins):
        sel = np.flatnonzero((on >= w.start_beat) & (on < w.end_beat))
        if sel.size == 0:
            continue
        pc = np.bincount(pitch[sel] % 12, weights=dur[sel], minlength=12)
        mel = np.zeros(25)
        for k in np.unique(part[sel]):
            s = sel[part[sel] == k]
            s = s[np.argsort(on[s], kind="stable")]
            iv = np.clip(np.diff(pitch[s]), -12, 12) + 12
            mel += np.bincount(iv, minlength=25)
        har = np.zeros(12)
        for t in np.unique(on[sel]):
            ps = np.sort(pitch[sel][on[sel] == t])
            if ps.size > 1:
                har += np.bincount((ps[1:] - ps[0]) % 12, minlength=12)
        feats = [pc, mel, har]
        out[i] = np.concatenate([f / f.sum() if f.sum() > 0 else f for f in feats])
    return out


def fit(X: np.ndarray, y: np.ndarray, *, seed: int = 0):
    """Standardised multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0, random_state=seed))
    return clf.fit(X, y)
