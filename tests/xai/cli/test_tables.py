"""xai.cli.tables: ``python -m xai tcav-table`` runs or reads a TCAV study's cells and writes the table."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.xai.study._table_records import fake_study, rec
from xai.cli import main, tables
from xai.study import runner
from xai.study import table as tmod


def test_the_command_formats_a_studys_stored_cells_without_running_them(tmp_path, capsys):
    path, study = fake_study(tmp_path)
    store = runner.Store(study.output)
    store.prepare()
    for i, c in enumerate(study.cells):
        if c.params["layer"] != "block4":
            continue
        p = c.params
        r = rec(p["concept"], p["target"], "block4", p["seed"], mean=0.7 + 0.01 * i, p=0.001)
        store.save(c, {"result": {"records": [r]}, "seconds": 2.0})
    out, js = tmp_path / "t.md", tmp_path / "t.json"
    code = main(["tcav-table", "--study", str(path), "--layers", "block4", "--no-run", "--out", str(out),
                 "--json-out", str(js)])
    assert code == 0  # every cell of the chosen part (block4) is finished
    md = out.read_text()
    assert "8 of 8 cells finished" in md and "★+ 2/2" in md and "0.3 min of cell time" in md
    assert tmod.TCAVTable.from_json(js.read_text()).layers == ("block4",)
    assert main(["tcav-table", "--study", str(path), "--no-run", "--out", str(out)]) == 1  # block3 not run
    assert "8 of 16 cells finished" in out.read_text()
    assert main(["tcav-table", "--study", str(path), "--layers", "block9", "--no-run"]) == 2
    assert "no layer block9" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_runs_a_real_cell_of_the_composer_study(tmp_path, capsys):
    out = tmp_path / "c.md"
    code = main(["tcav-table", "--model", "composer", "--results", str(tmp_path / "res"), "--layers", "block4",
                 "--concepts", "homophonic", "--classes", "bach", "--workers", "0", "--out", str(out), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    cell = printed["table"]["cells"][0]
    assert cell["concept"] == "homophonic" and cell["target"] == "bach" and 0 <= cell["mean"] <= 1
    assert "1 of 1 cells finished" in out.read_text()
    # rerunning computes nothing: the study keeps the finished cell
    assert main(["tcav-table", "--model", "composer", "--results", str(tmp_path / "res"), "--layers", "block4",
                 "--concepts", "homophonic", "--classes", "bach", "--workers", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["table"]["n_finished"] == 1


def test_the_piano_model_finds_its_study_file_and_an_unrun_table_says_so(tmp_path):
    out = tmp_path / "p.md"
    code = main(["tcav-table", "--model", "piano_composer", "--results", str(tmp_path / "none"), "--layers", "block4",
                 "--seeds", "0", "--concepts", "alberti bass", "--no-run", "--out", str(out)])
    assert code == 1  # nothing finished in an empty result folder
    md = out.read_text()
    assert "0 of 6 cells finished" in md and md.count("not run") >= 6



def test_axes_that_are_not_in_the_study_are_refused_and_the_rest_narrow_the_cells(tmp_path):
    _, study = fake_study(tmp_path)
    args = SimpleNamespace(layers=["block4"], seeds=[1], concepts=None, classes=["Bach"])
    sub = tables._subset(study, args)
    assert len(sub.cells) == 2 and {c.params["concept"] for c in sub.cells} == {"alberti bass", "contrapuntal texture"}
    assert {(c.params["layer"], c.params["seed"], c.params["target"]) for c in sub.cells} == {("block4", 1, "Bach")}
    from xai.errors import ParameterError

    with pytest.raises(ParameterError, match="no seed 5 in its grid; its seeds are 0, 1"):
        tables._subset(study, SimpleNamespace(layers=None, seeds=[5], concepts=None, classes=None))


def test_the_command_line_written_into_the_page_repeats_the_choices(tmp_path):
    args = SimpleNamespace(study=None, model="composer", layers=["block4"], seeds=None, concepts=["a b"],
                           classes=None, workers=0, out="t.md")
    assert tables._command(args) == "python -m xai tcav-table --model composer --layers block4 --concepts a b " \
        "--workers 0 --out t.md"


def test_concepts_are_fingerprinted_from_the_models_builtins_and_unknown_ones_left_out(tmp_path):
    _, study = fake_study(tmp_path)
    prints = tables._fingerprints(study)
    assert set(prints) <= {"alberti bass", "contrapuntal texture"}
    assert all(isinstance(v, str) and len(v) >= 8 for v in prints.values())
