"""Cheap-feature baseline for the ASAP composer task: 138 hand-made window features + logistic regression.

The network must beat something simple measured on exactly the same windows and folds, or its accuracy
means little. The features summarise each 20-s window's notes (onset inside the window) without any
ordering beyond neighbouring notes: pitch-class, octave and interval histograms, inter-onset-interval and
duration histograms, pitch range, note density, polyphony and velocity statistics.

Run ``python -m training.piano_baseline`` to print the 5-fold by-work numbers and the learning curve over training works (written to
``<cache>/asap/piano_baseline_cv.json``, which ``training.train_piano`` puts on the model card).
"""

from __future__ import annotations

import json
import time

import numpy as np

from . import asap

IOI_BINS = np.concatenate([[0.0], np.geomspace(0.03, 4.0, 19), [np.inf]])  # 20 bins
DUR_BINS = np.concatenate([[0.0], np.geomspace(0.05, 8.0, 15), [np.inf]])  # 16 bins
VEL_BINS = np.linspace(0.0, 1.0 + 1e-9, 17)  # 16 bins
N_FEATURES = 12 + 25 + 12 + 20 + 8 + 4 + 2 + 3 + 11 + 7 + 16 + 16 + 2  # 138


def _hist(x: np.ndarray, bins: np.ndarray) -> np.ndarray:
    h = np.histogram(x, bins=bins)[0].astype(np.float64)
    return h / h.sum() if h.sum() > 0 else h


def window_features(notes: np.ndarray, start: float, window: float = asap.WINDOW_SECONDS) -> np.ndarray:
    """The 138 features of the notes with onset in [start, start + window).

    Histograms are normalised to sum 1; an empty window gives zeros. Velocity features are constant for
    flattened (notes-only or score) input.
    """
    f = np.zeros(N_FEATURES)
    n = notes[(notes[:, 0] >= start) & (notes[:, 0] < start + window)]
    if len(n) == 0:
        return f
    n = n[np.lexsort((n[:, 2], n[:, 0]))]
    on, off, pitch, vel = n[:, 0].astype(np.float64), n[:, 1].astype(np.float64), n[:, 2].astype(int), n[:, 3]
    dur = np.maximum(off - on, 1e-3)
    parts = []
    pc = np.bincount(pitch % 12, weights=dur, minlength=12)
    parts.append(pc / pc.sum())
    parts.append(_hist(np.clip(np.diff(pitch), -12, 12), np.arange(-12.5, 13.5)))  # successive-note intervals, 25
    chords = np.round(on / 0.05).astype(int)  # notes starting within the same 50 ms
    har = np.zeros(12)
    for c in np.unique(chords):
        ps = np.sort(pitch[chords == c])
        if ps.size > 1:
            har += np.bincount((ps[1:] - ps[0]) % 12, minlength=12)
    parts.append(har / har.sum() if har.sum() > 0 else har)
    uon = np.unique(np.round(on, 2))
    parts.append(_hist(np.diff(uon), IOI_BINS))
    parts.append(np.bincount(np.clip(pitch // 12 - 1, 0, 7), minlength=8) / len(pitch))  # octaves
    parts.append(np.array([pitch.min(), pitch.max(), pitch.mean(), pitch.std()]) / 108.0)
    parts.append(np.array([len(n) / window, len(uon) / window]) / 10.0)
    # polyphony at 10 frames per second from the sustain channel
    roll = asap.render(n, start, n_frames=int(window * asap.FPS))
    poly = roll[1].sum(0)
    parts.append(np.array([poly.mean(), poly.max(), poly.std()]) / 10.0)
    parts.append(np.bincount(np.clip(poly.astype(int), 0, 10), minlength=11) / len(poly))
    parts.append(np.array([vel.mean(), vel.std(), vel.min(), vel.max(), *np.percentile(vel, [10, 50, 90])]))
    parts.append(_hist(vel, VEL_BINS))
    parts.append(_hist(dur, DUR_BINS))
    parts.append(np.array([np.log(dur).mean(), np.log(dur).std()]) / 5.0)
    f[:] = np.concatenate(parts)
    return f


def features(ds: asap.Dataset, recs: np.ndarray, starts: np.ndarray, *, notes_only: bool = False) -> np.ndarray:
    """Features of the windows (recording index, start second) of a :class:`asap.Dataset`, shape (N, 138)."""
    get = ds.notes_q if notes_only else ds.notes
    return np.stack([window_features(get(int(r)), float(s)) for r, s in zip(recs, starts)]) if len(recs) else np.zeros((0, N_FEATURES))


def fit(X: np.ndarray, y: np.ndarray, *, seed: int = asap.SEED):
    """Standardised multinomial logistic regression with balanced class weights (single process)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=3000, C=0.1, class_weight="balanced", random_state=seed)
    )
    return clf.fit(X, y)


def cross_validate(ds: asap.Dataset, folds: dict[str, int], *, X: np.ndarray | None = None, log=print) -> dict:
    """5-fold by-work CV of the baseline; trains on performance and score windows, tests on performances.

    Also evaluates each fold's model on the notes-only windows of the test performances. ``X``: the windows'
    features when already computed.
    """
    t0 = time.time()
    X = features(ds, ds.win_rec, ds.win_start) if X is None else X
    test_q = ~ds.is_score[ds.winq_rec]
    Xq = features(ds, ds.winq_rec[test_q], ds.winq_start[test_q], notes_only=True)
    log(f"baseline features {X.shape} + notes-only {Xq.shape} in {time.time() - t0:.0f} s")
    fold_of_rec = np.array([folds[w] for w in ds.work])
    y = ds.label[ds.win_rec]
    wf = fold_of_rec[ds.win_rec]
    qrec = ds.winq_rec[test_q]
    per_fold, per_fold_q = [], []
    for k in range(asap.N_FOLDS):
        tr = wf != k
        te = (wf == k) & ~ds.is_score[ds.win_rec]
        clf = fit(X[tr], y[tr])
        r = ds.win_rec[te]
        m = asap.summarize(y[te], clf.predict_log_proba(X[te]), ds.work[r], ds.path[r])
        per_fold.append(m)
        qte = fold_of_rec[qrec] == k
        rq = qrec[qte]
        mq = asap.summarize(ds.label[rq], clf.predict_log_proba(Xq[qte]), ds.work[rq], ds.path[rq])
        per_fold_q.append(mq)
        log(
            f"baseline fold {k}: window {m['window_accuracy']:.3f} balanced {m['balanced_window_accuracy']:.3f} "
            f"work {m['work_accuracy']:.3f} | notes-only balanced {mq['balanced_window_accuracy']:.3f} work {mq['work_accuracy']:.3f}"
        )
    return {
        "description": f"{N_FEATURES} window features (pitch-class, interval, chord-interval, IOI, octave, duration and "
        "velocity histograms; pitch range, density, polyphony, velocity stats) + standardised logistic regression "
        "(C=0.1, balanced class weights); trained on performance + score windows of the training works",
        "per_fold": per_fold,
        "cv": asap.aggregate(per_fold),
        "notes_only_cv": asap.aggregate(per_fold_q),
        "seconds": round(time.time() - t0, 1),
    }


def subsample_works(works: list[str], labels: dict[str, int], fraction: float, rng: np.random.Generator) -> set[str]:
    """A random ``fraction`` of each composer's ``works`` (at least one per composer), drawn without replacement."""
    keep: set[str] = set()
    for c in sorted(set(labels[w] for w in works)):
        of_c = sorted(w for w in works if labels[w] == c)
        n = max(1, int(round(fraction * len(of_c))))
        keep |= set(rng.choice(of_c, n, replace=False).tolist())
    return keep


def learning_curve(ds: asap.Dataset, folds: dict[str, int], *, X: np.ndarray | None = None,
                   fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0), repeats: int = 3, seed: int = asap.SEED,
                   log=print) -> dict:
    """How the baseline's by-work CV accuracy grows with the number of training works.

    For each fraction, every fold trains on that fraction of each composer's training works (``repeats`` random
    draws; one at 1.0) and tests on the fold's whole test set, which never changes. Mean and std over all
    (draw, fold) runs. The slope says whether more works would help: if accuracy still climbs at 1.0, the data,
    not the classifier, is what limits it.
    """
    X = features(ds, ds.win_rec, ds.win_start) if X is None else X
    label = asap.work_labels(ds.work, ds.label)
    y = ds.label[ds.win_rec]
    wwork = ds.work[ds.win_rec]
    fold_of_win = np.array([folds[w] for w in wwork])
    rng = np.random.default_rng(seed)
    out = []
    for frac in fractions:
        runs = []
        for _ in range(repeats if frac < 1 else 1):
            for k in range(asap.N_FOLDS):
                train_works = [w for w in label if folds[w] != k]
                keep = subsample_works(train_works, label, frac, rng)
                tr = np.isin(wwork, sorted(keep))
                te = (fold_of_win == k) & ~ds.is_score[ds.win_rec]
                clf = fit(X[tr], y[tr], seed=seed)
                r = ds.win_rec[te]
                m = asap.summarize(y[te], clf.predict_log_proba(X[te]), ds.work[r], ds.path[r])
                runs.append((m["balanced_window_accuracy"], m["work_accuracy"], len(keep)))
        v = np.array(runs, dtype=float)
        row = {"fraction": frac, "runs": len(runs), "training_works_mean": round(float(v[:, 2].mean()), 1),
               "balanced_window_accuracy": {"mean": round(float(v[:, 0].mean()), 4), "std": round(float(v[:, 0].std()), 4)},
               "work_accuracy": {"mean": round(float(v[:, 1].mean()), 4), "std": round(float(v[:, 1].std()), 4)}}
        log(f"learning curve {frac:.2f} of the works ({row['training_works_mean']} works): balanced window "
            f"{row['balanced_window_accuracy']['mean']:.3f}, work {row['work_accuracy']['mean']:.3f}")
        out.append(row)
    return {"fractions": out, "repeats": repeats, "seed": seed,
            "description": "the baseline retrained on a random fraction of each composer's training works, same folds "
                           "and test sets; mean +- std over draws x folds"}


def main() -> None:  # pragma: no cover - needs the data
    """Print and save the baseline's cross-validated numbers."""
    ds = asap.Dataset(asap.build_cache())
    folds = asap.work_folds(ds.work, ds.label)
    X = features(ds, ds.win_rec, ds.win_start)
    res = cross_validate(ds, folds, X=X)
    res["learning_curve"] = learning_curve(ds, folds, X=X)
    out = asap.cache_dir() / "asap" / "piano_baseline_cv.json"
    out.write_text(json.dumps(res, indent=1))
    cv = res["cv"]
    for key in ("window_accuracy", "balanced_window_accuracy", "work_accuracy", "performance_accuracy"):
        print(f"{key}: {cv[key]['mean']:.3f} ± {cv[key]['std']:.3f}")
    print("per-class F1", {c: round(v, 3) for c, v in cv["per_class_f1"].items()})
    print("notes-only", {k: round(res["notes_only_cv"][k]["mean"], 3) for k in ("balanced_window_accuracy", "work_accuracy")})


if __name__ == "__main__":  # pragma: no cover
    main()
