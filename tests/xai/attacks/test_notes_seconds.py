"""Note attacks on a model that reads seconds (piano_composer): fixed windows, clock-time citations, JSON."""

from __future__ import annotations

import numpy as np
import pytest

from models import registry
from tests._fakes import FakeModel
from xai.attacks import notes as sa
from xai.contract import fields_equal
from xai.symbolic import io, music, predict
from xai.symbolic.examples import EXAMPLES_DIR

SCHUBERT = EXAMPLES_DIR / "piano" / "schubert_moment_musical3_Tetzloff09M.mid"


class SecondsModel(FakeModel):
    """A fake that reads 20-s windows every 10 s at 10 frames a second, as piano_composer's card says."""

    def __init__(self):
        super().__init__(name="seconds_fake")
        self.window_quarters = self.hop_quarters = 0.0
        self.card = {"input": {"window_seconds": 20.0, "hop_seconds": 10.0, "frames_per_second": 10}}


def _excerpt(annotated: bool):
    piece = io.load_bytes(SCHUBERT.read_bytes(), SCHUBERT.name)
    if annotated:
        piece = io.with_annotations_file(piece, io.annotations_beside(SCHUBERT))
    return piece.slice(*piece.bar_range(1, 8))


@pytest.mark.skipif("piano_composer" not in registry.available(), reason="piano_composer not shipped")
def test_piano_composer_attack_runs_and_round_trips():
    ex, model = _excerpt(True), registry.load("piano_composer")
    r = sa.attack_piece(ex, model, max_edits=2, beam=8)
    assert np.allclose(r.original_probs, predict.classify(ex, model).piece_probabilities, atol=1e-5)
    assert 1 <= len(r.edits) <= 2 and len(r.history) == len(r.edits)
    # the edited piece is read as the performance it still is, over the unedited piece's windows
    assert r.adversarial.performed and r.adversarial.pedal is not None
    lp = sa.piece_log_probabilities([r.adversarial], model, windows=music.encode_for(ex, model)[0])[0]
    assert np.allclose(np.exp(lp), r.adversarial_probs, atol=1e-6)
    texts = [e["text"] for e in r.summary()["edits"]]
    assert all(" bar " in t and ":" in t for t in texts)  # bars (annotated) and clock time
    assert fields_equal(r, type(r).from_json(r.to_json()))


def test_seconds_fake_targeted_flip_cited_by_clock():
    ex, model = _excerpt(False), SecondsModel()
    assert not ex.bars_known
    y = int(np.argmax(predict.classify(ex, model).piece_probabilities))
    r = sa.attack_piece(ex, model, max_edits=3, beam=4, pitches="chromatic", allow_delete=False,
                        target=1 - y)
    assert len(r.edits) >= 1 and all(e.op == "insert" for e in r.edits)
    s = r.summary()["edits"][0]
    assert s["text"].startswith("add ") and " at " in s["text"] and " bar " not in s["text"] and "second" in s
    assert fields_equal(r, type(r).from_json(r.to_json()))
