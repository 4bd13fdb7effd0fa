"""AppTest: the Attributions page attributes an example piece and an example recording, with its checks."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app._apptest import APP, ok, open_page

pytestmark = pytest.mark.slow
PAGE = "pages/attribute.py"


@pytest.fixture
def page() -> AppTest:
    return open_page(PAGE, timeout=300)


def _small(at: AppTest, *, lime: bool = True) -> None:
    at.number_input(key="attr_opt_n_steps").set_value(8)
    at.number_input(key="attr_opt_randomised_layers").set_value(1)
    at.number_input(key="attr_opt_lime_samples").set_value(40)
    at.checkbox(key="attr_opt_compare_lime").set_value(lime)


def test_a_piece_is_attributed_with_its_checks(page):
    assert "Attributions" in page.title[0].value
    _small(page)
    page.selectbox(key="attr_start").set_value(1).run()
    page.button(key="attr_go").click().run()
    assert not page.exception, page.exception
    text = "\n".join(m.value for m in page.markdown) + "\n".join(c.value for c in page.caption)
    assert "Integrated Gradients puts the most on" in text and "bars 1–" in text
    labels = [m.label for m in page.metric]
    assert {"IG completeness gap", "Randomised model: ρ", "Other methods: ρ", "LIME: ρ"} <= set(labels)
    assert page.success or page.error  # the randomisation verdict is always said
    assert len(page.get("audio")) == 3
    assert any("Report" in b.label for b in page.get("download_button"))
    assert any("share=" in c.value for c in page.code)
    page.radio(key="attr_shown").set_value("gradcam").run()  # another map: no recomputation, no error
    assert not page.exception


def test_a_recording_is_attributed(page):
    page.radio(key="attr_input").set_value("A recording").run()
    _small(page, lime=False)
    page.selectbox(key="attr_opt_method").set_value("occlusion").run()
    page.button(key="attr_go").click().run()
    text = ok(page) if not page.error else "\n".join(m.value for m in page.markdown)
    assert "Occlusion puts the most on" in text and " s, " in text
    assert len(page.get("audio")) == 3


def test_a_share_link_reopens_the_attribution_with_its_settings(monkeypatch):
    from xai.classroom import share

    monkeypatch.setenv("MUSICXAI_SECRET", "app-test-secret")
    name = "folk: EmpressClog"
    token = share.encode("attribute", {"input": "score", "source": "example", "example": name, "model": "composer",
                                       "target": "folk", "start_bar": 1, "method": "saliency", "baseline": "mean",
                                       "n_steps": 8, "randomised_layers": 1, "compare_lime": False,
                                       "random_state": 5})
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["share"] = token
    at.run()
    assert not at.exception, at.exception
    assert all("Randomisation check failed" in e.value for e in at.error)  # the only error it may show: a verdict
    text = "\n".join(m.value for m in at.markdown)
    assert at.selectbox(key="attr_example").value == name and at.selectbox(key="attr_class").value == "folk"
    assert at.selectbox(key="attr_opt_method").value == "saliency"
    assert "For **folk**" in text and "Saliency puts the most on" in text and "bars 1–" in text
    links = [c.value for c in at.code if "?share=" in c.value]
    view, state = share.decode(links[0].split("?share=", 1)[1])
    assert view == "attribute" and state["random_state"] == 5 and state["baseline"] == "mean"
