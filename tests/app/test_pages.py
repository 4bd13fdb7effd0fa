"""AppTest smoke tests: every page renders without an exception, and the Classify journey works end to end."""

from __future__ import annotations

import io

import pretty_midi
import pytest
from streamlit.testing.v1 import AppTest

from models import registry
from pages._nav import SECTIONS
from tests.app._apptest import APP
from xai.symbolic import examples

pytestmark = pytest.mark.slow
CLASSIFY = "pages/classify.py"


def _midi_bytes(n_notes: int = 48) -> bytes:
    """A small two-voice MIDI file: a rising scale over a held bass, about 20 seconds."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    upper = pretty_midi.Instrument(program=0, name="Right hand")
    lower = pretty_midi.Instrument(program=0, name="Left hand")
    for i in range(n_notes):
        t = i * 0.5
        upper.notes.append(pretty_midi.Note(80, 60 + (2 * i) % 14, t, t + 0.45))
        if i % 4 == 0:
            lower.notes.append(pretty_midi.Note(70, 48 + (i // 4) % 5, t, t + 1.9))
    pm.instruments += [upper, lower]
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def _texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _assert_prediction_shown(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert not at.warning, [w.value for w in at.warning]  # e.g. a score that failed to engrave
    assert "The model hears this as" in _texts(at)
    # The window picker offers the most confident windows first, starred, named by their bars.
    picker = at.selectbox(key="cls_window")
    assert picker.options and picker.options[0].startswith("★ bar")
    assert len(at.get("plotly_chart")) == 3  # probability bars, timeline, piano roll
    assert len(at.get("audio")) == 2  # the chosen window and the whole piece


@pytest.fixture
def classify_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(CLASSIFY)
    return at


def test_home_renders_and_names_the_model():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    page = _texts(at) + "\n".join(h.value for h in at.subheader)
    name = registry.available()[0]
    assert name in page
    assert registry.card(name).get("title", name) in page
    assert at.session_state["model_name"] in registry.available()
    assert at.sidebar.selectbox(key="sidebar_model").value == at.session_state["model_name"]


@pytest.mark.parametrize("path", [v.path for views in SECTIONS.values() for v in views])
def test_a_page_opened_first_on_a_fresh_server_still_runs_inside_app_py(path):
    """Streamlit's legacy pages/ mode would run the page alone, without the sidebar's model picker."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(path)  # before any run: as a bookmark to the page would, right after a server start
    at.run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="sidebar_model").value == at.session_state["model_name"]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.skipif(not examples.EXAMPLES, reason="no example pieces are bundled")
def test_classify_an_example(classify_page):
    at = classify_page.run()
    assert at.radio(key="cls_source").value == "An example piece"
    _assert_prediction_shown(at)
    if examples.example_path(at.selectbox(key="cls_example").value).suffix not in (".mid", ".midi"):
        assert len(at.get("image")) >= 2  # the chosen window's bars and the whole score, engraved


def test_classify_an_uploaded_midi(classify_page):
    at = classify_page.run()
    at.radio(key="cls_source").set_value("Your own file").run()
    assert not at.exception
    at.file_uploader[0].set_value(("two_voices.mid", _midi_bytes(), "audio/midi")).run()
    _assert_prediction_shown(at)
    # MIDI has no score to engrave: the page says so instead of failing.
    assert any("no written score" in i.value for i in at.info)


def test_a_corrupt_upload_shows_one_sentence_and_the_next_upload_works(classify_page):
    at = classify_page.run()
    at.radio(key="cls_source").set_value("Your own file").run()
    at.file_uploader[0].set_value(("broken.mid", b"MThd\x00\x00\x00\x06not midi", "audio/midi")).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    assert "broken.mid" in at.error[0].value and "Traceback" not in at.error[0].value
    assert "The model hears this as" not in _texts(at)

    at.file_uploader[0].set_value(("good.mid", _midi_bytes(40), "audio/midi")).run()
    _assert_prediction_shown(at)
