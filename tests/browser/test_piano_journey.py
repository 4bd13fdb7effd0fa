"""Real-browser journey with piano_composer: Classify a held-out performance -> TCAV -> Discovered concepts."""

import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from models import registry

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif("piano_composer" not in registry.available(), reason="piano_composer not shipped")]
# Screenshots to look at: kept in $MUSICXAI_SHOTS when set, else in a temporary folder (never in the tree).
SHOTS = Path(os.environ.get("MUSICXAI_SHOTS") or tempfile.mkdtemp(prefix="musicxai-shots-"))


def _pick_piano_model(page, app_url):
    page.goto(app_url)
    page.get_by_role("heading", name="Music XAI").first.wait_for()
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    box.wait_for()
    option = page.get_by_role("option", name="piano_composer")
    for _ in range(5):  # the first click can land while the sidebar is still being laid out
        box.click()
        try:
            option.wait_for(timeout=5000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.click()
    page.locator('[data-testid="stSidebar"]').get_by_text("Composer of a piano performance").first.wait_for()


def test_classify_tcav_and_discovery_with_the_piano_model(page, app_url):
    page.set_viewport_size({"width": 1280, "height": 800})
    _pick_piano_model(page, app_url)
    page.get_by_role("link", name="Classify a piece").first.click()
    page.get_by_role("heading", name="Classify a piece").wait_for()
    reading = page.get_by_text("The model hears this as")
    reading.wait_for(timeout=120000)
    assert "True composer: Bach" in page.get_by_text("Held out from training").first.inner_text()
    page.get_by_text("Where in the piece").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "classify_piano_1280x800.png"))
    assert "Traceback" not in page.content()

    page.get_by_role("link", name="Test a concept").first.click()
    page.get_by_role("heading", name="Test a concept").first.wait_for()
    assert not page.locator('[data-testid="stException"]').count()

    page.get_by_role("link", name="Discovered concepts").first.click()
    page.get_by_role("heading", name="Discovered concepts").wait_for()
    # The precomputed concepts of piano_composer: block3 (its default layer), NMF, K = 8, all six composers.
    page.get_by_text("NMF, K = 8, layer block3").first.wait_for(timeout=120000)
    page.get_by_text("Held-out accuracy with the concepts").first.wait_for()
    page.get_by_text("Where concept 1 is most present").wait_for(timeout=120000)
    cards = page.get_by_text(re.compile(r"^1\. .*\.mid, bars? \d+(–\d+)? \(\d+:\d\d–\d+:\d\d\)"))
    cards.first.wait_for()  # a performance's excerpt cited by work, bars and clock time
    page.locator("audio").nth(5).wait_for(state="attached", timeout=120000)  # the 6 most present excerpts play
    assert page.get_by_text(re.compile(r"Listen: bars? \d+.*\(\d+:\d\d–\d+:\d\d\), where the concept")).count()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "discover_piano_1280x800.png"), full_page=False)
    page.get_by_text("Where concept 1 is most present").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "discover_piano_excerpts_1280x800.png"))

    # The pairwise mode: two composers, importance on their two logits (the shipped Bach vs Chopin at block4).
    _choose(page, "Layer", "block4")
    page.get_by_text("NMF, K = 8, layer block4").first.wait_for(timeout=120000)
    _choose(page, "Excerpts factorised", "Two classes (pairwise)")
    page.get_by_text("pairwise mode: Bach vs Chopin").first.wait_for(timeout=120000)
    page.get_by_text("Bach − Chopin").first.wait_for()
    page.get_by_text("Where concept 1 is most present").wait_for(timeout=120000)
    page.get_by_text("Bach − Chopin").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "discover_piano_pairwise_1280x800.png"))
    assert not page.locator('[data-testid="stException"]').count()
    assert "Traceback" not in page.content()


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the main area's select box labelled ``label``."""
    box = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(has_text=label).first
    box.wait_for()
    for _ in range(5):
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).wait_for(timeout=5000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    page.get_by_role("option", name=option, exact=True).click()
