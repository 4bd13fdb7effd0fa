"""AppTest: the Listen page predicts an example and an upload, and a bad recording is one plain sentence."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from models import registry
from tests.app._apptest import ok, open_page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not registry.available("audio"), reason="no audio model ships yet"),
]
PAGE = "pages/audio.py"


def _wav(seconds=6.0, sr=44100) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(np.round(x * 32767).astype("<i2").tobytes())
    return buf.getvalue()


@pytest.fixture
def page() -> AppTest:
    return open_page(PAGE, timeout=120)


def test_an_example_is_heard(page):
    text = ok(page)
    assert "model hears" in text
    assert len(page.get("audio")) == 1


def test_an_upload_then_a_video_renamed_wav(page):
    page.radio(key="aud_source").set_value("Your own recording").run()
    page.file_uploader[0].set_value(("tone.wav", _wav(), "audio/wav")).run()
    assert "model hears" in ok(page)
    page.file_uploader[0].set_value(("film.wav", b"\x00\x00\x00\x20ftypisom" + bytes(2000), "audio/wav")).run()
    assert not page.exception
    assert len(page.error) == 1 and "video" in page.error[0].value


def test_transcription_shows_the_symbolic_reading(page):
    from xai.audio import transcribe

    if not transcribe.available():
        pytest.skip("basic-pitch is not installed")
    page.toggle(key="aud_transcribe").set_value(True).run()
    text = ok(page)
    assert "(transcribed)" in "\n".join(c.value for c in page.caption)
    assert "reads the transcribed notes as" in text
    assert any("cyan line is a transcribed note" in c.value for c in page.caption)  # drawn over the spectrogram


def test_a_transcription_is_sent_to_the_score_views(page):
    from pages._widgets import TRANSCRIBED_KEY
    from xai.audio import transcribe

    if not transcribe.available():
        pytest.skip("basic-pitch is not installed")
    page.toggle(key="aud_transcribe").set_value(True).run()
    assert TRANSCRIBED_KEY not in page.session_state
    page.button(key="aud_use").click().run()
    ok(page)
    sent = page.session_state[TRANSCRIBED_KEY]
    assert sent.title.endswith("(transcribed)") and sent.n_notes > 0
    assert any("now offer this transcription" in s.value for s in page.success)
    assert "Discovered concepts" in [link.label for link in page.get("page_link")]


def test_out_of_distribution_indicator_beside_the_prediction(page):
    ok(page)  # the first example: rendered with a soundfont the models never heard, but familiar-sounding
    said = [c.value for c in page.caption] + [w.value for w in page.warning]
    assert any(s.startswith(("Within what the model knows", "Outside what the model knows")) for s in said)
    page.radio(key="aud_source").set_value("Your own recording").run()
    page.file_uploader[0].set_value(("tone.wav", _wav(), "audio/wav")).run()  # a pulsing sine: not music at all
    assert any(w.value.startswith("This sounds like one steady tone") for w in page.warning)
