"""The label-noise lab: corruption is exact and seeded, a run learns, noise costs accuracy, and a run stops."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.label_noise import SUBSET_PATH, load_subset, pack, unpack
from xai.classroom import label_noise as ln
from xai.errors import ParameterError

CLASSES = ("bach", "palestrina", "monteverdi", "trecento", "classical", "folk")


def test_symmetric_corruption_changes_exactly_the_share_asked_and_is_seeded():
    y = np.repeat(np.arange(6), 50)
    z = ln.corrupt(y, CLASSES, "symmetric", 0.3, random_state=1)
    assert np.sum(z != y) == 90  # every chosen label moves to another class
    assert np.array_equal(z, ln.corrupt(y, CLASSES, "symmetric", 0.3, random_state=1))
    assert not np.array_equal(z, ln.corrupt(y, CLASSES, "symmetric", 0.3, random_state=2))
    assert np.array_equal(ln.corrupt(y, CLASSES, "symmetric", 0.0, random_state=1), y)


def test_class_dependent_corruption_goes_to_the_close_style():
    y = np.repeat(np.arange(6), 20)
    z = ln.corrupt(y, CLASSES, "class", 1.0, random_state=0)
    for i, c in enumerate(CLASSES):
        assert set(z[y == i].tolist()) == {CLASSES.index(ln.CLOSE[c])}


@pytest.mark.parametrize("kind, noise", [("other", 0.1), ("symmetric", 1.5), ("symmetric", -0.1), ("class", "x")])
def test_bad_options_say_so(kind, noise):
    with pytest.raises(ParameterError):
        ln.corrupt(np.zeros(4, int), CLASSES, kind, noise, random_state=0)


def test_packing_round_trips():
    X = (np.random.default_rng(0).random((3, 2, 88, 64)) > 0.9).astype(np.uint8)
    assert np.array_equal(unpack(pack(X)), X.astype(np.float32))


def _planted(n_per=30, seed=0):
    """Two classes a CNN separates at once: short notes (class 0) or long held notes (class 1)."""
    rng = np.random.default_rng(seed)

    def rolls(n, length):
        X = np.zeros((n, 2, 88, 64), np.uint8)
        for k in range(n):
            for p, t in zip(rng.integers(10, 78, size=10), rng.integers(0, 56, size=10)):
                X[k, 0, p, t] = 1
                X[k, 1, p, t:t + length] = 1
        return X

    X = np.concatenate([rolls(n_per, 1), rolls(n_per, 8)])
    y = np.repeat([0, 1], n_per)
    return X, y


def _data():
    Xtr, ytr = _planted(40, 0)
    Xte, yte = _planted(20, 1)
    return {"classes": ("low", "high"), "X_train": pack(Xtr), "y_train": ytr, "X_test": pack(Xte), "y_test": yte}


def test_clean_labels_learn_and_fully_flipped_labels_learn_the_opposite():
    data = _data()
    clean = ln.train_run(data, noise=0.0, epochs=15, random_state=0, threads=1)
    assert clean.test_accuracy >= 0.9 and clean.flipped == 0
    flipped = ln.train_run(data, noise=1.0, epochs=15, random_state=0, threads=1)  # two classes: every label swapped
    assert flipped.flipped == 80 and flipped.test_accuracy <= 0.1


def test_the_progress_callback_reports_and_can_stop_the_run():
    seen = []

    def progress(frac, msg):
        seen.append(frac)
        return len(seen) >= 3

    with pytest.raises(ln.Cancelled, match="stopped"):
        ln.train_run(_data(), epochs=5, progress=progress, threads=1)
    assert len(seen) == 3 and seen == sorted(seen) and seen[-1] < 1


def test_the_shipped_subset_is_split_by_piece_and_small():
    assert SUBSET_PATH.stat().st_size < 5_000_000
    d = load_subset()
    assert not set(d["piece_train"].tolist()) & set(d["piece_test"].tolist())
    assert d["classes"] == CLASSES and len(d["y_test"]) == d["meta"]["n_test"]


def test_shipped_curves_hold_their_parameters_and_show_noise_costs_accuracy():
    files = ln.curve_files()
    assert files, "precomputed curves ship in assets/label_noise"
    doc = ln.load_curves(files[0])
    assert {"noises", "kinds", "seeds", "epochs", "command"} <= set(doc["parameters"])
    mean = {(r["kind"], r["noise"]): r["mean"] for r in doc["summary"]}
    assert mean[("symmetric", 0.0)] > mean[("symmetric", max(doc["parameters"]["noises"]))]


def test_a_file_that_is_not_curves_is_refused(tmp_path):
    p = tmp_path / "curves_x.json"
    p.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ParameterError, match="not a label-noise curves file"):
        ln.load_curves(p)


def test_cancelled_is_the_package_one_and_options_hold_the_bounds():
    from xai import errors

    assert ln.Cancelled is errors.Cancelled
    assert ln.LabelNoiseOptions().epochs == 8
    with pytest.raises(ParameterError, match="epochs"):
        ln.train_run(_data(), epochs=0, threads=1)
    with pytest.raises(ParameterError, match="epochs"):
        ln.LabelNoiseOptions(epochs=101)


def test_run_result_round_trips_through_json():
    from xai.contract import fields_equal

    r = ln.RunResult(kind="class", noise=0.4, seed=1, epochs=3, n_train=60, n_test=20, flipped=24, test_accuracy=0.7,
                     train_accuracy_noisy=0.5, per_class={"bach": 0.8, "folk": float("nan")}, seconds=1.5)
    assert fields_equal(r, ln.RunResult.from_json(r.to_json()))
    assert r.record()["per_class"]["bach"] == 0.8 and r.record()["kind"] == "class"


def test_the_declared_epoch_bounds_are_the_live_runs():
    spec = {s["name"]: s for s in ln.LabelNoiseOptions.spec()}
    assert (spec["epochs"]["low"], spec["epochs"]["high"]) == (1, 16)
    assert ln.LabelNoiseOptions(epochs=16).epochs == 16
    with pytest.raises(ParameterError, match="epochs"):
        ln.LabelNoiseOptions(epochs=17)
