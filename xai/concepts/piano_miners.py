"""Built-in piano concepts: small documented rules over the notes of a piano score excerpt.

The concepts of issue 14 (after Foscarin et al. 2022: *Alberti bass*, *contrapuntal texture*, "difficult to
play", ...) for the ``piano_composer`` model. Each rule reads one excerpt (a :class:`xai.symbolic.music.Piece`
sliced from a piano score, about one model window: 20 s at the score's tempo) and answers ``True`` or
``False`` from its notes, bars and tempo alone. Like :mod:`xai.concepts.miners` they never look at a
classifier or at labels; ``python -m training.piano_concepts build`` mines the ASAP scores with them and
records the composer of every example as a confound report.

Hands: a piano score has two staves; the part whose notes lie lowest is the left hand (:func:`left_hand`).
A score read as one part is split at middle C. Times are in quarters from the excerpt's start (a bar line);
"fast" is measured against the beat of the excerpt (:func:`xai.concepts.miners.beat_length`: a quarter, or a
dotted quarter in compound metre), and notes per second through the excerpt's tempo map.

Every threshold is a module constant, named in the rule's docstring, the tests and the shipped report, so a
musicologist can judge what a concept means before trusting a TCAV score about it. :func:`evidence` says where
in an excerpt a rule fired (the onsets it counted), for reading the examples back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xai.concepts import miners
from xai.symbolic import music

__all__ = [
    "PIANO_MINERS",
    "left_hand",
    "evidence",
    "alberti_bass",
    "contrapuntal_texture",
    "arpeggio_accompaniment",
    "octave_bass",
    "waltz_accompaniment",
    "chromatic_run",
    "virtuosic_figuration",
    "trills_and_ornaments",
    "chorale_homophony",
    "pedal_point",
]

# Thresholds. Named so the docstrings, the tests and the shipped report agree.
SPLIT_PITCH = 60  # middle C: the hands of a one-part score
MIN_BARS = 2  # a texture must show in at least this many bars of the excerpt
ALBERTI_MIN_GROUPS = 4
ARPEGGIO_MIN_GROUPS = 4
ARPEGGIO_MIN_SPAN = 12  # semitones one broken-chord group covers (an octave)
OCTAVE_MIN = 8
OCTAVE_MIN_SHARE = 0.4
WALTZ_MIN_BARS = 3
WALTZ_MIN_SHARE = 0.4
CHROMATIC_RUN_NOTES = 6  # 5 semitone steps in one direction
VIRTUOSO_NPS = 14.0  # notes per second over the excerpt
VIRTUOSO_SPAN = 24  # semitones one hand covers within one second (two octaves)
VIRTUOSO_MIN_SHARE = 0.25  # of the excerpt's seconds
TRILL_NOTES = 6  # a-b-a-b-a-b
GRACE_QUARTERS = 1 / 16  # a note this short or shorter is a grace note (as ASAP's score MIDI writes them)
GRACE_SPAN = 4  # semitones one group of grace notes may cover (a turn, a written-out trill); wider is a run
ORNAMENT_MIN = 2
CHORALE_MIN_ATTACKS = 12
CHORALE_MIN_NOTES = 3  # struck together
CHORALE_MIN_SHARE = 0.75
CHORALE_MAX_RATE = 2.0  # attacks per beat
CHORALE_MIN_TRIADS = 0.6  # of all attacks: block chords of 3 or more pitch classes (not octave doublings)
CHORALE_MAX_PER_SECOND = 3.0  # attacks a second at the score's tempo: a hymn, not a scherzo
COUNTER_MIN_SHARE_LINEAR = 0.8  # of a hand's attacks with at most 2 notes
COUNTER_MIN_INDEPENDENT = 0.35  # of all attacks struck by one hand only
COUNTER_MIN_RATE = 0.75  # attacks per beat in each hand
COUNTER_MIN_STEPWISE = 0.4  # of each hand's melodic intervals that are steps (1-2 semitones)
COUNTER_MAX_INDEPENDENT = 0.6  # above: the hands take turns (one runs while the other holds)
COUNTER_MAX_OCTAVES = 0.3  # of the common attacks where the hands' outer lines are octaves apart (doubling)
COUNTER_MIN_BALANCE = 0.5  # attacks of the less active hand over those of the more active one
COUNTER_MIN_SINGLE = 0.6  # of each hand's attacks that strike one note (a line, not octaves or chords)
COUNTER_MIN_BOTH_STEP = 0.4  # of the beats in which both hands' lines move by a step

_TOL = 1e-3
_CHORDS = [(0, 4, 7), (0, 3, 7), (0, 3, 6), (0, 4, 8), (0, 4, 7, 10), (0, 3, 7, 10), (0, 4, 7, 11), (0, 3, 6, 9),
           (0, 3, 6, 10)]
_CHORD_SETS = [frozenset((r + x) % 12 for x in c) for r in range(12) for c in _CHORDS]


# ----------------------------------------------------------------------------------------------- helpers


def left_hand(piece: music.Piece) -> np.ndarray:
    """(N,) bool: the notes of the left hand, the part with the lowest mean pitch (below middle C in a one-part
    score)."""
    parts = np.unique(piece.parts)
    if parts.size < 2:
        return piece.pitches.astype(int) < SPLIT_PITCH
    means = [float(piece.pitches[piece.parts == k].mean()) for k in parts]
    return piece.parts == parts[int(np.argmin(means))]


def _attacks(piece: music.Piece, mask: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The attack times of the masked notes and the pitches struck at each (sorted low to high)."""
    on, pit = piece.onsets[mask], piece.pitches[mask].astype(int)
    if on.size == 0:
        return np.zeros(0), []
    key = np.round(on / _TOL).astype(np.int64)
    times, inv = np.unique(key, return_inverse=True)
    groups = [np.sort(pit[inv == k]) for k in range(times.size)]
    return times * _TOL, groups


def _singles(piece: music.Piece, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hand's attacks as a line: (times, pitch struck or -1 where a chord is struck, is single)."""
    t, groups = _attacks(piece, mask)
    single = np.array([g.size == 1 for g in groups], dtype=bool)
    pit = np.array([int(g[0]) if g.size == 1 else -1 for g in groups], dtype=int)
    return t, pit, single


def _is_chord(pcs) -> bool:
    s = frozenset(int(p) % 12 for p in pcs)
    return len(s) >= 3 and any(s <= c for c in _CHORD_SETS)


def _even(ioi: np.ndarray) -> bool:
    return bool(np.all(np.abs(ioi - ioi[0]) <= 0.1 * ioi[0] + _TOL))


def _bars_of(piece: music.Piece, times) -> int:
    times = np.asarray(times, dtype=float)
    if times.size == 0:
        return 0
    bars = piece.bar_starts if piece.bar_starts.size else np.zeros(1)
    return int(np.unique(np.searchsorted(bars, times + _TOL, side="right")).size)


def _groups(piece: music.Piece, test: Callable[[np.ndarray], bool], *, size: int = 4) -> np.ndarray:
    """Start times of non-overlapping runs of ``size`` left-hand single notes, evenly spaced at half a beat or
    faster, whose pitches pass ``test``."""
    t, pit, single = _singles(piece, left_hand(piece))
    fast = miners.beat_length(piece) / 2 + _TOL
    out, k = [], 0
    while k + size <= t.size:
        sl = slice(k, k + size)
        ioi = np.diff(t[sl])
        if single[sl].all() and ioi[0] <= fast and _even(ioi) and test(pit[sl]):
            out.append(t[k])
            k += size
        else:
            k += 1
    return np.asarray(out)


def _enough(piece: music.Piece, times, n: int) -> bool:
    return len(times) >= n and _bars_of(piece, times) >= MIN_BARS


# ------------------------------------------------------------------------------------------------ rules


def _alberti(p: np.ndarray) -> bool:
    return bool(p[0] < p[2] < p[1] == p[3] and p[1] - p[0] <= 12 and _is_chord(p))


def alberti_bass(piece: music.Piece) -> bool:
    """Alberti bass: at least 4 groups of four left-hand single notes, evenly spaced at half a beat or faster,
    in the order lowest-highest-middle-highest (C-G-E-G) within an octave, the three pitches a chord, in at
    least 2 bars.

    A broken chord in another order (C-E-G-E, rising arpeggios) or a melody in the left hand does not count.
    """
    return bool(_enough(piece, _groups(piece, _alberti), ALBERTI_MIN_GROUPS))


def _arpeggio(p: np.ndarray) -> bool:
    iv = np.abs(np.diff(p))
    return bool(np.all(iv >= 3) and p.max() - p.min() >= ARPEGGIO_MIN_SPAN and _is_chord(p) and not _alberti(p))


def arpeggio_accompaniment(piece: music.Piece) -> bool:
    """Broken-chord (arpeggio) accompaniment: at least 4 groups of four left-hand single notes, evenly spaced
    at half a beat or faster, each moving by leaps (3 semitones or more) over an octave or more, their pitch
    classes one chord (triad or seventh), in at least 2 bars; the Alberti order is left to its own rule.

    Nocturne-style spread left hands qualify; a walking or scalar bass and close-position Alberti figures do
    not.
    """
    return bool(_enough(piece, _groups(piece, _arpeggio), ARPEGGIO_MIN_GROUPS))


def _octave_times(piece: music.Piece) -> tuple[np.ndarray, int]:
    lh = left_hand(piece)
    t, groups = _attacks(piece, lh)
    struck = np.array([g.size >= 2 and (g[0] + 12) in set(g.tolist()) for g in groups], dtype=bool)
    _, pit, single = _singles(piece, lh)
    fast = miners.beat_length(piece) / 2 + _TOL
    broken = np.zeros(t.size, dtype=bool)
    if t.size > 1:
        broken[1:] = single[1:] & single[:-1] & (np.abs(np.diff(pit)) == 12) & (np.diff(t) <= fast)
    return t[struck | broken], t.size


def octave_bass(piece: music.Piece) -> bool:
    """Octave doubling in the bass: at least 8 left-hand attacks, and 40% of them, are octaves (the lowest
    note struck together with the note an octave above it, or a broken octave at half a beat or faster), in at
    least 2 bars.
    """
    hits, total = _octave_times(piece)
    return bool(_enough(piece, hits, OCTAVE_MIN) and hits.size >= OCTAVE_MIN_SHARE * max(total, 1))


_OOM_PAH = {2: "BC", 3: "BCC", 4: "BCBC"}  # beats in the bar -> bass (B) or chord (C) on each


def _waltz_bars(piece: music.Piece) -> tuple[np.ndarray, int]:
    """Start times of the bars with an oom-pah(-pah) left hand, and the bars with left-hand notes."""
    bars = piece.bar_starts
    L = miners.bar_length(piece) or 0.0
    beat = 0.5 if abs(L - 1.5) < _TOL else miners.beat_length(piece)  # 3/8: three eighths
    pattern = _OOM_PAH.get(int(round(L / beat))) if abs(L / beat - round(L / beat)) < _TOL else None
    if bars.size == 0 or pattern is None:
        return np.zeros(0), 0
    t, groups = _attacks(piece, left_hand(piece))
    ends = np.append(bars[1:], piece.length)
    hits, played = [], 0
    for b0, b1 in zip(bars, ends):
        sel = np.flatnonzero((t >= b0 - _TOL) & (t < b1 - _TOL))
        played += sel.size > 0
        if (sel.size != len(pattern) or abs(b1 - b0 - L) > _TOL
                or not np.allclose(t[sel] - b0, beat * np.arange(len(pattern)), atol=_TOL)):
            continue
        g = [groups[i] for i in sel]
        bass = max(int(x[-1]) for x, kind in zip(g, pattern) if kind == "B")
        pahs = [x for x, kind in zip(g, pattern) if kind == "C"]
        chords = all(x.size >= 2 for x in pahs) or all(np.array_equal(x, pahs[0]) for x in pahs[1:])
        if len(pahs) > 1 or pahs[0].size >= 2:
            if chords and min(int(x[0]) for x in pahs) >= bass + 5:
                hits.append(b0)
    return np.asarray(hits), played


def waltz_accompaniment(piece: music.Piece) -> bool:
    """Waltz or oom-pah accompaniment: at least 3 bars, and 40% of the bars where the left hand plays, hold
    one left-hand attack on each beat and no other: a bass note (or octave) on the first beat (and the third
    in 4/4) and on the others chords of two or more notes (or one note or chord repeated), all at least a
    fourth (5 semitones) above the bass. Bars of 2, 3 or 4 beats (3/8 read as three eighths).

    Oom-pah-pah in 3/4 is the waltz; the same bass-chord alternation in 2/4 and 4/4 is the march and
    polka's. A held bass with broken chords, or chords on every beat, does not count.
    """
    hits, played = _waltz_bars(piece)
    return bool(hits.size >= WALTZ_MIN_BARS and hits.size >= WALTZ_MIN_SHARE * max(played, 1))


def _runs(piece: music.Piece) -> np.ndarray:
    """Start times of chromatic runs in the right hand's top line or the left hand's bottom line."""
    lh = left_hand(piece)
    fast = miners.beat_length(piece) / 2 + _TOL
    need = CHROMATIC_RUN_NOTES - 1
    out = []
    for mask, top in ((~lh, True), (lh, False)):
        t, groups = _attacks(piece, mask)
        if t.size < CHROMATIC_RUN_NOTES:
            continue
        line = np.array([g[-1] if top else g[0] for g in groups])
        step = np.diff(line)
        ok = np.diff(t) <= fast
        for d in (1, -1):
            good = ok & (step == d)
            run = 0
            for k, g in enumerate(good):
                run = run + 1 if g else 0
                if run == need:
                    out.append(t[k + 1 - need])
    return np.sort(np.asarray(out))


def chromatic_run(piece: music.Piece) -> bool:
    """Chromatic scale run: 6 or more consecutive notes of the right hand's top line (or the left hand's
    bottom line) each a semitone from the last in the same direction, half a beat apart or less.

    Diatonic scales (a whole step every few notes), trills and slow chromatic bass lines do not count.
    """
    return bool(_runs(piece).size >= 1)


def _virtuoso_seconds(piece: music.Piece) -> tuple[np.ndarray, float, int]:
    """Start seconds (from the excerpt's start) of the seconds in which one hand covers two octaves, the
    excerpt's length in seconds and its number of notes."""
    if piece.n_notes == 0:
        return np.zeros(0), 0.0, 0
    sec = np.asarray(piece.seconds(piece.onsets), dtype=float)
    total = float(piece.seconds(piece.length)) - float(piece.seconds(0.0))
    lh = left_hand(piece)
    wide = []
    for s in range(int(np.ceil(total))):
        inside = (sec >= s) & (sec < s + 1)
        for mask in (lh, ~lh):
            p = piece.pitches[inside & mask]
            if p.size and int(p.max()) - int(p.min()) >= VIRTUOSO_SPAN:
                wide.append(float(s))
                break
    return np.asarray(wide), max(total, 1e-9), piece.n_notes


def virtuosic_figuration(piece: music.Piece) -> bool:
    """Dense virtuosic figuration ("difficult to play"): at least 14 notes a second over the excerpt at the
    score's tempo, and in at least a quarter of its seconds one hand covers two octaves (24 semitones) or more
    within that second.

    Fast figuration in a small compass (an Alberti bass under a scale) or wide but slow writing does not count.
    """
    wide, total, n = _virtuoso_seconds(piece)
    return bool(n > 0 and n / total >= VIRTUOSO_NPS and wide.size >= VIRTUOSO_MIN_SHARE * np.ceil(total))


def _ornaments(piece: music.Piece) -> np.ndarray:
    """Times of ornaments: trills (either hand's outer line) and grace notes."""
    lh = left_hand(piece)
    quick = miners.beat_length(piece) / 4 + _TOL
    out = []
    for mask, top in ((~lh, True), (lh, False)):
        t, groups = _attacks(piece, mask)
        line = np.array([g[-1] if top else g[0] for g in groups], dtype=int)
        k = 0
        while k + TRILL_NOTES <= t.size:
            p = line[k:k + TRILL_NOTES]
            if (np.all(np.diff(t[k:k + TRILL_NOTES]) <= quick) and np.unique(p).size == 2
                    and 1 <= abs(p[1] - p[0]) <= 2 and np.all(p[2:] == p[:-2])):
                out.append(t[k])
                k += TRILL_NOTES
                while k < t.size and line[k] == line[k - 2]:
                    k += 1
            else:
                k += 1
    out.extend(_grace_groups(piece, lh))
    return np.sort(np.asarray(out, dtype=float))


def _grace_groups(piece: music.Piece, lh: np.ndarray) -> list[float]:
    """Start times of grace-note ornaments: per hand, runs of notes a sixty-fourth long or shorter (each within
    a sixteenth of the last) covering at most :data:`GRACE_SPAN` semitones. A short note that doubles a note
    of the same pitch struck at the same time is a score-MIDI artefact (a unison of two voices written as a
    one-tick note), not a grace note; a wide run of short notes is a cascade, not an ornament."""
    on, pit = piece.onsets, piece.pitches.astype(int)
    key = np.round(on / _TOL).astype(np.int64)
    struck = {}
    for k, p in zip(key.tolist(), pit.tolist()):
        struck[(k, p)] = struck.get((k, p), 0) + 1
    short = piece.durations <= GRACE_QUARTERS + 1e-6
    short &= np.array([struck[(k, p)] == 1 for k, p in zip(key.tolist(), pit.tolist())], dtype=bool)
    out = []
    for mask in (lh, ~lh):
        idx = np.flatnonzero(short & mask)
        idx = idx[np.argsort(on[idx], kind="stable")]
        groups = np.split(idx, np.flatnonzero(np.diff(on[idx]) > 0.25 + _TOL) + 1) if idx.size else []
        out.extend(float(on[g[0]]) for g in groups if int(pit[g].max() - pit[g].min()) <= GRACE_SPAN)
    return out


def trills_and_ornaments(piece: music.Piece) -> bool:
    """Trills and ornaments: at least 2 ornaments, each a trill (6 or more notes alternating between two
    pitches a semitone or a tone apart, a quarter of a beat apart or less, in either hand's outer line) or a
    group of grace notes (notes of a sixty-fourth or shorter, as the score MIDI of ASAP writes grace notes and
    turns, covering at most 4 semitones; one-tick doublings of a note struck at the same pitch are not grace
    notes).

    Ornaments that the score only marks with a sign (tr, a turn symbol) and does not write out are not seen;
    neither are wide cascades of small notes (a run, not an ornament).
    """
    return bool(_ornaments(piece).size >= ORNAMENT_MIN)


def _chorale_attacks(piece: music.Piece) -> tuple[np.ndarray, int, float]:
    """Block attacks (3 or more notes, both hands), the number of attacks and attacks a beat."""
    lh = left_hand(piece)
    t, groups = _attacks(piece, np.ones(piece.n_notes, dtype=bool))
    t_l = set(np.round(_attacks(piece, lh)[0] / _TOL).astype(np.int64).tolist())
    t_r = set(np.round(_attacks(piece, ~lh)[0] / _TOL).astype(np.int64).tolist())
    key = np.round(t / _TOL).astype(np.int64)
    block = np.array([g.size >= CHORALE_MIN_NOTES and k in t_l and k in t_r for g, k in zip(groups, key)],
                     dtype=bool)
    span = (t[-1] - t[0]) / miners.beat_length(piece) if t.size > 1 else 0.0
    return t[block], t.size, t.size / max(span, 1.0)


def chorale_homophony(piece: music.Piece) -> bool:
    """Chorale-like homophony: at least 12 attacks, and 75% of them, strike 3 or more notes at once with both
    hands, 60% of all attacks sounding 3 or more pitch classes (chords, not octave doublings), at no more than
    2 attacks a beat on average and 3 a second at the score's tempo.

    Hymn-like block chords qualify; a melody over repeated or broken chords, hands doubling each other in
    octaves, or fast chordal figuration (a presto scherzo's chords) does not.
    """
    block, n, rate = _chorale_attacks(piece)
    if not (n >= CHORALE_MIN_ATTACKS and block.size >= CHORALE_MIN_SHARE * n and rate <= CHORALE_MAX_RATE):
        return False
    t, groups = _attacks(piece, np.ones(piece.n_notes, dtype=bool))
    triads = sum(len(set((g % 12).tolist())) >= 3 for g, x in zip(groups, t) if np.any(np.abs(block - x) < _TOL))
    seconds = float(piece.seconds(piece.length)) - float(piece.seconds(0.0))
    return bool(triads >= CHORALE_MIN_TRIADS * n and n <= CHORALE_MAX_PER_SECOND * max(seconds, 1e-9))


def _counterpoint(piece: music.Piece) -> dict:
    """The measures of :func:`contrapuntal_texture`."""
    lh = left_hand(piece)
    beat = miners.beat_length(piece)
    span = piece.length / beat if piece.n_notes else 0.0
    n_beats = max(int(np.ceil(span - _TOL)), 1)
    out: dict = {}
    keys, lines, moving = [], [], []
    for name, mask, top in (("left", lh, False), ("right", ~lh, True)):
        t, groups = _attacks(piece, mask)
        line = np.array([g[0] if not top else g[-1] for g in groups], dtype=int)
        steps = np.abs(np.diff(line))
        iv = steps[steps > 0]
        out[name] = {
            "linear": float(np.mean([g.size <= 2 for g in groups])) if groups else 0.0,
            "single": float(np.mean([g.size == 1 for g in groups])) if groups else 0.0,
            "rate": t.size / max(span, 1.0),
            "stepwise": float(np.mean(iv <= 2)) if iv.size else 0.0,
        }
        beats = np.zeros(n_beats, dtype=bool)  # the beats in which this line arrives on a note by a step
        beats[np.minimum((t[1:][(steps >= 1) & (steps <= 2)] / beat + _TOL).astype(int), n_beats - 1)] = True
        moving.append(beats)
        keys.append(set(np.round(t / _TOL).astype(np.int64).tolist()))
        lines.append((np.round(t / _TOL).astype(np.int64).tolist(), line.tolist()))
    both = keys[0] | keys[1]
    out["independent"] = len(keys[0] ^ keys[1]) / max(len(both), 1)
    common = sorted(keys[0] & keys[1])
    outer = [dict(zip(k, ln)) for k, ln in lines]
    out["octaves"] = float(np.mean([(outer[1][k] - outer[0][k]) % 12 == 0 for k in common])) if common else 0.0
    n = [len(k) for k in keys]
    out["balance"] = min(n) / max(max(n), 1)
    out["both_step"] = float(np.mean(moving[0] & moving[1]))
    return out


def contrapuntal_texture(piece: music.Piece) -> bool:
    """Contrapuntal texture: both hands play lines (80% of each hand's attacks have at most 2 notes and 60%
    a single note), each moves at least 0.75 attacks a beat and mostly by step (40% or more of its melodic
    intervals are 1-2 semitones), in 40% or more of the beats both hands' lines move by a step, the less
    active hand strikes at least half as many attacks as the other, 35% to 60% of all attacks are struck by
    one hand alone (the lines move independently, yet both keep moving), and on at most 30% of the attacks the
    hands strike together are their outer lines an octave apart (no doubling).

    Two- and three-part inventions, fugues and walking-bass textures qualify; melody over chords, Alberti and
    arpeggio accompaniments (leaps), hands in rhythmic unison or doubling each other in octaves, and hands
    taking turns (a scale in one hand while the other holds a chord) do not.
    """
    if piece.n_notes == 0:
        return False
    m = _counterpoint(piece)
    hands_ok = all(m[h]["linear"] >= COUNTER_MIN_SHARE_LINEAR and m[h]["single"] >= COUNTER_MIN_SINGLE
                   and m[h]["rate"] >= COUNTER_MIN_RATE and m[h]["stepwise"] >= COUNTER_MIN_STEPWISE
                   for h in ("left", "right"))
    together = (COUNTER_MIN_INDEPENDENT <= m["independent"] <= COUNTER_MAX_INDEPENDENT
                and m["octaves"] <= COUNTER_MAX_OCTAVES and m["balance"] >= COUNTER_MIN_BALANCE
                and m["both_step"] >= COUNTER_MIN_BOTH_STEP)
    return bool(hands_ok and together)


def pedal_point(piece: music.Piece) -> bool:
    """Pedal point: the rule of :func:`xai.concepts.miners.pedal_point` (one bass pitch class, sustained or
    re-struck, the lowest note on at least 6 consecutive beats while the harmony above it changes at least 3
    times; the excerpt's last bar not counted)."""
    return miners.pedal_point(piece)


def evidence(name: str, piece: music.Piece) -> list[float]:
    """Where the rule ``name`` (a key of :data:`PIANO_MINERS`) found its concept in ``piece``: the times in
    quarters (from the excerpt's start) of what it counted, for reading an example back."""
    finders: dict[str, Callable[[music.Piece], np.ndarray | list]] = {
        "alberti bass": lambda p: _groups(p, _alberti),
        "arpeggio accompaniment": lambda p: _groups(p, _arpeggio),
        "octave bass": lambda p: _octave_times(p)[0],
        "waltz accompaniment": lambda p: _waltz_bars(p)[0],
        "chromatic run": _runs,
        "virtuosic figuration": lambda p: [p.beat_at_seconds(s) for s in _virtuoso_seconds(p)[0]],
        "trills and ornaments": _ornaments,
        "chorale homophony": lambda p: _chorale_attacks(p)[0],
        "contrapuntal texture": lambda p: p.onsets[:1],
        "pedal point": lambda p: [s for s, _ in miners.pedal_spans(p)],
    }
    return [float(x) for x in finders[name](piece)]


PIANO_MINERS: dict[str, tuple[Callable[[music.Piece], bool], str]] = {
    f.__name__.replace("_", " "): (f, miners._doc(f))
    for f in (
        alberti_bass,
        contrapuntal_texture,
        arpeggio_accompaniment,
        octave_bass,
        waltz_accompaniment,
        chromatic_run,
        virtuosic_figuration,
        trills_and_ornaments,
        chorale_homophony,
        pedal_point,
    )
}
