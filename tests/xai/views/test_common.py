"""xai.views.common: the palettes, the base layout and the axis helpers every figure shares."""

import plotly.graph_objects as go
import pytest

from xai.views import common


def test_class_colours_follow_class_order_and_wrap_past_the_palette():
    classes = [f"c{i}" for i in range(len(common.CLASS_PALETTE) + 2)]
    colours = common.class_colors(classes)
    assert colours["c0"] == common.CLASS_PALETTE[0] and colours["c1"] == common.CLASS_PALETTE[1]
    assert colours[f"c{len(common.CLASS_PALETTE)}"] == common.CLASS_PALETTE[0]
    assert common.class_colors(["b", "a"])["b"] == common.CLASS_PALETTE[0]  # by position, not by name


@pytest.mark.parametrize("start,end,text", [(5, 8, "bars 5–8"), (3, 3, "bar 3"), (0, 1, "bars 0–1")])
def test_bars_text(start, end, text):
    assert common.bars_text(start, end) == text


def test_rgba_reads_a_hex_colour():
    assert common.rgba("#4E79A7", 0.5) == "rgba(78,121,167,0.500)"
    assert common.rgba("000000", 1) == "rgba(0,0,0,1.000)"


def test_base_layout_sets_the_shared_look_and_lets_a_figure_override_it():
    fig = common.base_layout(go.Figure(), height=300, margin=dict(l=1, r=2, t=3, b=4))
    assert fig.layout.height == 300 and fig.layout.margin.l == 1 and fig.layout.margin.t == 3
    assert fig.layout.font.size == common.FONT["size"] and fig.layout.hoverlabel.font.size == 14


@pytest.mark.parametrize("n,max_ticks,step", [(10, 12, 1), (24, 12, 2), (100, 12, 10), (5000, 12, 500),
                                              (100_000, 10, 10_000)])
def test_tick_step_keeps_labels_under_the_limit(n, max_ticks, step):
    assert common.tick_step(n, max_ticks) == step
    assert n / common.tick_step(n, max_ticks) <= max_ticks


def test_pitch_ticks_name_every_c_or_c_e_g_on_a_narrow_range():
    assert common.pitch_ticks(40, 80) == ([48, 60, 72], ["C3", "C4", "C5"])
    vals, names = common.pitch_ticks(58, 70)
    assert vals == [60, 64, 67] and names == ["C4", "E4", "G4"]


def test_part_colorscale_has_a_light_sustain_and_a_dark_onset_band_per_part():
    scale = common.part_colorscale(2)
    assert len(scale) == 8 and scale[0][0] == 0 and scale[-1][0] == 1
    sustain, onset = scale[0][1], scale[2][1]
    assert sustain == common.rgba(common.PART_PALETTE[0], 0.55) and onset == common.rgba(common.PART_PALETTE[0], 1.0)
    assert scale[4][1] == common.rgba(common.PART_PALETTE[1], 0.55)


@pytest.mark.parametrize(("text", "width", "wrapped"), [
    ("Short title", 44, "Short title"),
    ("Probability of each class over the piece (windows of 16 quarters)", 44,
     "Probability of each class over the piece<br>(windows of 16 quarters)"),
    ("Composer model: what it relies on in bars 1 to 8 of the chorale", 44,
     "Composer model:<br>what it relies on in bars 1 to 8 of the chorale"),
    ("one two three four five six seven eight nine ten", 20, "one two three four<br>five six seven eight nine ten"),
    ("Already<br>on two lines, however long the first line may be", 10, "Already<br>on two lines, however long the "
     "first line may be"),
    ("Unbreakablewordlongerthanthewidth", 10, "Unbreakablewordlongerthanthewidth"),
])
def test_wrap_title_breaks_long_titles_before_a_parenthesis_after_a_colon_or_at_a_space(text, width, wrapped):
    assert common.wrap_title(text, width) == wrapped
