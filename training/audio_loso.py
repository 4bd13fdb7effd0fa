"""Leave-one-soundfont-out evaluation of an audio model: ``python -m training.train_audio loso instrument``.

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
import time
from pathlib import Path

import numpy as np
import torch

from models.registry import ASSETS
from training.evaluation import metrics
from xai.audio import dataset as audio_data
from xai.symbolic import dataset as data

GOAL_POINTS = 5.0
DOCS = Path(__file__).resolve().parents[1] / "docs"


def fold_dir(name: str) -> Path:
    """Where the per-fold results of model ``name`` are kept."""
    return data.cache_dir() / "loso" / name


def _per_class_accuracy(pred: np.ndarray, true: np.ndarray, classes) -> dict:
    return {c: (round(float(np.mean(pred[true == k] == k)), 4) if np.any(true == k) else None)
            for k, c in enumerate(classes)}


def run_fold(name: str, params: dict, k: int, sets: tuple, *, progress=print) -> dict:
    """Train on every soundfont but ``k`` and test on ``k`` (held out) and on the rest (in-soundfont)."""
    from training import train_audio

    tr, va, te = sets
    task = train_audio.TASKS[name]
    classes = train_audio.classes_for(task)
    t0 = time.time()
    torch.manual_seed(params["seed"])
    torch.set_num_threads(params["threads"])
    gen = torch.Generator().manual_seed(params["seed"])
    net, _, best, history, n_train, _ = train_audio.fit_model(
        name, params, tr.subset(tr.soundfont != k), va.subset(va.soundfont != k), gen=gen,
        progress=lambda m: progress(f"[fold {audio_data.SOUNDFONTS[k]}] {m}"))
    y = getattr(te, task["label"])
    pred = train_audio.predict_logits(net, te).argmax(1)
    out = {"soundfont": audio_data.SOUNDFONTS[k], "train_clips": int(n_train),
           "val_clips": int(np.sum(va.soundfont != k)), "best_epoch": best[2], "val_accuracy": round(best[0], 4),
           "history": history, "seconds": round(time.time() - t0, 1)}
    for what, m in (("heldout", te.soundfont == k), ("in_soundfont", te.soundfont != k)):
        out[what] = metrics(pred[m], y[m], classes) | {"per_class_accuracy": _per_class_accuracy(pred[m], y[m], classes)}
    return out


def _mean_std(values) -> dict:
    """Mean and sample standard deviation over folds (None where no fold had the class)."""
    v = np.array([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return {"mean": None, "std": None, "n_folds": 0}
    return {"mean": round(float(v.mean()), 4), "std": round(float(v.std(ddof=1)) if v.size > 1 else 0.0, 4),
            "n_folds": int(v.size)}


def summarise(name: str, params: dict, folds: list[dict], meta: dict) -> dict:
    """Mean +- standard deviation over the folds, overall and per class, and the gap against the goal."""
    from training import train_audio

    classes = train_audio.classes_for(train_audio.TASKS[name])
    held = [f["heldout"]["accuracy"] for f in folds]
    inn = [f["in_soundfont"]["accuracy"] for f in folds]
    gap = [100 * (i - h) for i, h in zip(inn, held)]
    g = _mean_std(gap)
    return {
        "model": name,
        "what": "leave-one-soundfont-out: train on four soundfonts, test on the fifth (held out) and on the "
                "other four's test clips (in-soundfont); pieces split as the symbolic model's",
        "soundfonts": [f["soundfont"] for f in folds],
        "heldout_accuracy": _mean_std(held) | {"per_fold": dict(zip([f["soundfont"] for f in folds], held))},
        "in_soundfont_accuracy": _mean_std(inn) | {"per_fold": dict(zip([f["soundfont"] for f in folds], inn))},
        "gap_points": {"mean": round(g["mean"], 2), "std": round(g["std"], 2), "goal": GOAL_POINTS,
                       "met": bool(g["mean"] <= GOAL_POINTS)},
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
            f" --{k.replace('_', '-')} {v}" for k, v in params.items() if v != train_audio.DEFAULTS.get(k)),
        "folds": folds,
    }


def pm(v: dict) -> str:
    """``mean +- sd`` of a :func:`_mean_std` entry, or n/a."""
    return "n/a" if v["mean"] is None else f"{v['mean']:.3f} +- {v['std']:.3f}"


def markdown(s: dict) -> str:
    """The summary as a Markdown page (``docs/audio_loso.md``)."""
    h, i, g = s["heldout_accuracy"], s["in_soundfont_accuracy"], s["gap_points"]
    lines = [
        f"# Leave-one-soundfont-out: `{s['model']}`", "",
        f"{s['what']}. Soundfonts: {', '.join(s['soundfonts'])}. Data: {s['data']}.", "",
        f"- held-out soundfont accuracy: {h['mean']:.3f} +- {h['std']:.3f} (sd over {h['n_folds']} folds)",
        f"- in-soundfont accuracy: {i['mean']:.3f} +- {i['std']:.3f}",
        f"- gap: {g['mean']:.1f} +- {g['std']:.1f} points; goal <= {g['goal']:g}: "
        f"{'met' if g['met'] else 'NOT met'}", "",
        "| fold (held out) | held-out acc. | in-soundfont acc. | train clips | best epoch |", "|---|---|---|---|---|",
        *[f"| {f['soundfont']} | {f['heldout']['accuracy']:.3f} (n = {f['heldout']['n']}) | "
          f"{f['in_soundfont']['accuracy']:.3f} (n = {f['in_soundfont']['n']}) | {f['train_clips']} | {f['best_epoch']} |"
          for f in s["folds"]], "",
        "Per class (accuracy = recall; mean +- sd over folds):", "",
        "| class | held out | in-soundfont | gap (points) |", "|---|---|---|---|",
        *[f"| {c} | {pm(v['heldout'])} | {pm(v['in_soundfont'])} | "
          + (f"{100 * (v['in_soundfont']['mean'] - v['heldout']['mean']):.1f} |" if v["heldout"]["n_folds"]
             and v["in_soundfont"]["n_folds"] else "n/a |")
          for c, v in s["per_class_accuracy"].items()], "",
        f"Parameters: `{json.dumps(s['params'])}`. Training time {s['seconds']:.0f} s in all ({s['machine']}).", "",
        f"Reproduce: `{s['reproduce']}`.", "",
    ]
    return "\n".join(lines)


def run(name: str, params: dict, *, folds=None, root: Path | None = None, out_dir: Path = ASSETS,
        docs: Path | None = DOCS, progress=print) -> dict | None:
    """Run the folds asked for (default all), then summarise if every fold's file is there."""
    sets = tuple(audio_data.load(s, root=root) for s in ("train", "val", "test"))
    present = sorted(set(np.unique(sets[2].soundfont).tolist()))
    fdir = (root / "loso" / name) if root else fold_dir(name)
    fdir.mkdir(parents=True, exist_ok=True)
    for k in (present if folds is None else folds):
        res = run_fold(name, params, k, sets, progress=progress)
        (fdir / f"fold_{res['soundfont']}.json").write_text(json.dumps({"params": params, **res}, indent=1))
        progress(f"fold {res['soundfont']}: held out {res['heldout']['accuracy']}, "
                 f"in-soundfont {res['in_soundfont']['accuracy']} ({res['seconds']:.0f} s)")
    files = [fdir / f"fold_{audio_data.SOUNDFONTS[k]}.json" for k in present]
    if not all(f.exists() for f in files):
        return None
    loaded = [json.loads(f.read_text()) for f in files]
    if any(f.pop("params") != params for f in loaded):
        raise SystemExit("the fold files were made with other parameters: run every fold again")
    meta_path = (root or audio_data.audio_dir()) / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    summary = summarise(name, params, loaded, meta)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.loso.json").write_text(json.dumps(summary, indent=1))
    if docs is not None:
        (docs / ("audio_loso.md" if name == "instrument" else f"audio_loso_{name}.md")).write_text(markdown(summary))
    return summary
