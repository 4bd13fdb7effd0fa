"""`python -m xai predict FILE.wav --model instrument --json` and its plain errors."""

import json

import numpy as np
import pytest

from models import registry
from xai import cli
from xai.audio import clip as audio

pytestmark = pytest.mark.skipif("instrument" not in registry.available("audio"), reason="no instrument model")


@pytest.fixture
def wav(tmp_path):
    t = np.arange(5 * 22050) / 22050
    path = tmp_path / "tone.wav"
    path.write_bytes(audio.to_wav_bytes(0.3 * np.sin(2 * np.pi * 330 * t)))
    return path


def test_predict_a_recording_as_json(wav, capsys):
    assert cli.main(["predict", str(wav), "--model", "instrument", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "instrument" and out["recording"]["label"] in out["classes"]
    assert [w["start_seconds"] for w in out["windows"]] == [0.0, 2.0]


def test_text_output(wav, capsys):
    assert cli.main(["predict", str(wav), "--model", "instrument"]) == 0
    assert "0.0-4.0 s" in capsys.readouterr().out


def test_a_symbolic_model_for_a_recording_is_a_plain_error(wav, capsys):
    assert cli.main(["predict", str(wav)]) == 2
    err = capsys.readouterr().err
    assert "reads scores" in err and "instrument" in err and "Traceback" not in err


def test_a_bad_recording_is_a_plain_error(tmp_path, capsys):
    bad = tmp_path / "movie.wav"
    bad.write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(100))
    assert cli.main(["predict", str(bad), "--model", "instrument"]) == 2
    assert "video" in capsys.readouterr().err
