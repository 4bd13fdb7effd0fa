"""xai.concepts.working: the working concept (adding without repeats, numbering, replacing) and the checks on
bars and files that say why they cannot be an example."""

from __future__ import annotations

import dataclasses

import pytest

from tests._fakes import scale_piece
from xai.concepts import library as concepts
from xai.concepts import working
from xai.errors import InputError


@pytest.fixture
def piece():
    return scale_piece(12)  # 4/4: bar b covers quarters 4(b-1)..4b


def _example(piece, start, end, label=""):
    return concepts.Example.from_piece(piece, start, end, label=label, origin="excerpt")


def test_plural():
    assert (working.plural(1, "bar"), working.plural(0, "bar"), working.plural(3, "file")) == (
        "1 bar", "0 bars", "3 files")


def test_add_leaves_out_repeats_and_numbers_never_change(piece):
    w = working.WorkingConcept()
    a, b, c = _example(piece, 1, 4), _example(piece, 5, 8), _example(piece, 9, 12)
    added, dropped = w.add([a, b, a])
    assert added == [a, b] and dropped == 1
    assert w.add([b]) == ([], 1)  # already there
    w.add([c])
    assert [uid for uid, _ in w.items] == [0, 1, 2]
    w.remove(1)
    assert [uid for uid, _ in w.items] == [0, 2] and w.examples() == [a, c]
    w.add([b])
    assert [uid for uid, _ in w.items] == [0, 2, 3]  # a new number, not a reused one


def test_concept_names_it_and_is_none_while_empty(piece):
    w = working.WorkingConcept()
    assert w.concept() is None
    w.add([_example(piece, 1, 4)])
    assert w.concept().name == working.UNNAMED and w.concept().origin == "user"
    w.name, w.description = "  rising  ", "scales going up"
    c = w.concept()
    assert (c.name, c.description, c.n_examples) == ("rising", "scales going up", 1)
    assert w.concept("other").name == "other"


def test_replace_takes_the_concepts_examples_name_and_origin(piece):
    w = working.WorkingConcept()
    w.add([_example(piece, 9, 12)])
    saved = concepts.Concept(name="kept", description="d", examples=(_example(piece, 1, 4), _example(piece, 5, 8)),
                             origin="builtin")
    w.replace(saved)
    assert (w.name, w.description, w.examples()) == ("kept", "d", list(saved.examples))
    assert w.concept().metadata == {"based_on": "kept", "based_on_origin": "builtin"}
    w.clear()
    assert w.items == [] and w.meta == {}


def test_min_end_bar_is_the_first_bar_that_fills_a_window(piece):
    assert working.WINDOW == 16.0
    assert working.min_end_bar(piece, 1) == 4
    assert working.min_end_bar(piece, 9) == 12
    assert working.min_end_bar(piece, 10) is None  # the piece ends first


def test_span_problem_says_why_in_a_sentence(piece):
    assert working.span_problem(piece, 1, 4) is None
    assert "comes before the first" in working.span_problem(piece, 5, 3)
    short = working.span_problem(piece, 2, 3)
    assert short.startswith("Bars 2–3 last 8 quarters, shorter than the 16 quarters")
    assert short.endswith("needs at least bars 2–5 (4 bars).")
    assert "the piece ends before that" in working.span_problem(piece, 11, 12)
    silent = dataclasses.replace(piece, onsets=piece.onsets + 100.0)
    assert working.span_problem(silent, 1, 4).endswith("have no notes; choose bars with music.")


def test_file_example_takes_the_whole_file_or_names_it(piece):
    ex = working.file_example(piece, "scale.mid", label="up")
    assert (ex.start_bar, ex.end_bar, ex.label, ex.origin) == (1, 12, "up", "file")
    with pytest.raises(InputError, match=r"short\.mid lasts 8 quarters"):
        working.file_example(scale_piece(2), "short.mid")


def test_remember_source_keeps_the_file_of_an_uploaded_piece(piece):
    w = working.WorkingConcept()
    w.remember_source(piece)  # a hand-made piece has no file: nothing kept
    assert w.sources == {}
