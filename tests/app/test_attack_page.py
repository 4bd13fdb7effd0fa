"""AppTest: the Attack page attacks an example recording, finds note edits in an example score, shows the
shipped study, and bad input is a plain sentence (no traceback)."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from models import registry
from tests.app._apptest import ok, open_page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not registry.available("audio"), reason="no audio model ships"),
]
PAGE = "pages/attack.py"


@pytest.fixture
def page() -> AppTest:
    return open_page(PAGE)


def test_waveform_attack_side_by_side(page):
    ok(page)
    page.button(key="atk_run").click().run()
    ok(page)
    assert page.success or page.warning
    assert len(page.get("audio")) >= 3  # original, adversarial, perturbation (+ noise control)
    assert any("SNR" in m.label for m in page.metric)


def test_target_equal_to_the_answer_is_a_plain_message(page):
    page.button(key="atk_run").click().run()
    answer = next(m.value for m in page.markdown if m.value.startswith("**Original**"))
    current = re.search(r"— \*(.+?)\*", answer).group(1)
    page.selectbox(key="atk_target").set_value(current).run()
    page.button(key="atk_run").click().run()
    assert not page.exception
    assert any("already answers" in e.value for e in page.error)


def test_symbolic_attack_finds_edits(page):
    page.number_input(key="atk_sym_max").set_value(8).run()
    page.button(key="atk_sym_run").click().run()
    ok(page)
    assert page.success  # 3 edits flip the Bach example (measured); the notated score shows them coloured
    assert any("edited voices in colour" in e.label for e in page.expander)
    assert any("where a note was added or removed is coloured" in c.value for c in page.caption)


def test_veracity_tab_names_the_papers_setting_with_intervals(page):
    assert not page.exception
    text = "\n".join(m.value for m in page.markdown)
    assert "Headline: setting (a)" in text and "21–53 %" in text and " of 24)" in text
    assert any("Wilson 95 % intervals" in c.value and "8192" in c.value for c in page.caption)
