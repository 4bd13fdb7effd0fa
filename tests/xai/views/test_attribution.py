"""Attribution figures: what each one draws (axes in bars / seconds, outlines, agreement values, thresholds)."""

import numpy as np
import pytest

from models import registry
from tests._fakes import FakeAudioModel, FakeModel, two_voices
from tests.xai.local.test_attribution import PlantedCellNet, PlantedRollNet
from xai.audio.dataset import CLIP_SAMPLES
from xai.local import attribution as attr
from xai.views import attribution as views


@pytest.fixture(scope="module")
def res():
    return attr.attribute_piece(two_voices(4), FakeModel(PlantedRollNet(), classes=("other", "planted")), "planted",
                                start_bar=1, segments="bars-voices", n_steps=8, randomised_layers=2,
                                compare_lime=True, lime_samples=50)


def test_input_map_is_the_piano_roll_with_bar_numbers_and_notes(res):
    fig = views.input_map(res)
    heat = fig.data[0]
    assert heat.type == "heatmap" and min(heat.y) <= 48 and max(heat.y) >= 72
    assert list(fig.layout.xaxis.ticktext) == ["1", "2", "3", "4"]
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 32  # every note outlined
    assert "Integrated Gradients" in fig.layout.title.text and "planted" in fig.layout.title.text
    assert heat.zmin == -heat.zmax or heat.zmin == 0  # centred on zero, or a one-sided scale


def test_grid_map_is_bars_by_voices_with_the_top_outlined(res):
    fig = views.grid_map(res, top_k=1)
    heat = fig.data[0]
    assert list(heat.x) == ["1", "2", "3", "4"] and list(heat.y) == ["Voice 1", "Voice 2"]
    z = np.asarray(heat.z, dtype=float)
    assert np.unravel_index(np.nanargmax(z), z.shape) == (1, 2)  # voice 2, bar 3
    (box,) = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (box.x0, box.y0) == (1.5, 0.5)


def test_agreement_includes_lime_and_randomisation_shows_the_threshold(res):
    fig = views.agreement_heatmap(res)
    assert list(fig.data[0].x)[-1] == "LIME" and len(fig.data[0].z) == len(res.methods) + 1
    assert fig.data[0].z[0][0] == pytest.approx(1.0)
    rfig = views.randomisation_plot(res)
    assert list(rfig.data[0].x) == ["trained", "+ fc", "+ conv"] and rfig.data[0].y[0] == 1.0
    assert rfig.layout.shapes[0].y0 == attr.RANDOMISATION_THRESHOLD


def test_deletion_and_tables(res):
    fig = views.deletion_plot(res)
    assert [t.name for t in fig.data] == ["Integrated Gradients", "Saliency", "Occlusion", "Grad-CAM", "random order"]
    assert fig.data[0].line.width == 3  # the chosen method stands out
    rows = views.baseline_rows(res)
    assert [r["baseline"] for r in rows] == ["silence (chosen)", "mean", "blurred"]
    assert all(abs(r["completeness gap"]) < 0.05 for r in rows)
    ranked = views.ranked_rows(res)
    assert ranked[0]["segment"] == "bar 3, Voice 2" and "LIME" in ranked[0] and len(ranked) == 8
    assert [r["method"] for r in views.agreement_rows(res)][0] == "Integrated Gradients"


def test_audio_maps_are_in_seconds_and_hz():
    x = (0.05 * np.random.default_rng(0).standard_normal(CLIP_SAMPLES)).astype(np.float32)
    r = attr.attribute_audio(x, FakeAudioModel(PlantedCellNet(13), classes=("quiet", "loud")), "loud", n_time=5,
                             n_bands=4, n_steps=8, randomised_layers=1, compare_lime=False, start_s=0.0)
    fig = views.input_map(r)
    assert fig.layout.xaxis.title.text == "seconds" and "Hz" in fig.layout.yaxis.ticktext[0]
    assert max(fig.data[0].x) < 4.1
    g = views.grid_map(r, top_k=1)
    assert np.asarray(g.data[0].z).shape == (4, 5)
    (box,) = [s for s in g.layout.shapes if s.type == "rect"]
    assert box.x0 == pytest.approx(3 * 0.8, abs=0.05)  # cell 13 = time 3, band 1


@pytest.mark.skipif("piano_composer" not in registry.available(), reason="piano_composer not shipped")
def test_seconds_model_maps_have_a_seconds_axis_and_bar_ticks():
    from tests.xai.local.test_attribution_seconds import piano_result

    r = piano_result()
    fig = views.input_map(r)
    assert fig.layout.xaxis.title.text == "seconds"
    assert r.start_s <= min(fig.data[0].x) and max(fig.data[0].x) <= r.end_s
    assert list(fig.layout.xaxis2.ticktext) == [f"bar {n}" for _, n in r.bar_ticks]  # bar numbers at the bar starts
    assert list(fig.layout.xaxis2.tickvals) == pytest.approx([t for t, _ in r.bar_ticks])
    assert len([s for s in fig.layout.shapes if s.type == "rect"]) == len(r.notes_s)  # every note outlined
    g = views.grid_map(r, top_k=1)
    assert g.layout.xaxis.title.text == "bars (clock time)" and all("(" in x for x in g.data[0].x)
    assert len(views.ranked_rows(r)) == r.n_segments


def test_method_names_are_the_printed_names_and_unknown_ones_pass_through():
    assert views.method_name("ig") == "Integrated Gradients" and views.method_name("gradcam") == "Grad-CAM"
    assert views.method_name("random") == "random order" and views.method_name("shap") == "shap"
