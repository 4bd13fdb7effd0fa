"""Real-browser journey for recordings: hear an example, transcribe it, and read the transcription in Classify."""

import json
from pathlib import Path

import pytest

from models import registry
from xai.audio import transcribe

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not registry.available("audio"), reason="no audio model ships yet"),
]
EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples" / "audio"


def test_an_example_recording_is_heard_transcribed_and_classified_as_a_score(page, app_url, tmp_path):
    first = json.loads((EXAMPLES / "audio_examples.json").read_text())[0]
    page.goto(app_url)
    page.get_by_role("heading", name="Music XAI").first.wait_for()
    page.get_by_role("link", name="Listen to a recording").first.click()
    page.get_by_role("heading", name="Listen: instrument and style from a recording").wait_for()

    # The first bundled example is chosen for the user: its true labels, the player, what the models hear.
    page.get_by_text(f"True style {first['class']}, instrument {first['instrument']}").wait_for()
    page.get_by_text("The instrument model hears").wait_for()
    page.get_by_text("The style model hears").wait_for()
    page.locator(".js-plotly-plot", has_text="What the model hears").wait_for()  # the spectrogram
    assert page.locator("audio").count() == 1
    page.screenshot(path=str(tmp_path / "listen.png"), full_page=True)
    if not transcribe.available():
        return

    page.get_by_text("Transcribe this recording with basic-pitch").click()
    page.get_by_text("reads the transcribed notes as").wait_for()
    assert page.get_by_text("Transcribed from the recording").count() == 1
    page.get_by_role("button", name="Use this transcription in the score views").click()
    page.get_by_text("The score views now offer this transcription").wait_for()

    page.get_by_role("link", name="Classify a piece").last.click()
    page.get_by_role("heading", name="Classify a piece").wait_for()
    page.get_by_text("The model hears this as").wait_for()
    page.get_by_role("heading", name="(transcribed)").wait_for()
    assert page.get_by_text("Transcribed from the recording").count() == 1
    assert "Traceback" not in page.content()
    page.screenshot(path=str(tmp_path / "classify_transcribed.png"), full_page=True)
