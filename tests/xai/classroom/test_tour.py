"""The guided tour's steps: every link opens a view that exists, with an example, model, classes, layers and
concepts that exist in this installation."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import registry
from xai.classroom import share, tour
from xai.concepts import library
from xai.errors import ParameterError
from xai.symbolic import examples

ROOT = Path(__file__).resolve().parents[3]
PIANO_LIBRARY = ROOT / "assets" / "concepts" / "builtin_piano.json"


def _links():
    for s in tour.STEPS:
        yield s, s.view, s.link
        for view, state, _ in s.also:
            yield s, view, state


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("MUSICXAI_SECRET", "tour-test")


def test_six_steps_each_with_a_sentence_and_a_link():
    assert len(tour.STEPS) == 6
    assert len({s.title for s in tour.STEPS}) == 6
    for s in tour.STEPS:
        assert "**Look at**" in s.text or "numbers" in s.title, s.title
        assert s.label and s.view


def test_every_link_opens_an_existing_view_with_settings_it_accepts():
    for s, view, state in _links():
        assert (ROOT / "pages" / f"{view}.py").is_file(), (s.title, view)
        token = share.encode(view, tour.state(view, state))
        assert share.decode(token) == (view, state)


def test_every_link_names_an_existing_example_model_class_and_layer():
    card = registry.card(tour.MODEL)
    classes, layers = card["classes"], card["architecture"]["layers"]
    assert tour.MODEL in registry.available()
    for s, view, state in _links():
        assert state.get("model") == tour.MODEL, (s.title, view)
        if "example" in state:
            info = examples.example_info(state["example"])
            assert tour.MODEL in info["models"], "the tour's piece must be held out from the model"
            assert info["class"] in classes
        for t in state.get("targets", []) + ([state["target"]] if "target" in state else []):
            assert t in classes, (s.title, t)
        for la in state.get("layers", []) + ([state["layer"]] if "layer" in state else []):
            assert la in layers, (s.title, la)
        for c in state.get("f_classes", []):
            assert c in classes


def test_the_question_is_asked_of_haydn_and_bach_and_mozart_is_no_class():
    card = registry.card(tour.MODEL)
    assert "Mozart" not in card["classes"]
    assert any("Mozart" in s.text and "not a class" in s.text for s in tour.STEPS)
    tested = {(c, t) for _, view, st in _links() if view == "tcav" for c in st["concepts"] for t in st["targets"]}
    assert (tour.ALBERTI, "Haydn") in tested and (tour.COUNTERPOINT, "Bach") in tested
    assert examples.example_info(tour.PIECE)["class"] == "Haydn"
    assert examples.example_info(tour.SCORE)["class"] == "Haydn"


def test_the_concepts_are_in_the_shipped_piano_library():
    if not PIANO_LIBRARY.exists():
        pytest.skip("assets/concepts/builtin_piano.json is not built yet (another engineer is mining the piano "
                    "concepts); the names are checked once it ships")
    names = {c.name for c in library.loads(PIANO_LIBRARY.read_text(encoding="utf-8"))}
    assert tour.concepts_named() <= names, tour.concepts_named() - names


def test_a_step_with_settings_a_view_refuses_is_caught():
    with pytest.raises(ParameterError):
        tour.state("tcav", {"model": tour.MODEL, "concepts": "alberti bass"})  # a string, not a list
    with pytest.raises(ParameterError):
        tour.state("lime", {"example": tour.PIECE, "nonsense": 1})
