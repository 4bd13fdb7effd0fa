"""What each kind of study cell computes: one call into ``xai``, the same function the page or CLI uses.

:func:`execute` is what a worker runs (a local process or a Ray task): it pins the numeric libraries to one thread
(so the same cell gives the same numbers in any process on any machine: thread counts change the order of
floating-point sums) and returns the cell's result as plain JSON data, or a plain message if the cell failed.
Heavy modules (torch, the models) are imported inside the tasks, so reading a study file stays quick.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable

from xai.contract import jsonable
from xai.errors import InputError, XaiError

__all__ = ["TASKS", "execute"]

_MODELS: dict[str, object] = {}  # a worker keeps the models it loaded for the next cells


def _model(name: str):
    if name not in _MODELS:
        from models import registry

        _MODELS[name] = registry.load(name)
        _torch_one_thread()
    return _MODELS[name]


def tcav(p: dict) -> dict:
    """TCAV of one concept for one class at one layer (:func:`xai.concepts.experiment.run`)."""
    from xai.concepts import experiment
    from xai.concepts import library as concepts
    from xai.concepts import tcav as tcav_mod

    model = _model(p["model"])
    if p["target"] not in model.classes:
        raise InputError(f"The model '{model.name}' has no class '{p['target']}'; its classes are "
                         f"{', '.join(model.classes)}.")
    if p["layer"] not in model.layers:
        raise InputError(f"The model '{model.name}' has no layer '{p['layer']}'; its layers are "
                         f"{', '.join(model.layers)}.")
    lib = concepts.Library(p["library"] or None)
    try:
        builtins = concepts.builtin(model=model)  # the built-in concepts made for this kind of model
    except InputError:  # none ship for this model: a study that names a library can still test its concepts
        if not p["library"]:
            raise
        builtins = {}

    def find(name: str):
        if p["library"] and name in lib:  # a study that names a library means its concepts, before built-in ones
            return concepts.check_usable(lib.get(name))
        if name in builtins:
            return concepts.check_usable(builtins[name])
        return concepts.check_usable(lib.get(name))

    concept = find(p["concept"])
    run = experiment.run(concept, model, relative_to=find(p["relative_to"]) if p["relative_to"] else None,
                         targets=[p["target"]], layers=[p["layer"]],
                         options=tcav_mod.TCAVOptions.from_dict(p["options"]), random_state=p["seed"])
    res = run.result
    if p["record"]:  # also in the library's run log (the app's "previous runs"), as the CLI's tcav does
        experiment.record(run, model, library=lib, command="python -m xai study")
    return {"records": res.to_records(), "scores": res.scores, "random_scores": res.random_scores,
            "cav_accuracies": res.cav_accuracies, "n_random_pool": run.n_pool, "weights_sha256": model.weights_sha256,
            # a cell is keyed by the concept's name; its content is kept so a table can tell a stale cell
            "concept_fingerprint": experiment.concept_fingerprint(concept)}


def discovery(p: dict) -> dict:
    """Concepts discovered in one layer with one method and K (:func:`xai.concepts.discovery.cached`)."""
    from xai.concepts import discovery as disc

    model = _model(p["model"])
    excerpts = disc.load_excerpts()
    found, status = disc.cached(model, excerpts, layer=p["layer"], method=p["method"], n_concepts=p["n_concepts"],
                                random_state=p["seed"], classes=p["classes"] or None, **p["options"])
    out = found.summary(excerpts, top=5)
    out["source"] = status
    return out


def robustness(p: dict) -> dict:
    """The robustness study of the style models with one seed (:func:`xai.attacks.robustness.run_study`)."""
    from xai.attacks import robustness as rob

    return rob.run_study(n_clips=p["n_clips"], n_instrument=p["n_instrument"], n_targeted=p["n_targeted"],
                         steps=p["steps"], random_state=p["seed"])


def veracity(p: dict) -> dict:
    """LIME's veracity under attack over the test clips (:func:`xai.attacks.veracity.run_study`)."""
    from xai.attacks import veracity as ver

    return ver.run_study(model_name=p["model"], n_clips=p["n_clips"], k=p["k"], samples=p["samples"],
                         random_state=p["seed"])


def label_noise(p: dict) -> dict:
    """One run of a label-noise curve (:func:`xai.classroom.label_noise.train_run`)."""
    from models.label_noise import load_subset
    from xai.classroom import label_noise as ln

    r = ln.train_run(load_subset(), kind=p["noise_kind"], noise=p["noise"], random_state=p["seed"],
                     epochs=p["epochs"] or None, n_train=p["n_train"] or None)
    return r.record()


def hub_attack(p: dict) -> dict:
    """The hub attack against one defence (:func:`xai.recommender.hub_attack.run_job`)."""
    from xai.recommender import embeddings
    from xai.recommender import hub_attack as ha

    emb = embeddings.load(p["embedding"])
    return ha.run_job(emb, _model(emb.name).net, (p["defence"],), n_songs=p["n_songs"], random_state=p["seed"],
                      options=ha.HubAttackOptions.from_dict(p["options"]))


def hubness(p: dict) -> dict:
    """Hubness and retrieval of a shipped embedding at one k under one reduction (:func:`analyse`)."""
    from xai.recommender import embeddings
    from xai.recommender import hubness as hub

    emb = embeddings.load(p["embedding"])
    rep = hub.analyse(emb.vectors, emb.labels, p["k"], p["reduction"], candidates=p["candidates"])
    out = rep.summary()
    out.pop("seconds")  # timings are kept beside the result, not in it: results compare equal across machines
    return out


def call(p: dict) -> dict:
    """Any importable function ``package.module:function``, called with ``seed`` and the table's ``params``."""
    from importlib import import_module

    target = p["function"]
    module, _, name = target.partition(":")
    try:
        fn = getattr(import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise InputError(f"There is no function '{target}' to call; write it as 'package.module:function'.") from None
    return fn(seed=p["seed"], **p["params"])


TASKS: dict[str, Callable[[dict], dict]] = {
    "tcav": tcav, "discovery": discovery, "robustness": robustness, "veracity": veracity,
    "label_noise": label_noise, "hub_attack": hub_attack, "hubness": hubness, "call": call,
}


def _one_thread() -> object:
    """Pin BLAS/OpenMP and torch to one thread for this cell (restored after); returns the limiter."""
    from threadpoolctl import threadpool_limits

    limiter = threadpool_limits(1)
    _torch_one_thread()
    return limiter


def _torch_one_thread() -> None:
    import sys

    if "torch" in sys.modules:  # a cell that needs torch imports it; the ones that do not never pay for it
        sys.modules["torch"].set_num_threads(1)


def execute(kind: str, params: dict) -> dict:
    """Run one cell where this function is called; never raises for the cell's own failure.

    Returns ``{"ok": True, "result": ..., "seconds": ..., "host": ...}`` or ``{"ok": False, "error": sentence}``:
    a cell's plain error (bad concept name, missing data) is its message; anything unexpected is named with the
    last line of its traceback so the study's summary says what went wrong without a traceback.
    """
    t0 = time.perf_counter()
    where = f"{socket.gethostname()} pid {os.getpid()}"
    limiter = _one_thread()
    try:
        result = TASKS[kind](dict(params))
        return {"ok": True, "result": jsonable(result), "seconds": round(time.perf_counter() - t0, 3), "host": where}
    except XaiError as e:
        return {"ok": False, "error": str(e), "seconds": round(time.perf_counter() - t0, 3), "host": where}
    except FileNotFoundError as e:
        missing = e.filename or str(e).strip() or "(not named)"
        return {"ok": False, "error": f"a file it needs is missing: {missing}", "host": where,
                "seconds": round(time.perf_counter() - t0, 3)}
    except Exception as e:  # noqa: BLE001 - a study keeps going past one broken cell; the message says what broke
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        return {"ok": False, "error": f"the task stopped with an unexpected error: {last}", "host": where,
                "seconds": round(time.perf_counter() - t0, 3)}
    finally:
        limiter.restore_original_limits()
