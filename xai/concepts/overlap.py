"""Overlap audit: do the concept, the random pool, the class excerpts and the model's training music share passages?

A TCAV contrast is only as clean as its sets. A random excerpt that contains the concept's music blurs the
concept direction; a class excerpt the model was trained on is scored on music it has memorised; and the same
chorale harmonised twice sits in two corpus files under two names. So passages are compared by *note content*,
not by file name: each excerpt becomes the set of its 8-grams of onset events (the pitches struck together at
one time step, in order), and two excerpts share a passage when they share an 8-gram -- eight successive
attacks with the same pitches. The research code this product follows let concept and random sets share whole
passages (13 of its concept files, some 100 % contained in a random set, by the project's research notes),
which is what this audit catches.

The model's training pieces are known here through the random pool (a seeded sample of training windows) and
the pool's piece names; the full training corpus does not ship with the app, so the audit says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from xai.contract import Result

__all__ = ["N_GRAM", "OverlapReport", "passages", "audit", "chain_groups"]

N_GRAM = 8  # successive onset events that must agree for two excerpts to share a passage


def passages(X: np.ndarray, *, n: int = N_GRAM) -> list[frozenset]:
    """The note-content fingerprint of each excerpt: its n-grams of onset events, as a set of hashable tuples."""
    X = np.asarray(X)
    out = []
    for x in X:
        onset = x[0] if x.ndim == 3 else x
        cols = [tuple(np.flatnonzero(onset[:, t])) for t in range(onset.shape[1])]
        events = [c for c in cols if c]
        out.append(frozenset(tuple(events[i : i + n]) for i in range(len(events) - n + 1)))
    return out


def _shared(a: list[frozenset], b: list[frozenset]) -> np.ndarray:
    """(len(a),) bool: which excerpts of ``a`` share at least one passage with some excerpt of ``b``."""
    index = set().union(*b) if b else set()
    return np.array([bool(s & index) for s in a], dtype=bool)


@dataclass(frozen=True, eq=False)
class OverlapReport(Result):
    """What the sets of one TCAV experiment share, by note content: counts and the pieces concerned.

    ``concept_in_pool``: concept examples sharing a passage with the random excerpts actually used (after the
    concept's own pieces are set aside); ``concept_in_class``: with the class excerpts scored;
    ``class_in_training``: class excerpts sharing a passage with the model's training music we know of (the
    pool, all of it); ``concept_from_training``: concept examples whose piece is one of the model's training
    pieces by name. ``pieces`` maps each check to the piece names involved (at most 10).
    """

    n_concept: int
    n_pool: int
    n_class: int
    concept_in_pool: int
    concept_in_class: int
    class_in_training: int
    concept_from_training: int
    pieces: dict[str, tuple[str, ...]]

    @property
    def clean(self) -> bool:
        """No passage is shared between the concept, the random excerpts and the class excerpts."""
        return not (self.concept_in_pool or self.concept_in_class or self.class_in_training)

    def warnings(self) -> list[str]:
        """One plain sentence per problem found, for a musician."""
        out = []

        def names(key):
            p = self.pieces.get(key) or ()
            return f" ({', '.join(p)})" if p else ""

        if self.concept_in_pool:
            out.append(f"{self.concept_in_pool} of the {self.n_concept} concept excerpts share a passage (eight "
                       f"successive attacks) with the random excerpts they are contrasted with"
                       f"{names('concept_in_pool')}; the concept direction is blurred by that much.")
        if self.concept_in_class:
            out.append(f"{self.concept_in_class} concept excerpts share a passage with the class excerpts being "
                       f"scored{names('concept_in_class')}.")
        if self.class_in_training:
            out.append(f"{self.class_in_training} of the {self.n_class} class excerpts share a passage with the "
                       f"model's training music{names('class_in_training')}: the model may have memorised them.")
        return out


def audit(concept_X: np.ndarray, pool: np.ndarray, class_X: Mapping[str, np.ndarray], *,
          concept_sources: Sequence[str] | None = None, pool_sources: Sequence[str] | None = None,
          used_pool: np.ndarray | None = None, training_pieces: Sequence[str] | None = None) -> OverlapReport:
    """Compare the sets of a TCAV experiment by note content (see the module docstring).

    Parameters
    ----------
    concept_X : np.ndarray
        The concept's windows (N, 2, 88, T).
    pool : np.ndarray
        The whole random pool (training windows).
    class_X : mapping of class -> np.ndarray
        The class excerpts scored.
    concept_sources, pool_sources : sequence of str, optional
        The piece of each concept window / pool window (for names in the warnings).
    used_pool : np.ndarray of bool, optional
        Which pool rows the experiment may draw (default all).
    training_pieces : sequence of str, optional
        Names of the model's training pieces (default: the pool's pieces).

    Returns
    -------
    OverlapReport
    """
    used_pool = np.ones(len(pool), dtype=bool) if used_pool is None else np.asarray(used_pool, dtype=bool)
    c, p = passages(concept_X), passages(pool)
    cls = [x for t in class_X for x in passages(class_X[t])]
    in_pool = _shared(c, [s for s, u in zip(p, used_pool, strict=True) if u])
    in_class = _shared(c, cls)
    class_train = _shared(cls, p)
    training = set(training_pieces if training_pieces is not None else (pool_sources or ()))
    from_training = np.array([s in training for s in concept_sources], bool) if concept_sources is not None else \
        np.zeros(len(c), bool)

    def first(names, mask) -> tuple[str, ...]:
        return tuple(sorted({n for n, m in zip(names, mask, strict=True) if m}))[:10] if names is not None else ()

    pool_hit = np.zeros(len(p), bool)
    if class_train.any() and pool_sources is not None:
        idx = set().union(*[s for s, h in zip(cls, class_train, strict=True) if h])
        pool_hit = np.array([bool(s & idx) for s in p])
    return OverlapReport(
        n_concept=len(c), n_pool=int(used_pool.sum()), n_class=len(cls), concept_in_pool=int(in_pool.sum()),
        concept_in_class=int(in_class.sum()), class_in_training=int(class_train.sum()),
        concept_from_training=int(from_training.sum()),
        pieces={"concept_in_pool": first(concept_sources, in_pool), "concept_in_class": first(concept_sources, in_class),
                "class_in_training": first(pool_sources, pool_hit),
                "concept_from_training": first(concept_sources, from_training)},
    )


def chain_groups(X: np.ndarray, *, overlap_steps: int) -> np.ndarray:
    """Piece labels for windows cut in order from pieces with overlapping hops, recovered from their notes.

    Successive windows of one piece share ``overlap_steps`` time steps (the window minus the hop); a row whose
    first steps equal the previous row's last ones is given the previous row's label. Used for the shipped class
    excerpts, which carry no piece names; a piece whose windows were thinned may come out as several labels.
    """
    X = np.asarray(X)
    labels = np.zeros(len(X), dtype=np.int64)
    for i in range(1, len(X)):
        a, b = X[i - 1][..., -overlap_steps:], X[i][..., :overlap_steps]
        same = overlap_steps > 0 and a.any() and np.array_equal(a[0], b[0])
        labels[i] = labels[i - 1] if same else labels[i - 1] + 1
    return labels
