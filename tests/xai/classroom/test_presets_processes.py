"""Presets saved from several processes at once: every acknowledged save is in the file afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xai.classroom import presets

ROOT = Path(__file__).resolve().parents[3]
SAVER = """
import sys
from xai.classroom import presets
store, tag, n = presets.PresetStore(sys.argv[1]), sys.argv[2], int(sys.argv[3])
state = {"source": "example", "example": "bach: bwv20.7"}
for i in range(n):
    store.save(presets.Preset(name=f"{tag}-{i}", view="classify", state=state), password=sys.argv[4])
    print(f"{tag}-{i}", flush=True)  # acknowledged: the save returned
"""


@pytest.mark.parametrize("n_processes, per_process", [(2, 100), (4, 50)])
def test_saves_from_several_processes_lose_nothing(tmp_path, n_processes, per_process):
    password = "processes-test-password"
    env = dict(os.environ, MUSICXAI_TEACHER_PASSWORD=password, MUSICXAI_LIBRARY=str(tmp_path / "library.sqlite"),
               MUSICXAI_SECRET="presets-processes", PYTHONPATH=str(ROOT))
    path = tmp_path / "presets.json"
    procs = [subprocess.Popen([sys.executable, "-c", SAVER, str(path), f"p{k}", str(per_process), password],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(n_processes)]
    acknowledged = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
        acknowledged += out.split()
    assert len(acknowledged) == n_processes * per_process == 200
    saved = [p.name for p in presets.PresetStore(path).list()]
    assert sorted(saved) == sorted(acknowledged)
    doc = json.loads(path.read_text())  # one whole file, never half of one
    assert len(doc["presets"]) == 200
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]  # no temporary files left behind
