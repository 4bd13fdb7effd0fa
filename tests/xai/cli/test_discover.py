"""`python -m xai discover` on the shipped model, excerpts and precomputed results; bad input ends in one sentence."""

from __future__ import annotations

import json

import pytest

from xai import cli


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    """No user cache: what is found comes from the shipped results (or is computed into the temporary cache)."""
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path))


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


def test_discover_ntd_and_text_output(capsys):
    assert cli.main(["discover", "--layer", "block4", "--method", "ntd", "--top", "2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("NTD with 8 concepts at block4") and "concept 8:" in text and "bars" in text


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
def test_bad_input_is_one_plain_sentence(capsys, args, message):
    assert cli.main(["discover", *args, "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
