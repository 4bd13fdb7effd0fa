"""`python -m xai attribute FILE ...`: JSON with every method's sums, the checks; text; plain errors."""

import json
from pathlib import Path

import numpy as np
import pytest

from models import registry
from xai import cli
from xai.audio import clip as audio

ROOT = Path(__file__).resolve().parents[3]
CHORALE = ROOT / "assets" / "examples" / "bach__bwv20.7.mxl"
QUICK = ["--n-steps", "8", "--randomised-layers", "1", "--no-compare-lime"]


@pytest.mark.slow
def test_score_as_json(capsys):
    assert cli.main(["attribute", str(CHORALE), "--model", "composer", "--method", "occlusion", "--target", "bach",
                     "--start-bar", "1", "--json", *QUICK]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "occlusion" and out["target"] == "bach" and out["kind"] == "bars-voices"
    assert out["start_bar"] == 1 and out["options"]["n_steps"] == 8
    vals = [s["occlusion"] for s in out["segments"]]
    assert vals == sorted(vals, reverse=True) and all("ig" in s and "gradcam" in s for s in out["segments"])
    assert set(out["completeness"]) == {"silence", "mean", "blurred"}
    assert out["agreement"]["occlusion"]["occlusion"] == 1.0
    assert out["randomisation"]["layers"] == ["fc"] and isinstance(out["randomisation"]["changed"], bool)


@pytest.mark.slow
def test_text_and_plain_errors(tmp_path, capsys):
    assert cli.main(["attribute", str(CHORALE), "--start-bar", "1", *QUICK]) == 0
    text = capsys.readouterr().out
    assert "Integrated Gradients for" in text and "completeness gap" in text and "randomisation check" in text
    assert cli.main(["attribute", str(CHORALE), "--target", "jazz", *QUICK]) == 2
    assert "no class 'jazz'" in capsys.readouterr().err
    assert cli.main(["attribute", str(CHORALE), "--model", "style_audio", *QUICK]) == 2
    assert "hears recordings" in capsys.readouterr().err
    silent = tmp_path / "silent.wav"
    silent.write_bytes(audio.to_wav_bytes(np.zeros(4 * 22050)))
    assert cli.main(["attribute", str(silent), "--model", "instrument", *QUICK]) == 2
    assert "silent" in capsys.readouterr().err.lower()
    with pytest.raises(SystemExit):
        cli.main(["attribute", str(CHORALE), "--method", "lrp"])


@pytest.mark.slow
def test_recording_as_json(tmp_path, capsys):
    t = np.arange(5 * 22050) / 22050
    path = tmp_path / "tone.wav"
    path.write_bytes(audio.to_wav_bytes(0.3 * np.sin(2 * np.pi * 330 * t)))
    assert cli.main(["attribute", str(path), "--model", "instrument", "--method", "gradcam", "--json", *QUICK]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "time-bands" and len(out["segments"]) == 20 and out["method"] == "gradcam"
    assert " s, " in out["segments"][0]["label"] and "Hz" in out["segments"][0]["label"]


@pytest.mark.slow
@pytest.mark.skipif("piano_composer" not in registry.available(), reason="piano_composer not shipped")
@pytest.mark.parametrize("name", ["chopin_etude_op10_no3_SunMeiting08.mid", "schubert_moment_musical3.musicxml"])
def test_piano_composer_performance_and_score_as_json(name, capsys):
    path = ROOT / "assets" / "examples" / "piano" / name
    assert cli.main(["attribute", str(path), "--model", "piano_composer", "--method", "ig", "--start-s", "10",
                     "--json", "--bars-per-segment", "4", *QUICK]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "piano_composer" and out["frames_per_second"] == 10 and out["bars_known"] is True
    assert out["start_s"] == pytest.approx(10.0, abs=5.0) and out["end_s"] - out["start_s"] == pytest.approx(20.0)
    assert out["window"].startswith("bar") and "(" in out["window"]
    vals = [s["ig"] for s in out["segments"]]
    assert vals == sorted(vals, reverse=True) and len(vals) >= 2
    assert set(out["completeness"]) == {"silence", "mean", "blurred"}
