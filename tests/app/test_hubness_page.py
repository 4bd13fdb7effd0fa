"""AppTest: the Recommender hubness page shows the measures of a shipped embedding under every reduction, lists
the hubs, recommends for a picked song, and runs a short hub attack without and with Mutual Proximity."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app._apptest import ok, open_page

pytestmark = pytest.mark.slow
PAGE = "pages/hubness.py"


@pytest.fixture
def page() -> AppTest:
    return open_page(PAGE, timeout=240)


def test_measures_reductions_and_attack(page):
    at = page
    ok(at)
    assert at.title[0].value == "Recommender hubness"
    labels = {m.label for m in at.metric}
    assert {"Skewness of N_k", "Robin Hood index", "Same-class precision@k"} <= labels
    assert len(at.dataframe) >= 2  # measures per reduction + hubs
    at.radio(key="hub_reduction").set_value("mp").run()
    ok(at)
    skew = next(m for m in at.metric if m.label == "Skewness of N_k")
    assert skew.delta is not None and skew.delta.startswith("-")  # MP lowers the skewness
    at.number_input(key="hub_att_steps").set_value(20).run()
    at.button(key="hub_att_run").click().run()
    ok(at)
    assert any(m.label.startswith("N_5 before") for m in at.metric)
    at.selectbox(key="hub_embedding").set_value("composer").run()  # score excerpts: no attack, plain note
    ok(at)
    assert any("audio model" in i.value for i in at.info)


def test_a_collection_of_your_own_vectors_is_analysed_without_sound(tmp_path, monkeypatch):
    import numpy as np

    rng = np.random.default_rng(2)
    centres = rng.normal(size=(4, 16)) * 3
    labels = rng.integers(0, 4, 1500)
    X = (centres[labels] + rng.normal(size=(1500, 16))).astype(np.float32)
    np.save(tmp_path / "mine.npy", X)
    np.save(tmp_path / "mine.labels.npy", np.array(["a", "b", "c", "d"])[labels])
    monkeypatch.setenv("MUSICXAI_COLLECTIONS", str(tmp_path))
    at = open_page(PAGE, timeout=240)
    at.selectbox(key="hub_embedding").set_value("collection: mine").run()
    ok(at)
    assert any("1500 items" in c.value for c in at.caption)
    acc = next(m for m in at.metric if m.label == "k-NN accuracy")
    assert acc.value != "n/a" and float(acc.value) > 0.5
    assert not at.get("audio")  # your own vectors: nothing to play, and nothing tries to


def test_retrieval_measured_out_of_sample(page):
    ok(page)
    text = "\n".join(m.value for m in page.markdown)
    assert "Measured out of sample" in text and "pieces the model was trained on" in text
