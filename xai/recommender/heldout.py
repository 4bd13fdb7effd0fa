"""Retrieval quality measured out of sample: recommendations for clips the embedding's model never trained on.

The hubness view's same-class precision and k-NN accuracy query every item of the collection against all the
others. In the shipped audio collection 2,400 of 3,360 items (71 %) are the models' own training clips, whose
embeddings the training pulled towards their class, so that in-sample figure says little about a new recording.
Here queries are *held-out* clips (the test split, never seen in training; the validation split only chose the
epoch) and the references are

- ``collection``: the whole collection except the query itself (what a listener gets; most neighbours are
  training clips),
- ``train``: the training clips only (the classic out-of-sample k-NN protocol),
- ``heldout``: the other held-out clips only (neither side seen in training),
- ``heldout_other_pieces``: as ``heldout``, without clips of the query's own piece (test pieces give several
  clips each, and another excerpt of the same piece is an easy neighbour),

next to ``in_sample``: every item against the rest, the hubness view's figure. k-NN accuracy is the majority
class of the k nearest neighbours (ties to the class of the nearer neighbour, as
:func:`xai.recommender.hubness.retrieval_quality`), with a Wilson 95 % interval over queries; same-class precision
is the share of the k neighbours in the query's class, with a bootstrap 95 % interval over queries. Every row says
which share of the recommendations are training clips. Distances are Euclidean, as the unreduced hubness view.
(k-NN evaluation of held-out queries against a labelled reference set, e.g. Wu et al. 2018; Schedl et al.,
"Music recommender systems", on evaluating outside the training data.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xai.contract import Options, Result, option
from xai.errors import InputError
from xai.stats import wilson

__all__ = ["HeldOutOptions", "HeldOutResult", "PROTOCOLS", "evaluate", "knn_outcomes"]

SPLIT_NAMES = ("train", "val", "test")
PROTOCOLS = {
    "in_sample": "every item against the rest of the collection (the table above)",
    "collection": "held-out clips against the whole collection (what a listener gets)",
    "train": "held-out clips against the training clips only",
    "heldout": "held-out clips against the other held-out clips only",
    "heldout_other_pieces": "held-out clips against held-out clips of other pieces only",
}


@dataclass(frozen=True)
class HeldOutOptions(Options):
    """How the out-of-sample retrieval is measured."""

    k: int = option(10, low=1, high=200, help="Neighbours per query.")
    bootstrap: int = option(1000, low=100, high=100000, help="Bootstrap resamples of the queries.")
    random_state: int = option(0, low=0, high=2**31 - 1, help="Seed of the bootstrap.")


@dataclass(frozen=True)
class HeldOutResult(Result):
    """k-NN accuracy and same-class precision per protocol (:data:`PROTOCOLS`), with intervals and n."""

    name: str
    k: int
    label_kind: str  # what "same class" means: 'instrument' or 'class'
    split_counts: dict  # items per split in the collection
    rows: tuple  # one dict per protocol

    def table(self) -> list[dict]:
        """Rows for a page or the CLI: protocol, queries, references, accuracy and precision with intervals."""
        return [dict(r) for r in self.rows]

    def items_sentence(self, *, own_clips: bool) -> str:
        """What the collection's items are to this model, in words: its own training clips (``own_clips``: the
        model was trained on this collection's renders), or other renders of the pieces it was trained on."""
        n = self.split_counts
        if own_clips:
            return (f"{n['train']:,} of {sum(n.values()):,} items are the model's own training clips ({n['val']:,} "
                    f"chose its training epoch, {n['test']:,} were held out), and training pulled their embeddings "
                    f"towards their {self.label_kind}.")
        return (f"{n['train']:,} of {sum(n.values()):,} items are clips of the pieces the model was trained on, but "
                "rendered by the earlier two-soundfont data set, which it never heard (it trained on other renders "
                f"of those pieces); {n['test']:,} are clips of pieces it never heard in any render.")


def knn_outcomes(query: np.ndarray, ref: np.ndarray, labels_q: np.ndarray, labels_r: np.ndarray, k: int, *,
                 same: np.ndarray | None = None,
                 exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query: is the k-NN vote right, the share of its k neighbours in its class, and the neighbour indices.

    ``same`` (nq,) gives, per query, the index in ``ref`` of the query itself (excluded), or -1; ``exclude``
    (nq, nr) bool marks further references a query may not get (e.g. its own piece).
    """
    q = np.asarray(query, dtype=np.float32)
    r = np.asarray(ref, dtype=np.float32)
    if r.shape[0] <= k:
        raise InputError(f"Only {r.shape[0]} reference items: choose k below that, not {k}.")
    d = (q * q).sum(1)[:, None] - 2 * q @ r.T + (r * r).sum(1)[None, :]
    if same is not None:
        rows = np.flatnonzero(same >= 0)
        d[rows, same[rows]] = np.inf
    if exclude is not None:
        d[exclude] = np.inf
    nb = np.argsort(d, axis=1, kind="stable")[:, :k]
    nl = labels_r[nb]
    classes = np.unique(np.concatenate([labels_r, labels_q]))
    w = 1.0 + 1e-3 * (k - np.arange(k)) / k  # a tie goes to the class of the nearer neighbour
    votes = np.zeros((q.shape[0], classes.size))
    np.add.at(votes, (np.repeat(np.arange(q.shape[0]), k), np.searchsorted(classes, nl).ravel()),
              np.tile(w, q.shape[0]))
    right = classes[votes.argmax(1)] == labels_q
    return right, (nl == labels_q[:, None]).mean(1), nb


def _row(protocol, right, precision, train_share, n_ref, rng, n_boot) -> dict:
    boot = rng.integers(0, precision.size, (n_boot, precision.size))
    means = precision[boot].mean(1)
    return {"protocol": protocol, "what": PROTOCOLS[protocol], "queries": int(right.size), "references": int(n_ref),
            "knn_accuracy": round(float(right.mean()), 4), "knn_accuracy_ci95": wilson(int(right.sum()), right.size),
            "precision_at_k": round(float(precision.mean()), 4),
            "precision_ci95": [round(float(np.quantile(means, 0.025)), 4), round(float(np.quantile(means, 0.975)), 4)],
            "training_share_of_neighbours": round(float(train_share), 4)}


def evaluate(emb, options: HeldOutOptions | None = None, **kw) -> HeldOutResult:
    """k-NN accuracy and same-class precision of held-out queries against the collection (see the module doc).

    ``emb`` is an :class:`xai.recommender.embeddings.Embedding` of the audio collection (its ``meta['split']``
    says which items are training clips: 0 train, 1 validation, 2 test). InputError for a collection without
    splits (the score excerpts, your own vectors).
    """
    opts = options if options is not None else HeldOutOptions(**kw)
    split = emb.meta.get("split") if isinstance(emb.meta, dict) else None
    if split is None:
        raise InputError("This collection does not say which items were training clips, so recommendations cannot "
                         "be measured out of sample.")
    split = np.asarray(split).astype(int)
    X, y, k = np.asarray(emb.vectors, dtype=np.float32), np.asarray(emb.labels), int(opts.k)
    rng = np.random.default_rng(opts.random_state)
    train, test = np.flatnonzero(split == 0), np.flatnonzero(split == 2)
    if test.size == 0 or train.size <= k:
        raise InputError("The collection has no held-out clips (or too few training clips) to measure with.")
    rows = []
    all_idx = np.arange(len(y))
    piece = np.asarray(emb.meta.get("piece", np.arange(len(y))))
    for protocol, q_idx, r_idx in (("in_sample", all_idx, all_idx), ("collection", test, all_idx),
                                   ("train", test, train), ("heldout", test, test),
                                   ("heldout_other_pieces", test, test)):
        pos = {int(v): i for i, v in enumerate(r_idx)}
        same = np.array([pos.get(int(i), -1) for i in q_idx])
        exclude = piece[q_idx][:, None] == piece[r_idx][None, :] if protocol == "heldout_other_pieces" else None
        right, prec, nb = knn_outcomes(X[q_idx], X[r_idx], y[q_idx], y[r_idx], k, same=same, exclude=exclude)
        share = float(np.mean(split[r_idx][nb] == 0))
        rows.append(_row(protocol, right, prec, share, r_idx.size - (1 if (same >= 0).any() else 0), rng,
                         int(opts.bootstrap)))
    counts = {name: int(np.sum(split == i)) for i, name in enumerate(SPLIT_NAMES)}
    kind = "instrument" if str(emb.name).startswith("instrument") else "class"
    return HeldOutResult(name=emb.name, k=k, label_kind=kind, split_counts=counts, rows=tuple(rows))
