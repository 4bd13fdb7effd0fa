"""A finding exports as self-contained HTML and as JSON that reads back; bad JSON is refused plainly."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from tests._fakes import FakeModel, scale_piece
from xai.errors import ParameterError
from xai.export import finding, report
from xai.symbolic import predict


def _f(**kw):
    return finding.Finding(view="classify", title="A chorale: bach", summary="The model hears bach.",
                           parameters={"piece": "bwv20.7", "window": 3}, numbers={"p": np.float32(0.75),
                           "probs": np.array([0.75, 0.25])}, model="composer", **kw)


def test_json_round_trips_with_numpy_numbers_and_the_model_card():
    d = finding.from_json(finding.to_json(_f()))
    assert d["view"] == "classify" and d["numbers"]["p"] == pytest.approx(0.75)
    assert d["numbers"]["probs"] == [0.75, 0.25]
    assert d["model"]["name"] == "composer" and d["model"]["card"].endswith("composer.md")


def test_html_embeds_figures_audio_numbers_and_cites_the_model():
    wav = b"RIFF" + b"\0" * 100
    html = finding.to_html(_f(sections=(report.Section("Hear it", figures=(go.Figure(go.Bar(y=[1, 2])),),
                                                       audio=(("bars 1-4", wav),)),)), plotlyjs="cdn")
    assert "data:audio/wav;base64" in html and "bwv20.7" in html and "0.75" in html
    assert "composer.md" in html


@pytest.mark.parametrize("text, words", [
    ("not json", "not valid JSON"),
    (json.dumps({"format": "other"}), "not a Music XAI finding"),
    (json.dumps({"format": finding.FORMAT, "version": 0}), "another version"),
])
def test_bad_finding_json_is_refused(text, words):
    with pytest.raises(ParameterError, match=words):
        finding.from_json(text)


def test_numbers_that_are_not_json_say_so():
    with pytest.raises(ParameterError, match="cannot be written as JSON"):
        finding.to_json(finding.Finding(view="x", title="t", numbers={"nan": float("nan")}))


def test_a_prediction_finding_holds_the_answer_the_window_and_its_audio():
    piece = scale_piece(12)
    pred = predict.classify(piece, FakeModel())
    wav = b"RIFF" + b"\0" * 100
    f = finding.prediction_finding(piece, pred, 1, audio=wav)
    assert f.view == "classify" and f.title == f"{piece.title}: {pred.label}" and f.model == pred.model
    assert f.summary.startswith(f"The model hears this as {pred.label} (p = ") and "<" not in f.summary
    assert f.numbers == pred.summary() and f.parameters["window"].startswith("bars ")
    answer, hear = f.sections
    assert len(answer.figures) == 2 and answer.figures[0].layout.title.text == "Whole piece"
    assert hear.audio == ((f.parameters["window"], wav),)
    assert finding.from_json(finding.to_json(f))["numbers"]["piece"]["label"] == pred.label


def test_to_html_or_note_gives_the_report_or_a_page_saying_why_not(monkeypatch):
    f = _f()
    assert finding.to_html_or_note(f) == finding.to_html(f)

    def broken(_f, **_kw):
        raise ValueError("a figure <b>without</b> data")

    monkeypatch.setattr(finding, "to_html", broken)
    page = finding.to_html_or_note(f)
    assert page.startswith("<!doctype html>") and "ValueError" in page and "&lt;b&gt;without" in page
