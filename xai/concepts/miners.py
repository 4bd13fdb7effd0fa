"""Built-in concept miners: small musical rules that say whether an excerpt shows a concept.

Each miner reads one excerpt (a :class:`xai.symbolic.music.Piece` sliced to a 16-quarter model window, though any
length works) and answers ``True`` or ``False`` from the notes, bars and parts alone. They never look at the
classifier or at class labels, so the concepts they find are independent of what is being explained; the
shipped sets (``python -m training.concept_sets build``) record which classes the examples came from so that a
concept that is mostly one class can be read with that confound in mind.

The rules are deliberately simple and documented with their thresholds (module constants), so a musicologist
can judge what a concept means before trusting a TCAV score about it. Melodic rules read each part's top line
(the highest note of each onset), so a chord in one part counts once.

Times are in quarters from the excerpt's start, which is a bar line. When bars last 3 or 6 quarters, the
meter (3/4 or 6/8; 3/2 or 12/8) is read from the rhythm (:func:`beat_length`); the corpus cache carries no
time signatures.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xai.symbolic import music

__all__ = [
    "MINERS",
    "bar_length",
    "beat_length",
    "homophonic",
    "imitation",
    "parallel_thirds_sixths",
    "chromaticism",
    "pedal_point",
    "pedal_spans",
    "tactus",
    "dotted_rhythm",
    "syncopation",
    "monophonic",
    "wide_leaps",
    "scale_run",
    "triple_meter",
]

# Thresholds (quarters, semitones, counts). Named so the docstrings, the tests and the shipped report agree.
HOMOPHONY_SHARE = 0.7
HOMOPHONY_MIN_NOTES = 12
MOTIF_NOTES = 5
IMITATION_DELAY = (1.0, 8.0)
IMITATION_TOLERANCE = 0  # semitones an interval may differ by (1 would accept tonal answers)
PARALLEL_MIN = 4
CHROMATIC_MIN_PCS = 3
CHROMATIC_MIN_SHARE = 0.1
PEDAL_MIN_BEATS = 6  # beats of the piece's tactus (not quarters)
PEDAL_MIN_CHANGES = 3  # changes of harmony above the pedal
PEDAL_NEW_PCS = 2  # new pitch classes that make a change of harmony
DOTTED_MIN = 3
SYNCOPATION_MIN = 3
MONOPHONIC_MIN_NOTES = 8
LEAP_SEMITONES = 8
LEAP_MIN = 3
LEAP_MAX_REST = 0.5
RUN_NOTES = 5
RUN_MAX_IOI = 0.5
TRIPLE_BAR_LENGTHS = (1.5, 3.0, 4.5, 6.0)

_TOL = 1e-3
_GRID = music.STEPS_PER_QUARTER


# ----------------------------------------------------------------------------------------------- helpers


def _lines(piece: music.Piece) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each part's top line: (onsets, durations, pitches), one note per onset (the highest), in time order."""
    out = []
    for k in np.unique(piece.parts):
        sel = np.flatnonzero(piece.parts == k)
        order = sel[np.lexsort((-piece.pitches[sel].astype(int), piece.onsets[sel]))]
        on = piece.onsets[order]
        first = np.concatenate([[True], np.diff(on) > _TOL]) if on.size else np.zeros(0, bool)
        keep = order[first]
        out.append((piece.onsets[keep], piece.durations[keep], piece.pitches[keep].astype(int)))
    return out


def _sounding(piece: music.Piece) -> tuple[np.ndarray, np.ndarray]:
    """Sixteenth-grid steps each note sounds on: (start, end) step indices, at least one step per note."""
    start = np.round(piece.onsets * _GRID).astype(int)
    end = np.maximum(start + 1, np.round((piece.onsets + piece.durations) * _GRID).astype(int))
    return start, end


def _polyphony(piece: music.Piece) -> np.ndarray:
    """Number of notes sounding at each sixteenth step."""
    start, end = _sounding(piece)
    T = int(end.max()) if end.size else 0
    diff = np.zeros(T + 1, dtype=int)
    np.add.at(diff, start, 1)
    np.add.at(diff, end, -1)
    return np.cumsum(diff[:T])


def bar_length(piece: music.Piece) -> float | None:
    """The usual bar length in quarters: the median bar of the excerpt, else its time signature, else None."""
    diffs = np.diff(piece.bar_starts)
    if diffs.size:
        return float(np.median(diffs))
    for _, ratio in piece.time_signatures[:1]:
        try:
            num, den = (int(x) for x in ratio.split("/"))
            return num * 4.0 / den
        except ValueError:
            return None
    return None


def beat_length(piece: music.Piece) -> float:
    """The beat in quarters: 1.5 in compound meter (6/8, 9/8, 12/8, 3/8), else 1.

    Bars of 1.5 or 4.5 quarters are compound. Bars of 3 or 6 quarters are 3/4 or 3/2 unless long notes (a
    quarter or more) start more often on the dotted-quarter beats that are off the quarter grid (1.5, 4.5 in
    the bar) than on the quarter beats that are off the dotted-quarter grid (1, 2, 4, 5): then 6/8 or 12/8.
    """
    L = bar_length(piece)
    if L is None:
        return 1.0
    if abs(L - 1.5) < _TOL or abs(L - 4.5) < _TOL:
        return 1.5
    if not (abs(L - 3.0) < _TOL or abs(L - 6.0) < _TOL) or piece.n_notes == 0:
        return 1.0
    pos = _position_in_bar(piece, piece.onsets)
    long = piece.durations >= 1.0 - _TOL
    on_quarter = np.abs(pos - np.round(pos)) < _TOL
    on_dotted = np.abs(pos / 1.5 - np.round(pos / 1.5)) < _TOL
    compound = np.count_nonzero(long & on_dotted & ~on_quarter)
    simple = np.count_nonzero(long & on_quarter & ~on_dotted)
    return 1.5 if compound > simple else 1.0


def _position_in_bar(piece: music.Piece, t: np.ndarray) -> np.ndarray:
    bars = piece.bar_starts if piece.bar_starts.size else np.zeros(1)
    i = np.clip(np.searchsorted(bars, t + _TOL, side="right") - 1, 0, bars.size - 1)
    return t - np.minimum(bars[i], t)


def _doc(f: Callable) -> str:
    """The first paragraph of a docstring, on one line: the miner's rule as shown to users."""
    first = (f.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(first.split())


# ------------------------------------------------------------------------------------------------ miners


def homophonic(piece: music.Piece) -> bool:
    """Chordal (homophonic) texture: at least 70% of the notes start together with notes in two or more other
    parts (three or more parts attack at once), over at least 12 notes.

    Hymn and chorale settings, falsobordone and homorhythmic madrigal passages qualify; imitative polyphony,
    where voices enter and move at different times, does not.
    """
    if piece.n_notes < HOMOPHONY_MIN_NOTES or np.unique(piece.parts).size < 3:
        return False
    t = np.round(piece.onsets / _TOL).astype(np.int64)
    pairs = np.unique(np.stack([t, piece.parts.astype(np.int64)], axis=1), axis=0)
    times, n_parts = np.unique(pairs[:, 0], return_counts=True)
    parts_at = n_parts[np.searchsorted(times, t)]
    return bool(np.mean(parts_at >= 3) >= HOMOPHONY_SHARE)


def imitation(piece: music.Piece) -> bool:
    """Imitative counterpoint: a motif of 5 consecutive notes in one part (4 melodic intervals, not all
    repeated notes) comes back in another part, transposed or not, with the same intervals in semitones and
    the same rhythm, entering 1 to 8 quarters later.

    Points of imitation, canons and fugal entries qualify; voices moving together (delay 0) do not, nor do
    tonal answers that alter an interval.
    """
    m = MOTIF_NOTES - 1
    motifs = []
    for on, _dur, pit in _lines(piece):
        if on.size < MOTIF_NOTES:
            motifs.append(None)
            continue
        idx = np.arange(on.size - m)[:, None] + np.arange(MOTIF_NOTES)[None, :]
        iv = np.diff(pit[idx], axis=1)
        ioi = np.diff(on[idx], axis=1)
        ok = np.any(iv != 0, axis=1)
        motifs.append((on[idx[:, 0]][ok], iv[ok], ioi[ok]))
    lo, hi = IMITATION_DELAY
    for a, ma in enumerate(motifs):
        for b, mb in enumerate(motifs):
            if a == b or ma is None or mb is None or not ma[0].size or not mb[0].size:
                continue
            delay = mb[0][None, :] - ma[0][:, None]
            ia, ib = ma[1][:, None, :], mb[1][None, :, :]
            same_iv = np.all((np.sign(ia) == np.sign(ib)) & (np.abs(ia - ib) <= IMITATION_TOLERANCE), axis=2)
            same_rhythm = np.all(np.abs(ma[2][:, None, :] - mb[2][None, :, :]) < _TOL, axis=2)
            if np.any(same_iv & same_rhythm & (delay >= lo - _TOL) & (delay <= hi + _TOL)):
                return True
    return False


def parallel_thirds_sixths(piece: music.Piece) -> bool:
    """Parallel thirds or sixths: two parts move together in the same direction from a third to a third or a
    sixth to a sixth (compound intervals included) at least 4 times, counting consecutive notes both parts
    start at the same moment.

    Typical of duet writing, fauxbourdon and galant textures.
    """
    lines = _lines(piece)
    good = {3, 4, 8, 9}
    for a in range(len(lines)):
        for b in range(a + 1, len(lines)):
            on_a, _, p_a = lines[a]
            on_b, _, p_b = lines[b]
            common, ia, ib = np.intersect1d(np.round(on_a / _TOL), np.round(on_b / _TOL), return_indices=True)
            if common.size < 2:
                continue
            step = (np.diff(ia) == 1) & (np.diff(ib) == 1)  # consecutive notes in both parts
            da, db = np.diff(p_a[ia]), np.diff(p_b[ib])
            ic = np.abs(p_a[ia] - p_b[ib]) % 12
            third_or_sixth = np.isin(ic, list(good))
            same_kind = (ic[:-1] // 5) == (ic[1:] // 5)  # 3,4 -> 0; 8,9 -> 1
            parallel = step & (da != 0) & (np.sign(da) == np.sign(db)) & third_or_sixth[:-1] & third_or_sixth[1:]
            if np.count_nonzero(parallel & same_kind) >= PARALLEL_MIN:
                return True
    return False


_DIATONIC = np.array([0, 2, 4, 5, 7, 9, 11])


def chromaticism(piece: music.Piece) -> bool:
    """Chromaticism: at least 3 different pitch classes lie outside the diatonic scale (any transposition of
    the major scale / its modes) that best fits the excerpt, and those notes make up at least 10% of the notes.

    The best fit is the scale holding the most note time. A minor key's raised sixth and seventh give two
    outside pitch classes, so ordinary minor-mode writing stays below the threshold.
    """
    if piece.n_notes == 0:
        return False
    pc = piece.pitches.astype(int) % 12
    weight = np.bincount(pc, weights=piece.durations, minlength=12)
    masks = np.zeros((12, 12), dtype=bool)
    for t in range(12):
        masks[t, (_DIATONIC + t) % 12] = True
    best = masks[int(np.argmax(masks.astype(float) @ weight))]
    outside = ~best[pc]
    return bool(np.unique(pc[outside]).size >= CHROMATIC_MIN_PCS and outside.mean() >= CHROMATIC_MIN_SHARE)


def pedal_point(piece: music.Piece) -> bool:
    """Pedal point: one bass pitch class, sustained or re-struck (octave doublings allowed), stays the lowest
    sounding note on at least 6 consecutive beats while the harmony above it changes at least 3 times; the
    excerpt's last bar is not counted.

    Beats are the piece's own (:func:`tactus`: a half note in music written in halves), and the harmony is the
    set of pitch classes sounding on each beat above the bass: a change brings 2 or more new pitch classes, so
    a melody moving by step over a held bass is no change, nor is a held final chord, and a single suspension
    (one change) is not a pedal. A silent beat inside the span is allowed but not counted; any other bass
    note ends it. Inner and upper pedals are not looked for.
    """
    spans = pedal_spans(piece)
    return bool(spans)


def tactus(piece: music.Piece) -> float:
    """The beat in quarters that note values are measured in: :func:`beat_length`, doubled when the piece is
    written in long values (the median note lasts two beats or more, as in Renaissance music notated in halves).
    """
    beat = beat_length(piece)
    if piece.n_notes and float(np.median(piece.durations)) >= 2 * beat - _TOL:
        return 2 * beat
    return beat


def _sonorities(piece: music.Piece, times: np.ndarray) -> tuple[np.ndarray, list[set]]:
    """At each time: the lowest sounding pitch (-1 when silent) and the pitch classes sounding above it."""
    on, off, pit = piece.onsets, piece.onsets + piece.durations, piece.pitches.astype(int)
    lows, uppers = np.full(times.size, -1), []
    for k, t in enumerate(times):
        s = (on <= t + _TOL) & (off > t + _TOL)
        if not s.any():
            uppers.append(set())
            continue
        low = int(pit[s].min())
        lows[k] = low
        uppers.append({int(p) % 12 for p in pit[s] if p % 12 != low % 12})
    return lows, uppers


def pedal_spans(piece: music.Piece) -> list[tuple[float, float]]:
    """The pedal points of :func:`pedal_point` as (start, end) in quarters from the excerpt's start."""
    if piece.n_notes == 0:
        return []
    beat = tactus(piece)
    last_bar = float(piece.bar_starts[-1]) if piece.bar_starts.size > 1 else piece.length
    times = np.arange(0.0, max(last_bar, 0.0) - _TOL, beat)
    if times.size < PEDAL_MIN_BEATS:
        return []
    lows, uppers = _sonorities(piece, times)
    out, k = [], 0
    while k < times.size:
        if lows[k] < 0:
            k += 1
            continue
        pc, j, beats, changes, prev = lows[k] % 12, k, 0, 0, None
        while j < times.size and (lows[j] < 0 or lows[j] % 12 == pc):
            if lows[j] >= 0:
                beats += 1
                if prev is not None and len(uppers[j] - prev) >= PEDAL_NEW_PCS and len(uppers[j]) >= 2:
                    changes += 1
                prev = uppers[j]
            j += 1
        if beats >= PEDAL_MIN_BEATS and changes >= PEDAL_MIN_CHANGES:
            out.append((float(times[k]), float(times[j - 1] + beat)))
        k = j
    return out


def dotted_rhythm(piece: music.Piece) -> bool:
    """Dotted rhythms: at least 3 long-short pairs at different moments, each a dotted quarter followed by an
    eighth (the long note on a beat) or a dotted eighth followed by a sixteenth (the long note on an eighth).

    Long and short are read from the time between onsets within a part. In compound meter (6/8) a dotted
    quarter is the plain beat, so only the dotted-eighth kind counts there.
    """
    compound = beat_length(piece) > 1.0 + _TOL
    kinds = [(0.75, 0.25, 0.5)] + ([] if compound else [(1.5, 0.5, 1.0)])  # (long, short, grid of the long note)
    times = set()
    for on, dur, _ in _lines(piece):
        if on.size < 2:
            continue
        ioi = np.diff(on)
        short_ioi = np.append(ioi[1:], dur[-1])  # the short note's span: to the next onset, or its length
        short_dur = dur[1:]  # ...or its written length, when a rest follows it
        pos = _position_in_bar(piece, on[:-1])
        for long_q, short_q, grid in kinds:
            hit = (
                (np.abs(ioi - long_q) < _TOL)
                & ((np.abs(short_ioi - short_q) < _TOL) | (np.abs(short_dur - short_q) < _TOL))
                & (np.abs(pos / grid - np.round(pos / grid)) < _TOL)
            )
            times.update(np.round(on[:-1][hit] / _TOL).astype(int).tolist())
    return len(times) >= DOTTED_MIN


def syncopation(piece: music.Piece) -> bool:
    """Syncopation: at least 3 notes (at different moments) start off the beat and are held across the next
    beat by at least an eighth.

    The beat is the quarter, or the dotted quarter in compound meter (:func:`beat_length`); beats are counted
    from each bar line. Eighth-quarter-eighth figures and off-beat ties qualify; a note that starts on a weak
    beat (a half-note syncopation or suspension on the quarter grid) does not.
    """
    beat = beat_length(piece)
    on, dur = piece.onsets, piece.durations
    pos = _position_in_bar(piece, on)
    off_beat = np.abs(pos / beat - np.round(pos / beat)) > _TOL
    next_beat = on - pos + (np.floor(pos / beat + _TOL) + 1) * beat
    held = on + dur >= next_beat + 0.5 - _TOL
    return np.unique(np.round(on[off_beat & held] / _TOL)).size >= SYNCOPATION_MIN


def monophonic(piece: music.Piece) -> bool:
    """Monophonic line: never more than one note sounding at a time (on a sixteenth-note grid, so a legato
    overlap shorter than a sixteenth is forgiven), over at least 8 notes.

    Plainchant, unaccompanied song and solo fiddle tunes qualify.
    """
    if piece.n_notes < MONOPHONIC_MIN_NOTES:
        return False
    return int(_polyphony(piece).max()) <= 1


def wide_leaps(piece: music.Piece) -> bool:
    """Wide leaps: at least 3 melodic leaps of a minor sixth (8 semitones) or more within one part, each
    between notes at most an eighth rest apart.

    Arpeggiated figures, instrumental bass lines and angular melodies qualify; an octave leap at a cadence
    alone does not.
    """
    for on, dur, pit in _lines(piece):
        if on.size < 2:
            continue
        gap = on[1:] - (on[:-1] + dur[:-1])
        leap = (np.abs(np.diff(pit)) >= LEAP_SEMITONES) & (gap <= LEAP_MAX_REST + _TOL)
        if np.count_nonzero(leap) >= LEAP_MIN:
            return True
    return False


def scale_run(piece: music.Piece) -> bool:
    """Scale run: 5 or more consecutive notes in one part moving by step (1 or 2 semitones) in the same
    direction, each lasting an eighth or less (onset to onset).

    Divisions, passaggi and fast scalar passage-work qualify; slow stepwise melodies do not.
    """
    need = RUN_NOTES - 1  # intervals
    for on, _dur, pit in _lines(piece):
        if on.size < RUN_NOTES:
            continue
        iv = np.diff(pit)
        fast = np.diff(on) <= RUN_MAX_IOI + _TOL
        for direction in (1, -1):
            ok = fast & (iv * direction >= 1) & (iv * direction <= 2)
            run = 0
            for x in ok:
                run = run + 1 if x else 0
                if run >= need:
                    return True
    return False


def triple_meter(piece: music.Piece) -> bool:
    """Triple or compound meter: a time signature with 3, 6 or 9 beats to the bar (3/8, 3/4, 6/8, 9/8, 3/2,
    6/4), read from the excerpt's usual bar length (1.5, 3, 4.5 or 6 quarters), else from the numerator of
    its first time signature when it holds a single bar.

    Bar lengths come first because a sliced excerpt keeps the time-signature list of its whole piece, and
    the corpus cache has none. A bar of 6 quarters may also be 12/8, which is then counted too.
    """
    if piece.bar_starts.size >= 2:
        L = float(np.median(np.diff(piece.bar_starts)))
        return any(abs(L - x) < _TOL for x in TRIPLE_BAR_LENGTHS)
    for _, ratio in piece.time_signatures[:1]:
        return ratio.split("/")[0].strip() in ("3", "6", "9")
    return False


MINERS: dict[str, tuple[Callable[[music.Piece], bool], str]] = {
    f.__name__: (f, _doc(f))
    for f in (
        homophonic,
        imitation,
        parallel_thirds_sixths,
        chromaticism,
        pedal_point,
        dotted_rhythm,
        syncopation,
        monophonic,
        wide_leaps,
        scale_run,
        triple_meter,
    )
}
