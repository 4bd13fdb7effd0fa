"""AppTest: the Models page renders every shipped model's card and the audio front-end comparison."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from models import registry
from tests.app._apptest import open_page

pytestmark = pytest.mark.slow
PAGE = "pages/models_view.py"


@pytest.fixture
def page(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(tmp_path / "lib.sqlite"))
    at = open_page(PAGE, timeout=120)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_the_page_lists_every_shipped_model(page):
    names = registry.available("symbolic") + registry.available("audio")
    assert "composer" in names
    assert page.title[0].value == "Models"
    summary = page.dataframe[0].value
    assert list(summary["model"]) == names
    subheaders = [s.value for s in page.subheader]
    for n in names:
        assert registry.card(n)["title"] in subheaders
    # one confusion matrix per model, each from its card
    charts = page.get("plotly_chart")
    assert len(charts) >= len(names)


@pytest.mark.skipif(not {"instrument", "instrument_learnable", "instrument_conv"} <= set(registry.available("audio")),
                    reason="the three instrument classifiers do not all ship")
def test_the_front_end_comparison_table_and_filter_banks(page):
    assert "Audio front-ends compared" in [h.value for h in page.header]
    table = page.dataframe[1].value
    assert list(table["model"]) == ["instrument", "instrument_learnable", "instrument_conv"]
    for col in ("test accuracy", "held-out soundfont accuracy", "parameters"):
        assert table[col].notna().all(), col
    conv = registry.card("instrument_conv")
    row = table[table["model"] == "instrument_conv"].iloc[0]
    assert row["test accuracy"] == conv["metrics"]["test"]["accuracy"]
    assert row["held-out soundfont accuracy"] == conv["metrics"]["test_heldout_soundfont"]["accuracy"]
    assert row["parameters"] == conv["architecture"]["parameters"]
    assert "conv" in row["front-end"]
    # centres/widths of both learned banks, and each learned bank over the mel bank
    n_cards = len(registry.available("symbolic") + registry.available("audio"))
    assert len(page.get("plotly_chart")) == n_cards + 3
