"""Real-browser journey: attribute an example piece, read the checks, hear the top segments, get a share link."""

import os
import re
from pathlib import Path

import pytest

from models import registry
from tests.browser.test_piano_journey import _pick_piano_model

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _shot(page, tmp_path, name: str) -> None:
    """A full-page screenshot at 1280 x 800 (kept in $MUSICXAI_SHOTS when set, to look at)."""
    folder = Path(os.environ.get("MUSICXAI_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def test_attribute_a_piece_and_see_the_checks(page, app_url, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.set_default_timeout(90_000)  # the checks below the headline render in the same run; allow a loaded CI
    page.goto(app_url)
    page.get_by_role("heading", name="Music XAI").first.wait_for()
    page.get_by_role("link", name="Attributions").first.click()
    page.get_by_role("heading", name="Attributions").wait_for()
    _shot(page, tmp_path, "attribute_start.png")
    page.get_by_role("button", name="Attribute").click()
    headline = page.get_by_text("Integrated Gradients puts the most on")
    headline.wait_for(timeout=300_000)
    assert "bars " in headline.inner_text()
    for label in ("IG completeness gap", "Randomised model: ρ", "LIME: ρ"):
        page.get_by_text(label).first.wait_for()
    page.get_by_text(re.compile(r"Randomisation check (passed|failed)")).first.wait_for()  # the verdict is said
    page.get_by_text("Top 3 segments alone").wait_for()
    page.locator('[data-testid="stAudio"]').nth(2).wait_for(state="attached")  # alone, removed, the whole window
    page.locator(".js-plotly-plot").nth(4).wait_for(state="attached")  # plotly draws after the text: wait for it
    assert page.locator(".js-plotly-plot").count() >= 5  # input map, grid, deletion, agreement, randomisation
    page.get_by_text("Share link").wait_for()
    assert "share=" in page.locator("code").last.inner_text()
    assert "Traceback" not in page.content()
    _shot(page, tmp_path, "attribute_results.png")
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    _shot(page, tmp_path, "attribute_maps.png")
    page.locator(".js-plotly-plot").nth(3).scroll_into_view_if_needed()
    _shot(page, tmp_path, "attribute_checks.png")


@pytest.mark.skipif("piano_composer" not in registry.available(), reason="piano_composer not shipped")
def test_attribute_a_performance_with_the_piano_model(page, app_url, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.set_default_timeout(90_000)  # the checks below the headline render in the same run; allow a loaded CI
    _pick_piano_model(page, app_url)
    page.get_by_role("link", name="Attributions").first.click()
    page.get_by_role("heading", name="Attributions").wait_for()
    page.get_by_text("It reads 20-s windows of the performance").wait_for(timeout=120_000)  # no refusal
    assert not page.get_by_text("is not available yet").count()
    page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(has_text="Window").first.wait_for()
    page.get_by_role("button", name="Attribute").click()
    headline = page.get_by_text("Integrated Gradients puts the most on")
    headline.wait_for(timeout=600_000)
    assert re.search(r"\(\d+:\d\d–\d+:\d\d\)", headline.inner_text())  # the window cited by bars and clock time
    for label in ("IG completeness gap", "Randomised model: ρ", "LIME: ρ"):
        page.get_by_text(label).first.wait_for()
    page.get_by_text(re.compile(r"Randomisation check (passed|failed)")).first.wait_for()
    page.get_by_text("Top 3 segments alone").wait_for()
    page.locator(".js-plotly-plot").nth(4).wait_for(state="attached")
    assert page.locator(".js-plotly-plot").count() >= 5
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.get_by_text("seconds").first.wait_for()  # the map's time axis
    assert "Traceback" not in page.content()
    page.get_by_text("Share link").wait_for()
    _shot(page, tmp_path, "attr_piano.png")
