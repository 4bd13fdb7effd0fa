"""AppTest: the LIME page explains an example piece and an example recording, with its checks beside it."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app._apptest import ok, open_page

pytestmark = pytest.mark.slow
PAGE = "pages/lime.py"


@pytest.fixture
def page() -> AppTest:
    return open_page(PAGE)


def _small(at: AppTest) -> None:
    at.number_input(key="lime_samples").set_value(200)
    at.number_input(key="lime_stab").set_value(2)


def test_a_piece_is_explained_with_its_checks(page):
    assert "Explain with LIME" in page.title[0].value
    _small(page)
    page.slider(key="lime_nbars").set_value(4).run()
    page.button(key="lime_go").click().run()
    text = ok(page)
    assert "LIME ranks first" in text and "not proof" in text
    labels = [m.label for m in page.metric]
    assert any("Fidelity" in x for x in labels) and any("Stability" in x for x in labels)
    assert len(page.get("audio")) >= 2
    assert "in colour" in text  # the top segments are marked on the engraved score
    assert any("Report" in b.label for b in page.get("download_button")) or page.get("download_button")


def test_a_recording_is_explained(page):
    page.radio(key="lime_input").set_value("A recording").run()
    _small(page)
    page.run()
    assert page.button(key="lime_go")
    page.button(key="lime_go").click().run()
    text = ok(page)
    assert "LIME ranks first" in text and " s, " in text
    assert len(page.get("audio")) == 3


def test_stems_of_a_score(page):
    page.radio(key="lime_kind").set_value("stems").run()
    page.number_input(key="lime_stab").set_value(1).run()
    page.button(key="lime_go").click().run()
    text = ok(page)
    assert "LIME ranks first" in text and "Soprano" in text
    assert len(page.get("audio")) == 3
