"""xai.study.tasks: what a study cell runs, one call into xai, returned as JSON data or a plain message."""

from __future__ import annotations

import json

import pytest
from threadpoolctl import threadpool_info

from xai.errors import InputError
from xai.study import spec, tasks

CALL = "tests.xai.study._tasks"


def _call(name: str, seed: int = 0, **params) -> dict:
    return tasks.execute("call", {"function": f"{CALL}:{name}", "seed": seed, "params": params})


def test_every_kind_a_study_can_declare_has_a_task():
    assert set(tasks.TASKS) == set(spec.KINDS)


def test_a_cell_returns_json_data_with_its_time_and_host():
    out = _call("draw", seed=4, n=3)
    assert out["ok"] and len(out["result"]["values"]) == 3 and out["seconds"] >= 0 and "pid" in out["host"]
    assert _call("draw", seed=4, n=3)["result"] == out["result"]  # seeded: the same numbers again
    json.dumps(out)  # plain JSON throughout


def test_a_cell_runs_on_one_thread_and_the_process_gets_its_threads_back():
    before = sorted({p["num_threads"] for p in threadpool_info()})
    out = _call("threads", seed=3)
    assert out["result"] == {"threads": [1], "mean": 1.5} and type(out["result"]["mean"]) is float
    assert sorted({p["num_threads"] for p in threadpool_info()}) == before


@pytest.mark.parametrize(("name", "message"), [
    ("fail", "the task stopped with an unexpected error: ValueError: broken on purpose (seed 0)"),
    ("missing_file", "a file it needs is missing: /nowhere/data_0.npz"),
])
def test_a_failing_cell_is_one_sentence_never_a_traceback(name, message):
    out = _call(name)
    assert out == {"ok": False, "error": message, "host": out["host"], "seconds": out["seconds"]}


def test_a_function_that_is_not_there_is_the_users_mistake():
    out = tasks.execute("call", {"function": "no_module_here:fn", "seed": 0, "params": {}})
    assert not out["ok"] and out["error"] == ("There is no function 'no_module_here:fn' to call; write it as "
                                              "'package.module:function'.")
    with pytest.raises(InputError, match="no function"):
        tasks.call({"function": f"{CALL}:nothing", "seed": 0, "params": {}})


@pytest.mark.parametrize(("key", "value", "needle"), [("target", "jazz", "has no class 'jazz'"),
                                                      ("layer", "block9", "has no layer 'block9'")])
def test_a_tcav_cell_with_a_name_the_model_lacks_says_so_before_computing(key, value, needle):
    p = {"model": "composer", "target": "bach", "layer": "block4", "concept": "x", "relative_to": None,
         "library": "", "options": {}, "seed": 0, "record": False} | {key: value}
    out = tasks.execute("tcav", p)
    assert not out["ok"] and needle in out["error"] and out["seconds"] < 30


def test_a_hubness_cell_keeps_its_timing_out_of_its_result():
    out = tasks.execute("hubness", {"embedding": "style_audio", "k": 5, "reduction": "none", "candidates": 50})
    assert out["ok"] and "seconds" not in out["result"]
    assert out["result"] == tasks.execute("hubness", {"embedding": "style_audio", "k": 5, "reduction": "none",
                                                      "candidates": 50})["result"]
