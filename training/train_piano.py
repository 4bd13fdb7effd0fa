"""Train and evaluate ``piano_composer``: which of six composers wrote the music in a 20-s piano performance.

``python -m training.train_piano cv`` runs 5-fold cross-validation grouped by work (fold assignment saved),
evaluating every fold on the full performance input and on the "notes only" input (velocity flattened,
timing re-quantised to the annotated beats). ``python -m training.train_piano final`` trains on all works
but one held-out work per composer and writes ``assets/models/piano_composer.{safetensors,json,md}``,
with the CV numbers and the baseline (``python -m training.piano_baseline``) on its card.

The network is the project's :class:`models.nets.PianoRollCNN` (unchanged; width 16), fed (2, 88, 200)
rolls. Training samples windows class-balanced (then works weighted by 1/sqrt(windows), so long, much
performed works do not dominate) and augments in note space: transposition, time shift, tempo stretch
and velocity jitter. A fixed number of AdamW steps with a cosine schedule, no early stopping (there is no
validation set to peek at), so the CV numbers are honest estimates of the final recipe.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.nets import DEFAULT_LAYER, LAYERS, PianoRollCNN

from . import asap

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "assets" / "models"
EXAMPLES = ROOT / "assets" / "examples" / "piano"
LOG = MODELS / "piano_composer.train.log"
NAME = "piano_composer"

PARAMS = {
    "seed": asap.SEED,
    "width": 16,
    "batch_size": 32,
    "cv_steps": 640,
    "final_steps": 800,
    "lr": 2e-3,
    "weight_decay": 1e-2,
    "warmup_steps": 30,
    "label_smoothing": 0.1,
    "transpose": 3,
    "time_shift_s": 5.0,
    "tempo_stretch": 0.15,
    "velocity_scale": 0.25,
    "velocity_noise": 0.05,
    "work_weight": "1/sqrt(windows of the work), classes uniform",
    "score_windows": "scores of training works included (velocity 1.0, no velocity jitter)",
    "eval_batch": 100,
    "threads": 1,
}

# One held-out work per composer, chosen before training (MusicXML + performance + annotations exist,
# score file under ~1 MB); (work id, example folder, example performer).
HELD_OUT = {
    "Bach": ("Bach/WTC_bwv_846", "Bach/Prelude/bwv_846", "Shi05M"),
    "Beethoven": ("Beethoven/Piano_Sonata_8", "Beethoven/Piano_Sonatas/8-2", "Na06"),
    "Chopin": ("Chopin/Etudes_op_10/3", "Chopin/Etudes_op_10/3", "SunMeiting08"),
    "Haydn": ("Haydn/Keyboard_Sonata_6", "Haydn/Keyboard_Sonatas/6-1", "ChenC01"),
    "Liszt": ("Liszt/Transcendental_Etudes/3", "Liszt/Transcendental_Etudes/3", "Huang14M"),
    "Schubert": ("Schubert/Moment_musical_no_3", "Schubert/Moment_musical_no_3", "Tetzloff09M"),
}


def log(msg: str) -> None:
    """Print and append to the training log kept next to the weights."""
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with open(LOG, "a") as f:
        f.write(line + "\n")


def seed_everything(seed: int) -> np.random.Generator:
    """Seed python, numpy and torch (single thread, deterministic algorithms where cheap); return a numpy Generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    return np.random.default_rng(seed)


class Sampler:
    """Draws augmented training batches from the windows of the training recordings.

    Class first (uniform: class balancing), then a window with probability proportional to
    1/sqrt(number of windows of its work) within the class; the window is re-cut with a random shift,
    the notes stretched in time, transposed and (for performances) velocity-jittered before rendering.
    """

    def __init__(self, ds: asap.Dataset, rec_mask: np.ndarray, rng: np.random.Generator, params: dict, *, notes_only: bool = False):
        self.ds, self.rng, self.p, self.notes_only = ds, rng, params, notes_only
        wr = ds.winq_rec if notes_only else ds.win_rec
        ws = ds.winq_start if notes_only else ds.win_start
        keep = rec_mask[wr]
        self.rec, self.start = wr[keep], ws[keep]
        y = ds.label[self.rec]
        work = ds.work[self.rec]
        _, inv, counts = np.unique(work, return_inverse=True, return_counts=True)
        w = 1.0 / np.sqrt(counts[inv])
        self.by_class = []
        for c in range(len(ds.classes)):
            idx = np.flatnonzero(y == c)
            self.by_class.append((idx, w[idx] / w[idx].sum()))

    def window(self, i: int) -> np.ndarray:
        """Training window ``i`` rendered with this epoch's augmentation (transposition, shift, stretch, velocity)."""
        p, rng, ds = self.p, self.rng, self.ds
        r = int(self.rec[i])
        notes = (ds.notes_q(r) if self.notes_only else ds.notes(r)).copy()
        s = float(np.exp(rng.uniform(-p["tempo_stretch"], p["tempo_stretch"])))  # >1: slower
        notes[:, :2] *= s
        start = float(self.start[i]) * s + rng.uniform(-p["time_shift_s"], p["time_shift_s"])
        start = max(start, float(notes[:, 0].min()) - 2.0) if len(notes) else 0.0
        if not ds.is_score[r] and not self.notes_only:
            v = notes[:, 3] * rng.uniform(1 - p["velocity_scale"], 1 + p["velocity_scale"])
            notes[:, 3] = np.clip(v + rng.normal(0, p["velocity_noise"], len(v)), 0.02, 1.0)
        k = int(rng.integers(-p["transpose"], p["transpose"] + 1))
        return asap.render(notes, start, transpose=k, flat_velocity=self.notes_only)

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A class-balanced batch of ``n`` augmented windows and their labels."""
        cls = self.rng.integers(0, len(self.by_class), n)
        idx = [int(self.rng.choice(self.by_class[c][0], p=self.by_class[c][1])) for c in cls]
        x = np.stack([self.window(i) for i in idx])
        return torch.from_numpy(x), torch.from_numpy(cls.astype(np.int64))


def train_model(ds: asap.Dataset, rec_mask: np.ndarray, params: dict, steps: int, *, seed: int, notes_only: bool = False, tag: str = "") -> tuple[nn.Module, list[dict]]:
    """Train a fresh PianoRollCNN for ``steps`` AdamW steps (linear warm-up, cosine decay) on the masked recordings."""
    rng = seed_everything(seed)
    net = PianoRollCNN(len(ds.classes), width=params["width"])
    opt = torch.optim.AdamW(net.parameters(), lr=params["lr"], weight_decay=params["weight_decay"])
    warm = params["warmup_steps"]
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm)))
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=params["label_smoothing"])
    sampler = Sampler(ds, rec_mask, rng, params, notes_only=notes_only)
    history, t0, run_loss, run_acc = [], time.time(), 0.0, 0.0
    net.train()
    for step in range(steps):
        x, y = sampler.batch(params["batch_size"])
        logits = net(x)
        loss = loss_fn(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run_loss += float(loss.detach())
        run_acc += float((logits.argmax(1) == y).float().mean())
        if (step + 1) % 50 == 0 or step + 1 == steps:
            n = 50 if (step + 1) % 50 == 0 else (step + 1) % 50
            h = {"step": step + 1, "loss": round(run_loss / n, 4), "train_acc": round(run_acc / n, 4), "seconds": round(time.time() - t0, 1)}
            history.append(h)
            log(f"{tag} {h}")
            run_loss = run_acc = 0.0
    net.eval()
    return net, history


@torch.inference_mode()
def predict(net: nn.Module, ds: asap.Dataset, recs: np.ndarray, starts: np.ndarray, *, notes_only: bool = False, batch: int = 100) -> np.ndarray:
    """Log-probabilities (N, n_classes) of the given windows (no augmentation)."""
    out = []
    for i in range(0, len(recs), batch):
        x = np.stack(
            [
                asap.render(ds.notes_q(int(r)) if notes_only else ds.notes(int(r)), float(s), flat_velocity=notes_only)
                for r, s in zip(recs[i : i + batch], starts[i : i + batch])
            ]
        )
        out.append(torch.log_softmax(net(torch.from_numpy(x)), 1).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(ds.classes)))


def _eval(net, ds, rec_mask, notes_only: bool) -> dict:
    wr = ds.winq_rec if notes_only else ds.win_rec
    ws = ds.winq_start if notes_only else ds.win_start
    keep = rec_mask[wr] & ~ds.is_score[wr]
    r = wr[keep]
    logp = predict(net, ds, r, ws[keep], notes_only=notes_only)
    return asap.summarize(ds.label[r], logp, ds.work[r], ds.path[r])


def _fmt(m: dict) -> str:
    return (
        f"window {m['window_accuracy']:.3f} balanced {m['balanced_window_accuracy']:.3f} "
        f"performance {m['performance_accuracy']:.3f} work {m['work_accuracy']:.3f} (n works {m['n_works']})"
    )


def cv(notes_only_model_folds: int = 0) -> dict:
    """5-fold by-work CV of the recipe; results and fold assignment go to ``<cache>/asap/piano_cv.json``."""
    t0 = time.time()
    ds = asap.Dataset(asap.build_cache())
    folds = asap.work_folds(ds.work, ds.label)
    fold_of_rec = np.array([folds[w] for w in ds.work])
    log(f"CV start: {len(ds)} recordings, {len(ds.win_rec)} windows, params {PARAMS}")
    res = {"folds": folds, "per_fold": [], "per_fold_notes_only": [], "per_fold_notes_only_model": [], "history": []}
    for k in range(asap.N_FOLDS):
        tf = time.time()
        net, hist = train_model(ds, fold_of_rec != k, PARAMS, PARAMS["cv_steps"], seed=PARAMS["seed"] + k, tag=f"fold {k}")
        m = _eval(net, ds, fold_of_rec == k, notes_only=False)
        mq = _eval(net, ds, fold_of_rec == k, notes_only=True)
        res["per_fold"].append(m)
        res["per_fold_notes_only"].append(mq)
        res["history"].append(hist)
        log(f"fold {k} full input: {_fmt(m)}; F1 {({c: round(v, 2) for c, v in m['per_class_f1'].items()})}")
        log(f"fold {k} notes only (full model): {_fmt(mq)}")
        if k < notes_only_model_folds:
            netq, _ = train_model(ds, fold_of_rec != k, PARAMS, PARAMS["cv_steps"], seed=PARAMS["seed"] + 100 + k, notes_only=True, tag=f"fold {k} notes-only model")
            mqq = _eval(netq, ds, fold_of_rec == k, notes_only=True)
            res["per_fold_notes_only_model"].append(mqq)
            log(f"fold {k} notes only (notes-only model): {_fmt(mqq)}")
        log(f"fold {k} took {time.time() - tf:.0f} s")
        out = asap.cache_dir() / "asap" / "piano_cv.json"
        out.write_text(json.dumps(res, indent=1))
    res["cv"] = asap.aggregate(res["per_fold"])
    res["notes_only_cv"] = asap.aggregate(res["per_fold_notes_only"])
    if res["per_fold_notes_only_model"]:
        res["notes_only_model_cv"] = asap.aggregate(res["per_fold_notes_only_model"])
    res["seconds"] = round(time.time() - t0, 1)
    out.write_text(json.dumps(res, indent=1))
    for name in ("cv", "notes_only_cv"):
        c = res[name]
        log(name + ": " + ", ".join(f"{k} {c[k]['mean']:.3f} ± {c[k]['std']:.3f}" for k in ("window_accuracy", "balanced_window_accuracy", "performance_accuracy", "work_accuracy")))
    log(f"CV per-class F1 (windows): {({c: round(v, 3) for c, v in res['cv']['per_class_f1'].items()})}; {res['seconds']:.0f} s")
    return res


def notes_only_model_cv(folds_to_run: list[int]) -> dict:
    """Train notes-only models (input: velocity 1.0, beat-quantised timing) on some CV folds and test them on notes-only input.

    Answers "how well can the composer be told from the notes alone, when the network is trained for it"
    (the full model fed notes-only input is disadvantaged by the change of input). Results go to
    ``<cache>/asap/piano_cv_notes_only_model.json``; the card reports them as a partial CV when not all folds ran.
    """
    ds = asap.Dataset(asap.build_cache())
    cvres = json.loads((asap.cache_dir() / "asap" / "piano_cv.json").read_text())
    folds = cvres["folds"]
    fold_of_rec = np.array([folds[w] for w in ds.work])
    out_path = asap.cache_dir() / "asap" / "piano_cv_notes_only_model.json"
    res = json.loads(out_path.read_text()) if out_path.exists() else {"per_fold": {}}
    for k in folds_to_run:
        tf = time.time()
        net, _ = train_model(ds, fold_of_rec != k, PARAMS, PARAMS["cv_steps"], seed=PARAMS["seed"] + 100 + k, notes_only=True, tag=f"fold {k} notes-only model")
        m = _eval(net, ds, fold_of_rec == k, notes_only=True)
        res["per_fold"][str(k)] = m
        log(f"fold {k} notes-only model on notes-only input: {_fmt(m)}; {time.time() - tf:.0f} s")
        out_path.write_text(json.dumps(res, indent=1))
    return res


CURVE_DIR = "piano_curve"


def network_curve(fraction: float, folds_to_run: list[int]) -> list[dict]:
    """Train the shipped recipe on a random ``fraction`` of each composer's training works, on some CV folds.

    The network's side of "more works, or a better network?": the baseline's learning curve says the number
    of works limits the baseline; this says whether it limits the network too. Same folds, same test works,
    same steps and seeds as ``cv``; the works kept are drawn as the baseline draws them
    (:func:`training.piano_baseline.subsample_works`), one draw per fold from its own seed. Each fold's result
    goes to ``<cache>/asap/piano_curve/<fraction>_fold<k>.json`` (so folds can run in parallel processes).
    """
    from .piano_baseline import subsample_works

    ds = asap.Dataset(asap.build_cache())
    folds = json.loads((asap.cache_dir() / "asap" / "piano_cv.json").read_text())["folds"]
    fold_of_rec = np.array([folds[w] for w in ds.work])
    labels = asap.work_labels(ds.work, ds.label)
    out_dir = asap.cache_dir() / "asap" / CURVE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for k in folds_to_run:
        tf = time.time()
        rng = np.random.default_rng(PARAMS["seed"] + 7000 + 100 * k + int(round(100 * fraction)))
        keep = subsample_works(sorted(w for w in labels if folds[w] != k), labels, fraction, rng)
        net, _ = train_model(ds, np.isin(ds.work, sorted(keep)), PARAMS, PARAMS["cv_steps"], seed=PARAMS["seed"] + k,
                             tag=f"fold {k} on {fraction:.2f} of the works")
        m = _eval(net, ds, fold_of_rec == k, notes_only=False)
        res = {"fraction": fraction, "fold": k, "training_works": len(keep), "works": sorted(keep), "metrics": m,
               "seconds": round(time.time() - tf, 1), "params": PARAMS}
        (out_dir / f"{fraction:.2f}_fold{k}.json").write_text(json.dumps(res, indent=1))
        log(f"fold {k} on {fraction:.2f} of the works ({len(keep)} works): {_fmt(m)}; {res['seconds']:.0f} s")
        results.append(res)
    return results


def curve_summary(cache: Path, cv_per_fold: list[dict]) -> list[dict]:
    """Mean and std over folds of the network's learning-curve runs, one row per fraction, the full CV as 1.0.

    Only fractions with every fold run are summarised (a partial curve would compare different test sets).
    """
    runs: dict[float, dict[int, dict]] = {}
    for f in sorted((cache / CURVE_DIR).glob("*_fold*.json")) if (cache / CURVE_DIR).exists() else []:
        r = json.loads(f.read_text())
        runs.setdefault(float(r["fraction"]), {})[int(r["fold"])] = r
    rows = []
    for frac in sorted(runs):
        if len(runs[frac]) < asap.N_FOLDS:
            continue
        per = [runs[frac][k] for k in range(asap.N_FOLDS)]
        rows.append(_curve_row(frac, [p["metrics"] for p in per], float(np.mean([p["training_works"] for p in per]))))
    if rows:
        tested = [m.get("n_works") for m in cv_per_fold]  # each fold trains on the works the others test
        works = None if None in tested else float(np.mean([sum(tested) - n for n in tested]))
        rows.append(_curve_row(1.0, cv_per_fold, works))
    return rows


def _curve_row(fraction: float, per_fold: list[dict], works: float | None) -> dict:
    def ms(key: str) -> dict:
        v = np.array([m[key] for m in per_fold], dtype=float)
        return {"mean": round(float(v.mean()), 4), "std": round(float(v.std()), 4)}

    return {"fraction": fraction, "runs": len(per_fold), "training_works_mean": None if works is None else round(works, 1),
            "balanced_window_accuracy": ms("balanced_window_accuracy"), "work_accuracy": ms("work_accuracy")}


def held_out_mask(ds: asap.Dataset) -> np.ndarray:
    """True for recordings of the held-out works."""
    return np.isin(ds.work, [w for w, _, _ in HELD_OUT.values()])


def final() -> dict:
    """Train on everything but the held-out works; save weights, JSON card and markdown card."""
    from safetensors.torch import save_file

    t0 = time.time()
    ds = asap.Dataset(asap.build_cache())
    held = held_out_mask(ds)
    log(f"final: training on {int((~held).sum())} recordings, holding out {sorted(set(ds.work[held]))}")
    net, hist = train_model(ds, ~held, PARAMS, PARAMS["final_steps"], seed=PARAMS["seed"] + 1000, tag="final")
    MODELS.mkdir(parents=True, exist_ok=True)
    wpath = MODELS / f"{NAME}.safetensors"
    save_file({k: v.detach().float().contiguous() for k, v in net.state_dict().items()}, str(wpath))
    digest = hashlib.sha256(wpath.read_bytes()).hexdigest()
    return finish_final(net, ds, hist, time.time() - t0, digest)


def finish_final(net: nn.Module, ds: asap.Dataset, hist: list[dict], seconds: float, digest: str) -> dict:
    """Evaluate the final model on the held-out works, save the results to the cache and write the cards if the CV is done."""
    held = held_out_mask(ds)
    m_held = _eval(net, ds, held, notes_only=False)
    mq_held = _eval(net, ds, held, notes_only=True)
    # per held-out performance
    perfs = []
    for i in np.flatnonzero(held & ~ds.is_score):
        sel = ds.win_rec == i
        lp = predict(net, ds, ds.win_rec[sel], ds.win_start[sel]).mean(0)
        perfs.append({"path": str(ds.path[i]), "composer": str(ds.composer[i]), "predicted": ds.classes[int(lp.argmax())], "windows": int(sel.sum())})
    log(f"final held-out works: {_fmt(m_held)}; notes only {_fmt(mq_held)}")
    for p in perfs:
        log(f"  held-out {p['path']}: {p['composer']} -> {p['predicted']} ({p['windows']} windows)")
    res = {
        "digest": digest,
        "history": hist,
        "held": m_held,
        "held_notes_only": mq_held,
        "performances": perfs,
        "seconds": round(seconds, 1),
        "parameters": int(sum(p.numel() for p in net.parameters())),
    }
    (asap.cache_dir() / "asap" / "piano_final.json").write_text(json.dumps(res, indent=1))
    log(f"final done in {seconds:.0f} s; weights sha256 {digest}")
    cvres = json.loads((asap.cache_dir() / "asap" / "piano_cv.json").read_text())
    if "cv" in cvres:
        return write_card()
    log("CV not finished yet: run `python -m training.train_piano card` after it")
    return res


def recover_final() -> dict:
    """Re-evaluate the saved final weights (held-out works) when ``final`` stopped after saving them.

    Used once for the shipped model: the first ``final`` run trained and saved the weights, then failed on a typo
    while writing its results; the training history is read back from the training log, and the training time is
    the span of the log lines of that run.
    """
    import re

    from safetensors.torch import load_file

    torch.set_num_threads(1)
    ds = asap.Dataset(asap.build_cache())
    net = PianoRollCNN(len(ds.classes), width=PARAMS["width"])
    wpath = MODELS / f"{NAME}.safetensors"
    net.load_state_dict(load_file(str(wpath)))
    net.eval()
    lines = LOG.read_text().splitlines()
    hist = [json.loads(m.group(1).replace("'", '"')) for m in (re.search(r"\] final (\{.*\})$", x) for x in lines) if m]
    stamps = [x[1:9] for x in lines if "] final" in x]
    t = [int(a) * 3600 + int(b) * 60 + int(c) for a, b, c in (st.split(":") for st in stamps)]
    seconds = float(t[-1] - t[0]) if t else float("nan")
    log(f"recovering final results from saved weights ({len(hist)} history entries, ~{seconds:.0f} s of training)")
    return finish_final(net, ds, hist, seconds, hashlib.sha256(wpath.read_bytes()).hexdigest())


def write_card() -> dict:
    """Assemble the JSON and markdown cards from the CV, baseline and final-training results in the cache."""
    ds = asap.Dataset(asap.build_cache())
    cache = asap.cache_dir() / "asap"
    cvres = json.loads((cache / "piano_cv.json").read_text())
    if "cv" not in cvres:  # CV still running: report the folds completed so far, and say so
        cvres["cv"] = asap.aggregate(cvres["per_fold"])
        cvres["notes_only_cv"] = asap.aggregate(cvres["per_fold_notes_only"])
        log(f"card from a partial CV: {len(cvres['per_fold'])} of {asap.N_FOLDS} folds")
    cvres["folds_completed"] = len(cvres["per_fold"])
    base = json.loads((cache / "piano_baseline_cv.json").read_text())
    fin = json.loads((cache / "piano_final.json").read_text())
    nom = cache / "piano_cv_notes_only_model.json"
    if nom.exists():
        per = json.loads(nom.read_text())["per_fold"]
        cvres["notes_only_model"] = {
            "folds": sorted(int(k) for k in per),
            "per_fold": {k: {m: round(v[m], 4) for m in ("window_accuracy", "balanced_window_accuracy", "performance_accuracy", "work_accuracy")} for k, v in per.items()},
            "same_folds_full_model_on_notes_only": {k: {m: round(cvres["per_fold_notes_only"][int(k)][m], 4) for m in ("window_accuracy", "balanced_window_accuracy", "performance_accuracy", "work_accuracy")} for k in per},
            "same_folds_full_model_full_input": {k: {m: round(cvres["per_fold"][int(k)][m], 4) for m in ("window_accuracy", "balanced_window_accuracy", "performance_accuracy", "work_accuracy")} for k in per},
        }
    card = make_card(ds, fin, cvres, base, network_curve=curve_summary(cache, cvres["per_fold"]))
    (MODELS / f"{NAME}.json").write_text(json.dumps(card, indent=1) + "\n")
    (MODELS / f"{NAME}.md").write_text(markdown_card(card))
    log(f"cards written: {NAME}.json, {NAME}.md")
    return card


def _ms(agg: dict, key: str) -> dict:
    return {"mean": round(agg[key]["mean"], 4), "std": round(agg[key]["std"], 4)}


def _summary(agg: dict) -> dict:
    keys = ("window_accuracy", "balanced_window_accuracy", "performance_accuracy", "work_accuracy", "balanced_work_accuracy")
    return {k: _ms(agg, k) for k in keys} | {
        "per_class_f1_windows": {c: round(v, 4) for c, v in agg["per_class_f1"].items()},
        "per_class_f1_works": {c: round(v, 4) for c, v in agg["work_per_class_f1"].items()},
        "confusion_windows_summed": agg["confusion_summed"],
        "confusion_works_summed": agg["work_confusion_summed"],
        "works_wrong": agg["works_wrong"],
    }


_FOLD_KEYS = ("window_accuracy", "balanced_window_accuracy", "performance_accuracy", "work_accuracy")
CONFOUNDS = [
    "Performances come from one competition (MAESTRO / e-Competition) on one Yamaha Disklavier: the model learns these recordings, not pianos in general.",
    "Repertoire is narrow: Bach = Well-Tempered Clavier + Italian Concerto, Haydn = 8 sonatas, Schubert = 11 works; 'Bach' means 'WTC-like texture'.",
    "Many performances of a few works (e.g. 29 of La campanella): window and performance counts are dominated by popular works; work-level numbers are the honest unit.",
    "Tempo and dynamics are part of the input: a performer's style can carry composer cues (see the notes-only numbers).",
]


def _card_input() -> dict:
    """The card's ``input``: the seconds grid the model reads (window, hop, frame rate, pitches, channels, pedal)."""
    return {
        "window_seconds": asap.WINDOW_SECONDS,
        "hop_seconds": asap.HOP_SECONDS,
        "frames_per_second": asap.FPS,
        "pitch_low": asap.PITCH_LOW,
        "pitch_high": asap.PITCH_HIGH,
        "channels": ["onset_velocity", "sustain"],
        "pedal": "sustain pedal extends notes (CC64 >= 64 holds a released note until the pedal lifts; a re-struck pitch cuts it)",
        "window_quarters": 0,
        "hop_quarters": 0,
    }


def _card_data(ds: asap.Dataset) -> str:
    """The card's ``data`` sentence: the corpus, its composers, what was left out and why."""
    n_perf = int((~ds.is_score).sum())
    return (
        f"ASAP (Foscarin et al., ISMIR 2020; github.com/fosfrancesco/asap-dataset at afc815c7), composers {', '.join(ds.classes)}: "
        f"{n_perf} distinct performance MIDI files by competition pianists (MAESTRO v2) with the sustain pedal honoured, "
        f"plus the {int(ds.is_score.sum())} score MIDI files (rendered at their own tempo map, velocity constant 1.0) as extra training data. "
        f"Left out: {', '.join(asap.LEFT_OUT)} (Mozart 4 works / 16 performances, Schumann 3 works / 28 performances: too few works "
        "for a by-work 5-fold evaluation); the other ASAP composers have 1-4 works each."
    )


def _card_split(ds: asap.Dataset, cvres: dict) -> dict:
    """The card's ``split``: folds by work, the works held out of the shipped model, window counts."""
    held = held_out_mask(ds)
    return {
        "method": "5-fold cross-validation grouped by work (works dealt into folds per composer, sklearn StratifiedKFold over works, shuffled with the seed); "
        "a work = all performances and the score of a piece, all movements of a sonata, a Bach prelude with its fugue, variant folders (_no_repeat etc.) with their base",
        "seed": asap.SEED,
        "n_works": int(len(set(ds.work))),
        "works_per_composer": {str(c): int(len(set(ds.work[ds.composer == c]))) for c in ds.classes},
        "fold_of_work": cvres["folds"],
        "final_model": "trained on all works except the held-out works below (none of their performances or scores seen)",
        "held_out_works": {c: w for c, (w, _, _) in HELD_OUT.items()},
        "held_out_recordings": [str(p) for p in ds.path[held]],
        "windows": {"performance": int((~ds.is_score[ds.win_rec]).sum()), "score": int(ds.is_score[ds.win_rec].sum())},
    }


def _card_metrics(fin: dict, cvres: dict) -> dict:
    """The card's ``metrics``: cross-validation (full and notes-only input), per fold, and the held-out works."""
    held_keys = (*_FOLD_KEYS, "n_windows", "n_works")
    return {
        "cv_folds_completed": cvres["folds_completed"],
        "cv": _summary(cvres["cv"]),
        "cv_notes_only_input": _summary(cvres["notes_only_cv"]) | {
            "how": "the same fold models, fed the test performances with velocity flattened (onset channel 1.0) and timing re-quantised: "
            "each onset/offset mapped to a beat position by piecewise-linear interpolation of the annotated beats, then re-timed at "
            "the performance's constant mean tempo"
        },
        "notes_only_model": cvres.get("notes_only_model", "not run"),
        "per_fold": [
            {k: round(f[k], 4) for k in _FOLD_KEYS} | {"n_works": f["n_works"], "n_windows": f["n_windows"]}
            for f in cvres["per_fold"]
        ],
        "held_out": {
            "full_input": {k: fin["held"][k] for k in held_keys},
            "notes_only_input": {k: fin["held_notes_only"][k] for k in held_keys},
            "performances": fin["performances"],
        },
        "goal": "balanced window accuracy >= 0.75 and work accuracy >= 0.90 (mean over folds)",
    }


def _card_training(fin: dict, cvres: dict) -> dict:
    """The card's ``training``: parameters, loss histories, seconds and the software it ran on."""
    return {
        "params": PARAMS,
        "history": fin["history"],
        "cv_history": cvres["history"],
        "seconds_final": fin["seconds"],
        "seconds_cv": cvres.get("seconds"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, 1 thread",
    }


def make_card(ds: asap.Dataset, fin: dict, cvres: dict, base: dict, *, network_curve: list[dict] | None = None) -> dict:
    """The JSON model card (format of ``assets/models/composer.json``, input in seconds).

    ``network_curve``: :func:`curve_summary` rows (the network retrained on shares of the works), if run.
    """
    return {
        "name": NAME,
        "title": "Composer of a piano performance (ASAP, 6 composers): piano-roll CNN",
        "modality": "symbolic",
        "classes": list(ds.classes),
        "architecture": {
            "type": "PianoRollCNN",
            "width": PARAMS["width"],
            "layers": list(LAYERS),
            "default_layer": DEFAULT_LAYER,
            "parameters": fin["parameters"],
        },
        "input": _card_input(),
        "data": _card_data(ds),
        "split": _card_split(ds, cvres),
        "metrics": _card_metrics(fin, cvres),
        "baseline": {
            "description": base["description"],
            "cv": _summary(base["cv"]),
            "cv_notes_only_input": _summary(base["notes_only_cv"]),
            **({"learning_curve": base["learning_curve"]} if "learning_curve" in base else {}),
        },
        **({"network_learning_curve": network_curve} if network_curve else {}),
        "training": _card_training(fin, cvres),
        "confounds": list(CONFOUNDS),
        "reproduce": "python -m training.asap && python -m training.piano_baseline && python -m training.train_piano cv && python -m training.train_piano final"
        + "".join(f" && python -m training.train_piano curve {r['fraction']:g} 0,1,2,3,4" for r in network_curve or [] if r["fraction"] < 1)
        + (" && python -m training.train_piano card" if network_curve else ""),
        "licence": "CC BY-NC-SA 4.0 (trained on ASAP / MAESTRO)",
        "weights_sha256": fin["digest"],
    }


def _pm(d: dict) -> str:
    return f"{d['mean']:.3f} ± {d['std']:.3f}"


def _notes_only_model_lines(nom) -> list[str]:
    if not isinstance(nom, dict):
        return ["A model trained on notes-only input was not run.", ""]
    lines = [
        f"A model trained on notes-only input (same recipe, folds {nom['folds']} only: time ran out for the rest), tested on notes-only input:",
        "",
        "| fold | notes-only model, notes-only input: balanced window / work | full model, notes-only input | full model, full input |",
        "|---|---|---|---|",
    ]
    for k in sorted(nom["per_fold"], key=int):
        a, b, c = nom["per_fold"][k], nom["same_folds_full_model_on_notes_only"][k], nom["same_folds_full_model_full_input"][k]
        lines.append(
            f"| {k} | {a['balanced_window_accuracy']:.3f} / {a['work_accuracy']:.3f} | {b['balanced_window_accuracy']:.3f} / {b['work_accuracy']:.3f} "
            f"| {c['balanced_window_accuracy']:.3f} / {c['work_accuracy']:.3f} |"
        )
    return lines + [""]


def _md_head(card: dict) -> list[str]:
    """The markdown card's title, data, split and network."""
    return [
        f"# Model card: {card['title']} (`{card['name']}`)",
        "",
        "## Data",
        card["data"],
        "",
        f"Split: {card['split']['method']} (seed {card['split']['seed']}). Works per composer: {card['split']['works_per_composer']}.",
        "",
        "## Input and network",
        "20-s windows every 10 s, 10 frames per second, MIDI pitches 21-108; channel 0 = onsets carrying velocity/127, "
        "channel 1 = sounding notes, with the sustain pedal extending notes. "
        f"`PianoRollCNN` width {card['architecture']['width']}, {card['architecture']['parameters']:,} parameters, ReLU blocks "
        f"{', '.join(card['architecture']['layers'])} (pitch x time feature maps).",
        "",
    ]


def _md_confusion(classes: list[str], matrix: list[list[int]]) -> list[str]:
    """A confusion matrix as a markdown table (rows true, columns predicted)."""
    lines = ["| true \\ pred | " + " | ".join(classes) + " |", "|---|" + "---|" * len(classes)]
    return lines + [f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(classes, matrix)]


def _md_cv(card: dict) -> list[str]:
    """The markdown card's cross-validation: the table against the baseline, the goal, F1, confusions, works wrong."""
    cv, q, b, bq = card["metrics"]["cv"], card["metrics"]["cv_notes_only_input"], card["baseline"]["cv"], card["baseline"]["cv_notes_only_input"]
    rows = [
        ("window accuracy", "window_accuracy"),
        ("balanced window accuracy", "balanced_window_accuracy"),
        ("performance accuracy (mean log-prob)", "performance_accuracy"),
        ("work accuracy (mean log-prob)", "work_accuracy"),
        ("balanced work accuracy", "balanced_work_accuracy"),
    ]
    lines = [
        f"## Cross-validated (5 folds by work, mean ± std over the {card['metrics']['cv_folds_completed']} folds completed; test = performances only)",
        "",
        "| | model | model, notes only | baseline (LR, 138 features) | baseline, notes only |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {label} | {_pm(cv[key])} | {_pm(q[key])} | {_pm(b[key])} | {_pm(bq[key])} |" for label, key in rows]
    lines += [
        "",
        f"Goal: {card['metrics']['goal']}: "
        + ("reached." if cv["balanced_window_accuracy"]["mean"] >= 0.75 and cv["work_accuracy"]["mean"] >= 0.90 else
           "NOT reached. The network beats the baseline on balanced window accuracy and balanced work accuracy, "
           "but its plain work accuracy only matches it, and both stay below the goal."),
        "",
        "Per-composer F1 (windows, mean over folds): " + ", ".join(f"{c} {v:.2f}" for c, v in cv["per_class_f1_windows"].items()),
        "",
        "Per-composer F1 (works, mean over folds): " + ", ".join(f"{c} {v:.2f}" for c, v in cv["per_class_f1_works"].items()),
        "",
        "Baseline per-composer F1 (windows): " + ", ".join(f"{c} {v:.2f}" for c, v in b["per_class_f1_windows"].items()),
        "",
        "Confusion matrix (windows, summed over folds; rows true, columns predicted):",
        "",
        *_md_confusion(card["classes"], cv["confusion_windows_summed"]),
        "",
        "Confusion matrix (works, summed over folds):",
        "",
        *_md_confusion(card["classes"], cv["confusion_works_summed"]),
    ]
    return lines + ["", "Works misclassified in CV: " + (", ".join(f"{w} -> {p}" for w, p in sorted(cv["works_wrong"].items())) or "none"), ""]


def _md_learning_curve(card: dict) -> list[str]:
    """The markdown card's answer to "would more works help?": baseline and network retrained on shares of the works."""
    lc = card["baseline"].get("learning_curve")
    if not lc:
        return []
    rows = lc["fractions"]
    lines = ["## More works, or a better network?",
             "The baseline retrained on a random share of each composer's training works (same folds, same test works; "
             f"{lc['repeats']} draws per share, mean ± std over draws x folds):", "",
             "| share of training works | works (mean) | balanced window accuracy | work accuracy |", "|---|---|---|---|"]
    lines += [f"| {r['fraction']:.0%} | {r['training_works_mean']:g} | {_pm(r['balanced_window_accuracy'])} | "
              f"{_pm(r['work_accuracy'])} |" for r in rows]
    acc = {r["fraction"]: r["balanced_window_accuracy"]["mean"] for r in rows}
    if {0.25, 0.5, 1.0} <= set(acc):
        first, second = acc[0.5] - acc[0.25], acc[1.0] - acc[0.5]
        lines += ["", f"Each doubling of the works added about as much: {100 * first:.1f} points of balanced window "
                  f"accuracy from a quarter to half, {100 * second:.1f} from half to all. The curve is still climbing in "
                  "log scale, so with 8-30 works per composer the data limits the baseline. Extrapolated, not "
                  "measured: if each doubling kept adding as much, the baseline would reach 0.75 with about "
                  f"{2 ** ((0.75 - acc[1.0]) / second):.1f} times the works ASAP has."]
    return lines + [""] + _md_network_curve(card, acc)


def _md_network_curve(card: dict, base_acc: dict[float, float]) -> list[str]:
    """The network's own learning curve (same recipe and steps on a share of the works), compared with the baseline's."""
    rows = card.get("network_learning_curve")
    if not rows:
        return []
    lines = ["The network, retrained with the shipped recipe (same steps and seeds) on a random share of each "
             "composer's training works (one draw per fold; mean ± std over the 5 folds; 100% is the CV above):", "",
             "| share of training works | works (mean) | balanced window accuracy | work accuracy |", "|---|---|---|---|"]
    lines += [f"| {r['fraction']:.0%} | {'all' if r['training_works_mean'] is None else format(r['training_works_mean'], 'g')} | "
              f"{_pm(r['balanced_window_accuracy'])} | {_pm(r['work_accuracy'])} |" for r in rows]
    acc = {r["fraction"]: r["balanced_window_accuracy"]["mean"] for r in rows}
    if {0.5, 1.0} <= set(acc):
        gain = acc[1.0] - acc[0.5]
        text = (f"From half the works to all of them the network gained {100 * gain:.1f} points of balanced window "
                f"accuracy")
        if 0.5 in base_acc and 1.0 in base_acc:
            text += f" (the baseline {100 * (base_acc[1.0] - base_acc[0.5]):.1f})"
        if gain > 0:
            text += (f". Extrapolated, not measured: at that rate the network would reach 0.75 with about "
                     f"{2 ** ((0.75 - acc[1.0]) / gain):.1f} times the works ASAP has.")
        else:
            text += ": more works of this kind would not help this network; its recipe limits it."
        work = {r["fraction"]: r["work_accuracy"]["mean"] for r in rows}
        text += (f" Work accuracy went from {work[0.5]:.3f} to {work[1.0]:.3f}: with about 25 test works per fold one "
                 "work is 4 points, so it is the coarser of the two measures.")
        lines += ["", text]
    return lines + [""]


def _md_held_out(card: dict) -> list[str]:
    """The markdown card's held-out works: the numbers and every performance's prediction."""
    h = card["metrics"]["held_out"]
    lines = [
        "## Held-out works of the shipped model",
        "The shipped weights were trained on all works except one per composer: "
        + ", ".join(f"{c}: {w}" for c, w in card["split"]["held_out_works"].items())
        + f". On their performances: window accuracy {h['full_input']['window_accuracy']:.3f}, "
        f"work accuracy {h['full_input']['work_accuracy']:.3f} ({h['full_input']['n_works']} works); notes only: window "
        f"{h['notes_only_input']['window_accuracy']:.3f}, work {h['notes_only_input']['work_accuracy']:.3f}.",
        "",
        "| performance | composer | predicted |",
        "|---|---|---|",
    ]
    return lines + [f"| {p['path']} | {p['composer']} | {p['predicted']} |" for p in h["performances"]]


def _md_discussion(card: dict) -> list[str]:
    """The markdown card's prose: examples, notes or performance, the comparison with the literature."""
    return [
        "",
        "Examples of these works (one performance, its annotations and the MusicXML score per composer) are in `assets/examples/piano/`.",
        "",
        "## Notes or performance?",
        "The notes-only column feeds the same models the test performances with every velocity set to 1.0 and the expressive "
        "timing removed (each note re-timed onto the annotated beats at the performance's mean tempo; pedal-extended durations kept "
        "in beats). What survives is, roughly, what the score says; the drop from the model column is what dynamics and "
        "rubato contributed (or the domain shift of the input, which the score windows seen in training partly cover).",
        "",
        *_notes_only_model_lines(card["metrics"]["notes_only_model"]),
        "## Compared with Foscarin et al. 2022",
        "Foscarin, Hoedt, Praher, Flexer, Widmer (ISMIR 2022), 'Concept-based techniques for musicologist-friendly explanations "
        "in a deep music classifier', trained a ResNet on 20-s piano rolls of MAESTRO performances for 13 composers and reported "
        "F1 0.93. This model is not comparable head-to-head: 6 composers (fewer classes, an easier task) but far less data "
        "(ASAP is a ~1,000-performance subset of MAESTRO, with only 8-30 works per composer), a much smaller CPU-trained network, "
        "few training steps (under one pass over the windows), and an evaluation split strictly by work here (movements of one sonata, a prelude and its fugue, and repeat "
        "variants never cross the split). Expect lower numbers here; the by-work split is the honest part.",
        "",
    ]


def _md_tail(card: dict) -> list[str]:
    """The markdown card's confounds, licence and how to reproduce it."""
    return [
        "## Confounds to keep in mind",
        *[f"- {c}" for c in card["confounds"]],
        "",
        "## Licence",
        "CC BY-NC-SA 4.0: trained on ASAP (Foscarin, McLeod, Rigaux, Jacquemard, Sakai, ISMIR 2020), whose performances come from "
        "MAESTRO (Hawthorne et al., ICLR 2019; CC BY-NC-SA 4.0). The weights are for non-commercial use and share alike.",
        "",
        "## Reproduce",
        f"`{card['reproduce']}` (CV {card['training']['seconds_cv'] or float('nan'):.0f} s, final {card['training']['seconds_final']:.0f} s on "
        f"{card['training']['machine']}; torch {card['training']['torch']}). Every parameter is in `piano_composer.json` under "
        "`training.params`; the log is `piano_composer.train.log`.",
        "",
    ]


def markdown_card(card: dict) -> str:
    """Human-readable model card: the JSON card's numbers as tables and the prose around them, section by section."""
    return "\n".join(_md_head(card) + _md_cv(card) + _md_learning_curve(card) + _md_held_out(card) + _md_discussion(card) + _md_tail(card))


def main(argv: list[str]) -> None:  # pragma: no cover - needs the data
    """``cv`` or ``final`` (``cv --notes-only-model N`` also trains notes-only models on the first N folds)."""
    torch.set_num_threads(1)
    if not argv or argv[0] not in ("cv", "final", "card", "notes-only-cv", "recover-final", "curve"):
        sys.exit("usage: python -m training.train_piano cv|final|card|notes-only-cv 0,1|curve 0.5 0,1")
    if argv[0] == "curve":
        network_curve(float(argv[1]), [int(k) for k in argv[2].split(",")])
        return
    if argv[0] == "notes-only-cv":
        notes_only_model_cv([int(k) for k in argv[1].split(",")])
        return
    if argv[0] == "recover-final":
        recover_final()
        return
    if argv[0] == "card":
        write_card()
        return
    if argv[0] == "cv":
        n = int(argv[2]) if len(argv) > 2 and argv[1] == "--notes-only-model" else 0
        cv(n)
    else:
        final()


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
