"""xai.export.report: a self-contained HTML report from sections; MIDI bundles; a discovered concept's report."""

from __future__ import annotations

import io
import zipfile

import mido
import numpy as np
import plotly.graph_objects as go
import pytest

from tests._fakes import FakeModel, RollNet, excerpt_set
from xai.concepts import discovery
from xai.errors import ParameterError
from xai.export import report


def _fig(title="f"):
    return go.Figure(go.Scatter(x=[0, 1], y=[1, 0]), layout=dict(title=title))


def test_report_holds_title_text_figures_table_and_audio_once_escaped():
    wav = b"RIFF0000WAVEfake"
    html = report.concept_report(
        "Bars <5–8> & more",
        [
            report.Section("First", "One paragraph.\n\nA <second> one.", figures=(_fig(), _fig()),
                           table=({"piece": "a/b.mxl", "bars": "5–8", "presence": 0.12345},)),
            report.Section("Sub", audio=(("bars 5–6", wav),), level=3),
        ],
        intro="Intro text",
        footer="made by a test",
    )
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "Bars &lt;5–8&gt; &amp; more" in html and "A &lt;second&gt; one." in html
    assert html.count("<h2>") == 1 and html.count("<h3>") == 1
    assert "<td>a/b.mxl</td>" in html and "<td>0.123</td>" in html
    assert "data:audio/wav;base64,UklGRjAwMDBXQVZFZmFrZQ==" in html
    assert html.count("plotly-graph-div") == 2
    assert html.count("Plotly.newPlot") >= 2
    assert html.count("plotly.js v") == 1  # the library inlined once, for the first figure only
    assert "made by a test" in html


def test_report_without_plotlyjs_and_bad_option():
    html = report.concept_report("t", [report.Section("s", figures=(_fig(),))], plotlyjs="none")
    assert "plotly.js v" not in html and "plotly-graph-div" in html
    cdn = report.concept_report("t", [report.Section("s", figures=(_fig(),))], plotlyjs="cdn")
    assert "cdn.plot.ly" in cdn and "plotly.js v" not in cdn
    with pytest.raises(ParameterError, match="'plotlyjs'"):
        report.concept_report("t", [], plotlyjs="maybe")


def test_midi_zip_numbers_repeated_names_and_safe_filenames():
    data = report.midi_zip([("a.mid", b"1"), ("a.mid", b"2"), ("b.mid", b"3")])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.namelist() == ["a.mid", "a_2.mid", "b.mid"] and z.read("a_2.mid") == b"2"
    assert report.safe_filename("essenFolksong/kinder0.abc#12") == "essenFolksong_kinder0.abc_12"
    assert report.safe_filename("///") == "file"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    ex = excerpt_set()
    d = discovery.discover(ex.X, FakeModel(RollNet()), y=ex.labels, layer="feat", n_concepts=3)
    return ex, d


def test_discovery_midi_has_one_readable_file_per_excerpt(result):
    ex, d = result
    data = report.discovery_midi(d, ex, 0, n=4)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert len(names) == 4 and names[0].startswith("01_") and all(n.endswith(".mid") for n in names)
        top = discovery.top_excerpts(d, 0, n=1, excerpts=ex)[0]
        assert f"bars{top['start_bar']}-{top['end_bar']}" in names[0]
        midi = mido.MidiFile(file=io.BytesIO(z.read(names[0])))
        notes = [m for t in midi.tracks for m in t if m.type == "note_on" and m.velocity > 0]
        assert len(notes) == ex.piece(top["excerpt"]).n_notes


def test_discovery_report_cites_bars_and_embeds_audio(result):
    ex, d = result
    html = report.discovery_report(d, ex, 1, n=2, n_least=1, name="rising line", description="Scales <up>.",
                                   plotlyjs="none")
    top = discovery.top_excerpts(d, 1, n=2, excerpts=ex)
    assert "<h1>rising line</h1>" in html and "Scales &lt;up&gt;." in html
    for r in top:
        assert f"{r['start_bar']}–{r['end_bar']}" in html and r["piece"] in html
    assert html.count("data:audio/wav;base64,") == 3  # two most, one least present
    assert html.count("plotly-graph-div") == 1 + 3  # importance + three rolls (no fidelity curve yet)
    quiet = report.discovery_report(d, ex, 1, n=2, n_least=1, audio=False, plotlyjs="none")
    assert "data:audio" not in quiet and np.isfinite(d.importance_).all()
