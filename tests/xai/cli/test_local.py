"""`python -m xai lime FILE ...`: JSON with ranked segments, baseline, deletion curves, stability; plain errors."""

import json
from pathlib import Path

import numpy as np
import pytest

from xai import cli
from xai.audio import clip as audio

ROOT = Path(__file__).resolve().parents[3]
CHORALE = ROOT / "assets" / "examples" / "bach__bwv20.7.mxl"


def test_score_as_json(capsys):
    assert cli.main(["lime", str(CHORALE), "--target", "bach", "--segments", "bars-voices", "--samples", "100",
                     "--seed", "1", "--bars", "4", "--start-bar", "1", "--stability-seeds", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["target"] == "bach" and out["kind"] == "bars-voices"
    assert out["exact"] is True and out["samples"] == 2**8  # 8 segments: every coalition
    assert out["options"]["start_bar"] == 1 and out["options"]["end_bar"] == 4
    segs = out["segments"]
    assert len(segs) == 8 and segs[0]["label"].startswith("bars ") and "notes" in segs[0]
    w = [s["weight"] for s in segs]
    assert w == sorted(w, reverse=True)
    assert set(out["rankings"]) == {"lime", "notes", "random"}
    assert len(out["deletion"]["lime"]) == 9 and out["deletion"]["k"][-1] == 8
    assert out["stability"]["exact"] is True and out["stability"]["mean_jaccard"] == 1.0


def test_text_and_plain_errors(tmp_path, capsys):
    assert cli.main(["lime", str(CHORALE), "--samples", "100", "--bars", "4", "--stability-seeds", "1"]) == 0
    text = capsys.readouterr().out
    assert "LIME for" in text and "deletion check" in text and "does not" not in text.split("\n")[0]
    assert cli.main(["lime", str(CHORALE), "--target", "jazz"]) == 2
    assert "no class 'jazz'" in capsys.readouterr().err
    silent = tmp_path / "silent.wav"
    silent.write_bytes(audio.to_wav_bytes(np.zeros(4 * 22050)))
    assert cli.main(["lime", str(silent), "--model", "instrument"]) == 2
    assert "silent" in capsys.readouterr().err.lower()
    assert cli.main(["lime", str(CHORALE), "--segments", "time-bands"]) == 2


@pytest.mark.slow
def test_recording_as_json(tmp_path, capsys):
    t = np.arange(5 * 22050) / 22050
    path = tmp_path / "tone.wav"
    path.write_bytes(audio.to_wav_bytes(0.3 * np.sin(2 * np.pi * 330 * t) * (t < 2)))
    assert cli.main(["lime", str(path), "--model", "instrument", "--samples", "60", "--stability-seeds", "1",
                     "--off", "zero", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "time-bands" and len(out["segments"]) == 20 and "energy" in out["rankings"]
    assert out["segments"][0]["end_s"] > out["segments"][0]["start_s"]
