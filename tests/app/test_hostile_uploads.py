"""AppTest: a sample of the hostile-input corpus uploaded on the Classify and Listen pages.

Each upload ends in one plain sentence (or a prediction, for an honest file) and the page keeps working for the
next upload: no exception, no traceback, no exception names in what the user reads.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from models import registry
from tests.app._apptest import open_page

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SCORES = ["midi/tempo_0.mid", "midi/timesig_exp_255.mid", "midi/varlen_delta_201.mid", "midi/timesig_exp_16.mid",
          "abc/metre_99999999_4.abc", "kern/interp__M99999999_4.krn", "musicxml/time_99999999_4.musicxml",
          "musicxml/rests_200000.mxl", "abc/notes_10000.abc", "midi/flipped_03.mid", "musicxml/truncated_05.xml"]
RECORDINGS = ["audio/truncated_75.mp3", "audio/truncated_50.ogg", "audio/header_sr22050_ch65535_b16.wav",
              "audio/claims_4gb.wav", "audio/flipped_1.flac"]


@pytest.fixture(scope="module")
def corpus() -> dict[str, bytes]:
    spec = importlib.util.spec_from_file_location("hostile_corpus", ROOT / "scripts" / "hostile_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.generate(17))


def _page(path: str) -> AppTest:
    return open_page(path, timeout=120)


def _one_sentence(at: AppTest, name: str) -> None:
    assert not at.exception, (name, at.exception)
    shown = [e.value for e in at.error]
    assert len(shown) <= 1, shown
    for text in shown:
        assert name in text and "Traceback" not in text and "Error" not in text, text


def _upload_each(at: AppTest, corpus: dict[str, bytes], rels, *, refused=lambda rel: False) -> None:
    """Upload each file in turn: at most one plain sentence each, and exactly one where ``refused(rel)``."""
    for rel in rels:
        name = rel.split("/", 1)[1]
        at.file_uploader[0].set_value((name, corpus[rel], "application/octet-stream")).run()
        _one_sentence(at, name)
        if refused(rel):
            assert len(at.error) == 1, rel


def _honest(at: AppTest, name: str, data: bytes, mime: str, words: str) -> None:
    """An honest file after the hostile ones is read and answered as usual."""
    at.file_uploader[0].set_value((name, data, mime)).run()
    assert not at.exception and not at.error
    assert any(words in m.value for m in at.markdown)


def test_hostile_scores_on_the_classify_page(corpus):
    at = _page("pages/classify.py")
    at.radio(key="cls_source").set_value("Your own file").run()
    _upload_each(at, corpus, SCORES, refused=lambda rel: not rel.startswith("midi/flipped"))
    _honest(at, "honest_3.mid", corpus["midi/honest_3.mid"], "audio/midi", "The model hears this as")


@pytest.mark.skipif(not registry.available("audio"), reason="no audio model ships yet")
def test_hostile_recordings_on_the_listen_page(corpus):
    at = _page("pages/audio.py")
    at.radio(key="aud_source").set_value("Your own recording").run()
    _upload_each(at, corpus, RECORDINGS)
    _honest(at, "honest.ogg", corpus["audio/honest.ogg"], "audio/ogg", "model hears")
