"""LIME on audio: the time x band grid, a planted cell, listening, bad input, the result's round trip."""

import numpy as np
import pytest
import torch

from models.audio_nets import MelFrontEnd
from tests._fakes import FakeAudioModel
from xai.audio.dataset import CLIP_SAMPLES, SAMPLE_RATE
from xai.contract import fields_equal
from xai.errors import InputError, ParameterError
from xai.local import lime

GRID = dict(n_time=5, n_bands=4)


class CellNet(torch.nn.Module):
    """A fake audio model that only looks at one cell of a 5 x 4 grid: class 1 when that cell is loud."""

    def __init__(self, cell: int):
        super().__init__()
        self.front = MelFrontEnd()
        self.cell = cell
        self.region = None

    def spectrogram(self, x):
        return self.front(x)

    def from_spectrogram(self, spec):
        if self.region is None:
            g = lime.TimeBandGrid(frames=spec.shape[2], bands=spec.shape[1], **GRID)
            self.region = torch.from_numpy(g.mask([self.cell]))
        z = spec[:, self.region].amax(dim=1) + 5.0  # loud (> -5 in log power) -> class 1
        return torch.stack([-z, z], dim=1)

    def forward(self, x):
        return self.from_spectrogram(self.spectrogram(x))


def _noise_everywhere(seed=0):
    rng = np.random.default_rng(seed)
    return (0.05 * rng.standard_normal(CLIP_SAMPLES)).astype(np.float32)


def test_grid_ids_cover_the_spectrogram():
    g = lime.TimeBandGrid(5, 4, frames=173, bands=64)
    idx = g.index()
    assert idx.shape == (64, 173) and set(np.unique(idx)) == set(range(20))
    assert idx[0, 0] == 0 and idx[-1, 0] == 3 and idx[0, -1] == 16  # id = t * n_bands + b
    assert g.mask([5]).sum() == (idx == 5).sum()
    segs = g.segments()
    assert len(segs) == 20 and segs[5]["time"] == 1 and segs[5]["band"] == 1


@pytest.mark.parametrize("cell", [0, 9, 18])
def test_planted_cell_is_ranked_first(cell):
    model = FakeAudioModel(CellNet(cell), classes=("quiet", "loud"))
    r = lime.explain_audio(_noise_everywhere(), model, "loud", samples=300, stability_seeds=2, off="zero")
    assert int(r.fit.ranking[0]) == cell
    assert r.deletion["lime"][1] < 0.5 < r.deletion["lime"][0]
    assert r.grid.n_segments == 20 and r.summary()["segments"][0]["id"] == cell


def test_off_modes_and_listening():
    model = FakeAudioModel(CellNet(7), classes=("quiet", "loud"))
    x = _noise_everywhere(1)
    for off in lime.OFF_MODES:
        r = lime.explain_audio(x, model, "loud", samples=200, stability_seeds=1, off=off)
        assert r.options["off"] == off
    alone = lime.sonify_cells(r.waveform, r.grid, [7], keep=True)
    rest = lime.sonify_cells(r.waveform, r.grid, [7], keep=False)
    assert alone.shape == r.waveform.shape
    np.testing.assert_allclose(alone + rest, r.waveform, atol=1e-4)  # the parts add back up
    assert 0 < np.abs(alone).sum() < np.abs(rest).sum()


def test_audio_bad_input():
    model = FakeAudioModel(CellNet(0), classes=("quiet", "loud"))
    with pytest.raises(InputError, match="silent"):
        lime.explain_audio(np.zeros(SAMPLE_RATE * 4, np.float32), model, "loud")
    with pytest.raises(ParameterError, match="no class 'jazz'"):
        lime.explain_audio(_noise_everywhere(), model, "jazz")
    with pytest.raises(ParameterError, match="'off'"):
        lime.explain_audio(_noise_everywhere(), model, "loud", off="black")
    with pytest.raises(ParameterError, match="more samples than segments"):
        lime.explain_audio(_noise_everywhere(), model, "loud", samples=15)
    with pytest.raises(ParameterError, match="outside the recording"):
        lime.explain_audio(_noise_everywhere(), model, "loud", start_s=10.0)


def test_audio_result_round_trips_through_json():
    model = FakeAudioModel(CellNet(9), classes=("quiet", "loud"))
    r = lime.explain_audio(_noise_everywhere(), model, "loud", samples=100, stability_seeds=1, n_time=2, n_bands=2)
    assert r.grid.n_segments == 4 and r.options["n_time"] == 2
    assert fields_equal(r, type(r).from_json(r.to_json()))

