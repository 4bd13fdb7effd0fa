"""LIME figures and tables, drawn from hand-built results: the piano roll, the spectrogram grid, the weight bars,
the deletion curves and the ranking tables carry the explanation's numbers, labels and bar numbers."""

import numpy as np
import pytest

from tests._fakes import two_voices
from xai.local import lime, segments
from xai.views import local as views

WEIGHTS = np.array([0.05, 0.4, -0.2, 0.1])


def _fit(weights=WEIGHTS):
    w = np.asarray(weights, dtype=float)
    return lime.LimeFit(weights=w, intercept=0.1, r2=0.8, ranking=np.argsort(-w, kind="stable"), samples=16,
                        exact=True)


def _common(fit, segs, amount, baseline):
    S = len(segs)
    return dict(model="fake", classes=("no", "yes"), target=1, probability=0.9, fit=fit, segments=tuple(segs),
                amount=np.asarray(amount, dtype=float), baseline_name=baseline,
                rankings={"lime": fit.ranking, baseline: np.argsort(-np.asarray(amount), kind="stable"),
                          "random": np.arange(S)[::-1]},
                deletion={"k": list(range(S + 1)), "lime": list(np.linspace(0.9, 0.1, S + 1)),
                          baseline: list(np.linspace(0.9, 0.5, S + 1)), "random": [0.9] * (S + 1)},
                stability={"seeds": [0], "top_k": 2, "mean_jaccard": 1.0, "exact": True, "top": [[1, 3]]},
                options={"top_k": 2}, empty_probability=0.1)


@pytest.fixture
def piece_result():
    piece = two_voices(4)
    seg = segments.segment_notes(piece, kind="bars-voices", bars_per_segment=2)
    amount = [s["n_notes"] for s in seg.segments]
    return segments.PieceLime(kind=seg.kind, **_common(_fit(), seg.segments, amount, "notes"), piece=piece,
                              excerpt=piece, segmentation=seg)


@pytest.fixture
def audio_result():
    grid = lime.TimeBandGrid(2, 2, frames=10, bands=6, band_hz=tuple(100.0 * 2**i for i in range(6)))
    spec = np.arange(60, dtype=float).reshape(6, 10)
    return lime.AudioLime(kind="time-bands", **_common(_fit(), grid.segments(), [1, 2, 3, 4], "energy"), grid=grid,
                          spectrogram=spec)


def test_piece_heatmap_colours_each_segment_and_labels_bars(piece_result):
    fig = views.heatmap(piece_result, top_k=1)
    assert len(fig.data) == 4  # one trace per segment (bars 1-2 / 3-4 x two voices)
    by_name = {t.name: t for t in fig.data}
    top = piece_result.segments[1]["label"]
    assert by_name[top].marker.color[0] == pytest.approx(0.4) and by_name[top].marker.line.width == 1.5
    assert list(fig.layout.xaxis.ticktext) == ["1", "2", "3", "4"] and fig.layout.xaxis.title.text == "bar"
    assert fig.layout.yaxis.title.text == "pitch" and "C4" in fig.layout.yaxis.ticktext
    assert "'yes'" in fig.layout.title.text and "top 1" in fig.layout.title.text


def test_spectrogram_heatmap_lays_the_weights_over_the_grid(audio_result):
    fig = views.heatmap(audio_result, top_k=2)
    grey, weights = fig.data
    assert np.asarray(grey.z).shape == (6, 10)
    np.testing.assert_allclose(np.asarray(weights.z), WEIGHTS.reshape(2, 2).T)  # (bands, time)
    assert len(fig.layout.shapes) == 2  # the top-2 cells outlined
    assert fig.layout.xaxis.title.text == "seconds" and fig.layout.yaxis.title.text == "frequency band"
    assert fig.layout.yaxis.ticktext[0].endswith("Hz")


def test_weight_bars_for_stems_sorted_by_size(piece_result):
    fig = views.weights_bars(piece_result, k=3)
    bars = fig.data[0]
    assert list(bars.x) == pytest.approx([0.1, -0.2, 0.4])  # largest |weight| on top (last)
    assert list(bars.marker.color) == ["#b2182b", "#2166ac", "#b2182b"]
    assert fig.layout.xaxis.title.text == "weight"


def test_deletion_plot_draws_each_ranking(piece_result):
    fig = views.deletion_plot(piece_result)
    assert [t.name for t in fig.data] == ["LIME", "most notes", "random order"]
    assert list(fig.data[0].x) == [0, 1, 2, 3, 4] and fig.data[0].y[-1] == pytest.approx(0.1)
    assert fig.layout.xaxis.title.text == "segments removed (k)" and fig.layout.yaxis.title.text == "probability"


def test_ranking_tables(piece_result):
    rows = views.rankings_rows(piece_result, k=2)
    assert len(rows) == 2 and set(rows[0]) == {"rank", "LIME", "most notes", "random order"}
    assert rows[0]["LIME"].endswith("(+0.400)")
    ranked = views.ranked_rows(piece_result)
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4]
    assert [r["LIME weight"] for r in ranked] == [0.4, 0.1, 0.05, -0.2]
    assert all(r["most notes"] == 8 for r in ranked)  # two bars x four beats, one note a beat, per segment
