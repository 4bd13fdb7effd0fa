"""What every figure shares: the class and part palettes, fonts, the base layout, axis ticks.

Every figure that shows classes colours them through :func:`class_colors`, so *bach* has one colour on every
chart of a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from xai.symbolic.music import bars_text, note_name

__all__ = ['CLASS_PALETTE', 'PART_PALETTE', 'SILENT', 'FONT', 'class_colors', 'note_name', 'bars_text', 'rgba', 'base_layout', 'wrap_title', 'tick_step', 'pitch_ticks', 'part_colorscale']

# Tableau 10: distinct hues that stay apart for the common colour-vision deficiencies and print well.
CLASS_PALETTE = (
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#B07AA1",
    "#9C755F",
    "#76B7B2",
    "#EDC948",
    "#FF9DA7",
    "#BAB0AC",
)
# Parts of a score: dark, saturated colours that read well as thin notes on white.
PART_PALETTE = ("#1F3A5F", "#B3412B", "#2E7D32", "#6A3D9A", "#B8860B", "#00838F", "#AD1457", "#5D4037")
SILENT = "#D9D9D9"
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=14)


def class_colors(classes: Sequence[str]) -> dict[str, str]:
    """The colour of each class of a model, fixed by the order of its classes.

    Parameters
    ----------
    classes : sequence of str
        The model's classes in their output order (``prediction.classes``).

    Returns
    -------
    dict
        Class name -> hex colour; the same for every figure of the same model.
    """
    return {c: CLASS_PALETTE[i % len(CLASS_PALETTE)] for i, c in enumerate(classes)}


def rgba(hex_color: str, alpha: float) -> str:
    """'#4E79A7', 0.5 -> 'rgba(78,121,167,0.500)': a palette colour made see-through."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:.3f})"


def base_layout(fig: go.Figure, **kw) -> go.Figure:
    """The look every figure shares (white template, the app's font, narrow margins), then ``kw`` on top."""
    layout = dict(
        template="plotly_white", font=FONT, margin=dict(l=10, r=10, t=40, b=10), hoverlabel=dict(font_size=14)
    )
    fig.update_layout(**(layout | kw))
    return fig


def wrap_title(text: str, width: int = 44) -> str:
    """A chart title on two lines when it is longer than ``width`` characters.

    Plotly never wraps a title and cuts it at the figure's edge, so a title that fits a full-width chart is clipped
    in half a page at 1280 px. The break goes before a parenthesis or after a colon where there is one, else at
    the last space that fits.
    """
    if len(text) <= width or "<br>" in text:
        return text
    for sep, keep in ((" (", "("), (": ", ":")):
        i = text.find(sep)
        if 0 < i <= width:
            return text[:i] + (keep if keep == ":" else "") + "<br>" + ("(" if keep == "(" else "") + text[i + len(sep):]
    i = text.rfind(" ", 0, width)
    return text if i <= 0 else text[:i] + "<br>" + text[i + 1:]


def tick_step(n: int, max_ticks: int) -> int:
    """A round step (1, 2, 4, 5, 10, 20, ...) that keeps at most ``max_ticks`` labels on an axis."""
    for step in (1, 2, 4, 5, 8, 10, 16, 20, 25, 50, 100, 200, 500):
        if n / step <= max_ticks:
            return step
    return max(1, n // max_ticks)


def pitch_ticks(lo: int, hi: int) -> tuple[list[int], list[str]]:
    """Pitch-axis ticks between MIDI pitches ``lo`` and ``hi``: every C (every C, E and G on a narrow range)."""
    vals = [p for p in range(lo, hi + 1) if p % 12 == 0]
    if len(vals) < 2:  # a narrow range: label every C, E and G instead
        vals = [p for p in range(lo, hi + 1) if p % 12 in (0, 4, 7)]
    return vals, [note_name(p) for p in vals]


def part_colorscale(n_parts: int) -> list[list]:
    """A discrete colour scale for z = 2*part + 1 (sustain) and 2*part + 2 (onset): onsets darker."""
    scale = []
    n = 2 * n_parts
    for k in range(n_parts):
        base = PART_PALETTE[k % len(PART_PALETTE)]
        for j, alpha in enumerate((0.55, 1.0)):
            lo, hi = (2 * k + j) / n, (2 * k + j + 1) / n
            scale += [[lo, rgba(base, alpha)], [hi, rgba(base, alpha)]]
    return scale
