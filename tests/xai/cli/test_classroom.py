"""xai.cli.classroom: ``python -m xai label-noise`` and ``python -m xai presets list | set-password``."""

from __future__ import annotations

import io
import json

import pytest

from xai import cli
from xai.classroom import label_noise as ln
from xai.classroom import presets


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(tmp_path / "library.sqlite"))
    monkeypatch.setenv("MUSICXAI_PRESETS", str(tmp_path / "presets.json"))
    monkeypatch.delenv("MUSICXAI_DATABASE_URL", raising=False)
    monkeypatch.delenv("MUSICXAI_TEACHER_PASSWORD", raising=False)
    monkeypatch.setenv("MUSICXAI_SECRET", "cli-classroom-test")


def test_set_password_reads_stdin_and_turns_teacher_mode_on(tmp_path, monkeypatch, capsys):
    assert cli.main(["presets", "list", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["teacher_mode"], r["presets"], r["path"]) == (False, [], str(tmp_path / "presets.json"))
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    assert cli.main(["presets", "set-password"]) == 0
    assert capsys.readouterr().out.strip() == f"Teacher password set up in {tmp_path / 'teacher.json'}."
    assert presets.check_password("correct horse") and not presets.check_password("correct horse\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["presets", "set-password"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err


def test_presets_list_prints_each_preset_with_its_link(monkeypatch, capsys):
    assert cli.main(["presets", "list"]) == 0
    assert capsys.readouterr().out.startswith("No class presets in ")
    monkeypatch.setenv("MUSICXAI_TEACHER_PASSWORD", "letmein-2026")
    p = presets.Preset(name="Week 1", view="classify", state={"source": "example", "example": "bach: bwv20.7"})
    presets.PresetStore().save(p, password="letmein-2026")
    assert cli.main(["presets", "list", "--json"]) == 0
    [item] = json.loads(capsys.readouterr().out)["presets"]
    assert item["name"] == "Week 1" and item["link"] == f"/classify?share={p.token()}"
    assert cli.main(["presets", "list"]) == 0
    assert capsys.readouterr().out.strip() == f"Week 1 (classify): /classify?share={p.token()}"


def _fake_curves(calls):
    def run_curves(data, *, noises, kinds, seeds, epochs, progress):
        calls.append({"noises": list(noises), "kinds": kinds, "seeds": seeds, "epochs": epochs})
        progress(1.0, "done")
        return {"parameters": {}, "summary": [{"kind": "symmetric", "noise": n, "mean": 0.9 - n / 2, "min": 0.8 - n / 2,
                                               "max": 1.0 - n / 2, "n_seeds": len(seeds)} for n in noises],
                "seconds": 3.2}
    return run_curves


def test_label_noise_passes_its_grid_on_and_writes_curves_with_the_command(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("models.label_noise.load_subset", lambda: {"fake": True})
    monkeypatch.setattr(ln, "run_curves", _fake_curves(calls))
    assert cli.main(["label-noise", "--noise", "0.1", "--noise", "0.3", "--kind", "class", "--seed", "4",
                     "--epochs", "2", "--name", "tiny_1", "--out", str(tmp_path / "curves")]) == 0
    assert calls == [{"noises": [0.1, 0.3], "kinds": ("class",), "seeds": (4,), "epochs": 2}]
    doc = json.loads((tmp_path / "curves" / "curves_tiny_1.json").read_text())
    assert doc["parameters"]["command"] == ("python -m xai label-noise --noise 0.1 --noise 0.3 --kind class --seed 4 "
                                            "--epochs 2 --name tiny_1")
    out = capsys.readouterr()
    assert "symmetric  noise 0.10: test accuracy 0.850 [0.750, 0.950] over 1 seeds" in out.out
    assert "written to" in out.out and "done" in out.err
    assert cli.main(["label-noise", "--out", "-", "--json"]) == 0  # the defaults, written nowhere
    assert calls[-1] == {"noises": [0.0, 0.2, 0.4, 0.6, 0.8], "kinds": ln.KINDS, "seeds": (0, 1), "epochs": None}
    printed = json.loads(capsys.readouterr().out)
    assert "written" not in printed and printed["parameters"]["command"].endswith("--noise 0.8")


def test_a_name_that_could_leave_the_folder_is_refused(capsys):
    assert cli.main(["label-noise", "--name", "../x"]) == 2
    assert "only letters, digits" in capsys.readouterr().err
