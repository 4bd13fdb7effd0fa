"""training.piano_baseline: the learning curve over training works keeps the by-work split and its shares."""

from types import SimpleNamespace

import numpy as np

from training import asap, piano_baseline


def test_subsample_works_takes_a_share_of_each_composer():
    works = [f"w{i}" for i in range(30)]
    labels = {w: i % 3 for i, w in enumerate(works)}  # 10 works per composer
    keep = piano_baseline.subsample_works(works, labels, 0.3, np.random.default_rng(0))
    assert keep <= set(works)
    assert [sum(labels[w] == c for w in keep) for c in range(3)] == [3, 3, 3]
    tiny = piano_baseline.subsample_works(works, labels, 0.01, np.random.default_rng(0))
    assert [sum(labels[w] == c for w in tiny) for c in range(3)] == [1, 1, 1]  # never a composer without works
    assert piano_baseline.subsample_works(works, labels, 1.0, np.random.default_rng(5)) == set(works)


def _toy(works_per_class=15, windows=6, dims=8, seed=0):
    """Six composers; each work is its composer's mean plus a work-specific offset, so generalising to unseen
    works needs many training works."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 1.0, (6, dims))
    work, label, rows, win_rec = [], [], [], []
    for c in range(6):
        for j in range(works_per_class):
            r = len(work)
            work.append(f"c{c}/w{j}")
            label.append(c)
            centre = means[c] + rng.normal(0, 1.2, dims)
            rows.append(centre + rng.normal(0, 0.5, (windows, dims)))
            win_rec += [r] * windows
    work = np.array(work)
    ds = SimpleNamespace(work=work, path=work, label=np.array(label), win_rec=np.array(win_rec),
                         is_score=np.zeros(len(work), bool))
    return ds, np.concatenate(rows)


def test_learning_curve_draws_shares_of_the_training_works_and_grows_with_them():
    ds, X = _toy()
    folds = asap.work_folds(ds.work, ds.label)
    lc = piano_baseline.learning_curve(ds, folds, X=X, fractions=(0.25, 1.0), repeats=2, log=lambda m: None)
    small, full = lc["fractions"]
    assert (small["runs"], full["runs"]) == (2 * asap.N_FOLDS, asap.N_FOLDS)
    assert full["training_works_mean"] == 6 * 15 * (asap.N_FOLDS - 1) / asap.N_FOLDS  # all the training works
    assert small["training_works_mean"] == 6 * 3  # a quarter of each composer's 12 training works
    assert full["balanced_window_accuracy"]["mean"] > small["balanced_window_accuracy"]["mean"]
