"""xai.concepts.experiment: the TCAV run the page and the CLI share, its record, its link options and privacy rule."""

import numpy as np
import torch

from xai.concepts import experiment, tcav
from xai.contract import fields_equal


def _tiny_result(rng) -> tcav.TCAVResult:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(3 * 8 * 8, 2))
    X = rng.random((40, 2, 8, 8)).astype(np.float32)
    return tcav.score(X[:8], net, class_X={"b": X[8:16]}, random_X=X[16:], layers="1", targets="b",
                      classes=("a", "b"), options=tcav.TCAVOptions(n_random=2))


def test_a_run_round_trips_through_json(rng):
    run = experiment.TCAVRun(result=_tiny_result(rng), n_pool=24)
    back = experiment.TCAVRun.from_json(run.to_json())
    assert fields_equal(run, back) and isinstance(back.result, tcav.TCAVResult) and back.n_pool == 24


def test_link_options_keep_only_valid_values_typed_as_declared():
    state = {"n_random": 7.0, "alpha": "0.5", "correction": "sidak", "max_examples": 2, "classifier": "sgd",
             "unrelated": 1}
    assert experiment.link_options(state) == {"n_random": 7, "alpha": 0.5, "classifier": "sgd"}


def test_only_own_runs_or_runs_of_public_concepts_are_visible():
    runs = [{"id": 1, "concepts": ["mine"]}, {"id": 2, "concepts": ["saved"]}, {"id": 3, "concepts": ["secret"]},
            {"id": 4, "concepts": ["saved", "secret"]}]
    seen = experiment.visible_runs(runs, mine={1}, public={"saved"})
    assert [r["id"] for r in seen] == [1, 2]
