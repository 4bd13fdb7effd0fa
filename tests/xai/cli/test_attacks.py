"""``python -m xai attack``: C&W is its own attack (not PGD), and bad input gets a plain answer (issue #18)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from xai import cli
from xai.audio import clip as audio

PIANO = "assets/examples/audio/classical__piano__timgm6mb.ogg"


def _run(capsys, *argv) -> tuple[int, dict | str]:
    rc = cli.main(["attack", PIANO, "--model", "instrument", *argv])
    out = capsys.readouterr()
    return rc, (json.loads(out.out) if rc == 0 and "--json" in argv else out.out + out.err)


@pytest.mark.slow
def test_cw_differs_from_pgd(capsys):
    torch.set_num_threads(1)
    rc, pgd = _run(capsys, "--method", "pgd", "--json")
    assert rc == 0
    rc, cw = _run(capsys, "--method", "cw", "--json")
    assert rc == 0
    assert pgd["success"] and cw["success"]
    assert cw["snr_db"] > pgd["snr_db"] + 6.0  # quieter: C&W minimises ||delta|| subject to success
    assert cw["linf"] != pgd["linf"] and cw["iterations"] != pgd["iterations"]
    assert cw["options"]["method"] == "cw" and cw["options"]["search_steps"] == 5


@pytest.mark.slow
def test_bad_input_gets_plain_answers(capsys, tmp_path):
    torch.set_num_threads(1)
    rc, text = _run(capsys, "--true", "organ")  # the piano example is heard as piano: already wrong for organ
    assert rc == 0 and "already gets this clip wrong" in text and "nothing was attacked" in text
    rc, text = _run(capsys, "--target", "piano")
    assert rc == 2 and "already answers 'piano'" in text and "Traceback" not in text
    rc, text = _run(capsys, "--epsilon", "1e-7", "--steps", "5")
    assert rc == 0 and "failed" in text and "larger ε" in text
    faint = (np.random.default_rng(0).standard_normal(audio.SAMPLE_RATE * 4) * 1e-4).astype(np.float32)
    for name, expected in (("faint.wav", "is silent"), ("click.wav", "nearly silent")):
        if name == "click.wav":  # one click lifts the peak above the loader's floor; the window is still noise
            faint[1000] = 0.05
        path = tmp_path / name
        path.write_bytes(audio.to_wav_bytes(faint))
        rc = cli.main(["attack", str(path), "--model", "instrument"])
        err = capsys.readouterr().err
        assert rc == 2 and expected in err and "Traceback" not in err


@pytest.mark.slow
def test_veracity_command_reports_every_setting_with_intervals(capsys, tmp_path):
    torch.set_num_threads(1)
    rc = cli.main(["veracity", "--clips", "1", "--samples", "50", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and out.count("n = 1") == 4 and "[" in out
    d = json.loads((tmp_path / "veracity_instrument.json").read_text())
    assert list(d["summaries"]) == ["free", "confident", "planted", "decoy"] and d["headline"] == "free"
    assert d["parameters"]["n_clips"] == 1 and "test" in d["parameters"]["clips"]
    assert d["paper"]["rows"][0]["lime_top3_flip"] == 0.53
