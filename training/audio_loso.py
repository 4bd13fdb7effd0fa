"""Leave-one-soundfont-out evaluation of an audio model: ``python -m training.train_audio loso instrument``.

This module summarises and writes up the folds; :func:`training.train_audio.run_loso` trains them.

The data set (version 2, :mod:`xai.audio.dataset`) renders every clip once, with one of five soundfonts given
round-robin, so each soundfont has train, validation and test clips of every class, and the split by piece is
the symbolic model's. Fold k trains the model's usual recipe (:func:`training.train_audio.fit_model`, same
parameters and seed) on the training clips of the other four soundfonts, selects the epoch on their validation
clips, and tests on soundfont k's test clips (held out: a sound source never heard) and on the other four's
test clips (in-soundfont: heard sound sources, unheard pieces). Reported: accuracy and per-class accuracy
(recall) for both, mean and standard deviation over the folds, and the gap against the goal (held-out within
:data:`GOAL_POINTS` points of in-soundfont).

Folds are written one file each under ``<cache>/loso/<model>/`` (so they can run in separate processes with
``--folds``); when all are there, the summary is written with the parameters beside the results to
``assets/models/<model>.loso.json`` and as Markdown to ``docs/audio_loso.md`` (or ``docs/audio_loso_<model>.md``),
and the model's card gets its "Leave-one-soundfont-out" section (:func:`training.train_audio.attach_loso`).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import torch
from scipy.stats import t as t_dist

from xai.symbolic import dataset as data

GOAL_POINTS = 5.0
DOCS = Path(__file__).resolve().parents[1] / "docs"


def fold_dir(name: str) -> Path:
    """Where the per-fold results of model ``name`` are kept."""
    return data.cache_dir() / "loso" / name


def per_class_accuracy(pred: np.ndarray, true: np.ndarray, classes) -> dict:
    """Accuracy (recall) of each class, None for a class absent from ``true``."""
    return {c: (round(float(np.mean(pred[true == k] == k)), 4) if np.any(true == k) else None)
            for k, c in enumerate(classes)}


def _mean_std(values) -> dict:
    """Mean and sample standard deviation over folds (None where no fold had the class)."""
    v = np.array([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return {"mean": None, "std": None, "n_folds": 0}
    return {"mean": round(float(v.mean()), 4), "std": round(float(v.std(ddof=1)) if v.size > 1 else 0.0, 4),
            "n_folds": int(v.size)}


def summarise(name: str, params: dict, folds: list[dict], meta: dict, classes, defaults: dict) -> dict:
    """Mean +- standard deviation over the folds, overall and per class, and the gap against the goal.

    ``defaults``: the recipe's default parameters (those that differ go into the command that reproduces it).
    """
    held = [f["heldout"]["accuracy"] for f in folds]
    inn = [f["in_soundfont"]["accuracy"] for f in folds]
    gap = [100 * (i - h) for i, h in zip(inn, held)]
    g = _mean_std(gap)
    half = float(t_dist.ppf(0.975, len(gap) - 1)) * g["std"] / np.sqrt(len(gap)) if len(gap) > 1 else 0.0
    return {
        "model": name,
        "what": "leave-one-soundfont-out: train on four soundfonts, test on the fifth (held out) and on the "
                "other four's test clips (in-soundfont); pieces split as the symbolic model's",
        "soundfonts": [f["soundfont"] for f in folds],
        "heldout_accuracy": _mean_std(held) | {"per_fold": dict(zip([f["soundfont"] for f in folds], held))},
        "in_soundfont_accuracy": _mean_std(inn) | {"per_fold": dict(zip([f["soundfont"] for f in folds], inn))},
        "gap_points": {"mean": round(g["mean"], 2), "std": round(g["std"], 2),
                       "ci95": [round(g["mean"] - half, 2), round(g["mean"] + half, 2)],
                       "per_fold": {f["soundfont"]: round(v, 2) for f, v in zip(folds, gap)},
                       "goal": GOAL_POINTS, "met": bool(g["mean"] <= GOAL_POINTS),
                       "folds_within_goal": int(sum(v <= GOAL_POINTS for v in gap))},
        "per_class_accuracy": {c: {"heldout": _mean_std(f["heldout"]["per_class_accuracy"][c] for f in folds),
                                   "in_soundfont": _mean_std(f["in_soundfont"]["per_class_accuracy"][c] for f in folds)}
                               for c in classes},
        "heldout_per_class_f1": {c: _mean_std(f["heldout"]["per_class_f1"][c] for f in folds)["mean"]
                                 for c in classes},
        "clips": {"train_per_fold": [f["train_clips"] for f in folds],
                  "test_heldout_per_fold": [f["heldout"]["n"] for f in folds],
                  "test_in_soundfont_per_fold": [f["in_soundfont"]["n"] for f in folds]},
        "params": params,
        "data": {k: meta.get(k) for k in ("version", "soundfonts", "augmentation", "clips_per_class", "seed")},
        "seconds": round(sum(f["seconds"] for f in folds), 1),
        "machine": f"{platform.machine()}, {params['threads']} thread(s), torch {torch.__version__}",
        "reproduce": f"python -m training.data render && python -m training.train_audio loso {name}" + "".join(
            f" --{k.replace('_', '-')} {v}" for k, v in params.items() if v != defaults.get(k)),
        "folds": folds,
    }


def starting_from(summary: dict, init_from: str, init_summary: Path) -> dict:
    """The summary of a model fine-tuned from ``init_from``: say that every fold started from that model's weights
    of the same fold, and reproduce those folds first (their command from ``init_summary`` when it exists)."""
    init = json.loads(init_summary.read_text()) if init_summary.exists() else None
    first = init["reproduce"] if init else f"python -m training.train_audio loso {init_from}"
    epochs = f", {init['params']['epochs']} epochs each" if init else ""
    own = summary["reproduce"].split(" && ")[-1]
    return summary | {
        "starts_from": f"every fold starts from `{init_from}`'s weights of the same fold ({init_from}'s own leave-one-"
                       f"soundfont-out{epochs}), trained without the held-out soundfont; the shipped `{init_from}` "
                       "heard all five and would leak it",
        "reproduce": f"{first} && {own}"}


def pm(v: dict) -> str:
    """``mean +- sd`` of a :func:`_mean_std` entry, or n/a."""
    return "n/a" if v["mean"] is None else f"{v['mean']:.3f} +- {v['std']:.3f}"


def gap_ci(g: dict) -> str:
    """`` (95 % CI a to b over folds)`` when the summary has the interval (older summaries do not)."""
    return f" (95 % CI {g['ci95'][0]:.1f} to {g['ci95'][1]:.1f}, t over folds)" if "ci95" in g else ""


def gap_folds(g: dict) -> str:
    """How many folds are within the goal, naming those that are not (empty for older summaries)."""
    if "per_fold" not in g:
        return ""
    over = {k: v for k, v in g["per_fold"].items() if v > g["goal"]}
    n = len(g["per_fold"])
    if not over:
        return f", and in every fold ({n} of {n})"
    return (f"; {n - len(over)} of {n} folds within it (beyond: "
            + ", ".join(f"{k} {v:.1f}" for k, v in over.items()) + ")")


def markdown(s: dict) -> str:
    """The summary as a Markdown page (``docs/audio_loso.md``)."""
    h, i, g = s["heldout_accuracy"], s["in_soundfont_accuracy"], s["gap_points"]
    per_class = float(np.mean(s["clips"]["test_heldout_per_fold"])) / len(s["per_class_accuracy"])
    lines = [
        f"# Leave-one-soundfont-out: `{s['model']}`", "",
        f"{s['what']}. Soundfonts: {', '.join(s['soundfonts'])}. Data: {s['data']}.", "",
        *([f"Fine-tuned: {s['starts_from']}.", ""] if "starts_from" in s else []),
        f"- held-out soundfont accuracy: {h['mean']:.3f} +- {h['std']:.3f} (sd over {h['n_folds']} folds)",
        f"- in-soundfont accuracy: {i['mean']:.3f} +- {i['std']:.3f}",
        f"- gap: {g['mean']:.1f} +- {g['std']:.1f} points{gap_ci(g)}; goal <= {g['goal']:g}: "
        f"{'met' if g['met'] else 'NOT met'} on the mean over folds{gap_folds(g)}", "",
        "| fold (held out) | held-out acc. | in-soundfont acc. | train clips | best epoch |", "|---|---|---|---|---|",
        *[f"| {f['soundfont']} | {f['heldout']['accuracy']:.3f} (n = {f['heldout']['n']}) | "
          f"{f['in_soundfont']['accuracy']:.3f} (n = {f['in_soundfont']['n']}) | {f['train_clips']} | {f['best_epoch']} |"
          for f in s["folds"]], "",
        f"Per class (accuracy = recall; mean +- sd over folds; about {per_class:.0f} held-out clips per class and "
        f"fold, so one clip moves a class's fold accuracy by about {100 / max(per_class, 1):.0f} points):", "",
        "| class | held out | in-soundfont | gap (points) |", "|---|---|---|---|",
        *[f"| {c} | {pm(v['heldout'])} | {pm(v['in_soundfont'])} | "
          + (f"{100 * (v['in_soundfont']['mean'] - v['heldout']['mean']):.1f} |" if v["heldout"]["n_folds"]
             and v["in_soundfont"]["n_folds"] else "n/a |")
          for c, v in s["per_class_accuracy"].items()], "",
        f"Parameters: `{json.dumps(s['params'])}`. Training time {s['seconds']:.0f} s in all ({s['machine']}).", "",
        f"Reproduce: `{s['reproduce']}`.", "",
    ]
    return "\n".join(lines)
