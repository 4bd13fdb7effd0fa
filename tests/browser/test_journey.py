"""Real-browser journeys: what a first-time user does, in headless Debian chromium."""

import pytest

from models import registry
from xai.symbolic import examples, io, predict

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _open_classify(page, app_url):
    page.goto(app_url)
    page.get_by_role("heading", name="Music XAI").first.wait_for()
    page.get_by_role("link", name="Classify a piece").first.click()
    page.get_by_role("heading", name="Classify a piece").wait_for()


def test_upload_a_midi_and_see_the_prediction(page, app_url, tmp_path):
    name = next(n for n in examples.EXAMPLES if examples.example_path(n).suffix == ".mid")
    midi = examples.example_path(name)
    expected = predict.classify(io.load(midi), registry.load("composer")).label

    _open_classify(page, app_url)
    page.get_by_text("Your own file").click()
    page.locator('input[type="file"]').set_input_files(str(midi))
    reading = page.get_by_text("The model hears this as")
    reading.wait_for()
    assert expected in reading.inner_text()
    page.get_by_text("Over time, window by window").wait_for()
    page.locator(".js-plotly-plot").nth(2).wait_for(state="attached")  # plotly draws after the text: wait for it
    assert page.locator(".js-plotly-plot").count() >= 3  # bars, timeline, piano roll
    page.screenshot(path=str(tmp_path / "classify_upload.png"), full_page=True)


def test_a_corrupt_upload_gets_one_sentence_and_the_next_upload_works(page, app_url, tmp_path):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\xff\xff garbage")
    _open_classify(page, app_url)
    page.get_by_text("Your own file").click()
    page.locator('input[type="file"]').set_input_files(str(bad))
    err = page.locator('[data-testid="stAlertContentError"]')
    err.wait_for()
    assert "broken.mid" in err.inner_text() and "Traceback" not in page.content()
    good = examples.example_path(next(n for n in examples.EXAMPLES if examples.example_path(n).suffix == ".mid"))
    page.locator('input[type="file"]').set_input_files(str(good))
    page.get_by_text("The model hears this as").wait_for()
