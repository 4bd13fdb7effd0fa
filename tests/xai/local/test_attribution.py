"""captum attributions on the musical grid: a planted cause is found, IG is complete, randomisation changes the
map, the methods and LIME are compared, and the result round-trips through JSON."""

import json

import numpy as np
import pytest
import torch

from models.audio_nets import MelFrontEnd
from tests._fakes import FakeAudioModel, FakeModel, two_voices
from xai.audio.dataset import CLIP_SAMPLES
from xai.contract import fields_equal
from xai.errors import InputError, ParameterError
from xai.local import attribution as attr
from xai.local.lime import TimeBandGrid
from xai.symbolic import music

FAST = dict(n_steps=16, randomised_layers=2, compare_lime=False)
PLANTED_BAR, PLANTED_PITCH = 3, 72  # two_voices: voice 2 holds C5 (72); bar 3 = steps 32..47


class PlantedRollNet(torch.nn.Module):
    """Class 'planted' rises with the notes of C5 in bar 3, and only with them (a learned linear read-out)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 1, 1)
        self.fc = torch.nn.Linear(music.N_PITCHES * 64, 2)
        mask = torch.zeros(music.N_PITCHES, 64)
        mask[PLANTED_PITCH - music.PITCH_LOW, 32:48] = 1.0
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.conv.bias.zero_()
            self.fc.weight.copy_(torch.stack([-mask.reshape(-1), mask.reshape(-1)]) * 0.2)
            self.fc.bias.zero_()

    def forward(self, x):
        return 4 * torch.tanh(self.fc(torch.relu(self.conv(x)).flatten(1)) / 4)


def _piece_result(**kw):
    return attr.attribute_piece(two_voices(4), FakeModel(PlantedRollNet(), classes=("other", "planted")), "planted",
                                start_bar=1, segments="bars-voices", **(FAST | kw))


@pytest.fixture(scope="module")
def piece_result():
    return _piece_result()


def _planted_id(res):
    return next(s["id"] for s in res.segments if s["start_bar"] == PLANTED_BAR and s.get("part") == 1)


@pytest.mark.parametrize("method", ["ig", "saliency", "occlusion"])
def test_planted_bar_and_voice_get_the_attribution(piece_result, method):
    res = piece_result
    assert res.kind == "bars-voices" and res.n_segments == 8 and res.start_bar == 1 and res.end_bar == 4
    g = np.asarray(res.grid[method])
    planted = _planted_id(res)
    assert int(res.ranking(method)[0]) == planted
    assert g[planted] > 0.9 * np.abs(g).sum()


def test_integrated_gradients_is_complete(piece_result):
    for b, c in piece_result.completeness.items():
        assert c["difference"] > 0.5, b
        assert c["relative_gap"] < 0.02, (b, c)
    assert piece_result.completeness["silence"]["baseline_logit"] == pytest.approx(0.0, abs=1e-6)
    assert set(piece_result.baseline_grid) == set(attr.BASELINES)


def test_randomising_the_top_layers_changes_the_map(piece_result):
    rz = piece_result.randomisation
    assert rz["layers"] == ["fc", "conv"]
    assert rz["spearman"][-1] < attr.RANDOMISATION_THRESHOLD
    assert piece_result.randomisation_changed


def test_a_map_that_ignores_the_weights_is_flagged():
    # a network without weights: nothing to randomise, so the check cannot pass; and no conv layer for Grad-CAM
    res = attr.attribute_piece(two_voices(4), FakeModel(), "high", start_bar=1, **FAST)
    assert res.randomisation["layers"] == [] and not res.randomisation_changed
    assert "gradcam" not in res.methods
    with pytest.raises(ParameterError, match="Grad-CAM"):
        attr.attribute_piece(two_voices(4), FakeModel(), "high", start_bar=1, method="gradcam", **FAST)


def test_methods_are_compared_and_deletion_follows_the_ranking(piece_result):
    res = piece_result
    M = len(res.methods)
    assert res.methods == attr.METHODS and res.agreement.shape == (M, M)
    assert np.allclose(np.diag(res.agreement)[:3], 1.0)
    assert np.isnan(res.agreement[3, 3])  # Grad-CAM's single channel weighs every note alike: no ranking
    assert res.agreement[0, 1] > 0.5  # IG and Saliency both name the planted voice
    d = res.deletion
    assert d["k"] == list(range(9)) and set(d) == {"k", *attr.METHODS, "random"}
    assert d["ig"][1] < d["ig"][0]  # removing the top segment lowers the class probability
    assert res.on_notes["ig"] == pytest.approx(1.0)  # from silence, IG is zero off the notes
    assert res.timings["ig"] > 0


def test_lime_on_the_same_segments_is_compared():
    res = _piece_result(compare_lime=True, lime_samples=50)
    lime = res.lime
    assert len(lime["weights"]) == res.n_segments and lime["exact"] is True  # 8 segments: exact
    assert int(np.argmax(lime["weights"])) == _planted_id(res)
    assert lime["spearman"]["ig"] > 0.5


def test_listening_keeps_or_removes_the_top_segments(piece_result):
    top = piece_result.top(1)
    only = piece_result.segment_excerpt(top)
    assert set(only.pitches.tolist()) == {PLANTED_PITCH} and only.n_notes == 4
    assert piece_result.segment_excerpt(top, keep=False).n_notes == 28


def test_result_round_trips_through_json(piece_result):
    back = type(piece_result).from_json(piece_result.to_json())
    assert fields_equal(piece_result, back)
    s = json.loads(json.dumps(piece_result.summary()))
    assert s["target"] == "planted" and s["randomisation"]["changed"] is True
    assert s["segments"][0]["label"] == "bar 3, Voice 2"


def test_options_are_validated_in_one_style():
    with pytest.raises(ParameterError, match="The 'n_steps' parameter must be an int in \\[4, 256\\], got 2"):
        attr.AttributionOptions(n_steps=2)
    with pytest.raises(ParameterError, match="Unknown option"):
        attr.attribute_piece(two_voices(4), FakeModel(), samples=3)
    with pytest.raises(ParameterError, match="start bar"):
        attr.attribute_piece(two_voices(4), FakeModel(), start_bar=99, **FAST)
    with pytest.raises(ParameterError, match="no class"):
        attr.attribute_piece(two_voices(4), FakeModel(), "jazz", **FAST)


def test_spearman():
    assert attr.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert attr.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(attr.spearman([1, 1, 1], [1, 2, 3]))


# --------------------------------------------------------------------------------------------------------------
# audio


GRID = dict(n_time=5, n_bands=4)


class PlantedCellNet(torch.nn.Module):
    """An audio model that rises with the energy of one cell of a 5 x 4 grid (a learned linear read-out)."""

    def __init__(self, cell: int):
        super().__init__()
        self.front = MelFrontEnd()
        self.conv = torch.nn.Conv2d(1, 1, 1)
        g = TimeBandGrid(frames=173, bands=64, **GRID)
        mask = torch.from_numpy(g.mask([cell]).astype(np.float32)).reshape(-1)
        self.fc = torch.nn.Linear(mask.numel(), 2)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.conv.bias.fill_(14.0)  # log power >= log(1e-6) = -13.8: the features are positive
            self.fc.weight.copy_(torch.stack([-mask, mask]) / mask.sum())
            self.fc.bias.fill_(-8.0)

    def spectrogram(self, x):
        return self.front(x)

    def from_spectrogram(self, spec):
        return self.fc(torch.relu(self.conv(spec[:, None])).flatten(1))

    def forward(self, x):
        return self.from_spectrogram(self.spectrogram(x))


@pytest.mark.parametrize("cell", [0, 13])
def test_planted_cell_gets_the_attribution(cell):
    rng = np.random.default_rng(0)
    x = (0.05 * rng.standard_normal(CLIP_SAMPLES + 22050)).astype(np.float32)
    model = FakeAudioModel(PlantedCellNet(cell), classes=("quiet", "loud"))
    res = attr.attribute_audio(x, model, "loud", start_s=0.5, **GRID, **FAST)
    assert res.kind == "time-bands" and res.n_segments == 20 and res.cells.offset_s == 0.5
    for m in ("ig", "saliency", "occlusion"):
        assert int(res.ranking(m)[0]) == cell, m
    assert res.completeness["silence"]["relative_gap"] < 0.02
    assert res.randomisation_changed
    assert res.maps["ig"].shape == (64, 173) and res.spectrogram.shape == (64, 173)
    assert res.sonify(res.top(1)).shape == (CLIP_SAMPLES,)
    assert fields_equal(res, type(res).from_json(res.to_json()))


def test_silent_window_is_refused():
    model = FakeAudioModel(PlantedCellNet(0), classes=("quiet", "loud"))
    with pytest.raises(InputError, match="silent"):
        attr.attribute_audio(np.zeros(CLIP_SAMPLES, np.float32), model, **FAST)
