"""Symbolic adversarial edits: the fewest whole-note insertions / deletions that change the style a piano-roll
model hears in a piece (or excerpt).

Operates on the notes of a :class:`xai.symbolic.music.Piece`, never on roll pixels: an edit inserts a note on the beat
grid (a given duration, a pitch from the piece's own pitch classes by default) or deletes one of the piece's
notes. Each round ranks every possible edit by the gradient of the goal's margin with respect to the piano roll
(first-order estimate of what the edit's cells would do), evaluates the ``beam`` best exactly (the whole piece
re-encoded and classified as :func:`xai.symbolic.predict.classify` does) and keeps the best; it stops as soon as the goal
is reached. With a beam as large as the candidate set this is exact greedy search, so a flip that one edit can
achieve is always found with one edit.

The goal's margin is, on the piece-level log-probabilities (mean over sounding windows, as in
:func:`xai.symbolic.predict.classify`): targeted ``logp[target] - max_{j != target} logp[j]``; untargeted
``max_{j != y} logp[j] - logp[y]`` with ``y`` the model's answer on the unedited piece. Reached when > 0.

A model that reads seconds (``piano_composer``) is attacked the same way on its own grid: every edited piece
is shown the unedited piece's 20-s windows (:func:`xai.symbolic.music.window_rolls`; deleting the first note
must not move every window), read as the unedited piece is read (a performance keeps its velocities and its
sustain pedal), and the gradient is taken on the seconds roll (an edit's cells are the frames its seconds
cover, its onset weighted by its velocity as the model hears it). Edits stay on the piece's own time line:
inserted onsets every ``grid`` beats of its tempo map (a score's quarters; a performance file's nominal beats,
0.5 s each at the usual 120 a minute), so an edit is cited by bar and beat where the bars are the music's and
by clock time where they are only a performance file's nominal metre (``Piece.bars_known``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from xai.contract import Options, Progress, Result, option, resolve_target
from xai.errors import Cancelled, InputError, ParameterError
from xai.symbolic import music, timing
from xai.symbolic.music import note_name

__all__ = ["Edit", "NoteAttackOptions", "SymbolicAttack", "attack_piece", "apply_edits", "piece_log_probabilities"]


@dataclass(frozen=True)
class NoteAttackOptions(Options):
    """How :func:`attack_piece` searches for note edits."""

    max_edits: int = option(8, low=1, high=64, help="The most note edits tried.")
    grid: float = option(1.0, low=1 / 64, high=64.0, help="Spacing of inserted onsets (quarters).")
    duration: float = option(1.0, low=1 / 64, high=64.0, help="Duration of inserted notes (quarters).")
    pitches: str = option("piece", choices=("piece", "chromatic"),
                          help="Inserted notes use the piece's own pitch classes, or any pitch.")
    beam: int = option(48, low=1, high=10_000, help="Candidate edits checked exactly per round.")
    allow_insert: bool = option(True, help="Edits may add notes.")
    allow_delete: bool = option(True, help="Edits may remove notes.")


@dataclass(frozen=True)
class Edit:
    """One whole-note edit: ``op`` 'insert' or 'delete', the note's pitch, onset and duration (quarters), part."""

    op: str
    pitch: int
    onset: float
    duration: float
    part: int = 0
    velocity: int = 80

    def describe(self, piece: music.Piece) -> str:
        """The edit in words: 'add E♭4 in bar 3, beat 2 (1 quarter)'.

        A performance's beats are its file's nominal ones, so its edits are cited by clock time: 'add E♭4 in bar
        3 at 0:12.5 (0.5 s)' where beat annotations gave its bars, 'add E♭4 at 0:12.5 (0.5 s)' where they did not.
        """
        verb = "add" if self.op == "insert" else "remove"
        if piece.performed:
            t0, t1 = (float(piece.seconds(b)) for b in (self.onset, self.onset + self.duration))
            where = f"in bar {piece.bar_at(self.onset)} at" if piece.bars_known else "at"
            return f"{verb} {note_name(self.pitch)} {where} {music.clock(t0, tenths=True)} ({t1 - t0:.2g} s)"
        bar = piece.bar_at(self.onset)
        i = max(int(np.searchsorted(piece.bar_starts, self.onset + 1e-9, side="right")) - 1, 0)
        beat = self.onset - float(piece.bar_starts[i]) + 1 if piece.bar_starts.size else self.onset + 1
        return f"{verb} {note_name(self.pitch)} in bar {bar}, beat {beat:g} ({self.duration:g} quarter" \
               f"{'s' if self.duration != 1 else ''})"

    def summary(self, piece: music.Piece | None = None) -> dict:
        """The edit as plain JSON, with its bar and words when the piece is given."""
        d = {"op": self.op, "pitch": int(self.pitch), "name": note_name(self.pitch), "onset": float(self.onset),
             "duration": float(self.duration), "part": int(self.part)}
        if piece is not None:
            d["bar"] = piece.bar_at(self.onset)
            d["text"] = self.describe(piece)
            if piece.performed:  # a performance's beats are nominal: its clock time is the citation
                d["second"] = round(float(piece.seconds(self.onset)), 3)
                d["bars_known"] = bool(piece.bars_known)  # False: 'bar' is the file's nominal metre only
        return d


@dataclass(frozen=True, eq=False)
class SymbolicAttack(Result):
    """The note edits found by :func:`attack_piece`, the edited piece and the answers before and after."""

    model: str
    classes: tuple[str, ...]
    original: music.Piece
    adversarial: music.Piece
    edits: tuple[Edit, ...]
    original_probs: np.ndarray
    adversarial_probs: np.ndarray
    success: bool
    target: int | None = None
    history: tuple[tuple[float, ...], ...] = field(default_factory=tuple)  # piece probabilities after each edit

    @property
    def original_label(self) -> str:
        """The model's answer on the unedited piece."""
        return self.classes[int(np.argmax(self.original_probs))]

    @property
    def adversarial_label(self) -> str:
        """The model's answer on the edited piece."""
        return self.classes[int(np.argmax(self.adversarial_probs))]

    def summary(self) -> dict:
        """The CLI's JSON: labels, success, the edits in words and both probability vectors."""
        return {"model": self.model, "original": self.original_label, "adversarial": self.adversarial_label,
                "target": None if self.target is None else self.classes[self.target], "success": bool(self.success),
                "n_edits": len(self.edits), "n_notes": self.original.n_notes,
                "edits": [e.summary(self.original) for e in self.edits],
                "original_probabilities": {c: round(float(p), 6) for c, p in zip(self.classes, self.original_probs)},
                "adversarial_probabilities": {c: round(float(p), 6) for c, p in
                                              zip(self.classes, self.adversarial_probs)}}


def _with_notes(piece: music.Piece, keep: np.ndarray, add: list[Edit], end: float) -> music.Piece:
    """The piece with only the kept notes plus the added ones, read as the piece is (pedal, bars, performed)."""
    on = np.concatenate([piece.onsets[keep], [e.onset for e in add]]).astype(np.float64)
    order = np.argsort(on, kind="stable")

    def cat(a, vals, dtype):
        return np.concatenate([a[keep], np.asarray(vals, dtype=dtype)]).astype(dtype)[order]

    out = music.Piece(title=piece.title, onsets=on[order],
                      durations=cat(piece.durations, [e.duration for e in add], np.float64),
                      pitches=cat(piece.pitches, [e.pitch for e in add], np.int16),
                      velocities=cat(piece.velocities, [e.velocity for e in add], np.int16),
                      parts=cat(piece.parts, [e.part for e in add], np.int16), part_names=piece.part_names,
                      bar_starts=piece.bar_starts, bar_numbers=piece.bar_numbers, tempi=piece.tempi,
                      time_signatures=piece.time_signatures, source=None, end=end, pedal=piece.pedal,
                      bar_source=piece.bar_source)
    # An edited performance is still that performance (velocities, pedal) and an edited score still a score,
    # however the edits fall on the grid: its cached reading is the original's, not guessed from the new onsets.
    out.__dict__["performed"] = piece.performed
    return out


def apply_edits(piece: music.Piece, edits: list[Edit]) -> music.Piece:
    """The piece with the edits applied (a deletion removes the first matching note: pitch, onset, part)."""
    keep = np.ones(piece.n_notes, dtype=bool)
    add = []
    for e in edits:
        if e.op == "delete":
            hit = np.flatnonzero(keep & (piece.pitches == e.pitch) & np.isclose(piece.onsets, e.onset)
                                 & (piece.parts == e.part))
            if hit.size == 0:
                hit = np.flatnonzero([(a.pitch == e.pitch and np.isclose(a.onset, e.onset)) for a in add])
                if hit.size == 0:
                    raise ParameterError(f"There is no note {note_name(e.pitch)} at beat {e.onset:g} to remove.")
                add.pop(int(hit[0]))
                continue
            keep[hit[0]] = False
        else:
            add.append(e)
    return _with_notes(piece, keep, add, max(piece.length, piece.end or 0.0))


def _fixed_windows(piece: music.Piece, model, wins: list[music.Window]) -> tuple[np.ndarray, np.ndarray]:
    """The rolls of ``wins`` with the piece's notes, and which windows have notes (a seconds grid)."""
    X = music.window_rolls(piece, model, wins)
    notes = music.note_seconds(piece)
    sounding = np.array([bool(np.any((notes[:, 0] < w.end_second) & (notes[:, 1] > w.start_second)))
                         for w in wins], dtype=bool)
    return X, sounding


def piece_log_probabilities(pieces: list[music.Piece], model, *, batch_size: int = 256,
                            windows: list[music.Window] | None = None) -> np.ndarray:
    """Piece-level class log-probabilities of several pieces, as :func:`xai.symbolic.predict.classify` computes them.

    ``windows`` (a model that reads seconds): every piece is read over these windows (the unedited piece's,
    from :func:`xai.symbolic.music.encode_for`) instead of its own, so an edit never moves the windows.
    """
    rolls, owner = [], []
    for i, p in enumerate(pieces):
        if windows is not None and music.input_spec(model).grid == "seconds":
            X, sounding = _fixed_windows(p, model, windows)
        else:
            wins, X = music.encode_for(p, model)
            sounding = np.array([w.n_notes > 0 for w in wins])
        rolls.append(X[sounding])
        owner += [i] * int(sounding.sum())
    X = np.concatenate(rolls) if rolls else np.zeros((0, 2, music.N_PITCHES, 1), np.float32)
    owner = np.asarray(owner)
    out = np.full((len(pieces), len(model.classes)), -np.inf)
    if X.shape[0] == 0:
        return out
    net = model.net
    net.eval()
    with torch.inference_mode():
        lp = torch.cat([torch.log_softmax(net(torch.from_numpy(np.ascontiguousarray(X[s:s + batch_size]))), 1)
                        for s in range(0, len(X), batch_size)]).numpy()
    for i in range(len(pieces)):
        rows = lp[owner == i]
        if rows.size:
            m = rows.mean(0)
            out[i] = m - np.log(np.exp(m - m.max()).sum()) - m.max()
    return out


def _margin(logp: np.ndarray, y: int, target: int | None) -> np.ndarray:
    logp = np.atleast_2d(logp)
    if target is not None:
        other = np.delete(logp, target, axis=1).max(1)
        return logp[:, target] - other
    return np.delete(logp, y, axis=1).max(1) - logp[:, y]


def _goal_margin(lp: torch.Tensor, y: int, target: int | None) -> torch.Tensor:
    """The goal's margin on the piece-level log-probabilities (a differentiable :func:`_margin`)."""
    lp = lp - torch.logsumexp(lp, 0)
    mask = torch.ones_like(lp, dtype=torch.bool)
    if target is not None:
        mask[target] = False
        return lp[target] - lp[mask].max()
    mask[y] = False
    return lp[mask].max() - lp[y]


def _seconds_gradient(piece: music.Piece, model, wins: list[music.Window], y: int, target: int | None):
    """d margin / d seconds roll of the whole span the windows cover, (2, 88, F) from the first window's start."""
    spec = music.input_spec(model)
    t_start = float(wins[0].start_second)
    offs = [int(round((float(w.start_second) - t_start) * spec.fps)) for w in wins]
    F = max(offs) + spec.n_steps
    R = torch.tensor(timing.render(music.note_seconds(piece), t_start, n_frames=F, fps=spec.fps),
                     requires_grad=True)  # as each window renders it (window starts are whole frames apart)
    _, sounding = _fixed_windows(piece, model, wins)
    xs = [R[:, :, o:o + spec.n_steps] for o, s in zip(offs, sounding) if s]
    if not xs:
        return np.zeros(tuple(R.shape), np.float32), t_start, spec.fps
    model.net.eval()
    m = _goal_margin(torch.log_softmax(model.net(torch.stack(xs)), 1).mean(0), y, target)
    (g,) = torch.autograd.grad(m, R)
    return g.numpy(), t_start, spec.fps


def _roll_gradient(piece: music.Piece, model, y: int, target: int | None) -> np.ndarray:
    """d margin / d piano roll of the whole piece, (2, 88, T)."""
    spq = music.STEPS_PER_QUARTER
    wins = music.windows(piece, length=model.window_quarters, hop=model.hop_quarters)
    R = torch.tensor(music.piano_roll(piece), requires_grad=True)
    T = R.shape[2]
    L = int(round(model.window_quarters * spq))
    xs = []
    for w in wins:
        if w.n_notes == 0:
            continue
        s = int(round(w.start_beat * spq))
        e = min(s + L, T)
        seg = R[:, :, s:e]
        if e - s < L:
            seg = torch.nn.functional.pad(seg, (0, L - (e - s)))
        first = torch.maximum(seg[0, :, :1], seg[1, :, :1])
        seg = torch.cat([torch.cat([first, seg[0, :, 1:]], dim=1)[None], seg[1:2]], dim=0)
        xs.append(seg)
    if not xs:
        return np.zeros(tuple(R.shape), np.float32)
    model.net.eval()
    m = _goal_margin(torch.log_softmax(model.net(torch.stack(xs)), 1).mean(0), y, target)
    (g,) = torch.autograd.grad(m, R)
    return g.numpy()


def _cells(G: np.ndarray, pitch: int, onset: float, duration: float) -> float:
    spq = music.STEPS_PER_QUARTER
    T = G.shape[2]
    r = int(music.fold_pitch(np.array([pitch]))[0]) - music.PITCH_LOW
    s = int(round(onset * spq))
    e = max(s + 1, int(round((onset + duration) * spq)))
    if s >= T:
        return 0.0
    return float(G[0, r, s] + G[1, r, s:min(e, T)].sum())


def _seconds_cells(piece: music.Piece, G: np.ndarray, t_start: float, fps: int):
    """An edit's first-order score on a seconds roll: the gradient over the frames its seconds cover, its onset
    frame weighted by the velocity the model hears (a performance's /127, a score's 1). The sustain pedal's
    lengthening of a deleted note is left out of this estimate; the exact check that follows includes it."""
    F = G.shape[2]

    def cells(pitch: int, onset: float, duration: float, velocity: int) -> float:
        r = int(pitch) - music.PITCH_LOW
        on, off = (float(piece.seconds(b)) for b in (onset, onset + duration))
        s = int(np.floor((on - t_start) * fps + 1e-6))
        e = max(s + 1, int(np.ceil((off - t_start) * fps - 1e-6)))
        if not 0 <= r < music.N_PITCHES or s >= F or e <= 0:
            return 0.0
        vel = velocity / 127.0 if piece.performed else 1.0
        return float((G[0, r, s] * vel if s >= 0 else 0.0) + G[1, r, max(s, 0):min(e, F)].sum())

    return cells


def _search_space(piece: music.Piece, opts: NoteAttackOptions) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """Pitches and onsets an insertion may use, and the part an inserted pitch goes to (the nearest note's)."""
    end = max(piece.length, piece.end or 0.0)
    pmin, pmax = int(piece.pitches.min()) - 2, int(piece.pitches.max()) + 2
    cand_pitches = np.arange(max(pmin, music.PITCH_LOW), min(pmax, music.PITCH_HIGH) + 1)
    if opts.pitches == "piece":
        pcs = set((piece.pitches % 12).tolist())
        cand_pitches = np.array([p for p in cand_pitches if p % 12 in pcs])
    onsets = np.arange(0.0, max(end - opts.duration, 0.0) + 1e-9, opts.grid)
    part_of = {int(p): int(piece.parts[np.argmin(np.abs(piece.pitches.astype(int) - p))]) for p in cand_pitches}
    return cand_pitches, onsets, part_of


def _candidates(current: music.Piece, cells, space, inserted: set, opts: NoteAttackOptions):
    """Every possible edit with its first-order score (the gradient summed over the edit's cells).

    ``cells(pitch, onset, duration, velocity)`` is that sum for one note on the model's grid.
    """
    cand_pitches, onsets, part_of = space
    cands: list[Edit] = []
    scores: list[float] = []
    if opts.allow_delete:
        for i in range(current.n_notes):
            if (int(current.pitches[i]), float(current.onsets[i])) in inserted:
                continue
            e = Edit("delete", int(current.pitches[i]), float(current.onsets[i]), float(current.durations[i]),
                     int(current.parts[i]), int(current.velocities[i]))
            cands.append(e)
            scores.append(-cells(e.pitch, e.onset, e.duration, e.velocity))
    if opts.allow_insert:
        for p in cand_pitches:
            busy = current.onsets[current.pitches == p], current.durations[current.pitches == p]
            for t in onsets:
                if np.any((busy[0] < t + opts.duration) & (busy[0] + busy[1] > t)):
                    continue  # that key already sounds then
                e = Edit("insert", int(p), float(t), float(opts.duration), part_of[int(p)])
                cands.append(e)
                scores.append(cells(e.pitch, e.onset, e.duration, e.velocity))
    return cands, scores


def _cell_scores(piece: music.Piece, model, wins, y: int, target: int | None):
    """The first-order score of a note's cells on the model's grid (quarters, or seconds over ``wins``)."""
    if wins is None:
        G = _roll_gradient(piece, model, y, target)
        return lambda pitch, onset, duration, velocity: _cells(G, pitch, onset, duration)
    G, t_start, fps = _seconds_gradient(piece, model, wins, y, target)
    return _seconds_cells(piece, G, t_start, fps)


def _check_goal(piece: music.Piece, model, target, y: int) -> int | None:
    if target is None:
        return None
    classes = tuple(model.classes)
    t = resolve_target(target, classes)
    if t == y:
        raise ParameterError(f"The model already hears '{classes[y]}'; choose another target class or leave the "
                             f"target empty.")
    return t


def attack_piece(piece: music.Piece, model, *, target: int | str | None = None, max_edits: int = 8,
                 grid: float = 1.0, duration: float = 1.0, pitches: str = "piece", beam: int = 48,
                 allow_insert: bool = True, allow_delete: bool = True,
                 progress: Progress | None = None) -> SymbolicAttack:
    """The fewest note edits (greedy, gradient-ranked, exactly checked) that change the model's answer.

    Parameters: ``target`` a class name or index, or None (any other class); the search's options
    (:class:`NoteAttackOptions`): ``max_edits`` the most edits tried; ``grid`` spacing of inserted onsets and
    ``duration`` of inserted notes (quarters); ``pitches`` 'piece' (pitch classes of the piece, within its range
    +- a whole tone) or 'chromatic'; ``beam`` candidates checked exactly per round. ``progress(fraction,
    message)`` returning True cancels (raises :class:`~xai.errors.Cancelled`).
    """
    if piece.n_notes == 0:
        raise InputError("This piece has no notes, so there is nothing to change.")
    if isinstance(max_edits, bool) or not isinstance(max_edits, (int, np.integer)) or not 1 <= max_edits <= 64:
        raise ParameterError(f"The most edits must be an int in [1, 64], got {max_edits!r}.")
    opts = NoteAttackOptions(max_edits=int(max_edits), grid=grid, duration=duration, pitches=pitches, beam=beam,
                             allow_insert=allow_insert, allow_delete=allow_delete)
    wins = music.encode_for(piece, model)[0] if music.input_spec(model).grid == "seconds" else None
    lp0 = piece_log_probabilities([piece], model, windows=wins)[0]
    y = int(np.argmax(lp0))
    target = _check_goal(piece, model, target, y)
    space = _search_space(piece, opts)
    edits: list[Edit] = []
    current, lp, inserted, history = piece, lp0, set(), []
    for round_ in range(opts.max_edits):
        if _margin(lp, y, target)[0] > 0:
            break
        if progress is not None and progress(round_ / opts.max_edits, f"edit {round_ + 1}: searching") is True:
            raise Cancelled("The search for note edits was cancelled.")
        cands, scores = _candidates(current, _cell_scores(current, model, wins, y, target), space, inserted, opts)
        if not cands:
            break
        order = np.argsort(-np.asarray(scores), kind="stable")[:opts.beam]
        trial = [apply_edits(current, [cands[j]]) for j in order]
        lps = piece_log_probabilities(trial, model, windows=wins)
        best = int(np.argmax(_margin(lps, y, target)))
        chosen = cands[order[best]]
        edits.append(chosen)
        if chosen.op == "insert":
            inserted.add((chosen.pitch, chosen.onset))
        current, lp = trial[best], lps[best]
        history.append(tuple(np.exp(lp).round(6).tolist()))
    return SymbolicAttack(model=model.name, classes=tuple(model.classes), original=piece, adversarial=current,
                          edits=tuple(edits), original_probs=np.exp(lp0), adversarial_probs=np.exp(lp),
                          success=bool(_margin(lp, y, target)[0] > 0), target=target, history=tuple(history))
