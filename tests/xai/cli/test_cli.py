import json
import subprocess
import sys

import pytest

from tests._fakes import scale_piece
from xai import cli
from xai.symbolic import music


@pytest.fixture
def midi_file(tmp_path):
    path = tmp_path / "scale.mid"
    path.write_bytes(music.to_midi_bytes(scale_piece(12, parts=2)))
    return path


def test_predict_json_has_the_documented_shape(midi_file, capsys):
    assert cli.main(["predict", str(midi_file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "composer"
    assert out["classes"] == ["bach", "palestrina", "monteverdi", "trecento", "classical", "folk"]
    assert out["piece"]["label"] in out["classes"]
    assert abs(sum(out["piece"]["probabilities"].values()) - 1) < 1e-4
    assert len(out["windows"]) >= 2
    for w in out["windows"]:
        assert {"start_bar", "end_bar", "start_beat", "end_beat", "label", "probabilities"} <= set(w)
        assert w["start_bar"] <= w["end_bar"] and w["start_beat"] < w["end_beat"]


def test_text_output_names_bars(midi_file, capsys):
    assert cli.main(["predict", str(midi_file)]) == 0
    assert "bars 1-" in capsys.readouterr().out


@pytest.mark.parametrize("name,data", [("broken.mid", b"MThd\x00\x00garbage"), ("notes.txt", b"hello"), ("empty.mid", b"")])
def test_bad_input_exits_non_zero_with_one_sentence(tmp_path, capsys, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    assert cli.main(["predict", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "Traceback" not in err and len(err.splitlines()) == 1


def test_missing_file(capsys):
    assert cli.main(["predict", "/no/such/file.mid"]) == 2
    assert "no file" in capsys.readouterr().err


@pytest.mark.slow
def test_module_entry_point_runs(midi_file):
    r = subprocess.run([sys.executable, "-m", "xai", "predict", str(midi_file), "--json"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["piece"]["label"]
