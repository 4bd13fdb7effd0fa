"""Piano rolls in seconds: what a model trained on performances reads (sustain pedal, velocities, 20-s windows).

A performance has no reliable beat grid: its notes are where the pianist played them. Models trained on
performances (``piano_composer``) therefore read windows of *seconds* at a fixed frame rate, and these are the
functions that render them, shared by the training data builder (:mod:`training.asap`) and the product
(:func:`xai.symbolic.music.encode_for`), so an upload is rendered exactly as the training windows were.

Everything here works on plain arrays: notes as an (N, 4) array of onset second, offset second, MIDI pitch and
velocity in 0..1, pedal-down intervals as (K, 2) seconds. Nothing here imports :mod:`xai.symbolic.music`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = [
    "WINDOW_SECONDS",
    "HOP_SECONDS",
    "FPS",
    "PEDAL_THRESHOLD",
    "pedal_intervals",
    "apply_pedal",
    "window_starts",
    "render",
    "is_performed",
    "read_annotations",
]

WINDOW_SECONDS = 20.0
HOP_SECONDS = 10.0
FPS = 10
PITCH_LOW = 21
PITCH_HIGH = 108
N_PITCHES = PITCH_HIGH - PITCH_LOW + 1
PEDAL_THRESHOLD = 64  # CC64 at or above this value: the sustain pedal is down


def pedal_intervals(events: Iterable[tuple[float, int]], end: float) -> np.ndarray:
    """Sustain-pedal-down intervals (start, end) from CC64 events ``(time, value)``, shape (K, 2).

    The pedal is down while CC64 >= 64. A pedal still down at the end of the music is released at ``end``.
    Times may be seconds or beats: the intervals come back in the unit they went in.
    """
    out, down = [], None
    for t, v in sorted(events, key=lambda x: x[0]):
        if v >= PEDAL_THRESHOLD and down is None:
            down = t
        elif v < PEDAL_THRESHOLD and down is not None:
            out.append((down, t))
            down = None
    if down is not None:
        out.append((down, max(end, down)))
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def apply_pedal(notes: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """Extend each note released while the pedal is down until the pedal's release.

    A sounding piano string keeps sounding under the pedal, so the piano roll should show it held. A
    re-struck pitch cuts its previous note (the hammer stops the old sound), so extended offsets are
    clipped at the next onset of the same pitch.

    Parameters
    ----------
    notes : ndarray
        (N, 4) onset, offset, pitch, velocity.
    intervals : ndarray
        (K, 2) pedal-down intervals from :func:`pedal_intervals`, sorted by start, in the notes' unit.

    Returns
    -------
    ndarray
        A float64 copy of ``notes`` with offsets extended.
    """
    notes = np.array(notes, dtype=np.float64, copy=True)
    intervals = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    if len(notes) == 0 or len(intervals) == 0:
        return notes
    off = notes[:, 1]
    k = np.searchsorted(intervals[:, 0], off, side="right") - 1  # last pedal press at or before the release
    inside = (k >= 0) & (off < intervals[np.maximum(k, 0), 1])
    new_off = np.where(inside, intervals[np.maximum(k, 0), 1], off)
    order = np.lexsort((notes[:, 0], notes[:, 2]))
    p, on = notes[order, 2], notes[order, 0]
    nxt = np.full(len(order), np.inf)
    same = p[1:] == p[:-1]
    nxt[:-1][same] = on[1:][same]
    limit = np.empty(len(order))
    limit[order] = nxt
    notes[:, 1] = np.maximum(np.minimum(new_off, np.maximum(limit, off)), off)
    return notes


def window_starts(notes: np.ndarray, window: float = WINDOW_SECONDS, hop: float = HOP_SECONDS) -> np.ndarray:
    """Start seconds of the windows of one recording: from its first onset, every ``hop``, while a window fits.

    A recording shorter than one window gets one window (silent after the music ends). The last seconds
    after the last whole window (less than ``hop``) are read only by the windows that overlap them.
    """
    if len(notes) == 0:
        return np.zeros(0, dtype=np.float32)
    t0 = float(np.floor(notes[:, 0].min()))
    end = float(notes[:, 1].max())
    n = max(1, int(np.floor((end - t0 - window) / hop)) + 1)
    return (t0 + hop * np.arange(n)).astype(np.float32)


def render(
    notes: np.ndarray,
    start: float,
    *,
    n_frames: int = int(WINDOW_SECONDS * FPS),
    fps: int = FPS,
    flat_velocity: bool = False,
    transpose: int = 0,
) -> np.ndarray:
    """The (2, 88, n_frames) float32 piano roll of the notes in [start, start + n_frames / fps).

    Channel 0 holds onsets carrying velocity (or 1.0 with ``flat_velocity``), channel 1 is 1.0 wherever a
    note sounds (pedal already applied to the notes). Frame f covers [start + f/fps, start + (f+1)/fps);
    a note sounds from its onset frame up to the frame containing its offset (at least one frame).
    Pitches outside MIDI 21..108 (also after ``transpose``) are dropped.
    """
    roll = np.zeros((2, N_PITCHES, n_frames), dtype=np.float32)
    if len(notes) == 0:
        return roll
    end = start + n_frames / fps
    sel = (notes[:, 1] > start) & (notes[:, 0] < end)
    n = notes[sel]
    p = n[:, 2].astype(np.int64) + transpose - PITCH_LOW
    ok = (p >= 0) & (p < N_PITCHES)
    n, p = n[ok], p[ok]
    if len(n) == 0:
        return roll
    f_on = np.floor((n[:, 0] - start) * fps + 1e-6).astype(np.int64)
    f_off = np.maximum(np.ceil((n[:, 1] - start) * fps - 1e-6).astype(np.int64), f_on + 1)
    vel = np.ones(len(n), dtype=np.float32) if flat_velocity else n[:, 3].astype(np.float32)
    on_ok = (f_on >= 0) & (f_on < n_frames)
    np.maximum.at(roll[0], (p[on_ok], f_on[on_ok]), vel[on_ok])
    diff = np.zeros((N_PITCHES, n_frames + 1), dtype=np.int32)
    np.add.at(diff, (p, np.clip(f_on, 0, n_frames)), 1)
    np.add.at(diff, (p, np.clip(f_off, 0, n_frames)), -1)
    roll[1] = np.cumsum(diff, axis=1)[:, :n_frames] > 0
    return roll


def is_performed(onsets_beats: np.ndarray, *, min_notes: int = 16, grid: int = 48, on_grid: float = 0.6) -> bool:
    """True when note onsets fall off any notated grid: a recorded performance, not a score.

    A score (or a quantised MIDI file) puts nearly every onset on a grid of 1/48 of a quarter (sixteenth
    triplets and thirty-seconds included); a performance recorded at a fixed MIDI tempo puts its onsets
    anywhere. With fewer than ``min_notes`` notes there is no telling, and the music counts as a score.
    """
    on = np.asarray(onsets_beats, dtype=np.float64)
    if on.size < min_notes:
        return False
    frac = np.abs(on * grid - np.round(on * grid))
    return float(np.mean(frac < 0.02)) < on_grid


def read_annotations(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Beat and downbeat times (seconds) from an ASAP ``*_annotations.txt`` file's text.

    Each line is ``time<TAB>time<TAB>label`` with the label ``b`` (beat) or ``db`` (downbeat, optionally followed by
    ``,time signature,key``). Returns (beats, downbeats), each sorted; downbeats are also beats. Malformed lines
    are skipped; a ValueError says when no beat could be read.
    """
    beats, downs = [], []
    for line in text.splitlines():
        cols = line.replace("\t", " ").split()
        if len(cols) < 2:
            continue
        try:
            t = float(cols[0])
        except ValueError:
            continue
        if not np.isfinite(t):
            continue
        beats.append(t)
        if cols[-1].split(",")[0] == "db":
            downs.append(t)
    if not beats:
        raise ValueError("no beats in the annotations")
    return np.unique(np.asarray(beats)), np.unique(np.asarray(downs))
