"""Engraving with verovio: whole scores, bar ranges cited by the piece's own bar numbers, clear refusals."""

from __future__ import annotations

import io
import re
import threading
import zipfile

import pytest

from tests._fakes import scale_piece
from xai.errors import InputError, ParameterError
from xai.symbolic import io as xio
from xai.symbolic import score

ABC = """X:1
T:Reel for tests
M:4/4
L:1/8
K:D
DFAF dFAF|GBdB gBdB|Acec A2FA|d2f2 d4|fgaf gfed|cdec BAGF|
"""


def _musicxml(n_bars: int = 6) -> bytes:
    from music21 import meter, note, stream
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    part = stream.Part()
    for b in range(n_bars):
        m = stream.Measure(number=b + 1)
        if b == 0:
            m.append(meter.TimeSignature("4/4"))
        for k in range(4):
            m.append(note.Note(60 + (b + k) % 12, quarterLength=1.0))
        part.append(m)
    s = stream.Score([part])
    return GeneralObjectExporter(s).parse()


def _measure_numbers(svg: str) -> list[str]:
    """The bar numbers printed in an SVG page (verovio's mNum elements)."""
    return re.findall(r'class="mNum[^"]*">\s*<text[^>]*>\s*<tspan[^>]*>\s*<tspan[^>]*>(\d+)<', svg)


@pytest.fixture(scope="module")
def xml_piece():
    return xio.load_bytes(_musicxml(), "six_bars.musicxml")


def test_whole_score_engraves_to_scalable_svg(xml_piece):
    pages = score.engrave(xml_piece)
    assert len(pages) >= 1
    assert pages[0].lstrip().startswith("<svg") and "viewBox" in pages[0][:200]
    assert pages[0].count('class="measure') == 6


def test_bar_range_shows_exactly_those_bars_with_their_numbers(xml_piece):
    (page,) = score.engrave(xml_piece, start_bar=3, end_bar=4)
    assert page.count('class="measure') == 2
    assert _measure_numbers(page) == ["3", "4"]


def test_compressed_musicxml_engraves(xml_piece):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "META-INF/container.xml",
            '<container><rootfiles><rootfile full-path="score.xml"/></rootfiles></container>',
        )
        z.writestr("score.xml", _musicxml())
    piece = xio.load_bytes(buf.getvalue(), "six_bars.mxl")
    assert score.engrave(piece)[0].count('class="measure') == 6
    assert score.engrave(piece, start_bar=6, end_bar=6)[0].count('class="measure') == 1


def test_abc_bar_numbers_follow_the_piece_not_music21():
    piece = xio.load_bytes(ABC.encode(), "reel.abc")
    assert piece.bar_numbers[0] == 1  # a full first bar is bar 1 in the Piece
    (page,) = score.engrave(piece, start_bar=2, end_bar=3)
    assert page.count('class="measure') == 2
    assert _measure_numbers(page) == ["2", "3"]


def test_midi_input_has_no_score_to_engrave():
    with pytest.raises(InputError, match="MIDI"):
        score.engrave(scale_piece(4))


def test_bad_options_are_refused_in_plain_words(xml_piece):
    with pytest.raises(InputError, match="comes after"):
        score.engrave(xml_piece, start_bar=5, end_bar=2)
    with pytest.raises(InputError, match="no bars numbered"):
        score.engrave(xml_piece, start_bar=40, end_bar=41)
    with pytest.raises(ParameterError, match="'width'"):
        score.engrave(xml_piece, width=5)


def test_max_pages_caps_a_long_score():
    long = xio.load_bytes(_musicxml(80), "eighty_bars.musicxml")
    pages = score.engrave(long, width=600, scale=80)
    assert len(pages) > 1
    assert len(score.engrave(long, width=600, scale=80, max_pages=1)) == 1


def test_engraving_works_in_a_new_thread(xml_piece):
    """Streamlit runs pages in worker threads, where verovio has no fonts unless told where they are."""
    out = {}

    def work():
        try:
            out["pages"] = score.engrave(xml_piece, start_bar=1, end_bar=2)
        except Exception as e:  # noqa: BLE001 - reported below
            out["error"] = e

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert "error" not in out, out.get("error")
    assert out["pages"][0].count('class="measure') == 2


def test_highlight_colours_one_voice_in_the_named_bars_or_whole_bars():
    from xai.symbolic import examples, io

    piece = io.load(examples.example_path("bach: bwv20.7"))
    svgs = score.engrave(piece, start_bar=1, end_bar=3)
    assert 'class="measure" data-n="2"' in svgs[0] and 'class="staff" data-n="4"' in svgs[0]
    marked = score.highlight(svgs, [(2, 1, "#D94801"), (3, None, "#2166AC")], n_parts=4)
    assert 'g.measure[data-n="2"] g.staff[data-n="2"] g.layer{fill:#D94801' in marked[0]
    assert 'g.measure[data-n="3"] g.layer{fill:#2166AC' in marked[0]
    # a score whose staves do not match its parts (e.g. a piano part on two staves): whole bars
    assert 'g.measure[data-n="2"] g.layer' in score.highlight(svgs, [(2, 1, "#D94801")], n_parts=3)[0]
    assert score.highlight(svgs, [], n_parts=4) == svgs
    with pytest.raises(ParameterError, match="hex colour"):
        score.highlight(svgs, [(2, 1, "red;}</style><script>")])
