"""AppTest: the Discovered concepts page renders the shipped results, shows a concept's excerpts, runs a new
factorisation, and saves a discovered concept to a (temporary) concept library."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app._apptest import ok, open_page
from xai.concepts import discovery
from xai.concepts import library as concepts

pytestmark = pytest.mark.slow
PAGE = "pages/discover.py"


@pytest.fixture
def library(tmp_path):
    return tmp_path / "library.sqlite"


@pytest.fixture
def page(tmp_path, monkeypatch, library) -> AppTest:
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path / "cache"))  # nothing cached: the shipped results are used
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(library))
    at = open_page(PAGE, timeout=240)
    return at


def test_shipped_concepts_render_with_their_excerpts(page):
    at = page
    ok(at)
    assert at.title[0].value == "Discovered concepts"
    assert {m.label for m in at.metric} >= {"Explained variance", "Accuracy with the concepts", "Same answer"}
    assert any(discovery.status_message("shipped") in c.value for c in at.caption)
    picker = at.selectbox(key="disc_concept")
    assert len(picker.options) == 8 and picker.options[0].startswith("Concept 1 — raises")
    text = "\n".join(m.value for m in at.markdown)
    ex = discovery.load_excerpts()
    d, _ = discovery.cached(ex, __import__("models.registry", fromlist=["load"]).load("composer"), layer="block3",
                            n_concepts=8, compute=False)
    first = discovery.top_excerpts(d, 0, n=1, excerpts=ex)[0]
    assert f"**1.** {first['citation']}" in text
    # overview + fidelity curve + importance + 6 most and 3 least present excerpts, each with its sound
    assert len(at.get("plotly_chart")) == 3 + 6 + 3
    assert len(at.get("audio")) == 6 + 3
    assert any("Listen: bar" in c.value and "strongest" in c.value for c in at.caption)
    assert any(c.value.startswith("Listen: the whole excerpt") for c in at.caption)

    at.toggle(key="disc_compare").set_value(True).run()  # two concepts side by side: importance + 3 excerpts each
    ok(at)
    assert len(at.get("plotly_chart")) == 3 + 6 + 3 + 2 * (1 + 3)
    at.selectbox(key="disc_b_concept").set_value(5).run()
    ok(at)
    at.toggle(key="disc_compare").set_value(False).run()

    at.selectbox(key="disc_concept").set_value(3).run()
    ok(at)
    at.multiselect(key="disc_f_classes").set_value(["folk"]).run()
    ok(at)
    cards = [m.value for m in at.markdown if m.value.startswith("**") and " · *" in m.value]
    assert cards and all("· *folk*" in c for c in cards[:6])


def test_a_discovered_concept_is_saved_to_the_library(page, library):
    at = page
    at.text_input(key="disc_keep_name").input("chorale texture")
    at.text_area(key="disc_keep_desc").input("four voices moving together")
    at.button(key="disc_keep_save").click().run()
    ok(at)
    assert any("Saved 'chorale texture' with 12 excerpts" in s.value for s in at.success)
    c = concepts.Library(library).get("chorale texture")
    assert c.origin == "discovered" and c.n_examples == 12 and c.description == "four voices moving together"
    assert c.metadata["layer"] == "block3" and c.metadata["method"] == "nmf" and c.metadata["concept_index"] == 0
    assert all(e.origin == "discovered" and e.n_notes for e in c.examples)
    concepts.check_usable(c)  # ready for TCAV
    at.button(key="disc_keep_save").click().run()  # the same name again: refused, nothing lost
    assert any("already in the library" in e.value for e in at.error)
    assert concepts.Library(library).get("chorale texture").n_examples == 12


def test_a_new_factorisation_runs_on_request(page):
    at = page
    at.selectbox(key="disc_scope").set_value("trecento")
    at.select_slider(key="disc_k").set_value(2)
    at.run()
    ok(at)
    assert any("Not computed yet" in i.value for i in at.info)
    at.button(key="disc_run").click().run()
    ok(at)
    assert any(discovery.status_message("computed") in c.value for c in at.caption)
    assert len(at.selectbox(key="disc_concept").options) == 2


def test_concepts_are_found_in_a_piece_of_the_users_choice(page):
    at = page
    at.toggle(key="disc_in_piece").set_value(True).run()
    ok(at)
    assert at.radio(key="disc_piece_source").value == "An example piece"
    at.selectbox(key="disc_piece_k").set_value(1).run()
    ok(at)
    text = "\n".join(m.value for m in at.markdown)
    assert "**Concept 2** is strongest in bar" in text
    assert any(c.value.startswith("Listen: bar") and " of " in c.value for c in at.caption)


def test_a_transcribed_recording_is_offered_to_discovery(page):
    from xai.symbolic import examples, io

    at = page
    piece = io.load(examples.example_path("folk: EmpressClog"))
    at.session_state["transcribed_piece"] = piece
    at.toggle(key="disc_in_piece").set_value(True).run()
    ok(at)
    assert at.radio(key="disc_piece_source").value == "The transcribed recording"
    assert any("strongest in" in m.value for m in at.markdown)


@pytest.fixture
def piano_page(tmp_path, monkeypatch) -> AppTest:
    from models import registry

    if "piano_composer" not in registry.available():
        pytest.skip("piano_composer is not shipped")
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path / "cache"))  # nothing cached: the shipped results are used
    monkeypatch.setenv("MUSICXAI_DEFAULT_MODEL", "piano_composer")
    return open_page(PAGE, timeout=240)


def test_piano_concepts_render_with_performances_cited_by_bars_and_clock(piano_page):
    at = piano_page
    ok(at)
    assert at.session_state["model_name"] == "piano_composer"
    assert any("layer block3" in c.value and discovery.status_message("shipped") in c.value for c in at.caption)
    assert {m.label for m in at.metric} >= {"Held-out accuracy with the concepts", "Chance: 8 random concepts"}
    cards = [m.value for m in at.markdown if m.value.startswith("**1.**")]
    assert cards and ".mid, bar" in cards[0] and ":" in cards[0].split("·")[0]  # work, bars and clock time
    assert len(at.get("audio")) == 6 + 3
    assert any(c.value.startswith("Listen: bar") and "strongest" in c.value for c in at.caption)


def test_piano_pairwise_mode_shows_the_shipped_pair(piano_page):
    at = piano_page
    at.selectbox(key="disc_layer").set_value("block4").run()
    at.selectbox(key="disc_scope").set_value("Two classes (pairwise)").run()
    ok(at)
    assert at.multiselect(key="disc_pair").value == ["Bach", "Chopin"]
    assert any("pairwise mode: Bach vs Chopin" in c.value and discovery.status_message("shipped") in c.value
               for c in at.caption)
    table = at.dataframe[0].value
    assert {"Bach − Chopin", "suggested"} <= set(table.columns)
    assert at.selectbox(key="disc_concept").options[0].startswith("Concept 1 — raises")
