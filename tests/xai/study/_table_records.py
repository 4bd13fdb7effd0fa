"""Records and a fake TCAV study shared by the table's tests (xai.study.table) and the command's (xai.cli.tables)."""

from __future__ import annotations

from xai.study import spec

OPTIONS = {"n_random": 20, "n_runs": 20, "alpha_significance": 0.05, "correction": "holm",
           "cav_test_fraction": 0.33}


def rec(concept, target, layer, seed, *, mean, p, rnd=0.5, better=True, std=0.1, model="piano_composer"):
    return {"model": model, "seed": seed, "concept": concept, "target": target, "layer": layer, "tcav_mean": mean,
            "tcav_std": std, "random_mean": rnd, "p_value": p, "cav_better_than_random": better}


def fake_study(tmp_path, model="composer"):
    text = f"""
name = "fake table"
output = "{tmp_path / 'out'}"
[[tcav]]
models = ["{model}"]
concepts = ["alberti bass", "contrapuntal texture"]
classes = ["Bach", "Haydn"]
layers = ["block3", "block4"]
seeds = [0, 1]
options = {{ n_random = 20 }}
"""
    path = tmp_path / "fake.toml"
    path.write_text(text)
    return path, spec.load(path)
