"""piano_composer on its held-out ASAP examples: the CLI's answer, the examples list, scores with many staves."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from models import registry
from xai.symbolic import examples, io, music, predict
from xai.symbolic.examples import EXAMPLES_DIR

pytestmark = pytest.mark.skipif("piano_composer" not in registry.available(), reason="piano_composer not shipped")

PERFORMANCES = sorted((EXAMPLES_DIR / "piano").glob("*.mid"))
# What the shipped weights answer (the card's held-out table): 3 of 6 composers right on these performances.
EXPECTED = {"bach": "Schubert", "beethoven": "Schubert", "chopin": "Chopin", "haydn": "Haydn", "liszt": "Schubert",
            "schubert": "Schubert"}


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return registry.load("piano_composer")


def test_every_composer_has_a_performance_and_a_score_with_provenance():
    piano = {n: e for n, e in examples.INFO.items() if "piano_composer" in e["models"]}
    assert sorted({e["class"] for e in piano.values()}) == list(registry.card("piano_composer")["classes"])
    assert sum(e["path"].suffix == ".mid" for e in piano.values()) == 6
    assert sum(e["path"].suffix == ".musicxml" for e in piano.values()) == 6
    assert all("ASAP" in e["source"] and "CC BY-NC-SA" in e["source"] for e in piano.values())
    assert all(e["annotations"] is None or e["annotations"].is_file() for e in piano.values())
    assert examples.for_model("piano_composer")[: len(piano)] == list(piano)


@pytest.mark.parametrize("path", PERFORMANCES, ids=lambda p: p.stem.split("_")[0])
def test_held_out_performance_answers_as_the_card_says(path, model):
    pred = predict.classify(io.load(path), model)
    assert pred.label == EXPECTED[path.stem.split("_")[0]]
    assert all(w.bars_known and w.start_second is not None for w in pred.windows)  # bars from the annotations


def test_cli_names_the_composer_of_a_performance():
    path = EXAMPLES_DIR / "piano" / "chopin_etude_op10_no3_SunMeiting08.mid"
    out = subprocess.run([sys.executable, "-m", "xai", "predict", str(path), "--model", "piano_composer", "--json"],
                         capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(out.stdout)
    assert result["piece"]["label"] == "Chopin" and result["piece"]["bars_from"] == "beat annotations"
    assert result["windows"][1]["start_second"] == pytest.approx(result["windows"][0]["start_second"] + 10.0)


def test_a_score_with_twelve_staves_is_read_in_seconds(model):
    from music21 import meter, note, stream

    score = stream.Score()
    for k in range(12):
        part = stream.Part()
        part.append(meter.TimeSignature("4/4"))
        for b in range(12):
            part.append(note.Note(36 + 4 * k + b % 5, quarterLength=1.0))
            part.append(note.Note(38 + 4 * k, quarterLength=3.0))
        score.insert(0, part)
    path = score.write("musicxml")
    piece = io.load(path)
    assert len(piece.part_names) == 12 and piece.bars_known
    pred = predict.classify(piece, model)
    assert pred.label in model.classes and np.isclose(pred.piece_probabilities.sum(), 1.0)
    assert pred.windows[0].start_bar == 1


def test_a_piece_shorter_than_one_window_is_padded(model):
    piece = io.load(EXAMPLES_DIR / "bach__bwv104.6.mid").slice(0.0, 8.0)
    wins, X = music.encode_for(piece, model)
    assert len(wins) == 1 and X.shape == (1, 2, 88, 200)
    assert predict.classify(piece, model).label in model.classes
