"""xai.cli.concepts: `python -m xai tcav | layers | concepts list | discover` on the shipped model, concept sets and
precomputed results, with a temporary library; bad input ends in one sentence."""

import json

import pytest

from xai import cli
from xai.concepts import library as concepts

# Issue #15 added the interval, magnitude, effect size, random baselines and run count to each record.
RECORD_KEYS = {"concept", "relative_to", "target", "layer", "tcav_mean", "tcav_std", "random_mean", "p_value",
               "p_corrected", "significant", "cav_accuracy", "n_random", "tcav_ci", "magnitude_mean", "random_std",
               "effect_size", "p_magnitude", "random_cav_accuracy", "cav_better_than_random", "more_examples",
               "n_runs"}


@pytest.fixture
def library(tmp_path):
    return tmp_path / "library.sqlite"


@pytest.fixture(scope="module")
def builtin_names():
    return list(concepts.builtin())


def run_json(capsys, *argv):
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_tcav_prints_one_record_per_concept_target_layer_and_saves_runs(capsys, library, builtin_names):
    a, b = builtin_names[:2]
    out = run_json(capsys, "tcav", "--concept", a, "--concept", b, "--target", "bach", "--target", "folk",
                   "--layer", "block3", "--layer", "block4", "--random-runs", "2", "--max-examples", "16",
                   "--seed", "7", "--library", str(library))
    assert len(out) == 2 * 2 * 2
    assert all(set(r) == RECORD_KEYS for r in out)
    assert {(r["concept"], r["target"], r["layer"]) for r in out} == {
        (c, t, la) for c in (a, b) for t in ("bach", "folk") for la in ("block3", "block4")}
    for r in out:
        assert 0 <= r["tcav_mean"] <= 1 and 0 <= r["p_corrected"] <= 1 and r["p_value"] <= r["p_corrected"]
        assert r["n_random"] == 2 and r["relative_to"] is None and isinstance(r["significant"], bool)
    runs = concepts.Library(library).runs()
    assert len(runs) == 2
    assert {tuple(r["concepts"]) for r in runs} == {(a,), (b,)}
    p = runs[0]["parameters"]
    assert p["random_state"] == 7 and p["options"]["n_random"] == 2 and p["weights_sha256"]
    assert p["options"]["max_examples"] == 16 and p["n_class"] == {"bach": 16, "folk": 16}
    assert runs[0]["targets"] == ["bach", "folk"] and runs[0]["layers"] == ["block3", "block4"]
    assert len(runs[0]["results"]["records"]) == 4


def test_tcav_defaults_to_the_default_layer_and_is_reproducible(capsys, library, builtin_names):
    args = ["tcav", "--concept", builtin_names[0], "--target", "bach", "--random-runs", "2", "--max-examples", "16",
            "--library", str(library)]
    first = run_json(capsys, *args)
    assert [r["layer"] for r in first] == ["block3"]
    assert run_json(capsys, *args) == first


def test_library_concept_wins_over_a_builtin_and_relative_tcav(capsys, library, builtin_names):
    base = concepts.builtin()[builtin_names[0]]
    mine = concepts.Concept(name="my texture", description="a test concept", examples=base.examples[:12])
    concepts.Library(library).save(mine)
    out = run_json(capsys, "tcav", "--concept", "my texture", "--relative-to", builtin_names[1], "--target", "bach",
                   "--random-runs", "2", "--max-examples", "16", "--library", str(library))
    assert len(out) == 1
    assert out[0]["concept"] == "my texture" and out[0]["relative_to"] == builtin_names[1]
    run = concepts.Library(library).runs()[0]
    assert run["concepts"] == ["my texture", builtin_names[1]]
    assert run["parameters"]["method"] == "relative TCAV"


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--concept", "no such concept", "--target", "bach"], "no concept called 'no such concept'"),
        (["--concept", "{first}", "--target", "mozart"], "no class 'mozart'"),
        (["--concept", "{first}", "--target", "bach", "--layer", "fc"], "no layer 'fc'"),
        (["--concept", "{first}", "--target", "bach", "--random-runs", "1"], "'--random-runs' option must be"),
        (["--concept", "{first}", "--target", "bach", "--max-examples", "2"], "'--max-examples' option must be"),
    ],
)
def test_tcav_bad_names_are_one_plain_sentence_and_exit_2(capsys, library, builtin_names, extra, needle):
    argv = ["tcav", *[x.format(first=builtin_names[0]) for x in extra], "--library", str(library), "--json"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and needle in err and len(err.splitlines()) == 1
    assert not library.exists() or concepts.Library(library).runs() == []


def test_tcav_text_output(capsys, library, builtin_names):
    assert cli.main(["tcav", "--concept", builtin_names[0], "--target", "bach", "--random-runs", "2",
                     "--max-examples", "16", "--library", str(library)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{builtin_names[0]} -> bach at block3: TCAV") and "CAV accuracy" in line


def test_layers_lists_the_addressable_layers(capsys):
    out = run_json(capsys, "layers")
    assert [d["name"] for d in out] == ["block1", "block2", "block3", "block4"]
    assert [d["default"] for d in out] == [False, False, True, False]
    assert all(d["nonnegative"] for d in out)
    assert all(len(d["shape"]) == 3 and d["shape"][0] == d["channels"] for d in out)
    assert cli.main(["layers"]) == 0
    assert "block3:" in capsys.readouterr().out


def test_concepts_list_shows_library_and_builtin(capsys, library, builtin_names):
    base = concepts.builtin()[builtin_names[0]]
    concepts.Library(library).save(concepts.Concept(name="mine", description="d", examples=base.examples[:9]))
    out = run_json(capsys, "concepts", "list", "--library", str(library))
    assert out[0] == out[0] | {"name": "mine", "source": "library", "n_examples": 9, "origin": "user"}
    assert [c["name"] for c in out if c["source"] == "builtin" and c["set"] == "styles"] == builtin_names
    assert [c["name"] for c in out if c.get("set") == "piano"] == list(concepts.builtin_set("piano"))
    assert {"name", "description", "origin", "n_examples", "author", "created", "source", "set"} == set(out[-1])
    assert cli.main(["concepts", "list", "--library", str(library)]) == 0
    assert "mine (library, 9 examples): d" in capsys.readouterr().out


# ------------------------------------------------------------------ discover (from tests/xai/cli/test_discover.py)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """No user cache: what is found comes from the shipped results (or is computed into the temporary cache)."""
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path))


@pytest.mark.usefixtures("empty_cache")
def test_discover_prints_concepts_with_importance_top_excerpts_and_fidelity(capsys):
    assert cli.main(["discover", "--layer", "block3", "--n-concepts", "8", "--method", "nmf", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "shipped" and out["layer"] == "block3" and out["method"] == "nmf"
    assert 0 < out["explained_variance"] < 1
    f = out["fidelity"]
    assert {"accuracy", "original_accuracy", "agreement", "retained", "n_concepts"} <= set(f)
    assert f["n_concepts"] == 8 and [p["n_concepts"] for p in f["curve"]] == sorted(p["n_concepts"] for p in f["curve"])
    assert [c["id"] for c in out["concepts"]] == list(range(1, 9))
    classes = {"bach", "palestrina", "monteverdi", "trecento", "classical", "folk"}
    for c in out["concepts"]:
        assert set(c["importance"]) == classes
        assert len(c["top_excerpts"]) == 5
        for e in c["top_excerpts"]:
            assert set(e) == {"piece", "start_bar", "end_bar", "score"} and e["start_bar"] <= e["end_bar"]
        scores = [e["score"] for e in c["top_excerpts"]]
        assert scores == sorted(scores, reverse=True)


@pytest.mark.usefixtures("empty_cache")
def test_discover_ntd_and_text_output(capsys):
    assert cli.main(["discover", "--layer", "block4", "--method", "ntd", "--top", "2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("NTD with 8 concepts at block4") and "concept 8:" in text and "bars" in text


@pytest.mark.usefixtures("empty_cache")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n-concepts", "200"], "at most the layer's channels"),
        (["--layer", "stem.0"], "negative values"),
        (["--class", "trecento", "--n-concepts", "96"], "at least 192 excerpts"),
        (["--class", "jazz"], "no class 'jazz'"),
        (["--layer", "nowhere"], "no layer called 'nowhere'"),
        (["--top", "0"], "'--top'"),
    ],
)
def test_discover_bad_input_is_one_plain_sentence(capsys, args, message):
    assert cli.main(["discover", *args, "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
