"""A TCAV experiment on library concepts: the one code path the 'Test a concept' page and ``python -m xai tcav`` share.

:mod:`xai.concepts.tcav` is array-level; this module joins it to the concept library. It turns concepts into
piano-roll stacks, draws the random sets from the shipped pool of training excerpts *without the pieces the
concepts' examples come from* (a random set sharing a piece with the concept would blur the contrast), scores
the shipped excerpts of each class, and writes the run, with every number needed to reproduce it, to the
library's run log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xai.concepts import library as concepts
from xai.concepts import overlap, tcav
from xai.contract import Progress, Result
from xai.errors import InputError, ParameterError

__all__ = ["TCAVRun", "run", "example_sources", "record", "cache_key", "concept_fingerprint", "visible_runs", "link_options"]


@dataclass(frozen=True, eq=False)
class TCAVRun(Result):
    """One experiment: the TCAV result, the size of the random pool it drew from (after leaving pieces out) and
    the overlap audit of its sets (:mod:`xai.concepts.overlap`)."""

    result: tcav.TCAVResult
    n_pool: int
    overlap: overlap.OverlapReport | None = None


def example_sources(concept: concepts.Concept, *, hop: float | None = None, model=None) -> list[str]:
    """The piece each window of :func:`xai.concepts.library.example_rolls` comes from, in the same order.

    Runs resample a concept's examples by piece, so that examples of one piece are never on both sides of the
    held-out split; an example without a source piece counts as a piece of its own.
    """
    from xai.symbolic import music

    hop = music.HOP_QUARTERS if hop is None else hop
    seconds = model is not None and music.input_spec(model).grid == "seconds"
    out = []
    for k, e in enumerate(concept.examples):
        if e.n_notes == 0:
            continue
        wins, X = music.encode_for(e.to_piece(), model) if seconds else music.encode(e.to_piece(), hop=hop)
        n = sum(1 for i, w in enumerate(wins) if w.n_notes > 0 and X[i].any())
        out.extend([e.source_name or f"example {k + 1}"] * n)
    return out


def concept_fingerprint(concept: concepts.Concept) -> str:
    """A key for results computed from a concept: its name and the notes and bars of its examples."""
    h = hashlib.sha256(concept.name.encode())
    for e in concept.examples:
        h.update(e.fingerprint().encode())
        h.update(f"{e.start_beat:.6f}:{e.end_beat:.6f}".encode())
    return h.hexdigest()


def cache_key(concept: concepts.Concept, model, *, relative_to: concepts.Concept | None = None,
              targets: Sequence[str], layers: Sequence[str], options: tcav.TCAVOptions, random_state: int) -> tuple:
    """What an experiment's result depends on, as a hashable key (the model by its weights' hash)."""
    return (
        "relative" if relative_to is not None else "tcav",
        concept_fingerprint(concept),
        concept_fingerprint(relative_to) if relative_to is not None else None,
        tuple(targets),
        tuple(layers),
        tuple(sorted(options.to_dict().items())),
        int(random_state),
        model.weights_sha256,
    )


def _inputs(model=None) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    return concepts.tcav_sets(model)


def run(
    concept: concepts.Concept,
    model,
    *,
    relative_to: concepts.Concept | None = None,
    targets: Sequence[str],
    layers: Sequence[str],
    options: tcav.TCAVOptions = tcav.TCAVOptions(),
    random_state: int = 0,
    progress: Progress | None = None,
    inputs: tuple[np.ndarray, Sequence[str], dict[str, np.ndarray]] | None = None,
) -> TCAVRun:
    """TCAV of a usable concept (or relative TCAV against a second one) on the shipped excerpts.

    Parameters
    ----------
    concept : Concept
        The concept tested (concept A of a relative test); see :func:`xai.concepts.library.check_usable`.
    model
        A :class:`xai.contract.Model` with ``classes``.
    relative_to : Concept, optional
        Concept B: the CAVs separate A from B instead of from random excerpts.
    targets, layers : sequence of str
        Classes scored and layers tested.
    options : TCAVOptions
    random_state : int
        Seed of every random draw.
    progress : Progress, optional
    inputs : (pool, pool sources, class excerpts), optional
        The shipped random pool, the piece each pool excerpt comes from and each class's excerpts (default:
        read from the library's shipped sets; a server passes the copies it holds).

    Returns
    -------
    TCAVRun
    """
    pool, sources, class_X = inputs if inputs is not None else _inputs(model)
    for t in targets:
        if t not in class_X:
            raise InputError(f"The shipped concept sets hold no excerpts of the class '{t}' to score.")
    # Random sets never share a piece with the concept(s) tested (see xai.concepts.library.random_pool_sources):
    # tcav.score sets aside the pool rows of the concept's pieces, given both sides' piece names.
    taken = {e.source_name for c in (concept, relative_to) if c is not None for e in c.examples}
    keep = np.array([s not in taken for s in sources], dtype=bool)
    class_X = {t: class_X[t] for t in targets}
    common = {"class_X": class_X, "random_X": pool, "random_groups": list(sources), "layers": list(layers),
              "targets": list(targets), "classes": model.classes, "options": options,
              "random_state": random_state, "progress": progress}
    # A concept's excerpts are model-independent; they are cut into the windows of the model tested here.
    X, src = concepts.example_rolls(concept, model=model), example_sources(concept, model=model)
    if X.shape[1:] != pool.shape[1:]:
        raise InputError(f"The TCAV excerpts given are {pool.shape[-1]} steps long but '{model.name}' reads "
                         f"{X.shape[-1]}; use the model's own sets (xai.concepts.library.tcav_sets).")
    if relative_to is None:
        res = tcav.score(X, model.net, name=concept.name, concept_groups=src, **common)
        X_all, src_all = X, src
    else:
        XB, srcB = concepts.example_rolls(relative_to, model=model), example_sources(relative_to, model=model)
        res = tcav.relative_score(X, XB, model.net, names=(concept.name, relative_to.name), groups=(src, srcB),
                                  **common)
        X_all, src_all = np.concatenate([X, XB]), src + srcB
    audit = overlap.audit(X_all, pool, class_X, concept_sources=src_all, pool_sources=list(sources), used_pool=keep)
    return TCAVRun(result=res, n_pool=int(keep.sum()), overlap=audit)


def record(experiment: TCAVRun, model, *, library: concepts.Library, command: str, from_cache: bool | None = None,
           seconds: float | None = None) -> int:
    """Write an experiment to the library's run log, with everything needed to reproduce it; returns the run's id.

    ``from_cache`` and ``seconds`` (what a server knows about how the result was obtained) are kept when given.
    """
    res = experiment.result
    parameters = {
        "method": "relative TCAV" if res.relative_to else "TCAV",
        "relative_to": res.relative_to,
        "random_state": res.random_state,
        "options": res.options.to_dict(),
        "weights_sha256": model.weights_sha256,
        "n_concept_per_set": res.n_concept,
        "n_class": dict(zip(res.targets, res.n_class, strict=True)),
        "n_random_pool": experiment.n_pool,
        "n_concept_pieces": res.n_pieces,
    }
    if experiment.overlap is not None:
        ov = experiment.overlap
        parameters["overlap"] = {k: getattr(ov, k) for k in ("n_concept", "n_pool", "n_class", "concept_in_pool",
                                                             "concept_in_class", "class_in_training",
                                                             "concept_from_training")}
        parameters["overlap"]["pieces"] = {k: list(v) for k, v in ov.pieces.items()}
    if from_cache is not None:
        parameters["from_cache"] = from_cache
    if seconds is not None:
        parameters["seconds"] = round(seconds, 2)
    parameters["command"] = command
    return library.save_run({
        "model": model.name,
        "concepts": [res.concept] + ([res.relative_to] if res.relative_to else []),
        "targets": list(res.targets),
        "layers": list(res.layers),
        "parameters": parameters,
        "results": {
            "records": res.to_records(),
            "scores": res.scores,
            "random_scores": res.random_scores,
            "cav_accuracies": res.cav_accuracies,
            "sets": res.sets_,
        },
    })


def visible_runs(runs: list[dict], *, mine: set[int], public: set[str]) -> list[dict]:
    """The recorded runs a session may see: its own, and those whose concepts are all ``public`` (saved or built in).

    The run log is shared by everyone using an installation, but an unsaved concept is private to the session
    that drew it, so a run of someone else's unsaved concept (its name and results) is not shown.
    """
    return [r for r in runs if r["id"] in mine or set(r["concepts"]) <= public]


def link_options(state: dict) -> dict:
    """The TCAV options a share link's state holds that are valid here (others are left out), typed as declared."""
    out = {}
    for s in tcav.TCAVOptions.spec():
        v = state.get(s["name"])
        if v is None:
            continue
        try:
            v = {"int": int, "float": float}.get(s["type"], lambda x: x)(v)
            tcav.TCAVOptions.from_dict({s["name"]: v})
        except (TypeError, ValueError, ParameterError):
            continue
        out[s["name"]] = v
    return out
