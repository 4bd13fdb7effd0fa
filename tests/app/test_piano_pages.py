"""AppTest: with piano_composer (the default model) every view opens without a traceback or an error box."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from models import registry
from tests.app._apptest import APP

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif("piano_composer" not in registry.available(), reason="piano_composer not shipped")]
PAGES = ["pages/classify.py", "pages/tcav.py", "pages/discover.py", "pages/lime.py", "pages/attack.py",
         "pages/attribute.py", "pages/concepts.py"]


@pytest.fixture
def app(monkeypatch) -> AppTest:
    monkeypatch.delenv("MUSICXAI_DEFAULT_MODEL", raising=False)  # the shipped default
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    return at


def test_piano_composer_is_the_default_and_composer_is_styles_across_eras(app):
    assert app.session_state["model_name"] == "piano_composer"
    assert "composer" in registry.available()


@pytest.mark.parametrize("page", PAGES)
def test_every_view_opens_with_the_piano_model(app, page):
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]


def test_classify_lists_the_piano_examples_first_and_answers(app):
    app.switch_page("pages/classify.py")
    app.run()
    box = app.selectbox(key="cls_example")
    assert box.options[0].startswith("Bach (performance)")
    box.set_value(next(o for o in box.options if o.startswith("Chopin (performance)"))).run()
    assert not app.exception, app.exception
    text = " ".join(m.value for m in app.markdown)
    assert "Chopin" in text
