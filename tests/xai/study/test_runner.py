import json

import pytest

from tests.xai.study._tasks import CALL, GRID
from xai.study import runner, spec


def _study(tmp_path, body: str, name: str = "s.toml"):
    f = tmp_path / name
    f.write_text(body)
    return spec.load(f)


def _results(study) -> dict:
    return {k: rec["result"] for k, rec in runner.finished(study).items()}




def test_local_workers_finish_every_cell_and_a_rerun_skips_them(tmp_path):
    s = _study(tmp_path, GRID)
    seen = []
    rep = runner.run(s, workers=2, progress=lambda d, f, m: seen.append((d, f)))
    assert rep.finished_now == 5 and rep.remaining == 0 and not rep.failed and seen[-1] == (5, 0)
    res = _results(s)
    inline = _study(tmp_path, GRID.replace('name = "grid"', 'name = "grid"\noutput = "inline"'), "t.toml")
    runner.run(inline, workers=0)
    assert _results(inline) == res  # the same cells give the same numbers in this process and in workers
    again = runner.run(s, workers=2)
    assert again.already_done == 5 and again.finished_now == 0
    summary = json.loads((s.output / "summary.json").read_text())
    assert {c["state"] for c in summary["cells"]} == {"finished"}


def test_a_task_that_raises_is_reported_and_the_rest_is_kept(tmp_path):
    s = _study(tmp_path, GRID + f'[[call]]\nfunction = "{CALL}:fail"\nseeds = [7]\n'
                                 '[[call]]\nfunction = "nowhere.module:fn"\n')
    rep = runner.run(s, workers=2)
    assert rep.finished_now == 5 and rep.remaining == 2
    msgs = {t: m for _, t, m in rep.failed}
    assert any("unexpected error: ValueError: broken on purpose (seed 7)" in m for m in msgs.values())
    assert any("no function 'nowhere.module:fn'" in m for m in msgs.values())
    assert "2 cell(s) left: run the same command again" in rep.summary()
    assert len(list((s.output / "failed").glob("*.json"))) == 2


def test_a_killed_worker_fails_its_cell_plainly_and_a_rerun_finishes_it(tmp_path):
    flag = tmp_path / "killed-once"
    s = _study(tmp_path, GRID + f'[[call]]\nfunction = "{CALL}:die_once"\nseeds = [3]\n'
                                 f'params = {{ flag = "{flag}", wait = 0.5 }}\n')
    rep = runner.run(s, workers=2)
    assert flag.exists()
    died = [m for _, t, m in rep.failed if "die_once" in t or "seed=3" in t]
    assert died and "worker process running it stopped (killed, or out of memory)" in died[0]
    assert rep.already_done + rep.finished_now + len(rep.failed) == rep.n_cells  # every other cell ran
    assert rep.finished_now >= 3  # cells after the break ran in a fresh pool
    again = runner.run(s, workers=2)
    assert again.remaining == 0 and _results(s)[[c for c in s.cells if c.params.get("params", {}).get("flag")][0].key] \
        == {"seed": 3, "survived": True}


def test_a_local_ray_cluster_gives_the_local_numbers_and_survives_a_killed_worker(tmp_path):
    pytest.importorskip("ray", reason="ray is pinned in requirements.txt; install requirements.txt")
    body = GRID + """
[[tcav]]
models = ["composer"]
concepts = ["imitation"]
classes = ["bach"]
layers = ["block3"]
options = { n_random = 2, max_examples = 40 }
"""
    local = _study(tmp_path, body.replace('name = "grid"', 'name = "grid"\noutput = "local"'), "a.toml")
    runner.run(local, workers=2)
    flag = tmp_path / "ray-killed-once"
    die = f'[[call]]\nfunction = "{CALL}:die_once"\nseeds = [9]\nparams = {{ flag = "{flag}" }}\n'
    on_ray = _study(tmp_path, body.replace('name = "grid"', 'name = "grid"\noutput = "ray"') + die, "b.toml")
    rep = runner.run(on_ray, workers=2, ray_address="local")  # a Ray head on loopback with 2 worker CPUs
    assert rep.backend == "Ray (local)" and flag.exists()
    assert [m for _, _, m in rep.failed] == [runner.WORKER_DIED] and rep.remaining == 1
    ray_results = _results(on_ray)
    assert {k: ray_results[k] for k in _results(local)} == _results(local)  # same seeds, same numbers
    assert any(rec["kind"] == "tcav" for rec in runner.finished(on_ray).values())
    rest = runner.run(on_ray, workers=0)  # resumable on any back end: only the killed cell runs again
    assert rest.finished_now == 1 and rest.remaining == 0
