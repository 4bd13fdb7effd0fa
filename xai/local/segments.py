"""Musical segments for LIME: bars x voices, bars x registers, and rendered stems, with their explainers.

A segment is a set of notes: the notes of one voice (part) in a group of bars, or of one pitch band
(register) in a group of bars where the score has no parts. Switching a segment off removes its notes.
Because segments partition the notes, the piano roll of any coalition is the elementwise OR of its segments'
rolls, so a batch of coalitions is one matrix product (masks @ segment rolls) and a threshold; and a window
of the model only depends on the segments that sound in it, so each distinct window pattern is sent to the
network once per explanation (a memo shared by the stability runs and the deletion check).

For audio models on a score, each part (or register) is rendered on its own: the stems add up exactly to
the input that is explained, so "the top segments alone" is a real, listenable mix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from xai.audio.clip import from_wav_bytes
from xai.audio.dataset import CLIP_SAMPLES, SAMPLE_RATE
from xai.contract import Options, Progress, no_progress, option, resolve_target
from xai.errors import InputError, ParameterError, check_int
from xai.local.core import Explanation, check_segments, fast, finish, fit, lime_options
from xai.symbolic import music
from xai.symbolic.music import note_name
from xai.symbolic.predict import classify

__all__ = ["NoteSegmentation", "segment_notes", "PieceGridOptions", "PieceLime", "explain_piece", "StemLime",
           "explain_stems", "subset", "segment_piece", "DEFAULT_SPAN_BARS"]

DEFAULT_SPAN_BARS = 8
MAX_SPAN_BARS = 64
_REGISTER_WORDS = {1: ("all",), 2: ("low", "high"), 3: ("low", "middle", "high"),
                   4: ("low", "lower middle", "upper middle", "high")}


@dataclass(frozen=True)
class PieceGridOptions(Options):
    """The musical segments of a score: how many bars, how many bars per segment, voices or registers."""

    segments: str = option("auto", choices=("auto", "bars-voices", "bars-registers"),
                           help="'auto': voices when the score has parts, else registers (pitch bands).")
    n_bars: int = option(DEFAULT_SPAN_BARS, low=2, high=MAX_SPAN_BARS,
                         help="How many bars are explained (the model's windows over them are asked).")
    bars_per_segment: int = option(2, low=1, high=100_000, help="Bars per segment.")
    n_registers: int = option(3, low=1, high=4, help="Registers (pitch bands) of a score without parts.")


def subset(piece: music.Piece, keep: np.ndarray) -> music.Piece:
    """The piece with only the notes where ``keep`` is True (bars, tempo and notated end unchanged)."""
    keep = np.asarray(keep, dtype=bool)
    return dataclasses.replace(piece, onsets=piece.onsets[keep], durations=piece.durations[keep],
                               pitches=piece.pitches[keep], velocities=piece.velocities[keep],
                               parts=piece.parts[keep], end=piece.end if piece.end is not None else piece.length)


@dataclass(frozen=True, eq=False)
class NoteSegmentation:
    """Which segment every note of a piece belongs to, and what each segment is in musical terms."""

    kind: str  # 'bars-voices' or 'bars-registers'
    note_segment: np.ndarray  # (N,) int, segment id of each note
    segments: tuple[dict, ...]

    @property
    def n_segments(self) -> int:
        """How many segments the notes fall into."""
        return len(self.segments)

    def notes_of(self, ids) -> np.ndarray:
        """(N,) bool: the notes of the given segments."""
        return np.isin(self.note_segment, np.asarray(list(ids), dtype=int))


def _bar_groups(piece: music.Piece, bars_per_segment: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The bar group of every note (by its onset) and each group's first and last bar number."""
    bar_idx = np.clip(np.searchsorted(piece.bar_starts, piece.onsets + 1e-9, side="right") - 1, 0, None)
    nb = len(piece.bar_starts)
    groups = [(int(piece.bar_numbers[g]), int(piece.bar_numbers[min(g + bars_per_segment, nb) - 1]))
              for g in range(0, nb, bars_per_segment)]
    return bar_idx // bars_per_segment, groups


def _bars_label(a: int, b: int) -> str:
    return f"bar {a}" if a == b else f"bars {a}–{b}"


def _register_edges(pitches: np.ndarray, n: int) -> np.ndarray:
    """Pitch boundaries of n registers with about equally many notes each: (n + 1,) ints, last exclusive."""
    qs = np.quantile(pitches, np.linspace(0, 1, n + 1)[1:-1]) if n > 1 else np.array([])
    inner = np.unique(np.ceil(qs).astype(int))
    inner = inner[(inner > pitches.min()) & (inner <= pitches.max())]
    return np.concatenate([[int(pitches.min())], inner, [int(pitches.max()) + 1]])


def segment_notes(piece: music.Piece, *, kind: str = "auto", bars_per_segment: int = 2, n_registers: int = 3,
                  clock_offset: float | None = None) -> NoteSegmentation:
    """Cut a piece's notes into segments: bar groups x voices, or bar groups x registers.

    ``kind`` 'auto' takes voices when the notes lie in more than one part, registers otherwise. Registers
    split the pitch range so that each holds about as many notes. Empty segments (a voice resting) are left
    out: they cannot change anything. Segment ids run in time order, then voice / register (low to high).

    ``clock_offset`` (seconds; None = not timed) is where the piece starts in the music it was cut from: each
    segment then also carries its bar group's ``start_second`` / ``end_second`` (through the tempo map, from
    that offset) and its label cites the clock: 'bars 5–6 (0:12–0:18), low (C2–B3)' where the bars are the
    music's (``piece.bars_known``), '0:12–0:18, low (C2–B3)' where they are only a performance file's nominal
    metre. Models that read seconds are explained this way.
    """
    if piece.n_notes == 0:
        raise InputError("This excerpt has no notes, so there is nothing to explain.")
    check_int("bars_per_segment", bars_per_segment, 1, 100_000)
    check_int("n_registers", n_registers, 1, 4)
    parts_used = np.unique(piece.parts)
    if kind == "auto":
        kind = "bars-voices" if parts_used.size > 1 else "bars-registers"
    if kind not in ("bars-voices", "bars-registers"):
        raise ParameterError(f"Score segments are 'bars-voices' or 'bars-registers', got {kind!r}.")
    group, groups = _bar_groups(piece, bars_per_segment)
    if kind == "bars-voices":
        lane = np.searchsorted(parts_used, piece.parts)
        lanes = [{"part": int(p), "part_name": piece.part_names[int(p)] if int(p) < len(piece.part_names)
                  else f"Part {int(p) + 1}"} for p in parts_used]
        lane_label = [d["part_name"] for d in lanes]
    else:
        edges = _register_edges(piece.pitches.astype(int), n_registers)
        lane = np.clip(np.searchsorted(edges, piece.pitches.astype(int), side="right") - 1, 0, len(edges) - 2)
        words = _REGISTER_WORDS[len(edges) - 1]
        lanes = [{"register": r, "low_pitch": int(edges[r]), "high_pitch": int(edges[r + 1] - 1)}
                 for r in range(len(edges) - 1)]
        lane_label = [f"{words[r]} ({note_name(d['low_pitch'])}–{note_name(d['high_pitch'])})"
                      for r, d in enumerate(lanes)]
    L = len(lanes)
    raw = group * L + lane
    used = np.unique(raw)
    note_segment = np.searchsorted(used, raw)
    spans = None if clock_offset is None else _group_seconds(piece, bars_per_segment, clock_offset)
    segs = []
    for i, r in enumerate(used):
        g, la = divmod(int(r), L)
        a, b = groups[g]
        sel = note_segment == i
        d = {"id": i, "start_bar": a, "end_bar": b, "lane": la, **lanes[la], "n_notes": int(sel.sum()),
             "start_beat": float(piece.onsets[sel].min()),
             "end_beat": float((piece.onsets[sel] + piece.durations[sel]).max()),
             "label": f"{_bars_label(a, b)}, {lane_label[la]}"}
        if spans is not None:
            t0, t1 = spans[g]
            clock = f"{music.clock(t0)}–{music.clock(t1)}"
            when = f"{_bars_label(a, b)} ({clock})" if piece.bars_known else clock
            d |= {"start_second": t0, "end_second": t1, "bars_known": bool(piece.bars_known),
                  "label": f"{when}, {lane_label[la]}"}
        segs.append(d)
    return NoteSegmentation(kind=kind, note_segment=note_segment, segments=tuple(segs))


def _group_seconds(piece: music.Piece, bars_per_segment: int, offset: float) -> list[tuple[float, float]]:
    """Each bar group's start and end second (the piece's tempo map, plus ``offset``)."""
    starts = np.asarray(piece.bar_starts, dtype=float)[::bars_per_segment]
    ends = np.append(starts[1:], max(piece.length, float(starts[-1])))
    sec = lambda b: float(piece.seconds(b)) + offset  # noqa: E731 - a one-line conversion
    return [(round(sec(a), 3), round(sec(b), 3)) for a, b in zip(starts, ends)]


def segment_piece(excerpt: music.Piece, seg: NoteSegmentation, ids, *, keep: bool = True) -> music.Piece:
    """The excerpt with only the given segments (keep=True) or with them removed (keep=False), to hear or draw."""
    sel = seg.notes_of(ids)
    return subset(excerpt, sel if keep else ~sel)


# --------------------------------------------------------------------------------------------------------------
# symbolic: the model's piece-level probability on a coalition


class _PieceScorer:
    """score(masks) = the target probability of the excerpt with the switched-off segments' notes removed.

    Same arithmetic as :func:`xai.symbolic.predict.classify` on the reduced excerpt (mean of the window log
    probabilities over the windows that still have notes, renormalised), with the excerpt's windows fixed.

    On the beat grid (``composer``) a coalition's window roll is the OR of its segments' rolls: a matrix product
    and a threshold. On a seconds grid (``piano_composer``) each segment's window rolls are rendered by
    :func:`xai.symbolic.music.window_rolls` (its notes alone, the pedal applied as the model hears it) and a
    coalition's roll is their elementwise maximum: the onset channel carries velocity, so a threshold would
    flatten it, while the maximum keeps each onset's velocity.
    """

    def __init__(self, model, excerpt: music.Piece, seg: NoteSegmentation, target: int, *, chunk: int = 32):
        self.net, self.target, self.chunk = model.net, target, chunk
        self.C = len(model.classes)
        self.seconds = music.input_spec(model).grid == "seconds"
        if self.seconds:
            self.wins, self.L, rolls = self._seconds_rolls(model, excerpt, seg)
        else:
            self.wins, self.L, rolls = self._quarter_rolls(model, excerpt, seg)
        self.parts = []  # per window: (segment ids sounding in it, their window rolls (Sw, 2*88*L))
        for r in rolls:  # (S, 2, 88, L) per window
            ids = np.flatnonzero(r.reshape(len(r), -1).any(axis=1))
            self.parts.append((ids, torch.from_numpy(np.ascontiguousarray(r[ids]).reshape(len(ids), -1))))
        self.memo = [dict() for _ in self.wins]
        self.forward = fast(self.net, "forward", torch.zeros(2, 2, music.N_PITCHES, self.L))
        self.evaluated = 0  # windows actually sent to the network

    @staticmethod
    def _quarter_rolls(model, excerpt, seg):
        """Bar-aligned windows of quarters, and each window's per-segment rolls (as music.excerpt_rolls cuts)."""
        wins = music.windows(excerpt, length=model.window_quarters, hop=model.hop_quarters)
        spq = music.STEPS_PER_QUARTER
        L = int(round((wins[0].end_beat - wins[0].start_beat) * spq))
        T = max(int(round(w.start_beat * spq)) + L for w in wins)
        rolls = np.stack([music.piano_roll(subset(excerpt, seg.note_segment == s), n_steps=T)
                          for s in range(seg.n_segments)])  # (S, 2, 88, T)
        out = []
        for w in wins:
            s0 = int(round(w.start_beat * spq))
            r = rolls[:, :, :, s0 : s0 + L]
            if r.shape[-1] < L:
                r = np.concatenate([r, np.zeros(r.shape[:3] + (L - r.shape[-1],), np.float32)], axis=3)
            r = r.copy()
            r[:, 0, :, 0] = np.maximum(r[:, 0, :, 0], r[:, 1, :, 0])  # as music.excerpt_rolls; commutes with OR
            out.append(r)
        return wins, L, out

    @staticmethod
    def _seconds_rolls(model, excerpt, seg):
        """The excerpt's windows in seconds (:func:`music.encode_for`) and each window's per-segment rolls."""
        wins, _ = music.encode_for(excerpt, model)
        per = np.stack([music.window_rolls(excerpt, model, wins, keep=seg.note_segment == s)
                        for s in range(seg.n_segments)])  # (S, W, 2, 88, L)
        return wins, per.shape[-1], [per[:, w] for w in range(len(wins))]

    def _inputs(self, m: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
        """The window rolls of coalitions ``m`` (k, Sw) over the segment rolls ``R`` (Sw, 2*88*L)."""
        if not self.seconds:
            return (m @ R > 0).float().reshape(len(m), 2, music.N_PITCHES, self.L)
        x = torch.zeros(len(m), R.shape[1])
        for j in range(R.shape[0]):
            x = torch.maximum(x, m[:, j : j + 1] * R[j])
        return x.reshape(len(m), 2, music.N_PITCHES, self.L)

    def _batches(self, blocks: list):
        """The network's input in chunks of :attr:`chunk` rows, built block by block as they are needed."""
        buf, n = [], 0
        for m, R in blocks:
            for i in range(0, len(m), self.chunk):
                part = m[i : i + self.chunk]
                while len(part):
                    take = part[: self.chunk - n]
                    buf.append(self._inputs(take, R))
                    n += len(take)
                    part = part[len(take):]
                    if n == self.chunk:
                        yield torch.cat(buf)
                        buf, n = [], 0
        if buf:
            yield torch.cat(buf)

    def window_logp(self, masks: np.ndarray) -> np.ndarray:
        """(n, W, C) log probabilities per window; NaN where a window has no notes left."""
        n = len(masks)
        out = np.full((n, len(self.wins), self.C), np.nan)
        blocks, todo_keys = [], []
        lookups = []
        for w, (ids, R) in enumerate(self.parts):
            if ids.size == 0:
                continue
            sub = np.asarray(masks, dtype=bool)[:, ids]
            packed = np.packbits(sub, axis=1)
            uniq, inv = np.unique(packed, axis=0, return_inverse=True)
            sounding = sub.any(axis=1)
            keys = [u.tobytes() for u in uniq]
            new = [j for j, k in enumerate(keys) if k not in self.memo[w]]
            if new:
                first = np.zeros(len(uniq), dtype=np.int64)
                first[inv.reshape(-1)[::-1]] = np.arange(n)[::-1]  # one row of masks per unique pattern
                blocks.append((torch.from_numpy(sub[first[new]].astype(np.float32)), R))
                todo_keys.extend((w, keys[j]) for j in new)
            lookups.append((w, keys, inv.reshape(-1), sounding))
        if blocks:
            logp = []
            with torch.inference_mode():
                for x in self._batches(blocks):
                    p = torch.softmax(self.forward(x).float(), dim=1).double().numpy()
                    logp.append(np.log(np.clip(p, 1e-9, 1.0)))
            logp = np.concatenate(logp)
            self.evaluated += len(logp)
            for (w, k), lp in zip(todo_keys, logp):
                self.memo[w][k] = lp
        for w, keys, inv, sounding in lookups:
            table = np.stack([self.memo[w][k] for k in keys])
            vals = table[inv]
            vals[~sounding] = np.nan
            out[:, w] = vals
        return out

    def probabilities(self, masks: np.ndarray) -> np.ndarray:
        """(n, C) piece-level probabilities of each coalition."""
        lp = self.window_logp(masks)
        sounding = ~np.isnan(lp[:, :, 0])
        cnt = sounding.sum(axis=1)
        mean = np.where(sounding[:, :, None], lp, 0.0).sum(axis=1) / np.maximum(cnt, 1)[:, None]
        p = np.exp(mean - mean.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[cnt == 0] = 1.0 / self.C  # nothing left to hear: no evidence for any class
        return p

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """The target class's probability of each coalition, (n,)."""
        return self.probabilities(masks)[:, self.target]


@dataclass(frozen=True, eq=False)
class PieceLime(Explanation):
    """A LIME explanation of a symbolic model over bars x voices / registers of an excerpt of a piece."""

    piece: music.Piece | None = field(default=None, repr=False)  # the whole piece
    excerpt: music.Piece | None = field(default=None, repr=False)  # the explained bars, starting at beat 0
    segmentation: NoteSegmentation | None = field(default=None, repr=False)
    start_beat: float = 0.0  # where the excerpt starts in the piece
    model_windows: int = 0
    network_calls: int = 0  # windows actually sent to the network (after the memo)

    def segment_excerpt(self, ids, *, keep: bool = True) -> music.Piece:
        """The excerpt with only the given segments (keep=True) or without them."""
        return segment_piece(self.excerpt, self.segmentation, ids, keep=keep)


def default_span(piece: music.Piece, model, target: int, n_bars: int) -> int:
    """The first bar of the window where the model is surest of ``target`` (the explanation starts there).

    For a model that reads seconds it is the first whole bar inside that window (see :func:`_window_bars`).
    """
    pred = classify(piece, model)
    p = np.nan_to_num(pred.window_probabilities[:, target], nan=-1.0)
    w = pred.windows[int(np.argmax(p))]
    if w.start_second is None:
        return int(w.start_bar)
    starts = np.asarray(piece.seconds(piece.bar_starts), dtype=float)
    inside = np.flatnonzero(starts >= w.start_second - 1e-6)
    return int(piece.bar_numbers[inside[0] if inside.size else max(len(starts) - 2, 0)])


def _window_bars(piece: music.Piece, i0: int, seconds: float) -> int:
    """The last bar index of the longest run of whole bars from bar index ``i0`` lasting at most ``seconds``.

    The default span of a model that reads seconds: about one of its windows, so the excerpt is read as one
    window (a longer one would leave its last seconds to a second window, or unread). At least two bars (LIME
    compares bar groups), at most :data:`MAX_SPAN_BARS`.
    """
    starts = np.asarray(piece.seconds(piece.bar_starts), dtype=float)
    ends = np.append(starts[1:], piece.duration_seconds)
    fits = np.flatnonzero(ends[i0:] - starts[i0] <= seconds + 1e-6)
    last = i0 + (int(fits[-1]) if fits.size else 0)
    return int(min(max(last, i0 + 1), i0 + MAX_SPAN_BARS - 1, len(starts) - 1))


def _check_start_bar(piece: music.Piece, start_bar) -> None:
    nums = piece.bar_numbers
    if isinstance(start_bar, bool) or not isinstance(start_bar, (int, np.integer)) or not nums.min() <= start_bar <= nums.max():
        raise ParameterError(f"The start bar must be a bar of this piece ({nums.min()}–{nums.max()}), got {start_bar!r}.")


def _piece_span(piece: music.Piece, model, target, start_bar, n_bars: int | None) -> tuple[int, int]:
    """The indices (into the bar numbers) of the first and last explained bar.

    ``n_bars`` None: the declared default (:class:`PieceGridOptions`) for a model that reads quarters; for a
    model that reads seconds, the whole bars lasting about one of its windows (:func:`_window_bars`).
    """
    if piece.n_notes == 0:
        raise InputError("This piece has no notes, so there is nothing to explain.")
    if len(piece.bar_numbers) < 2:
        raise InputError("This piece has only one bar; LIME over bars needs at least two bars to compare.")
    if target is not None:
        resolve_target(target, model.classes)
    nums = piece.bar_numbers
    if start_bar is None:
        t0 = resolve_target(target, model.classes) if target is not None else int(
            np.argmax(classify(piece, model).piece_probabilities))
        start_bar = default_span(piece, model, t0, n_bars)
    _check_start_bar(piece, start_bar)
    i0 = int(np.argmax(nums >= start_bar))
    spec = music.input_spec(model)
    if n_bars is None and spec.grid == "seconds":
        i1 = _window_bars(piece, i0, spec.window)
        return (i0 - 1, i1) if i1 == i0 else (i0, i1)  # the last bar: with the one before it
    n_bars = PieceGridOptions().n_bars if n_bars is None else n_bars
    i1 = min(i0 + n_bars, len(nums)) - 1
    if i1 == i0 and len(nums) > 1:  # the last bar: take the bars before it instead
        i0 = max(0, i1 - n_bars + 1)
    return i0, i1


def explain_piece(piece: music.Piece, model, target: int | str | None = None, *, segments: str | None = None,
                  start_bar: int | None = None, n_bars: int | None = None, bars_per_segment: int | None = None,
                  n_registers: int | None = None, samples: int | None = None, kernel_width: float | None = None,
                  random_state: int | None = None, top_k: int | None = None, stability_seeds: int | None = None,
                  batch_size: int = 256, progress: Progress | None = None) -> PieceLime:
    """LIME over bars x voices (or registers) of ``n_bars`` bars of a piece for a symbolic model.

    A model that reads bar-aligned quarters (``composer``) sees the excerpt's bars through its windows; a model
    that reads seconds (``piano_composer``) sees the excerpt's 20-s windows from its first note, each coalition
    rendered as :func:`xai.symbolic.music.window_rolls` renders it (velocities and sustain pedal kept). Segments
    stay musical either way (bar groups x voices or registers; a performance's bars are its beat annotations'
    where given, else its file's nominal metre), and for a seconds model they are also cited by clock time
    ('0:12–0:18, low (C2–B3)'; without the bars where the bars are not the music's).

    Parameters
    ----------
    piece : Piece
    model : models.registry.Model (a piano-roll classifier)
    target : class name or index; None = the class the model predicts for the excerpt
    segments, n_bars, bars_per_segment, n_registers : the segment grid (:class:`PieceGridOptions`; segments
        'auto' = voices when the score has parts, else registers). ``n_bars`` None: the declared default for a
        model that reads quarters, and the whole bars lasting about one window (20 s) for one that reads seconds.
    start_bar : the first explained bar (default: where the model is surest of the class; for a seconds model
        the first whole bar of its surest window)
    samples, kernel_width, random_state, top_k, stability_seeds : LIME's options (:class:`LimeOptions`; exact
        enumeration with <= 12 segments; the top-k compared by the stability check over this many seeds)
    batch_size, progress : coalitions per batch and the :data:`xai.contract.Progress` callback

    Options left None take their declared defaults.
    """
    progress = progress or no_progress
    grid = PieceGridOptions.from_dict({k: v for k, v in dict(
        segments=segments, n_bars=n_bars, bars_per_segment=bars_per_segment, n_registers=n_registers).items()
        if v is not None})
    opts = lime_options(samples=samples, kernel_width=kernel_width, random_state=random_state, top_k=top_k,
                        stability_seeds=stability_seeds)
    i0, i1 = _piece_span(piece, model, target, start_bar, n_bars)
    nums = piece.bar_numbers
    b0, b1 = piece.bar_range(int(nums[i0]), int(nums[i1]))
    excerpt = piece.slice(b0, b1)
    if excerpt.n_notes == 0:
        raise InputError(f"Bars {nums[i0]}–{nums[i1]} have no notes, so there is nothing to explain there.")
    seconds = music.input_spec(model).grid == "seconds"
    t0 = float(piece.seconds(b0)) if seconds else None
    seg = segment_notes(excerpt, kind=grid.segments, bars_per_segment=grid.bars_per_segment,
                        n_registers=grid.n_registers, clock_offset=t0)
    check_segments(seg.n_segments, opts)
    full = classify(excerpt, model).piece_probabilities
    t_idx = int(np.argmax(full)) if target is None else resolve_target(target, model.classes)
    scorer = _PieceScorer(model, excerpt, seg, t_idx)
    lime_fit = fit(scorer, seg.n_segments, samples=opts.samples, kernel_width=opts.kernel_width,
                   random_state=opts.random_state, batch_size=batch_size, progress=progress)
    amount = np.array([s["n_notes"] for s in seg.segments], dtype=float)
    record = {"segments": seg.kind, "start_bar": int(nums[i0]), "end_bar": int(nums[i1]),
              "bars_per_segment": grid.bars_per_segment, "n_registers": grid.n_registers}
    if seconds:  # where the span lies in the music, and whether its bar numbers are the music's
        record |= {"n_bars": int(i1 - i0 + 1), "start_second": round(t0, 3),
                   "end_second": round(float(piece.seconds(b1)), 3), "bars_known": bool(piece.bars_known)}
    res = finish(seg.kind, model, t_idx, float(full[t_idx]), lime_fit, list(seg.segments), amount, "notes", scorer,
                 options=opts, batch_size=batch_size, progress=progress, record=record, title=piece.title,
                 cls=PieceLime, piece=piece, excerpt=excerpt, segmentation=seg, start_beat=float(b0),
                 model_windows=len(scorer.wins))
    return dataclasses.replace(res, network_calls=scorer.evaluated)  # known once the checks have asked too


# --------------------------------------------------------------------------------------------------------------
# audio model on a rendered score: one stem per part (or register)


@dataclass(frozen=True, eq=False)
class StemLime(Explanation):
    """A LIME explanation of an audio model over the separately rendered parts of a score (exact stems)."""

    stems: np.ndarray | None = field(default=None, repr=False)  # (S, samples) float32 at 22,050 Hz
    excerpt: music.Piece | None = field(default=None, repr=False)
    segmentation: NoteSegmentation | None = field(default=None, repr=False)

    def mix(self, ids, *, keep: bool = True) -> np.ndarray:
        """The sum of the given stems (keep=True) or of all the others: what the model heard for that coalition."""
        m = np.isin(np.arange(len(self.stems)), np.asarray(list(ids), dtype=int))
        return self.stems[m if keep else ~m].sum(axis=0)


def _render_stem(piece: music.Piece, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    if piece.n_notes == 0:
        return out
    x = from_wav_bytes(music.render_audio(piece)).waveform
    out[: min(n, x.size)] = x[:n]
    return out


def _four_seconds(piece: music.Piece, start_bar) -> tuple[int, music.Piece]:
    """The start bar (default the first) and the excerpt that sounds in the 4 s from it."""
    if piece.n_notes == 0:
        raise InputError("This piece has no notes, so there is nothing to explain.")
    start_bar = int(piece.bar_numbers.min()) if start_bar is None else start_bar
    _check_start_bar(piece, start_bar)
    b0 = piece.bar_range(int(start_bar), int(start_bar))[0]
    t0 = piece.seconds(b0)
    grid = np.linspace(b0, max(piece.length, b0 + 1e-3), 2000)
    after = grid[piece.seconds(grid) >= t0 + CLIP_SAMPLES / SAMPLE_RATE]
    b1 = float(after[0]) if after.size else piece.length
    excerpt = piece.slice(b0, b1)
    if excerpt.n_notes == 0:
        raise InputError(f"The 4 seconds from bar {start_bar} have no notes, so there is nothing to explain.")
    return int(start_bar), excerpt


def explain_stems(piece: music.Piece, model, target: int | str | None = None, *, start_bar: int | None = None,
                  samples: int | None = None, kernel_width: float | None = None, random_state: int | None = None,
                  top_k: int | None = None, stability_seeds: int | None = None, n_registers: int = 3,
                  batch_size: int = 64, progress: Progress | None = None) -> StemLime:
    """LIME over the parts of a score rendered one by one, for an audio model (4 s from ``start_bar``).

    Each part (voice) is rendered on its own with the General MIDI soundfont; the model hears the sum of the
    kept stems (one matrix product per batch). A score with one part is split into registers instead. With at
    most 12 stems every coalition is enumerated. The baseline ranks stems by their energy. LIME's options left
    None take their declared defaults (:class:`LimeOptions`).
    """
    progress = progress or no_progress
    opts = lime_options(samples=samples, kernel_width=kernel_width, random_state=random_state, top_k=top_k,
                        stability_seeds=stability_seeds)
    start_bar, excerpt = _four_seconds(piece, start_bar)
    kind = "bars-voices" if np.unique(excerpt.parts).size > 1 else "bars-registers"
    seg = segment_notes(excerpt, kind=kind, bars_per_segment=10_000, n_registers=n_registers)
    S = seg.n_segments
    check_segments(S, opts)
    stems = np.stack([_render_stem(subset(excerpt, seg.note_segment == s), CLIP_SAMPLES) for s in range(S)])
    progress(0.0, "Rendered the stems")
    net = model.net
    net.eval()
    St = torch.from_numpy(stems)
    forward = fast(net, "forward", St[:2])
    with torch.inference_mode():
        probs = torch.softmax(forward(St.sum(0, keepdim=True)).float(), dim=1)[0].numpy()
    t_idx = int(np.argmax(probs)) if target is None else resolve_target(target, model.classes)

    def score(masks: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.asarray(masks, dtype=np.float32)) @ St  # (n, samples): the kept stems' mix
        with torch.inference_mode():
            return torch.softmax(forward(x).float(), dim=1)[:, t_idx].double().numpy()

    lime_fit = fit(score, S, samples=opts.samples, kernel_width=opts.kernel_width, random_state=opts.random_state,
                   batch_size=batch_size, progress=progress)
    energy = (stems.astype(np.float64) ** 2).sum(axis=1)
    segs = [dict(s, label=s["label"].split(", ", 1)[1] if ", " in s["label"] else s["label"]) for s in seg.segments]
    record = {"segments": "stems", "start_bar": start_bar, "stems_by": kind.split("-")[1]}
    return finish("stems", model, t_idx, float(probs[t_idx]), lime_fit, segs, energy, "energy", score, options=opts,
                  batch_size=batch_size, progress=progress, record=record, title=piece.title, cls=StemLime,
                  stems=stems, excerpt=excerpt, segmentation=seg)
