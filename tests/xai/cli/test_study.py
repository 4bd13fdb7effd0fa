"""xai.cli.study: ``python -m xai study FILE.toml`` runs a study's cells resumably, checks a file, exits 0/1/2."""

import json
import subprocess
import sys

from tests.xai.study._tasks import CALL, GRID
from xai.cli import main

DRAWS = f"""
name = "draws"
[[call]]
function = "{CALL}:draw"
seeds = [0, 1, 2]
"""


def test_the_command_line_runs_resumes_and_says_what_is_left(tmp_path):
    f = tmp_path / "cli.toml"
    f.write_text(GRID + f'[[call]]\nfunction = "{CALL}:fail"\n')
    cmd = [sys.executable, "-m", "xai", "study", str(f), "--workers", "0"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "5 of 6 cells finished" in p.stdout and "failed: call" in p.stdout
    assert "[" in p.stderr and "6 cells" in p.stderr  # the progress bar
    p = subprocess.run(cmd[:-2] + ["--check"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "6 cells" in p.stdout and "5 finished" in p.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[[tcav]]\nmodels = [")
    p = subprocess.run(cmd[:4] + [str(bad)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.startswith("error: The study file bad.toml is not valid TOML")
    assert "Traceback" not in p.stderr



def test_check_counts_the_cells_by_kind_and_runs_nothing(tmp_path, capsys):
    f = tmp_path / "d.toml"
    f.write_text(DRAWS)
    assert main(["study", str(f), "--check", "--json", "--out", str(tmp_path / "res")]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["cells"], r["by_kind"], r["finished"], r["checked"]) == (3, {"call": 3}, 0, True)
    assert not (tmp_path / "res").exists()


def test_limit_runs_some_cells_exits_1_and_a_rerun_finishes_the_rest(tmp_path, capsys):
    f = tmp_path / "d.toml"
    f.write_text(DRAWS)
    argv = ["study", str(f), "--workers", "0", "--json", "--out", str(tmp_path / "res")]
    assert main([*argv, "--limit", "1"]) == 1
    r = json.loads(capsys.readouterr().out)
    assert (r["finished_now"], r["remaining"], r["failed"]) == (1, 2, [])
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["finished"], r["finished_now"], r["remaining"]) == (3, 2, 0)
    assert main(["study", str(f), "--check", "--out", str(tmp_path / "res")]) == 0
    assert "3 cells (3 call), 3 finished" in capsys.readouterr().out
