"""LIME over musical segments: bars x voices / registers of a score, and rendered stems for an audio model."""

import numpy as np
import pytest
import torch

from models.audio_nets import MelFrontEnd
from tests._fakes import FakeAudioModel, FakeModel, scale_piece, two_voices
from xai.contract import fields_equal
from xai.errors import InputError, ParameterError
from xai.local import lime, segments
from xai.symbolic import predict
from xai.symbolic.music import note_name


class OneVoiceNet(torch.nn.Module):
    """Class 1 exactly when there are notes in pitch rows >= 64 in the first half of the window (a planted cause)."""

    def forward(self, x):
        z = 6.0 * (x[:, 1, 64 - 21 :, :32].sum(dim=(1, 2)) > 0).float() - 3.0
        return torch.stack([-z, z], dim=1)


def test_piece_planted_voice_is_first():
    # The fake model only looks at high notes in the first half of its window = bars 1-2 of voice 2.
    piece = two_voices(4)
    model = FakeModel(OneVoiceNet(), classes=("no", "yes"))
    r = lime.explain_piece(piece, model, "yes", segments="bars-voices", start_bar=1, n_bars=4,
                           bars_per_segment=2, samples=200, stability_seeds=2)
    assert r.n_segments == 4 and r.fit.exact
    assert r.ranked(1)[0]["label"] == "bars 1–2, Voice 2"
    assert r.rankings["notes"].shape == (4,)
    assert r.deletion["lime"][1] < 0.1  # removing it switches the class off


def test_piece_score_matches_classify():
    piece = scale_piece(8, parts=3)
    model = FakeModel()
    r = lime.explain_piece(piece, model, "high", start_bar=1, n_bars=8, samples=300, stability_seeds=2)
    full = predict.classify(r.excerpt, model).piece_probabilities[r.target]
    assert r.probability == pytest.approx(full) and r.deletion["lime"][0] == pytest.approx(full)
    top = r.fit.top(2)
    reduced = predict.classify(r.segment_excerpt(top, keep=False), model).piece_probabilities[r.target]
    assert r.deletion["lime"][2] == pytest.approx(reduced, abs=1e-9)
    d = r.summary()
    assert d["segments"][0]["label"].startswith("bar") and "fidelity_warning" in d


def test_piece_registers_without_parts():
    r = lime.explain_piece(scale_piece(6), FakeModel(), "high", start_bar=1, n_bars=6, samples=200,
                           stability_seeds=1, n_registers=3)
    assert r.kind == "bars-registers" and "register" in r.segments[0]
    # a single voice rising: the high register of the last bars is what makes it "high"
    assert r.segments[int(r.fit.ranking[0])]["register"] == 2


def test_piece_bad_input():
    model = FakeModel()
    with pytest.raises(InputError, match="only one bar"):
        lime.explain_piece(scale_piece(1), model)
    with pytest.raises(ParameterError, match="no class 'jazz'"):
        lime.explain_piece(scale_piece(4), model, "jazz")
    with pytest.raises(ParameterError, match="more samples than segments"):
        lime.explain_piece(scale_piece(8, parts=4), model, "high", start_bar=1, n_bars=8, bars_per_segment=1,
                           samples=12)


def test_piece_result_round_trips_through_json():
    r = lime.explain_piece(scale_piece(6), FakeModel(), "high", start_bar=1, n_bars=6, samples=200,
                           stability_seeds=1)
    assert fields_equal(r, type(r).from_json(r.to_json()))
    assert r.options["random_state"] == 0 and "seed" not in r.options


def test_register_labels_use_the_one_pitch_name():
    seg = segments.segment_notes(scale_piece(6), kind="bars-registers", n_registers=2)
    lo = seg.segments[0]
    assert f"({note_name(lo['low_pitch'])}–{note_name(lo['high_pitch'])})" in lo["label"]


class StemNet(torch.nn.Module):
    """Class 1 when there is energy above ~1 kHz (only the high voice of the fake piece has it)."""

    def __init__(self):
        super().__init__()
        self.front = MelFrontEnd()

    def forward(self, x):
        s = self.front(x)
        z = s[:, 40:].amax(dim=(1, 2)) + 2.0
        return torch.stack([-z, z], dim=1)


def test_stems_planted_voice():
    piece = two_voices(4)
    model = FakeAudioModel(StemNet(), classes=("low", "high"))
    r = lime.explain_stems(piece, model, "high", samples=100, stability_seeds=1)
    assert r.kind == "stems" and r.n_segments == 2 and r.fit.exact
    assert r.segments[int(r.fit.ranking[0])]["part_name"] == "Voice 2"
    np.testing.assert_allclose(r.mix([0, 1]), r.stems.sum(0))
    assert fields_equal(r, type(r).from_json(r.to_json()))
