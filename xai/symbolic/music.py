"""Pieces of music as plain data: notes, bars, tempo; excerpts aligned to bars; piano rolls; audio.

Every path into a model goes through here, for an uploaded file and a training piece alike: a
:class:`Piece` is cut into bar-aligned :class:`Window` excerpts, and each excerpt becomes a two-channel
piano roll (onsets, sustain) on a beat grid. Keeping one path means an explanation's bar numbers are the
bar numbers the model actually saw.

music21, pretty_midi and midirenderer are imported in the functions that use them: each takes a second or more to
import, and most uses of a piece (windows, piano rolls) need none of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from xai.errors import InputError
from xai.symbolic import timing

__all__ = [
    "PITCH_LOW",
    "PITCH_HIGH",
    "N_PITCHES",
    "STEPS_PER_QUARTER",
    "WINDOW_QUARTERS",
    "HOP_QUARTERS",
    "Source",
    "Piece",
    "Window",
    "piece_key",
    "pack_pieces",
    "unpack_piece",
    "from_music21",
    "from_midi",
    "fold_pitch",
    "piano_roll",
    "windows",
    "excerpt_rolls",
    "encode",
    "InputSpec",
    "input_spec",
    "note_seconds",
    "encode_for",
    "encode_seconds",
    "require_quarters",
    "window_rolls",
    "clock",
    "with_annotations",
    "to_midi_bytes",
    "render_audio",
    "soundfont_path",
]

PITCH_LOW = 21  # A0, the lowest piano key
PITCH_HIGH = 108  # C8, the highest
N_PITCHES = PITCH_HIGH - PITCH_LOW + 1
STEPS_PER_QUARTER = 4  # sixteenth-note grid
WINDOW_QUARTERS = 16
HOP_QUARTERS = 8
DEFAULT_QPM = 100.0
_MAX_BARS = 1_000_000  # bar lines from MIDI time signatures: far more than any piece within the upload limits


@dataclass(frozen=True)
class Source:
    """Where a piece came from: the file as handed in, so its score can be engraved and its origin cited."""

    name: str
    format: str  # 'midi', 'musicxml', 'abc', 'humdrum'
    data: bytes = field(repr=False)
    sha256: str = ""

    @classmethod
    def from_bytes(cls, name: str, fmt: str, data: bytes) -> Source:
        """The source of a file's bytes, with their SHA-256."""
        return cls(name=name, format=fmt, data=data, sha256=hashlib.sha256(data).hexdigest())

    @property
    def is_scored(self) -> bool:
        """True for notated input (MusicXML, ABC, Humdrum), which has a score worth engraving."""
        return self.format != "midi"


@dataclass(frozen=True, eq=False)
class Piece:
    """A piece as notes on a quarter-note time line, with its bars and tempo map.

    Times are in quarter notes ("beats") from the start of the piece. Bars are given by their start beat and
    the bar number printed in the score (a pickup bar is bar 0).
    """

    title: str
    onsets: np.ndarray  # float64, quarters
    durations: np.ndarray  # float64, quarters
    pitches: np.ndarray  # int16, MIDI numbers
    velocities: np.ndarray  # int16, 1..127
    parts: np.ndarray  # int16, index into part_names
    part_names: tuple[str, ...]
    bar_starts: np.ndarray  # float64, quarters, increasing
    bar_numbers: np.ndarray  # int64
    tempi: tuple[tuple[float, float], ...] = ((0.0, DEFAULT_QPM),)  # (beat, quarter notes per minute)
    time_signatures: tuple[tuple[float, str], ...] = ()
    source: Source | None = None
    end: float | None = None  # notated end (end of the last bar), when the file says it
    warnings: tuple[str, ...] = ()  # plain sentences about how the file was read (xai.symbolic.fidelity)
    pedal: np.ndarray | None = None  # (K, 2) sustain-pedal-down spans in quarters (MIDI CC64); None: not known
    bar_source: str = ""  # '' bars as the file says; 'annotations' bars from beat annotations (ASAP)

    @property
    def n_notes(self) -> int:
        """How many notes the piece has."""
        return int(self.pitches.size)

    @cached_property
    def performed(self) -> bool:
        """True for a recorded performance (a MIDI file whose onsets fall off every notated grid).

        A performance's time line is its seconds; its MIDI bar lines are the recorder's default metre and
        tempo, not the music's, unless beat annotations replaced them (``bar_source == 'annotations'``).
        """
        src = self.source
        if src is not None and src.is_scored:
            return False
        return timing.is_performed(self.onsets)

    @property
    def bars_known(self) -> bool:
        """True when the bar numbers are the music's: a score's, or a performance's through its annotations."""
        return self.bar_source == "annotations" or not self.performed


    @property
    def length(self) -> float:
        """Length in quarters: the end of the last bar where known, else the end of the last note.

        A final note shorter than its bar must not make a 4-bar excerpt shorter than 4 bars.
        """
        if self.n_notes == 0:
            return 0.0
        return max(float(np.max(self.onsets + self.durations)), self.end or 0.0)

    @property
    def duration_seconds(self) -> float:
        """Playing time in seconds at the piece's tempo map."""
        return float(self.seconds(self.length))

    def seconds(self, beats):
        """Convert beats to seconds through the tempo map (scalar or array)."""
        beats = np.asarray(beats, dtype=float)
        starts = np.array([t[0] for t in self.tempi], dtype=float)
        qpm = np.array([t[1] for t in self.tempi], dtype=float)
        seg_sec = np.diff(starts) * 60.0 / qpm[:-1]
        cum = np.concatenate([[0.0], np.cumsum(seg_sec)])
        idx = np.clip(np.searchsorted(starts, beats, side="right") - 1, 0, len(starts) - 1)
        out = cum[idx] + (beats - starts[idx]) * 60.0 / qpm[idx]
        return out if out.ndim else float(out)

    def beat_at_seconds(self, seconds: float) -> float:
        """The beat reached after ``seconds`` of playing (the inverse of :meth:`seconds`, on a 4,096-step grid)."""
        grid = np.linspace(0.0, self.length, 4096)
        return float(np.interp(seconds, self.seconds(grid), grid))

    def bar_at(self, beat: float) -> int:
        """The number of the bar that contains ``beat``."""
        i = int(np.searchsorted(self.bar_starts, beat + 1e-9, side="right")) - 1
        return int(self.bar_numbers[max(i, 0)])

    def bar_range(self, start_bar: int, end_bar: int) -> tuple[float, float]:
        """Start and end beat of bars ``start_bar`` to ``end_bar`` inclusive."""
        nums = self.bar_numbers
        if start_bar > end_bar or start_bar < nums.min() or end_bar > nums.max():
            raise InputError(
                f"Bars {start_bar}-{end_bar} are not in this piece, which has bars {nums.min()}-{nums.max()}."
            )
        i0 = int(np.argmax(nums >= start_bar))
        i1 = int(np.argmax(nums >= end_bar))
        end = self.bar_starts[i1 + 1] if i1 + 1 < len(self.bar_starts) else max(self.length, self.bar_starts[i1])
        return float(self.bar_starts[i0]), float(end)

    def slice(self, start: float, end: float) -> Piece:
        """The notes sounding in [start, end), shifted to start at 0, clipped to the span."""
        keep = (self.onsets < end) & (self.onsets + self.durations > start)
        on = np.maximum(self.onsets[keep], start)
        off = np.minimum(self.onsets[keep] + self.durations[keep], end)
        in_bars = (self.bar_starts >= start - 1e-9) & (self.bar_starts < end)
        bar_starts = self.bar_starts[in_bars] - start
        bar_numbers = self.bar_numbers[in_bars]
        if bar_starts.size == 0 or bar_starts[0] > 1e-9:
            bar_starts = np.concatenate([[0.0], bar_starts])
            bar_numbers = np.concatenate([[self.bar_at(start)], bar_numbers])
        pedal = None
        if self.pedal is not None:
            ped = np.clip(np.asarray(self.pedal, dtype=float).reshape(-1, 2), start, end)
            pedal = ped[ped[:, 1] > ped[:, 0]] - start
        tempo_at = [t for t in self.tempi if t[0] <= start][-1:] or [self.tempi[0]]
        tempi = ((0.0, tempo_at[0][1]),) + tuple((b - start, q) for b, q in self.tempi if start < b < end)
        return Piece(
            title=self.title,
            onsets=on - start,
            durations=off - on,
            pitches=self.pitches[keep],
            velocities=self.velocities[keep],
            parts=self.parts[keep],
            part_names=self.part_names,
            bar_starts=bar_starts,
            bar_numbers=bar_numbers,
            tempi=tempi,
            time_signatures=self.time_signatures,
            source=self.source,
            end=min(end, self.length) - start,
            warnings=self.warnings,
            pedal=pedal,
            bar_source=self.bar_source,
        )


@dataclass(frozen=True)
class Window:
    """One excerpt the model reads: a span of beats and the bars it covers (inclusive).

    Windows of a model that reads seconds (``piano_composer``) also carry their span in seconds; their bar
    numbers are the music's only where ``bars_known`` (a score, or a performance with beat annotations).
    """

    index: int
    start_beat: float
    end_beat: float
    start_bar: int
    end_bar: int
    n_notes: int
    start_second: float | None = None
    end_second: float | None = None
    bars_known: bool = True

    @property
    def label(self) -> str:
        """How the window is cited: its bars where they are known, else its seconds ('0:20–0:40')."""
        if self.start_second is None:
            return bars_text(self.start_bar, self.end_bar)
        when = f"{clock(self.start_second)}–{clock(self.end_second or self.start_second)}"
        return f"{bars_text(self.start_bar, self.end_bar)} ({when})" if self.bars_known else when


def clock(seconds: float, *, tenths: bool = False) -> str:
    """How a moment of a performance is cited: '1:05' for 65 seconds ('1:05.5' with ``tenths``).

    The one clock format of the product: windows, LIME segments, discovered excerpts and note edits of a
    performance all cite time this way, beside the bars where the bars are known.
    """
    t = max(float(seconds), 0.0)
    if tenths:
        return f"{int(t // 60)}:{t % 60:04.1f}"
    s = int(round(t))
    return f"{s // 60}:{s % 60:02d}"


def piece_key(piece: Piece) -> str:
    """A key that names a piece by its file, ``'<sha256>:<name>'`` (the name picks the format), for caches.

    A piece made in memory (no source) is named by its identity, so two such pieces never share a key.
    """
    src = piece.source
    if src is None:
        return f"untitled:{id(piece)}"
    return f"{src.sha256}:{src.name}"


# --- many pieces as flat arrays ----------------------------------------------------------------------------------

_PACKED_NOTES = (("onsets", np.float64), ("durations", np.float64), ("pitches", np.int16), ("velocities", np.int16),
                 ("parts", np.int16))
_PACKED_BARS = (("bar_starts", np.float64), ("bar_numbers", np.int64))


def pack_pieces(pieces: Sequence, *, velocities: bool = True) -> dict[str, np.ndarray]:
    """Many pieces as flat arrays with pointers, the one layout of every packed-pieces file (``.npz``).

    Piece ``i``'s notes are ``[note_ptr[i], note_ptr[i + 1])`` of ``onsets``, ``durations``, ``pitches``,
    ``velocities`` and ``parts``; its bars are ``[bar_ptr[i], bar_ptr[i + 1])`` of ``bar_starts`` and
    ``bar_numbers``. The corpus cache, the discovery excerpts, the rendered audio set and the recommender's items
    are all stored this way; :func:`unpack_piece` reads one piece back.

    Parameters
    ----------
    pieces : sequence of Piece or of mappings
        Pieces, or mappings with the same field names (records made before a Piece exists).
    velocities : bool
        Keep the velocities (formats without them play every note at 80).

    Returns
    -------
    dict of str to ndarray
        ``note_ptr``, ``bar_ptr`` (int64) and the note and bar arrays (float64 times, int16 pitches, velocities
        and parts, int64 bar numbers).
    """
    def field_of(p, name):
        return p[name] if isinstance(p, Mapping) else getattr(p, name)

    notes = [(k, t) for k, t in _PACKED_NOTES if velocities or k != "velocities"]
    out: dict[str, np.ndarray] = {}
    for name, dtype in notes + list(_PACKED_BARS):
        parts = [np.asarray(field_of(p, name), dtype=dtype) for p in pieces]
        out[name] = np.concatenate(parts) if parts else np.zeros(0, dtype)
    note_counts = [len(field_of(p, "pitches")) for p in pieces]
    bar_counts = [len(field_of(p, "bar_starts")) for p in pieces]
    out["note_ptr"] = np.concatenate([[0], np.cumsum(note_counts)]).astype(np.int64)
    out["bar_ptr"] = np.concatenate([[0], np.cumsum(bar_counts)]).astype(np.int64)
    return out


def unpack_piece(arrays: Mapping, i: int, *, title: str = "", n_parts: int | None = None,
                 tempi: tuple[tuple[float, float], ...] = ((0.0, DEFAULT_QPM),)) -> Piece:
    """Piece ``i`` of arrays laid out as :func:`pack_pieces` writes them (a dict or an open ``.npz``).

    Without ``velocities`` every note has velocity 80. Parts are named 'Part 1', 'Part 2', ...: ``n_parts`` of
    them, or as many as the piece's highest part index asks.
    """
    a, b = int(arrays["note_ptr"][i]), int(arrays["note_ptr"][i + 1])
    c, d = int(arrays["bar_ptr"][i]), int(arrays["bar_ptr"][i + 1])
    notes = {k: np.asarray(arrays[k][a:b], dtype=t) for k, t in _PACKED_NOTES if k != "velocities" or k in arrays}
    if "velocities" not in notes:
        notes["velocities"] = np.full(b - a, 80, dtype=np.int16)
    if n_parts is None:
        n_parts = int(notes["parts"].max()) + 1 if notes["parts"].size else 1
    return Piece(title=title, **notes, part_names=tuple(f"Part {k + 1}" for k in range(int(n_parts))),
                 **{k: np.asarray(arrays[k][c:d], dtype=t) for k, t in _PACKED_BARS}, tempi=tuple(tempi))


def from_music21(score, *, title: str | None = None, source: Source | None = None) -> Piece:
    """Convert a parsed music21 score (or the first score of an opus) into a :class:`Piece`.

    Tied notes are merged, unpitched (percussion) notes and zero-length grace notes are dropped, and each
    pitch of a chord becomes a note of the same part.
    """
    score = _first_score(score)
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    onsets, durs, pitches, vels, part_idx, names = _music21_notes(parts)
    bar_starts, bar_numbers, notated_end = _music21_bars(parts[0], onsets, durs)
    if title is None:
        md = getattr(score, "metadata", None)
        title = (md.title if md is not None and md.title else None) or (source.name if source else "Untitled")
    order = np.lexsort((np.asarray(pitches), np.asarray(onsets))) if onsets else np.array([], dtype=int)
    return Piece(
        title=str(title),
        onsets=np.asarray(onsets, dtype=float)[order],
        durations=np.asarray(durs, dtype=float)[order],
        pitches=np.asarray(pitches, dtype=np.int16)[order],
        velocities=np.clip(np.asarray(vels, dtype=np.int16), 1, 127)[order],
        parts=np.asarray(part_idx, dtype=np.int16)[order],
        part_names=tuple(names),
        bar_starts=bar_starts,
        bar_numbers=bar_numbers,
        tempi=tuple(_music21_tempi(score)),
        time_signatures=tuple((float(ts.getOffsetInHierarchy(parts[0])), ts.ratioString)
                              for ts in parts[0].recurse().getElementsByClass("TimeSignature")),
        source=source,
        end=notated_end,
    )


def _music21_errors() -> tuple[type[Exception], ...]:
    """What music21 raises on odd but harmless data (its own errors and the plain ones its code lets through)."""
    from music21.exceptions21 import Music21Exception

    return Music21Exception, AttributeError, TypeError, ValueError, KeyError, IndexError, ZeroDivisionError


def _first_score(score):
    """The score itself, or the first score of an opus (an ABC or Humdrum file with several)."""
    from music21 import stream

    if isinstance(score, stream.Opus):
        scores = list(score.scores)
        if not scores:
            raise InputError("The file holds no tunes or scores.")
        return scores[0]
    return score


def _music21_notes(parts) -> tuple[list, list, list, list, list, list[str]]:
    """(onsets, durations, pitches, velocities, part indices, part names) of every pitched note of the parts."""
    from music21 import note

    onsets, durs, pitches, vels, part_idx, names = [], [], [], [], [], []
    for i, part in enumerate(parts):
        names.append(_part_name(part, i))
        for n in part.stripTies().flatten().notes:
            if isinstance(n, note.Unpitched) or not hasattr(n, "pitches") or type(n).__name__ == "PercussionChord":
                continue
            dur = float(n.quarterLength)
            if dur <= 0:
                continue
            vel = n.volume.velocity if n.volume.velocity is not None else 80
            for p in n.pitches:
                onsets.append(float(n.offset))
                durs.append(dur)
                pitches.append(int(p.midi))
                vels.append(int(vel))
                part_idx.append(i)
    return onsets, durs, pitches, vels, part_idx, names


def _music21_bars(part, onsets, durs) -> tuple[np.ndarray, np.ndarray, float | None]:
    """(bar starts, bar numbers, notated end) from the first part's measures; 4/4 bars when it has none."""
    from music21 import stream

    measures = list(part.getElementsByClass(stream.Measure))
    notated_end = float(measures[-1].offset + measures[-1].duration.quarterLength) if measures else None
    bar_starts = [float(m.offset) for m in measures]
    bar_numbers = [int(m.number) for m in measures]
    if measures and bar_numbers[0] == 0 and _is_full_bar(measures[0]):
        # music21's ABC reader numbers the first bar 0 even when it is complete; only a pickup is bar 0.
        bar_numbers = [n + 1 for n in bar_numbers]
    if not bar_starts:
        end = max((o + d for o, d in zip(onsets, durs)), default=4.0)
        bar_starts = list(np.arange(0.0, max(end, 4.0), 4.0))
        bar_numbers = list(range(1, len(bar_starts) + 1))
    order = np.argsort(bar_starts, kind="stable")
    starts = np.asarray(bar_starts, dtype=float)[order]
    numbers = np.asarray(bar_numbers, dtype=np.int64)[order]
    # Repeated/duplicate measure offsets (e.g. from voltas) would break bar lookups: keep the first.
    starts, uniq = np.unique(starts, return_index=True)
    return starts, numbers[uniq], notated_end


def _music21_tempi(score) -> list[tuple[float, float]]:
    """(beat, quarter notes per minute) of each metronome mark, starting at beat 0 (default tempo before the first)."""
    tempi = []
    try:
        for start, _end, mm in score.metronomeMarkBoundaries():
            qpm = mm.getQuarterBPM()
            if qpm and qpm > 0:
                tempi.append((float(start), float(qpm)))
    except _music21_errors():  # odd tempo data: a default tempo is fine
        tempi = []
    if not tempi or tempi[0][0] > 0:
        tempi.insert(0, (0.0, tempi[0][1] if tempi else DEFAULT_QPM))
    return tempi


def _is_full_bar(measure) -> bool:
    """True when a measure is as long as its time signature asks (so it is no pickup)."""
    try:
        return measure.paddingLeft == 0 and measure.duration.quarterLength >= measure.barDuration.quarterLength
    except _music21_errors():  # no time signature in reach: treat it as music21 numbered it
        return False


def from_midi(midi_file, *, title: str, source: Source | None = None) -> Piece:
    """Convert a parsed ``mido.MidiFile`` into a :class:`Piece`, reading ticks directly.

    MIDI carries no notation to recover, so music21's quantising translation (seconds per thousand notes)
    is not needed: note times are exact beats (ticks / ticks per beat), bars follow the time-signature
    events (4/4 until the first), bar 1 starts at tick 0, and each (track, channel) with pitched notes
    becomes a part named after its track. Channel 10 (drums) is dropped; a note-on without its note-off
    ends at the track's end.
    """
    tpb = float(midi_file.ticks_per_beat)
    events = _MidiEvents(tpb)
    for t_idx, track in enumerate(midi_file.tracks):
        events.read_track(t_idx, track)

    arr = np.array(events.notes, dtype=float).reshape(-1, 5)
    arr = arr[np.lexsort((arr[:, 2], arr[:, 0]))]
    onsets = arr[:, 0] / tpb
    durations = np.maximum(arr[:, 1] - arr[:, 0], 1.0) / tpb
    length = max(float(np.max(onsets + durations)) if len(arr) else 0.0, events.end_tick / tpb)

    tempi = sorted(set(events.tempi)) or [(0.0, 120.0)]
    if tempi[0][0] > 0:
        tempi.insert(0, (0.0, 120.0))
    tempi = [t for i, t in enumerate(tempi) if i + 1 == len(tempi) or tempi[i + 1][0] != t[0]]  # last one wins
    sigs = sorted(events.sigs) or [(0.0, 4, 4)]
    if sigs[0][0] > 0:
        sigs.insert(0, (0.0, 4, 4))
    bar_starts = _midi_bar_starts(sigs, length)
    last_len = sigs[-1][1] * 4.0 / sigs[-1][2] if sigs[-1][2] else 4.0
    return Piece(
        title=title,
        onsets=onsets,
        durations=durations,
        pitches=arr[:, 2].astype(np.int16),
        velocities=np.clip(arr[:, 3], 1, 127).astype(np.int16),
        parts=arr[:, 4].astype(np.int16),
        part_names=tuple(events.names),
        bar_starts=bar_starts,
        bar_numbers=np.arange(1, bar_starts.size + 1, dtype=np.int64),
        tempi=tuple(tempi),
        time_signatures=tuple((b, f"{n}/{d}") for b, n, d in sigs),
        source=source,
        end=float(bar_starts[-1] + last_len) if len(arr) else None,
        pedal=timing.pedal_intervals(events.pedal, length) if events.pedal else None,
    )


class _MidiEvents:
    """What :func:`from_midi` gathers from the tracks: notes (on tick, off tick, pitch, velocity, part), parts,
    tempo changes, time signatures and the last tick."""

    def __init__(self, tpb: float):
        self.tpb = tpb
        self.notes: list[tuple[float, float, int, int, int]] = []
        self.part_keys: dict[tuple[int, int], int] = {}
        self.names: list[str] = []
        self.tempi: list[tuple[float, float]] = []
        self.sigs: list[tuple[float, int, int]] = []
        self.pedal: list[tuple[float, int]] = []  # (beat, CC64 value) of every channel: one piano, one pedal
        self.end_tick = 0

    def read_track(self, t_idx: int, track) -> None:
        """Gather one track's events; a note still sounding at the track's end ends there."""
        tick = 0
        track_name = ""
        sounding: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                if msg.channel != 9:
                    sounding.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif kind == "note_off" or kind == "note_on":
                starts = sounding.get((msg.channel, msg.note))
                if starts:
                    on_tick, vel = starts.pop(0)
                    self._note(on_tick, tick, msg.note, vel, t_idx, msg.channel, track_name)
            elif kind == "set_tempo" and msg.tempo > 0:  # a tempo of 0 is refused by the loader's pre-scan
                self.tempi.append((tick / self.tpb, 60_000_000.0 / msg.tempo))
            elif kind == "control_change" and msg.control == 64:
                self.pedal.append((tick / self.tpb, msg.value))
            elif kind == "time_signature":
                self.sigs.append((tick / self.tpb, msg.numerator, msg.denominator))
            elif kind == "track_name" and not track_name:
                track_name = msg.name.strip()
        for (channel, pitch), starts in sounding.items():
            for on_tick, vel in starts:
                self._note(on_tick, tick, pitch, vel, t_idx, channel, track_name)
        self.end_tick = max(self.end_tick, tick)

    def _note(self, on: int, off: int, pitch: int, vel: int, track: int, channel: int, track_name: str) -> None:
        self.notes.append((on, off, pitch, vel, _midi_part(self.part_keys, self.names, track, channel, track_name)))


def _midi_bar_starts(sigs: list[tuple[float, int, int]], length: float) -> np.ndarray:
    """Bar lines from the time signatures (beat, numerator, denominator) to the end of the piece."""
    bar_starts = []
    for k, (start, num, den) in enumerate(sigs):
        stop = sigs[k + 1][0] if k + 1 < len(sigs) else max(length, start + 1e-9)
        bar_len = num * 4.0 / den if den else 0.0
        if bar_len <= 0:
            continue
        if (stop - start) / bar_len > _MAX_BARS:  # a 1/65536 metre would ask for billions of bar lines
            raise InputError(f"A time signature of {num}/{den} would cut this piece into more than "
                             f"{_MAX_BARS:,} bars; correct the metre in your music program and try again.")
        bar_starts.extend(np.arange(start, stop, bar_len).tolist())
    return np.unique(np.asarray(bar_starts or [0.0], dtype=float))


def _midi_part(keys: dict, names: list, track: int, channel: int, track_name: str) -> int:
    """Index of the part for (track, channel), created on first use and named after the track."""
    key = (track, channel)
    if key not in keys:
        keys[key] = len(keys)
        names.append(track_name or f"Track {track + 1}" + (f" ch. {channel + 1}" if channel else ""))
    return keys[key]


def _part_name(part, i: int) -> str:
    for attr in ("partName", "partAbbreviation", "id"):
        v = getattr(part, attr, None)
        if isinstance(v, str) and v.strip() and not v.strip().isdigit() and not v.startswith("0x"):
            return v.strip()
    return f"Part {i + 1}"


def fold_pitch(p: np.ndarray) -> np.ndarray:
    """Move pitches outside the piano range by octaves into it, so no note is silently lost."""
    p = p.astype(np.int64)
    below = p < PITCH_LOW
    p[below] += 12 * np.ceil((PITCH_LOW - p[below]) / 12).astype(np.int64)
    above = p > PITCH_HIGH
    p[above] -= 12 * np.ceil((p[above] - PITCH_HIGH) / 12).astype(np.int64)
    return p


def piano_roll(piece: Piece, *, steps_per_quarter: int = STEPS_PER_QUARTER, n_steps: int | None = None) -> np.ndarray:
    """Two-channel piano roll of a piece, shape (2, 88, T): channel 0 onsets, channel 1 sustain (sounding).

    Every note sounds for at least one step, so short notes are never lost on the grid.
    """
    T = n_steps if n_steps is not None else int(math.ceil(piece.length * steps_per_quarter))
    roll = np.zeros((2, N_PITCHES, max(T, 0)), dtype=np.float32)
    if piece.n_notes == 0 or T <= 0:
        return roll
    start = np.round(piece.onsets * steps_per_quarter).astype(np.int64)
    end = np.maximum(start + 1, np.round((piece.onsets + piece.durations) * steps_per_quarter).astype(np.int64))
    rows = fold_pitch(piece.pitches) - PITCH_LOW
    ok = start < T
    start, end, rows = start[ok], np.minimum(end[ok], T), rows[ok]
    roll[0, rows, start] = 1.0
    # Sustain: a difference array per pitch row, then a cumulative sum over time.
    diff = np.zeros((N_PITCHES, T + 1), dtype=np.int32)
    np.add.at(diff, (rows, start), 1)
    np.add.at(diff, (rows, end), -1)
    roll[1] = (np.cumsum(diff[:, :T], axis=1) > 0).astype(np.float32)
    return roll


def windows(piece: Piece, *, length: float = WINDOW_QUARTERS, hop: float = HOP_QUARTERS) -> list[Window]:
    """Cut a piece into excerpts of ``length`` quarters that start on bar lines, about ``hop`` apart.

    Each window starts at the first bar line at least ``hop`` quarters after the previous start, so excerpts
    line up with the music's bars and can be cited by bar number; the last window may run past the end
    (it is padded with silence).
    """
    if length <= 0 or hop <= 0:
        raise InputError("Window length and hop must be positive.")
    end_of_piece = piece.length
    bars = piece.bar_starts
    out: list[Window] = []
    start = float(bars[0]) if bars.size else 0.0
    start = min(start, float(piece.onsets.min())) if piece.n_notes else start
    while True:
        stop = start + length
        span_end = min(stop, max(end_of_piece, start + 1e-6))
        n = int(np.count_nonzero((piece.onsets < stop) & (piece.onsets + piece.durations > start)))
        out.append(Window(len(out), start, stop, piece.bar_at(start), piece.bar_at(span_end - 1e-6), n))
        if stop >= end_of_piece:
            break
        later = bars[bars >= start + hop - 1e-9]
        nxt = float(later[0]) if later.size else start + hop
        start = nxt if nxt < start + length else start + hop  # never leave a gap between windows
    return out


def excerpt_rolls(
    roll: np.ndarray, wins: list[Window], *, steps_per_quarter: int = STEPS_PER_QUARTER
) -> np.ndarray:
    """Cut windows out of a piano roll, padding past the end with silence. Returns (N, 2, 88, L)."""
    if not wins:
        return np.zeros((0, 2, N_PITCHES, 0), dtype=np.float32)
    L = int(round((wins[0].end_beat - wins[0].start_beat) * steps_per_quarter))
    out = np.zeros((len(wins), roll.shape[0], roll.shape[1], L), dtype=np.float32)
    T = roll.shape[2]
    for i, w in enumerate(wins):
        s = int(round(w.start_beat * steps_per_quarter))
        e = min(s + L, T)
        if e > s:
            out[i, :, :, : e - s] = roll[:, :, s:e]
            # An onset channel cut mid-note would show no onset; mark notes already sounding as starting here.
            out[i, 0, :, 0] = np.maximum(out[i, 0, :, 0], out[i, 1, :, 0])
    return out


def encode(
    piece: Piece, *, length: float = WINDOW_QUARTERS, hop: float = HOP_QUARTERS
) -> tuple[list[Window], np.ndarray]:
    """The one path from a piece to model input: bar-aligned windows and their piano rolls."""
    wins = windows(piece, length=length, hop=hop)
    roll = piano_roll(piece)
    return wins, excerpt_rolls(roll, wins)


@dataclass(frozen=True)
class InputSpec:
    """The grid a model reads: windows in quarters (bar-aligned) or in seconds (from the first note).

    ``grid`` is 'quarters' (``window`` and ``hop`` in quarters, :data:`STEPS_PER_QUARTER` steps a quarter) or
    'seconds' (``window`` and ``hop`` in seconds, ``fps`` frames a second).
    """

    grid: str
    window: float
    hop: float
    fps: int = 0

    @property
    def n_steps(self) -> int:
        """Time steps of one window's roll."""
        per = self.fps if self.grid == "seconds" else STEPS_PER_QUARTER
        return int(round(self.window * per))

    @property
    def unit(self) -> str:
        """'quarters' or 'seconds', for sentences."""
        return self.grid


def input_spec(model) -> InputSpec:
    """What a symbolic model reads, from its card's ``input`` (seconds) or its ``window_quarters`` (quarters).

    A model without a card (a test fake) reads :data:`WINDOW_QUARTERS`-quarter windows unless it says otherwise.
    """
    inp = (getattr(model, "card", None) or {}).get("input", {})
    if float(inp.get("window_seconds", 0) or 0) > 0:
        return InputSpec("seconds", float(inp["window_seconds"]), float(inp.get("hop_seconds", inp["window_seconds"])),
                         int(inp.get("frames_per_second", timing.FPS)))
    length = float(getattr(model, "window_quarters", 0) or WINDOW_QUARTERS)
    hop = float(getattr(model, "hop_quarters", 0) or HOP_QUARTERS)
    return InputSpec("quarters", length, hop)


def note_seconds(piece: Piece, keep: np.ndarray | None = None) -> np.ndarray:
    """The piece's notes in seconds as a model trained on performances saw them: (N, 4) float32.

    Columns: onset s, offset s, MIDI pitch, velocity (0..1), sorted by onset. A performance keeps its
    velocities (/127) and its sustain pedal (a note released under the pedal sounds until the pedal lifts); a
    score (notation, or a quantised MIDI file) is played at its tempo map with every velocity 1.0 and no
    pedal, as the score MIDI files in training were. A piece read from notation has no pedal marks here, so a
    score's pedalling (*Ped.*) is not heard.

    ``keep`` (N,) bool keeps only those notes, still read as the whole piece is (a performance stays a
    performance however few notes are kept): the explainers that switch notes off use it.
    """
    # Rounded to 0.1 µs, so that a note-off and a pedal press on the same MIDI tick stay simultaneous (as in
    # training, which read times straight from the ticks) despite the float rounding of beats -> seconds.
    on = np.round(np.asarray(piece.seconds(piece.onsets), dtype=np.float64).reshape(-1), 7)
    off = np.round(np.asarray(piece.seconds(piece.onsets + piece.durations), dtype=np.float64).reshape(-1), 7)
    vel = piece.velocities.astype(np.float64) / 127.0 if piece.performed else np.ones(piece.n_notes)
    notes = np.stack([on, off, piece.pitches.astype(np.float64), vel], axis=1) if piece.n_notes else \
        np.zeros((0, 4))
    if keep is not None:
        notes = notes[np.asarray(keep, dtype=bool).reshape(-1)]
    if piece.performed and piece.pedal is not None and len(piece.pedal):
        ped = np.asarray(piece.pedal, dtype=np.float64).reshape(-1, 2)
        ped_s = np.round(np.stack([piece.seconds(ped[:, 0]), piece.seconds(ped[:, 1])], axis=1), 7)
        notes = timing.apply_pedal(notes, ped_s)
    notes = notes[np.argsort(notes[:, 0], kind="stable")]
    return notes.astype(np.float32)


def encode_for(piece: Piece, model) -> tuple[list[Window], np.ndarray]:
    """The one path from a piece to a model's input, whatever grid the model reads.

    A model that reads quarters gets :func:`encode` (bar-aligned windows; bit-identical to it). A model that
    reads seconds gets windows of ``window`` seconds every ``hop`` seconds from the first note, rendered at
    ``fps`` exactly as :mod:`training.asap` renders its training windows (:func:`note_seconds`,
    :func:`xai.symbolic.timing.render`). Those windows carry their seconds and the bars they cover (through the
    tempo map, or a performance's beat annotations); a performance without annotations has no bar numbers to
    trust, and its windows say so (``bars_known`` False).

    Parameters
    ----------
    piece : Piece
    model : a symbolic model (:class:`xai.contract.Model`); its input is read by :func:`input_spec`.

    Returns
    -------
    (list of Window, ndarray)
        The windows and their rolls, (N, 2, 88, T) float32.
    """
    spec = input_spec(model)
    if spec.grid == "quarters":
        return encode(piece, length=spec.window, hop=spec.hop)
    return encode_seconds(piece, spec)


def window_rolls(piece: Piece, model, wins: list[Window], keep: np.ndarray | None = None) -> np.ndarray:
    """The rolls of fixed windows ``wins`` (from :func:`encode_for` on ``piece``), with only the kept notes.

    The explainers that switch notes off (LIME's segments, attributions' keep/remove, note attacks) must
    show the model the same windows with fewer notes, whatever grid it reads: windows of a subset of the notes
    would otherwise start elsewhere (a seconds grid starts at the first note). ``keep`` (N,) bool, None = all
    notes; with every note kept the result equals ``encode_for(piece, model)[1]``.

    Returns
    -------
    ndarray
        (len(wins), 2, 88, T) float32, T the model's window length in steps.
    """
    spec = input_spec(model)
    mask = np.ones(piece.n_notes, dtype=bool) if keep is None else np.asarray(keep, dtype=bool).reshape(-1)
    if mask.shape != (piece.n_notes,):
        raise ValueError(f"keep has {mask.size} entries for {piece.n_notes} notes")
    if spec.grid == "quarters":
        sub = dataclasses.replace(piece, onsets=piece.onsets[mask], durations=piece.durations[mask],
                      pitches=piece.pitches[mask], velocities=piece.velocities[mask], parts=piece.parts[mask],
                      end=piece.end if piece.end is not None else piece.length)
        T = max([int(round(w.start_beat * STEPS_PER_QUARTER)) + spec.n_steps for w in wins] or [spec.n_steps])
        return excerpt_rolls(piano_roll(sub, n_steps=T), wins)
    notes = note_seconds(piece, keep=mask)
    if not wins:
        return np.zeros((0, 2, N_PITCHES, spec.n_steps), dtype=np.float32)
    return np.stack([timing.render(notes, float(w.start_second or 0.0), n_frames=spec.n_steps, fps=spec.fps)
                     for w in wins])


def require_quarters(model, what: str) -> None:
    """Refuse, in a sentence, an explainer that cuts bars of quarters for a model that reads seconds.

    Explainers that edit or differentiate the piano roll on the beat grid (LIME's note segments, attributions,
    note attacks) do not yet rebuild a performance's seconds grid; they say so instead of failing.
    """
    spec = input_spec(model)
    if spec.grid != "quarters":
        name = getattr(model, "name", "this model")
        raise InputError(f"{what} is not available yet for '{name}', which reads {spec.window:g}-second windows of "
                         "performances rather than bars; choose the 'composer' model (styles across eras) for it, "
                         "or use Classify, TCAV and Discovered concepts with this one.")


def encode_seconds(piece: Piece, spec: InputSpec) -> tuple[list[Window], np.ndarray]:
    """Windows in seconds and their rolls (see :func:`encode_for`)."""
    notes = note_seconds(piece)
    if len(notes) == 0:
        starts = np.zeros(1, dtype=np.float32)
    else:
        starts = timing.window_starts(notes, spec.window, spec.hop)
    n_frames = spec.n_steps
    X = np.stack([timing.render(notes, float(s), n_frames=n_frames, fps=spec.fps) for s in starts]) \
        if len(starts) else np.zeros((0, 2, N_PITCHES, n_frames), dtype=np.float32)
    known = piece.bars_known
    total = piece.duration_seconds
    wins = []
    for i, s in enumerate(starts.astype(np.float64)):
        e = s + spec.window
        b0, b1 = piece.beat_at_seconds(s), piece.beat_at_seconds(min(e, max(total, s + 1e-3)))
        n = int(np.count_nonzero((notes[:, 0] < e) & (notes[:, 1] > s))) if len(notes) else 0
        wins.append(Window(i, b0, max(b1, b0), piece.bar_at(b0), piece.bar_at(max(b1 - 1e-6, b0)), n,
                           start_second=float(s), end_second=float(e), bars_known=known))
    return wins, X


def with_annotations(piece: Piece, text: str) -> Piece:
    """A performance with its bars taken from beat annotations (ASAP ``*_annotations.txt``: seconds, b/db).

    Each annotated downbeat starts a bar; the bars are numbered from 1, and music before the first downbeat
    (a pickup) is bar 0. The notes are unchanged. Raises InputError when the text has no downbeats.
    """
    try:
        _beats, downs = timing.read_annotations(text)
    except ValueError:
        downs = np.zeros(0)
    if downs.size == 0:
        raise InputError("The beat annotations hold no downbeats, so the bars of this performance are not known.")
    starts = np.array([piece.beat_at_seconds(float(t)) for t in downs])
    starts = np.unique(starts)
    numbers = np.arange(1, starts.size + 1, dtype=np.int64)
    if piece.n_notes and float(piece.onsets.min()) < starts[0] - 1e-6:
        starts = np.concatenate([[0.0], starts])
        numbers = np.concatenate([[0], numbers])
    return dataclasses.replace(piece, bar_starts=starts, bar_numbers=numbers, bar_source="annotations")


def soundfont_path() -> Path:
    """The General MIDI soundfont that ships inside pretty_midi (TimGM6mb.sf2)."""
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def to_midi_bytes(piece: Piece, start: float | None = None, end: float | None = None, *, program: int = 0) -> bytes:
    """Write (a span of) a piece as a standard MIDI file, one instrument per part, tempo map kept."""
    import pretty_midi

    p = piece.slice(start, end) if start is not None and end is not None else piece
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(p.tempi[0][1]))
    # pretty_midi has no public call for tempo changes; without them every beat after the first change would
    # be placed at the first tempo. Its tick scales are seconds per tick from each change on.
    res = pm.resolution
    pm._tick_scales = [(int(round(b * res)), 60.0 / (float(q) * res)) for b, q in p.tempi]
    pm._update_tick_to_time(int(round(p.length * res)) + 1)
    on_s = p.seconds(p.onsets)
    off_s = p.seconds(p.onsets + p.durations)
    for k, name in enumerate(p.part_names):
        inst = pretty_midi.Instrument(program=program, name=name[:30])
        sel = np.flatnonzero(p.parts == k)
        for i in sel:
            inst.notes.append(
                pretty_midi.Note(int(p.velocities[i]), int(p.pitches[i]), float(on_s[i]), float(off_s[i]))
            )
        if inst.notes:
            pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def render_audio(piece: Piece, start: float | None = None, end: float | None = None, *, program: int = 0) -> bytes:
    """Render (a span of) a piece to WAV bytes with the General MIDI soundfont; no system packages needed."""
    import midirenderer

    if piece.n_notes == 0:
        raise InputError("There are no notes to play.")
    midi = to_midi_bytes(piece, start, end, program=program)
    return bytes(midirenderer.render_wave_from(soundfont_path().read_bytes(), midi))


NOTE_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")


def note_name(midi: int) -> str:
    """Scientific pitch name of a MIDI number (60 -> 'C4', 61 -> 'C♯4'): the one spelling the app shows."""
    midi = int(midi)
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def bars_text(start_bar: int, end_bar: int) -> str:
    """'bars 5–8' (or 'bar 5' for one bar): how a span is cited in the app."""
    return f"bar {start_bar}" if start_bar == end_bar else f"bars {start_bar}–{end_bar}"
