"""Share links in the app: a link opens its view with its settings; a broken one shows a plain warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app._apptest import APP
from xai.classroom import share
from xai.symbolic import examples

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("MUSICXAI_SECRET", "app-test-secret")


def _open(token: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["share"] = token
    return at.run()


@pytest.mark.skipif(len(examples.EXAMPLES) < 2, reason="needs two bundled examples")
def test_a_classify_link_opens_the_page_with_its_piece_and_offers_a_link_back():
    name = list(examples.EXAMPLES)[1]  # not the default one
    at = _open(share.encode("classify", {"source": "example", "example": name, "model": "composer"}))
    assert not at.exception, at.exception
    assert not at.warning, [w.value for w in at.warning]
    assert at.selectbox(key="cls_example").value == name
    assert any("The model hears this as" in m.value for m in at.markdown)
    links = [c.value for c in at.code if "?share=" in c.value]
    assert links, "the share panel shows a link"
    view, state = share.decode(links[0].split("?share=", 1)[1])
    assert view == "classify" and state["example"] == name


@pytest.mark.parametrize("token, words", [
    ("v1.not-a-link.x", "changed"),
    ("garbage", "broken"),
    ("v0.eJyrVkrLz1eyUlAqSk1RslIqS8wpTtVRSs7PBUqWJJYoWSkUJOYlFhNKBKWiUlJLy0pSSgFVAQAcURGf.AAAA", "another version"),
])
def test_a_bad_link_shows_a_plain_warning_and_the_default_view(token, words):
    at = _open(token)
    assert not at.exception, at.exception
    assert len(at.warning) == 1 and words in at.warning[0].value
    assert "Traceback" not in at.warning[0].value
    at.run()  # the warning is shown once, not on every rerun
    assert not at.warning


def test_a_tcav_link_sets_the_concept_and_styles():
    at = _open(share.encode("tcav", {"concepts": ["homophonic"], "targets": ["bach", "nonsense"], "seed": 3}))
    assert not at.exception, at.exception
    assert at.multiselect(key="tcav_concepts").value == ["homophonic (built-in)"]
    assert at.multiselect(key="tcav_targets").value == ["bach"]  # a style the model lacks is left out
    assert at.number_input(key="tcav_seed").value == 3


def test_a_discover_link_sets_layer_method_and_concept():
    at = _open(share.encode("discover", {"layer": "block4", "method": "ntd", "k": 8, "concept": 2}))
    assert not at.exception, at.exception
    assert at.selectbox(key="disc_layer").value == "block4"
    assert at.radio(key="disc_method").value == "ntd"
    assert at.selectbox(key="disc_concept").value == 2
    assert any("?share=" in c.value for c in at.code)


def test_an_audio_link_picks_its_example():
    import json

    from models import registry

    path = registry.ASSETS.parent / "examples" / "audio" / "audio_examples.json"
    titles = [e["title"] for e in json.loads(path.read_text())] if path.exists() else []
    if len(titles) < 2:
        pytest.skip("needs two example recordings")
    at = _open(share.encode("audio", {"source": "example", "example": titles[1]}))
    assert not at.exception, at.exception
    assert at.selectbox(key="aud_example").value == titles[1]
    assert any("?share=" in c.value for c in at.code)


def _panel_script():
    from pages._share import share_panel

    share_panel(None, {}, key="x", what="the test")


def test_exporting_a_view_with_no_result_says_so_plainly():
    at = AppTest.from_function(_panel_script, default_timeout=60).run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == ["Run the test first; there is nothing to export yet."]
    assert not at.get("download_button")


def test_a_lime_link_reopens_the_explanation_with_its_settings():
    name = "folk: EmpressClog"
    at = _open(share.encode("lime", {"input": "score", "source": "example", "example": name, "segments":
                                     "bars-registers", "model": "composer", "target": "folk", "start_bar": 1,
                                     "n_bars": 4, "samples": 300, "seed": 7, "stability_seeds": 2}))
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="lime_example").value == name
    assert at.selectbox(key="lime_class").value == "folk"
    assert at.number_input(key="lime_seed").value == 7
    text = "\n".join(m.value for m in at.markdown)
    assert "For **folk**" in text  # explained without a click, as the link's author saw it
    links = [c.value for c in at.code if "?share=" in c.value]
    view, state = share.decode(links[0].split("?share=", 1)[1])
    assert view == "lime" and state["seed"] == 7 and state["example"] == name


def test_a_lime_link_for_a_recording_picks_the_example_recording():
    import json

    ex = json.loads((Path(__file__).resolve().parents[2] / "assets/examples/audio/audio_examples.json").read_text())
    title = ex[-1]["title"]
    at = _open(share.encode("lime", {"input": "recording", "clip_source": "example", "clip_example": title,
                                     "model": "instrument", "target": "", "off": "zero", "samples": 200,
                                     "stability_seeds": 1}))
    assert not at.exception, at.exception
    assert at.radio(key="lime_input").value == "A recording"
    assert at.selectbox(key="lime_clip_example").value == title
    assert at.selectbox(key="lime_audio_model").value == "instrument"
    assert at.radio(key="lime_off").value == "zero"


def test_an_attack_link_reruns_the_attack_with_its_settings():
    import json

    ex = json.loads((Path(__file__).resolve().parents[2] / "assets/examples/audio/audio_examples.json").read_text())
    title = ex[0]["title"]
    at = _open(share.encode("attack", {"clip_source": "example", "clip_example": title, "model": "instrument",
                                       "method": "fgsm", "target": "", "epsilon": 0.004, "start_s": 0.0}))
    assert not at.exception, at.exception
    assert at.selectbox(key="atk_example").value == title
    assert at.radio(key="atk_method").value == "fgsm"
    assert at.number_input(key="atk_eps_fgsm").value == pytest.approx(0.004)
    assert any(m.label == "SNR" for m in at.metric)  # attacked without a click, as the link's author saw it
    links = [c.value for c in at.code if "?share=" in c.value]
    view, state = share.decode(links[0].split("?share=", 1)[1])
    assert view == "attack" and state["method"] == "fgsm" and state["clip_example"] == title


@pytest.mark.parametrize("view, state", [("lime", {"input": "score", "samples": "300"}),
                                         ("attack", {"method": "fgsm", "epsilon": "0.004"})])
def test_a_lime_or_attack_link_with_a_wrong_typed_setting_shows_the_plain_warning(view, state):
    import json
    import zlib

    text = json.dumps({"view": view, "state": state}, separators=(",", ":"), sort_keys=True)
    head, payload = f"v{share.VERSION}", share._b64(zlib.compress(text.encode("utf-8"), 9))
    at = _open(f"{head}.{payload}.{share._sign((head + '.' + payload).encode('ascii'))}")  # signed, never validated
    assert not at.exception, at.exception
    assert len(at.warning) == 1 and "to a value the page does not accept" in at.warning[0].value
    assert "Traceback" not in at.warning[0].value
