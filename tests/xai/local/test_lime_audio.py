"""LIME on audio: the time x band grid, a planted cell, stems, listening, bad input."""

import numpy as np
import pytest
import torch

from models.audio_nets import MelFrontEnd
from tests._fakes import FakeAudioModel
from xai.audio.dataset import CLIP_SAMPLES, SAMPLE_RATE
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
    r = lime.explain_audio(model, _noise_everywhere(), "loud", samples=300, stability_seeds=2, off="zero")
    assert int(r.fit.ranking[0]) == cell
    assert r.deletion["lime"][1] < 0.5 < r.deletion["lime"][0]
    assert r.grid.n_segments == 20 and r.to_dict()["segments"][0]["id"] == cell


def test_off_modes_and_listening():
    model = FakeAudioModel(CellNet(7), classes=("quiet", "loud"))
    x = _noise_everywhere(1)
    for off in lime.OFF_MODES:
        r = lime.explain_audio(model, x, "loud", samples=200, stability_seeds=1, off=off)
        assert r.options["off"] == off
    alone = lime.sonify_cells(r.waveform, r.grid, [7], keep=True)
    rest = lime.sonify_cells(r.waveform, r.grid, [7], keep=False)
    assert alone.shape == r.waveform.shape
    np.testing.assert_allclose(alone + rest, r.waveform, atol=1e-4)  # the parts add back up
    assert 0 < np.abs(alone).sum() < np.abs(rest).sum()


def test_audio_bad_input():
    model = FakeAudioModel(CellNet(0), classes=("quiet", "loud"))
    with pytest.raises(InputError, match="silent"):
        lime.explain_audio(model, np.zeros(SAMPLE_RATE * 4, np.float32), "loud")
    with pytest.raises(ParameterError, match="no class 'jazz'"):
        lime.explain_audio(model, _noise_everywhere(), "jazz")
    with pytest.raises(ParameterError, match="'off'"):
        lime.explain_audio(model, _noise_everywhere(), "loud", off="black")
    with pytest.raises(ParameterError, match="more samples than segments"):
        lime.explain_audio(model, _noise_everywhere(), "loud", samples=15)
    with pytest.raises(ParameterError, match="outside the recording"):
        lime.explain_audio(model, _noise_everywhere(), "loud", start_s=10.0)


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
    from tests._fakes import two_voices as _two_voices

    piece = _two_voices(4)
    model = FakeAudioModel(StemNet(), classes=("low", "high"))
    r = lime.explain_stems(piece, model, "high", samples=100, stability_seeds=1)
    assert r.kind == "stems" and r.n_segments == 2 and r.fit.exact
    assert r.segments[int(r.fit.ranking[0])]["part_name"] == "Voice 2"
    np.testing.assert_allclose(r.mix([0, 1]), r.stems.sum(0))
