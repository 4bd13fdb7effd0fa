"""Figures: pure functions from results (pieces, predictions) to plotly figures and plain tables.

Nothing here computes an explanation or touches a model; each function only draws what it is given, so a
page, a report or a notebook shows the same picture. Every figure that shows classes colours them through
:func:`class_colors`, so *bach* has one colour on every chart of a model.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from . import music
from .predict import Prediction

if TYPE_CHECKING:
    from .tcav import TCAVResult

__all__ = [
    "CLASS_PALETTE",
    "PART_PALETTE",
    "class_colors",
    "note_name",
    "bars_text",
    "window_caption",
    "window_rows",
    "probability_bars",
    "prediction_timeline",
    "piano_roll",
    "listening_wav",
    "selection_bars",
    "tcav_scores",
    "concept_strip",
    "concept_by_bar",
]

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
_SILENT = "#D9D9D9"
_NOTE_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
_FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=14)


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


def note_name(midi: int) -> str:
    """Scientific pitch name of a MIDI number (60 -> 'C4')."""
    midi = int(midi)
    return f"{_NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def bars_text(start_bar: int, end_bar: int) -> str:
    """'bars 5–8' (or 'bar 5' for one bar): how a span is cited in the app."""
    return f"bar {start_bar}" if start_bar == end_bar else f"bars {start_bar}–{end_bar}"


def window_caption(prediction: Prediction, index: int) -> str:
    """One line naming a window and its reading, e.g. 'bars 5–8 · bach 0.91' or 'bars 9–12 · silent'."""
    w = prediction.windows[index]
    probs = prediction.window_probabilities[index]
    if np.isnan(probs).any():
        return f"{bars_text(w.start_bar, w.end_bar)} · silent"
    k = int(np.argmax(probs))
    return f"{bars_text(w.start_bar, w.end_bar)} · {prediction.classes[k]} {probs[k]:.2f}"


def window_rows(prediction: Prediction) -> list[dict]:
    """The windows of a prediction as table rows: bars, beats, label, confidence and every class's probability.

    Silent windows have an empty label and no probabilities (the model does not read them).
    """
    rows = []
    for w, probs in zip(prediction.windows, prediction.window_probabilities, strict=True):
        silent = bool(np.isnan(probs).any())
        k = None if silent else int(np.argmax(probs))
        row = {
            "window": w.index + 1,
            "bars": bars_text(w.start_bar, w.end_bar),
            "start_bar": w.start_bar,
            "end_bar": w.end_bar,
            "start_beat": w.start_beat,
            "end_beat": w.end_beat,
            "label": "" if silent else prediction.classes[k],
            "confidence": None if silent else round(float(probs[k]), 4),
        }
        for c, p in zip(prediction.classes, probs, strict=True):
            row[c] = None if silent else round(float(p), 4)
        rows.append(row)
    return rows


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:.3f})"


def _base_layout(fig: go.Figure, **kw) -> go.Figure:
    layout = dict(
        template="plotly_white", font=_FONT, margin=dict(l=10, r=10, t=40, b=10), hoverlabel=dict(font_size=14)
    )
    fig.update_layout(**(layout | kw))
    return fig


def probability_bars(prediction: Prediction) -> go.Figure:
    """Horizontal bars of the piece-level probability of every class, most likely on top.

    The predicted class is drawn in full colour with its value in bold; the others are faded so the answer
    is seen first and the runners-up second.

    Parameters
    ----------
    prediction : Prediction
        From :func:`xai.predict.classify`.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    classes = list(prediction.classes)
    p = np.asarray(prediction.piece_probabilities, dtype=float)
    order = np.argsort(-p, kind="stable")
    colors = class_colors(classes)
    top = classes[int(order[0])]
    ys = [classes[i] for i in order][::-1]  # plotly draws the first category at the bottom
    xs = [float(p[i]) for i in order][::-1]
    fig = go.Figure(
        go.Bar(
            x=xs,
            y=ys,
            orientation="h",
            marker=dict(
                color=[colors[c] if c == top else _rgba(colors[c], 0.35) for c in ys],
                line=dict(color=["#222" if c == top else "rgba(0,0,0,0)" for c in ys], width=1.5),
            ),
            text=[f"<b>{x:.2f}</b>" if c == top else f"{x:.2f}" for c, x in zip(ys, xs, strict=True)],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: p = %{x:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1.12], title_text="probability", tickformat=".1f", dtick=0.2)
    fig.update_yaxes(
        tickmode="array",
        tickvals=ys,
        ticktext=[f"<b>{c}</b>" if c == top else c for c in ys],
    )
    return _base_layout(
        fig,
        title=dict(text="Whole piece", x=0, xanchor="left"),
        height=max(200, 38 * len(classes) + 90),
        showlegend=False,
        bargap=0.25,
    )


def _tick_step(n: int, max_ticks: int) -> int:
    """A round step (1, 2, 4, 5, 10, 20, ...) that keeps at most ``max_ticks`` labels on an axis."""
    for step in (1, 2, 4, 5, 8, 10, 16, 20, 25, 50, 100, 200, 500):
        if n / step <= max_ticks:
            return step
    return max(1, n // max_ticks)


def prediction_timeline(prediction: Prediction, *, kind: str = "stacked") -> go.Figure:
    """Each class's probability in each window, in the order the windows occur in the piece.

    One column per window (``kind='stacked'``: the class probabilities stacked to 1) or one line per class
    (``kind='lines'``). Windows are labelled by the bars they cover; silent windows, which the model does not
    read, are left as gaps.

    Parameters
    ----------
    prediction : Prediction
        From :func:`xai.predict.classify`.
    kind : {'stacked', 'lines'}
        Stacked columns (how the answer is shared out) or lines (how each class rises and falls).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if kind not in ("stacked", "lines"):
        from .errors import ParameterError

        raise ParameterError(f"The 'kind' parameter must be 'stacked' or 'lines', got {kind!r}.")
    classes = list(prediction.classes)
    colors = class_colors(classes)
    probs = np.asarray(prediction.window_probabilities, dtype=float)
    n = len(prediction.windows)
    x = np.arange(n)
    labels = [bars_text(w.start_bar, w.end_bar) for w in prediction.windows]
    fig = go.Figure()
    for k, c in enumerate(classes):
        y = probs[:, k] if n else np.zeros(0)
        common = dict(
            x=x,
            y=y,
            name=c,
            customdata=labels,
            hovertemplate=f"%{{customdata}}<br>{c}: %{{y:.2f}}<extra></extra>",
        )
        if kind == "stacked":
            fig.add_trace(go.Bar(marker=dict(color=colors[c], line=dict(width=0)), **common))
        else:
            fig.add_trace(
                go.Scatter(mode="lines+markers", line=dict(color=colors[c], width=2), connectgaps=False, **common)
            )
    silent = [i for i in range(n) if np.isnan(probs[i]).any()]
    for i in silent:
        fig.add_vrect(x0=i - 0.5, x1=i + 0.5, fillcolor=_SILENT, opacity=0.35, line_width=0, layer="below")
    if silent and len(silent) <= 30:
        fig.add_trace(
            go.Scatter(
                x=silent,
                y=[0.5] * len(silent),
                mode="text",
                text=["silent"] * len(silent),
                textfont=dict(color="#777", size=11),
                hovertemplate="%{customdata}: silent (not read by the model)<extra></extra>",
                customdata=[labels[i] for i in silent],
                showlegend=False,
            )
        )
    step = _tick_step(n, 12)
    ticks = list(range(0, n, step))
    fig.update_xaxes(
        tickmode="array",
        tickvals=ticks,
        ticktext=[labels[i] for i in ticks],
        range=[-0.6, n - 0.4],
        tickangle=-30 if n > 6 else 0,
    )
    fig.update_yaxes(range=[0, 1.0 if kind == "stacked" else 1.05], title_text="probability", dtick=0.25)
    return _base_layout(
        fig,
        title=dict(text="Over time, window by window", x=0, xanchor="left", y=0.98, yanchor="top"),
        barmode="stack",
        bargap=0.08,
        height=400,
        hovermode="x unified" if kind == "lines" else "closest",
        # Above the plot, under the title: below it the legend would collide with slanted bar labels.
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, traceorder="normal"),
        margin=dict(l=10, r=10, t=95, b=10),
    )


def _pitch_ticks(lo: int, hi: int) -> tuple[list[int], list[str]]:
    vals = [p for p in range(lo, hi + 1) if p % 12 == 0]
    if len(vals) < 2:  # a narrow range: label every C, E and G instead
        vals = [p for p in range(lo, hi + 1) if p % 12 in (0, 4, 7)]
    return vals, [note_name(p) for p in vals]


def _part_colorscale(n_parts: int) -> list[list]:
    """A discrete colour scale for z = 2*part + 1 (sustain) and 2*part + 2 (onset): onsets darker."""
    scale = []
    n = 2 * n_parts
    for k in range(n_parts):
        base = PART_PALETTE[k % len(PART_PALETTE)]
        for j, alpha in enumerate((0.55, 1.0)):
            lo, hi = (2 * k + j) / n, (2 * k + j + 1) / n
            scale += [[lo, _rgba(base, alpha)], [hi, _rgba(base, alpha)]]
    return scale


def piano_roll(
    piece: music.Piece,
    *,
    prediction: Prediction | None = None,
    highlight: Sequence[int] = (),
    selected: int | None = None,
    key_bars: bool = True,
) -> go.Figure:
    """The notes of a piece over time (beats) and pitch, with its bars and the model's windows.

    The notes are drawn on the grid the model reads (sixteenth notes, :data:`xai.music.STEPS_PER_QUARTER`
    steps per quarter) as a single heatmap, one colour per part and a darker cell where a note starts, so a
    long piece draws as fast as a short one. An invisible marker at each note start carries the hover text
    (pitch, part, bar) and makes notes box-selectable (the layout's ``dragmode`` is ``'select'``).

    With a prediction, its windows form a lane of light bands above the notes, coloured by the class the
    model hears in each (silent windows grey); overlapping windows alternate between two rows. The
    ``highlight`` windows are outlined across the notes and numbered, and the ``selected`` window is shaded.

    Parameters
    ----------
    piece : Piece
        The music.
    prediction : Prediction, optional
        The model's reading of the same piece; its windows are drawn.
    highlight : sequence of int
        Indices of windows to outline (e.g. ``prediction.most_confident(3)``).
    selected : int, optional
        Index of the window to emphasise.
    key_bars : bool
        Draw bar lines and label the time axis with bar numbers (along the top); otherwise label it in beats.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    spq = music.STEPS_PER_QUARTER
    length = max(piece.length, float(piece.bar_starts[-1]) if piece.bar_starts.size else 0.0, 1.0)
    wins = list(prediction.windows) if prediction is not None else []
    x_end = max([length] + [w.end_beat for w in wins])
    T = int(np.ceil(length * spq))

    if piece.n_notes:
        pitches = music._fold_pitch(np.asarray(piece.pitches))
        lo, hi = int(pitches.min()) - 2, int(pitches.max()) + 2
    else:
        pitches = np.zeros(0, dtype=np.int64)
        lo, hi = 55, 79
    lo, hi = max(lo, music.PITCH_LOW), min(hi, music.PITCH_HIGH)
    n_parts = max(len(piece.part_names), 1)

    # z = NaN (no note), 2k+1 (part k sounding), 2k+2 (part k starts a note); later parts draw over earlier.
    z = np.full((hi - lo + 1, T), np.nan, dtype=np.float32)
    for k in range(n_parts):
        sel = piece.parts == k
        if not np.any(sel):
            continue
        part = music.Piece(
            title=piece.title,
            onsets=piece.onsets[sel],
            durations=piece.durations[sel],
            pitches=piece.pitches[sel],
            velocities=piece.velocities[sel],
            parts=piece.parts[sel],
            part_names=piece.part_names,
            bar_starts=piece.bar_starts,
            bar_numbers=piece.bar_numbers,
        )
        roll = music.piano_roll(part, n_steps=T)[:, lo - music.PITCH_LOW : hi - music.PITCH_LOW + 1]
        z[roll[1] > 0] = 2 * k + 1
        z[roll[0] > 0] = 2 * k + 2

    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            z=z,
            x0=0.5 / spq,
            dx=1.0 / spq,
            y0=lo,
            dy=1,
            zmin=0.5,
            zmax=2 * n_parts + 0.5,
            colorscale=_part_colorscale(n_parts),
            showscale=False,
            hoverinfo="skip",
            name="notes",
        )
    )
    if piece.n_notes:
        bars = np.array([piece.bar_at(b) for b in piece.onsets])
        names = [note_name(p) for p in piece.pitches]
        parts = [piece.part_names[k] if k < len(piece.part_names) else f"Part {k + 1}" for k in piece.parts]
        fig.add_trace(
            go.Scatter(
                x=piece.onsets + 0.5 / spq,
                y=pitches,
                mode="markers",
                marker=dict(size=6, color="rgba(0,0,0,0)"),
                customdata=np.stack([names, parts, bars.astype(str), piece.durations.round(3).astype(str)], axis=1),
                hovertemplate="%{customdata[0]} · %{customdata[1]}<br>bar %{customdata[2]}, beat %{x:.2f}"
                ", length %{customdata[3]} quarters<extra></extra>",
                showlegend=False,
                name="note starts",
            )
        )
    # A legend entry per part (the heatmap itself has none).
    if n_parts > 1:
        for k, name in enumerate(piece.part_names):
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    marker=dict(symbol="square", size=12, color=PART_PALETTE[k % len(PART_PALETTE)]),
                    name=name,
                    showlegend=True,
                )
            )

    shapes: list[dict] = []
    annotations: list[dict] = []
    if key_bars and piece.bar_starts.size:
        # All bar lines as one line trace with gaps: far cheaper to draw than one shape per bar.
        bx = np.repeat(piece.bar_starts, 3).astype(object)
        by = np.tile(np.array([lo - 0.5, hi + 0.5, None], dtype=object), piece.bar_starts.size)
        bx[2::3] = None
        fig.add_trace(
            go.Scatter(
                x=bx,
                y=by,
                mode="lines",
                line=dict(color="rgba(90,90,90,0.35)", width=1),
                hoverinfo="skip",
                showlegend=False,
                name="bar lines",
            )
        )

    lane = prediction is not None and len(wins) > 0
    if lane:
        colors = class_colors(prediction.classes)
        labels = prediction.window_labels()
        probs = prediction.window_probabilities
        # Two rows above the notes: consecutive windows overlap (hop < length), so they alternate rows.
        row_h = max(1.2, (hi - lo) * 0.045)
        lane_lo = hi + 0.8
        for i, w in enumerate(wins):
            y0 = lane_lo + (i % 2) * (row_h + 0.3)
            lab = labels[i]
            conf = 0.0 if lab is None else float(np.nanmax(probs[i]))
            fill = _SILENT if lab is None else colors[lab]
            alpha = 0.25 + 0.55 * conf if lab is not None else 0.6
            shapes.append(
                dict(
                    type="rect",
                    x0=w.start_beat,
                    x1=w.end_beat,
                    y0=y0,
                    y1=y0 + row_h,
                    fillcolor=_rgba(fill, alpha),
                    line=dict(color="white", width=1),
                    layer="above",
                )
            )
        lane_hi = lane_lo + 2 * row_h + 0.3
        # Hover for the lane: one invisible point in the middle of each window band.
        fig.add_trace(
            go.Scatter(
                x=[(w.start_beat + w.end_beat) / 2 for w in wins],
                y=[lane_lo + (i % 2) * (row_h + 0.3) + row_h / 2 for i in range(len(wins))],
                mode="markers",
                marker=dict(size=14, color="rgba(0,0,0,0)"),
                text=[window_caption(prediction, i) for i in range(len(wins))],
                hovertemplate="window %{customdata}: %{text}<extra></extra>",
                customdata=[i + 1 for i in range(len(wins))],
                showlegend=False,
                name="windows",
            )
        )
        for rank, i in enumerate(h for h in highlight if 0 <= h < len(wins)):
            w = wins[i]
            lab = labels[i]
            col = colors[lab] if lab is not None else "#555"
            shapes.append(
                dict(
                    type="rect",
                    x0=w.start_beat,
                    x1=w.end_beat,
                    y0=lo - 0.5,
                    y1=lane_hi,
                    line=dict(color=col, width=3),
                    fillcolor="rgba(0,0,0,0)",
                    layer="above",
                )
            )
            right = w.start_beat > 0.6 * x_end  # label towards the middle, so it is never cut at an edge
            annotations.append(
                dict(
                    x=w.end_beat if right else w.start_beat,
                    y=rank,  # a row number for now: placed once the figure's height is known
                    xanchor="right" if right else "left",
                    yanchor="bottom",
                    text=f"<b>#{rank + 1}</b> {window_caption(prediction, i)}",
                    showarrow=False,
                    font=dict(size=12, color="#222"),
                    bgcolor="rgba(255,255,255,0.85)",
                    bordercolor=col,
                    borderwidth=1,
                )
            )
        if selected is not None and 0 <= selected < len(wins):
            w = wins[selected]
            shapes.append(
                dict(
                    type="rect",
                    x0=w.start_beat,
                    x1=w.end_beat,
                    y0=lo - 0.5,
                    y1=lane_hi,
                    fillcolor="rgba(255,215,0,0.16)",
                    line=dict(color="#222", width=2, dash="dot"),
                    layer="below",
                )
            )
        y_top = lane_hi + 0.3
    else:
        y_top = hi + 0.5

    if key_bars and piece.bar_starts.size:
        step = _tick_step(piece.bar_starts.size, 25)
        keep = [i for i, b in enumerate(piece.bar_numbers) if i == 0 or (b % step == 0)]
        fig.update_xaxes(
            tickmode="array",
            tickvals=[float(piece.bar_starts[i]) for i in keep],
            ticktext=[str(int(piece.bar_numbers[i])) for i in keep],
            side="top",
            title_text="bar",
            title_standoff=4,
        )
    else:
        fig.update_xaxes(title_text="beats (quarter notes)")
    fig.update_xaxes(range=[0, x_end], showgrid=False, zeroline=False, ticks="outside")
    tv, tt = _pitch_ticks(lo, hi)
    fig.update_yaxes(
        range=[lo - 0.5, y_top],
        tickmode="array",
        tickvals=tv,
        ticktext=tt,
        title_text="pitch",
        showgrid=True,
        gridcolor="rgba(0,0,0,0.06)",
        zeroline=False,
        fixedrange=False,
    )
    height = int(np.clip(9 * (y_top - lo) + 120, 320, 720))
    # Overlapping windows would stack their labels on one line: give each rank its own row (~20 px).
    units_per_px = (y_top - lo + 0.5) / max(height - 110, 100)
    for a in annotations:
        a["y"] = lo - 0.5 + a["y"] * 20 * units_per_px
    return _base_layout(
        fig,
        shapes=shapes,
        annotations=annotations,
        dragmode="select",
        height=height,
        margin=dict(l=10, r=10, t=60, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.02, xanchor="left", x=0),
        hovermode="closest",
        plot_bgcolor="white",
    )


def listening_wav(wav: bytes, *, sample_rate: int = 22050) -> bytes:
    """A smaller copy of a WAV for playing in a browser: mono, ``sample_rate`` Hz, 16 bit.

    The synthesiser writes 48 kHz stereo (about 11 MB a minute); mono at 22.05 kHz is a quarter of that and
    sounds the same for judging notes and textures, so a whole piece can be sent to the page.
    """
    from scipy.signal import resample_poly

    with wave.open(io.BytesIO(wav)) as w:
        n_ch, rate, width, n = w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getnframes()
        frames = w.readframes(n)
    if width != 2:
        return wav
    x = np.frombuffer(frames, dtype="<i2").astype(np.float32).reshape(-1, n_ch).mean(axis=1)
    if rate != sample_rate:
        g = np.gcd(int(rate), int(sample_rate))
        x = resample_poly(x, sample_rate // g, rate // g)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes())
    return out.getvalue()


def selection_bars(piece: music.Piece, start_beat: float, end_beat: float) -> tuple[int, int]:
    """The bars a box selected on :func:`piano_roll` touches: (first bar, last bar), as printed.

    The piano roll's time axis is in beats; a box that starts or ends inside a bar takes the whole bar, unless
    it reaches less than a quarter note into it (a hand-drawn box rarely stops exactly on a bar line). A box
    reaching past either end of the piece stops at its first or last bar.

    Parameters
    ----------
    piece : Piece
        The piece the piano roll shows.
    start_beat, end_beat : float
        The box's x range (in either order).

    Returns
    -------
    tuple of int
    """
    lo, hi = sorted((float(start_beat), float(end_beat)))
    first = float(piece.bar_starts[0]) if piece.bar_starts.size else 0.0
    last = max(piece.length, float(piece.bar_starts[-1]) if piece.bar_starts.size else 0.0)
    lo = min(max(lo, first), last)
    hi = min(max(hi, lo), last)
    slack = min(_SELECTION_SLACK, (hi - lo) / 2)
    start = piece.bar_at(lo + slack)
    return start, max(piece.bar_at(max(hi - slack - 1e-6, lo)), start)


_SELECTION_SLACK = 0.25  # quarters a box may overlap a bar without taking it
_NOT_SIGNIFICANT = "#9E9E9E"
_RANDOM = "#BDBDBD"


def _p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}" if p < 0.1 else f"p={p:.2f}"


def tcav_scores(result: TCAVResult, *, classes: Sequence[str] | None = None) -> go.Figure:
    """The concept's TCAV scores over the runs next to those of random directions, per class and layer.

    Each (target, layer) gets two boxes with every run as a dot: the concept's CAVs (left) and the
    random-vs-random CAVs (right, light grey), which are what the concept is tested against. A significant
    result (after correction, with accurate CAVs) is drawn in its class's colour and starred with its p-value
    above; a result random directions match as often is greyed out and marked 'n.s.'.

    Parameters
    ----------
    result : TCAVResult
        From :func:`xai.tcav.score` or :func:`xai.tcav.relative_score`.
    classes : sequence of str, optional
        The model's classes in output order, so each class keeps the colour it has on every other chart
        (default: the result's targets in their order).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    colors = class_colors(list(classes) if classes is not None else list(result.targets))
    multi = len(result.layers) > 1
    scores = np.asarray(result.scores, dtype=float)
    rscores = np.asarray(result.random_scores, dtype=float)
    R = scores.shape[2]
    what = f"'{result.concept}'" + (f" rather than '{result.relative_to}'" if result.relative_to else "")
    fig = go.Figure()
    cats, ticks, annotations = [], [], []
    shown = set()
    for j, layer in enumerate(result.layers):
        for t, target in enumerate(result.targets):
            cat = f"{target} · {layer}" if multi else target
            sig = bool(result.significant[t, j])
            col = colors.get(target, CLASS_PALETTE[t % len(CLASS_PALETTE)]) if sig else _NOT_SIGNIFICANT
            kind = "significant" if sig else "not significant"
            cats.append(cat)
            ticks.append(f"<b>★ {cat}</b>" if sig else cat)
            p = float(result.p_corrected[t, j])
            fig.add_trace(
                go.Box(
                    y=scores[t, j],
                    x=[cat] * R,
                    name=f"{what}: {kind}",
                    legendgroup=kind,
                    showlegend=kind not in shown,
                    offsetgroup="concept",
                    marker=dict(color=col, size=5),
                    line=dict(color=col, width=2 if sig else 1),
                    fillcolor=_rgba(col, 0.45 if sig else 0.15),
                    boxpoints="all",
                    jitter=0.5,
                    pointpos=0,
                    hovertemplate=f"{cat}<br>concept run: %{{y:.2f}}<extra></extra>",
                )
            )
            shown.add(kind)
            fig.add_trace(
                go.Box(
                    y=rscores[t, j],
                    x=[cat] * R,
                    name="random directions",
                    legendgroup="random",
                    showlegend="random" not in shown,
                    offsetgroup="random",
                    marker=dict(color=_RANDOM, size=4),
                    line=dict(color="#9A9A9A", width=1),
                    fillcolor=_rgba(_RANDOM, 0.25),
                    boxpoints="all",
                    jitter=0.5,
                    pointpos=0,
                    hovertemplate=f"{cat}<br>random run: %{{y:.2f}}<extra></extra>",
                )
            )
            shown.add("random")
            annotations.append(
                dict(
                    x=cat,
                    y=1.02,
                    yanchor="bottom",
                    text=f"<b>★ {_p_text(p)}</b>" if sig else f"n.s. ({_p_text(p)})",
                    showarrow=False,
                    font=dict(size=12, color="#222" if sig else "#888"),
                )
            )
    fig.update_xaxes(tickmode="array", tickvals=cats, ticktext=ticks, tickangle=-30 if len(cats) > 8 else 0)
    fig.update_yaxes(range=[-0.03, 1.12], dtick=0.25, title_text="TCAV score", zeroline=False)
    return _base_layout(
        fig,
        title=dict(
            text=f"{what} against random directions, {R} runs each"
            if not result.relative_to
            else f"{what}, {R} runs each, against random directions",
            x=0,
            xanchor="left",
        ),
        boxmode="group",
        boxgroupgap=0.25,
        boxgap=0.15,
        annotations=annotations,
        height=440,
        legend=dict(orientation="h", yanchor="top", y=-0.12 if len(cats) <= 8 else -0.25, xanchor="left", x=0),
        margin=dict(l=10, r=10, t=50, b=10),
    )


def _strip_profile(piece: music.Piece, windows: Sequence[music.Window], values, n: int) -> np.ndarray:
    """Mean value of the sounding windows that cover each quarter 0..n-1 (NaN where none does)."""
    total, count = np.zeros(n), np.zeros(n)
    for w, v in zip(windows, np.asarray(values, dtype=float)):
        if w.n_notes == 0 or not np.isfinite(v):
            continue
        a, b = max(int(np.floor(w.start_beat)), 0), min(int(np.ceil(w.end_beat)), n)
        total[a:b] += v
        count[a:b] += 1
    return np.divide(total, count, out=np.full(n, np.nan), where=count > 0)


def concept_by_bar(piece: music.Piece, windows: Sequence[music.Window], values) -> list[dict]:
    """How strongly each bar carries the concept: the mean value of the sounding windows that cover it.

    Parameters
    ----------
    piece : Piece
    windows : sequence of Window
        The windows the values belong to (from :func:`xai.music.encode`); silent ones are left out.
    values : array-like
        One value per window, e.g. cosine similarities from :func:`xai.tcav.concept_strip`.

    Returns
    -------
    list of dict
        One row per bar, in order: ``bar``, ``start_beat``, ``end_beat``, ``value`` (None for a bar no
        sounding window covers).
    """
    vals = np.asarray(values, dtype=float)
    starts = np.asarray(piece.bar_starts, dtype=float)
    ends = np.r_[starts[1:], max(piece.length, starts[-1] if starts.size else 0.0)]
    rows = []
    for b, s, e in zip(piece.bar_numbers, starts, ends):
        cover = [
            v
            for w, v in zip(windows, vals)
            if w.n_notes and np.isfinite(v) and w.start_beat < max(e, s + 1e-6) and w.end_beat > s
        ]
        rows.append(
            {
                "bar": int(b),
                "start_beat": float(s),
                "end_beat": float(e),
                "value": round(float(np.mean(cover)), 4) if cover else None,
            }
        )
    return rows


# Blue (away from the concept) - white - red (towards it): diverging, readable by common colour deficiencies.
_DIVERGING = [[0.0, "#2166AC"], [0.25, "#92C5DE"], [0.5, "#F7F7F7"], [0.75, "#F4A582"], [1.0, "#B2182B"]]


def concept_strip(
    piece: music.Piece,
    windows: Sequence[music.Window],
    values,
    *,
    concept: str = "concept",
    layer: str | None = None,
    baseline: float = 0.0,
) -> go.Figure:
    """Where in a piece the model sees a concept: a coloured strip over the piece's piano roll, bar by bar.

    Each quarter of the strip shows the mean value of the (overlapping) windows that contain it, so with a
    small hop the strip follows the music closely; red is above ``baseline`` (towards the concept), blue below
    it, white at it, and blank where no window sounds. The strip shares its time axis (bar numbers along the
    top) with the :func:`piano_roll` below it, so a red stretch sits over the notes that cause it.

    A baseline matters because similarities at a ReLU layer are rarely negative: against 0 a whole piece
    would look red. The value random excerpts get (e.g. the random pool's mean similarity) makes white mean
    "as much of the concept as a random excerpt".

    Parameters
    ----------
    piece : Piece
    windows : sequence of Window
        The windows the values belong to (from :func:`xai.music.encode`).
    values : array-like
        One value per window, e.g. cosine similarity with a CAV from :func:`xai.tcav.concept_strip`.
    concept : str
        The concept's name, for the labels.
    layer : str, optional
        The layer the values come from, for the title.
    baseline : float
        The value drawn white (default 0).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    from plotly.subplots import make_subplots

    roll = piano_roll(piece)
    x_end = max(float(roll.layout.xaxis.range[1]), max((w.end_beat for w in windows), default=0.0))
    n = int(np.ceil(x_end))
    profile = _strip_profile(piece, windows, values, n)
    finite = profile[np.isfinite(profile)]
    spread = float(np.max(np.abs(finite - baseline))) if finite.size else 1.0
    spread = spread or 1.0
    bars = [str(piece.bar_at(k + 0.5)) for k in range(n)]
    piano_h = int(roll.layout.height or 400)
    strip_px = 46
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.02,
        row_heights=[strip_px / (strip_px + piano_h), piano_h / (strip_px + piano_h)],
    )
    fig.add_trace(
        go.Heatmap(
            z=[profile.tolist()],
            x0=0.5,
            dx=1.0,
            y=[concept],
            zmid=float(baseline),
            zmin=baseline - spread,
            zmax=baseline + spread,
            colorscale=_DIVERGING,
            customdata=[bars],
            hovertemplate=f"bar %{{customdata}}, beat %{{x:.0f}}<br>'{concept}': %{{z:.2f}}<extra></extra>",
            colorbar=dict(
                title=dict(text="towards<br>concept", side="right", font=dict(size=12)),
                thickness=12,
                len=0.35,
                y=1.0,
                yanchor="top",
                tickformat=".2f",
            ),
            name="concept",
        ),
        row=1,
        col=1,
    )
    for tr in roll.data:
        fig.add_trace(tr, row=2, col=1)
    xa = roll.layout.xaxis
    fig.update_xaxes(range=[0, x_end], showgrid=False, zeroline=False)
    fig.update_xaxes(
        tickmode=xa.tickmode,
        tickvals=xa.tickvals,
        ticktext=xa.ticktext,
        side="top",
        showticklabels=True,
        ticks="outside",
        title_text="bar" if xa.tickvals else "beats (quarter notes)",
        title_standoff=4,
        row=1,
        col=1,
    )
    fig.update_xaxes(showticklabels=False, row=2, col=1)
    ya = roll.layout.yaxis
    fig.update_yaxes(showticklabels=False, fixedrange=True, row=1, col=1)
    fig.update_yaxes(
        range=ya.range,
        tickmode="array",
        tickvals=ya.tickvals,
        ticktext=ya.ticktext,
        title_text="pitch",
        gridcolor="rgba(0,0,0,0.06)",
        zeroline=False,
        row=2,
        col=1,
    )
    title = f"Where the model sees '{concept}'" + (f" (at {layer})" if layer else "")
    return _base_layout(
        fig,
        title=dict(text=title, x=0, xanchor="left", y=0.995, yanchor="top"),
        height=piano_h + strip_px + 60,
        margin=dict(l=10, r=10, t=90, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.02, xanchor="left", x=0),
        hovermode="closest",
        plot_bgcolor="white",
        dragmode="zoom",
    )


# --------------------------------------------------------------------------------------------------------------
# Discovered concepts (xai.discovery)
# --------------------------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from .discovery import Discovery

__all__ += ["concept_label", "discovery_roll", "concept_importance", "concept_overview", "fidelity_plot"]

# Presence of a concept: transparent where absent, a warm orange that reads over the dark part colours.
_PRESENCE_SCALE = [[0.0, "rgba(255,170,0,0)"], [0.15, "rgba(255,160,0,0.10)"], [1.0, "rgba(217,72,1,0.60)"]]
_REGION = "#D94801"


def concept_label(k: int) -> str:
    """How concept ``k`` (0-based) is named in the app: 'Concept 1' for k = 0."""
    return f"Concept {int(k) + 1}"


def discovery_roll(
    piece: music.Piece,
    presence: np.ndarray,
    *,
    region: tuple[float, float] | None = None,
    window_quarters: float = music.WINDOW_QUARTERS,
    peak: float | None = None,
    title: str | None = None,
    height: int = 300,
    legend: bool = False,
) -> go.Figure:
    """An excerpt's piano roll with a concept's presence map laid over it as a translucent heat map.

    The presence map (the layer's pitch x time grid, e.g. 11 x 8) is upsampled bilinearly to the roll's grid
    (88 pitches x 64 sixteenths) and drawn beneath the notes, so the notes stay legible and the warm colour
    shows where in time and register the concept sits. A band above the notes marks ``region`` (the bars to
    listen to). The colour is scaled to ``peak`` (default: this map's maximum), so pass a shared peak to
    compare excerpts on one scale.

    Parameters
    ----------
    piece : Piece
        The excerpt as a piece starting at beat 0 (:meth:`xai.discovery.ExcerptSet.piece`).
    presence : np.ndarray
        (pitch, time) presence of one concept over this excerpt.
    region : (start_beat, end_beat), optional
        Span to mark, in quarters from the excerpt's start.
    window_quarters : float
        The excerpt's length as the model reads it (the map covers all of it, silence included).
    peak : float, optional
        Presence drawn at full colour.
    title : str, optional
    height : int
        Figure height in pixels.
    legend : bool
        Show the parts' legend.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    from .discovery import upsample

    spq = music.STEPS_PER_QUARTER
    steps = int(round(window_quarters * spq))
    up = upsample(np.asarray(presence, dtype=np.float32), (music.N_PITCHES, steps))
    top = float(peak) if peak else float(up.max())
    z = up / top if top > 0 else up
    fig = piano_roll(piece, key_bars=True)
    fig.add_trace(
        go.Heatmap(
            z=np.clip(z, 0.0, 1.0),
            x0=0.5 / spq,
            dx=1.0 / spq,
            y0=music.PITCH_LOW,
            dy=1,
            zmin=0.0,
            zmax=1.0,
            colorscale=_PRESENCE_SCALE,
            showscale=False,
            hovertemplate="concept presence %{z:.0%} of the peak<extra></extra>",
            name="concept",
        )
    )
    fig.data = (fig.data[-1],) + tuple(fig.data[:-1])  # beneath the notes
    lo, hi = (float(v) for v in fig.layout.yaxis.range)
    strong = np.flatnonzero(z.max(axis=1) >= 0.3) + music.PITCH_LOW
    if strong.size:  # show the register where the concept sits even where no note is
        lo, hi = min(lo, strong.min() - 1.5), max(hi, strong.max() + 1.5)
    shapes = list(fig.layout.shapes or ())
    annotations = list(fig.layout.annotations or ())
    y_top = hi
    if region is not None:
        band = max(1.2, (hi - lo) * 0.06)
        shapes.append(dict(type="rect", x0=float(region[0]), x1=float(region[1]), y0=hi + 0.3, y1=hi + 0.3 + band,
                           fillcolor=_REGION, line=dict(width=0), layer="above"))
        annotations.append(dict(x=float(region[0]), y=hi + 0.3 + band / 2, xanchor="left", yanchor="middle",
                                text="<b>listen</b>", showarrow=False, font=dict(size=11, color="white")))
        y_top = hi + 0.5 + band
    tv, tt = _pitch_ticks(int(np.ceil(lo)), int(np.floor(hi)))
    fig.update_yaxes(range=[lo, y_top], tickvals=tv, ticktext=tt)
    fig.update_xaxes(range=[0, max(window_quarters, piece.length)])
    return fig.update_layout(
        shapes=shapes,
        annotations=annotations,
        height=height,
        showlegend=legend,
        dragmode="zoom",
        title=dict(text=title, x=0, xanchor="left", font=dict(size=13)) if title else None,
        margin=dict(l=10, r=10, t=70 if title else 45, b=10),
    )


def concept_importance(discovery: Discovery, concept: int) -> go.Figure:
    """Horizontal bars: the importance of one concept for each class (ICE's directional derivative).

    Bars to the right: adding the concept raises that class's logit; to the left: lowers it. Classes whose
    importance averages over all excerpts (the set held none of theirs) are marked with an asterisk.
    """
    values = discovery.importance_[:, concept]
    classes = list(discovery.classes)
    colors = class_colors(classes)
    names = [c + (" *" if b == "all" else "") for c, b in zip(classes, discovery.importance_basis_)]
    order = np.argsort(values)  # largest on top
    fig = go.Figure(
        go.Bar(
            x=values[order],
            y=[names[i] for i in order],
            orientation="h",
            marker=dict(
                color=[_rgba(colors[classes[i]], 1.0 if values[i] > 0 else 0.45) for i in order],
                line=dict(color=[colors[classes[i]] for i in order], width=1),
            ),
            text=[f"{v:+.2f}" for v in values[order]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
        )
    )
    span = float(np.max(np.abs(values))) if values.size else 1.0
    fig.add_vline(x=0, line=dict(color="#444", width=1))
    fig.update_xaxes(range=[-1.25 * span, 1.25 * span], zeroline=False, title_text="← lowers the class · raises it →")
    return _base_layout(
        fig,
        title=dict(text=f"Importance of {concept_label(concept).lower()} for each class", x=0, xanchor="left",
                   font=dict(size=14)),
        height=60 + 34 * len(classes),
        margin=dict(l=10, r=30, t=40, b=10),
        showlegend=False,
    )


def concept_overview(discovery: Discovery, *, selected: int | None = None) -> go.Figure:
    """A concepts x classes grid of importance (blue lowers the class, red raises it), values written in.

    One look says which concepts matter for which class; ``selected`` outlines one concept's row.
    """
    imp = discovery.importance_.T  # (K, classes)
    K = imp.shape[0]
    span = float(np.max(np.abs(imp))) or 1.0
    labels = [concept_label(k) for k in range(K)]
    fig = go.Figure(
        go.Heatmap(
            z=imp,
            x=list(discovery.classes),
            y=labels,
            zmid=0.0,
            zmin=-span,
            zmax=span,
            colorscale=_DIVERGING,
            text=[[f"{v:+.2f}" for v in row] for row in imp],
            texttemplate="%{text}",
            textfont=dict(size=12),
            hovertemplate="%{y}, %{x}: %{z:+.3f}<extra></extra>",
            colorbar=dict(title=dict(text="importance", side="right"), thickness=12),
        )
    )
    shapes = []
    if selected is not None and 0 <= selected < K:
        shapes.append(dict(type="rect", xref="paper", x0=0, x1=1, y0=selected - 0.5, y1=selected + 0.5,
                           line=dict(color="#222", width=2), fillcolor="rgba(0,0,0,0)"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top", tickangle=-30)
    return _base_layout(fig, height=80 + 30 * K, margin=dict(l=10, r=10, t=40, b=10), shapes=shapes)


def fidelity_plot(points: Sequence[dict], *, chosen: int | None = None) -> go.Figure:
    """Fidelity against K: the model's accuracy with the layer rebuilt from K concepts, and more.

    Lines: accuracy with the reconstruction, agreement with the original predictions, explained variance of
    the layer; dashed: the original accuracy. ``chosen`` marks the K on show.
    """
    pts = sorted(points, key=lambda p: p["n_concepts"])
    ks = [p["n_concepts"] for p in pts]
    fig = go.Figure()
    series = (
        ("accuracy", "accuracy with K concepts", "#1F3A5F", "solid"),
        ("agreement", "same answer as the full layer", "#2E7D32", "dot"),
        ("explained_variance", "explained variance of the layer", "#B8860B", "dash"),
    )
    for key, name, color, dash in series:
        fig.add_trace(go.Scatter(x=ks, y=[p.get(key) for p in pts], mode="lines+markers", name=name,
                                 line=dict(color=color, dash=dash, width=2), marker=dict(size=7),
                                 hovertemplate=f"K = %{{x}}: {name} %{{y:.1%}}<extra></extra>"))
    if pts and pts[0].get("original_accuracy") is not None:
        orig = pts[0]["original_accuracy"]
        fig.add_hline(y=orig, line=dict(color="#888", dash="dash", width=1.5),
                      annotation_text=f"original accuracy {orig:.1%}", annotation_position="top left")
    if chosen is not None:
        # A line trace, not a layout shape: shapes on a log axis take log10 coordinates.
        fig.add_trace(go.Scatter(x=[chosen, chosen], y=[0, 1.02], mode="lines+text", text=[f" K = {chosen}", ""],
                                 textposition="top right", textfont=dict(color=_REGION, size=12),
                                 line=dict(color=_REGION, width=1.5), hoverinfo="skip", showlegend=False))
    log = bool(ks) and max(ks) / max(min(ks), 1) > 10  # K doubles along the curve: even steps on a log axis
    fig.update_xaxes(title_text="K (concepts)", type="log" if log else "linear", tickmode="array", tickvals=ks,
                     ticktext=[str(k) for k in ks], title_standoff=2)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return _base_layout(
        fig,
        title=dict(text="Fidelity: the model with the layer rebuilt from K concepts", x=0, xanchor="left",
                   font=dict(size=14)),
        height=380,
        legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0),
        margin=dict(l=10, r=10, t=40, b=10),
    )


__all__ += ["concepts_in_piece"]


def concepts_in_piece(found, *, selected: int | None = None, title: str | None = None) -> go.Figure:
    """Where each discovered concept sits along a piece: concepts down, bars across, colour = presence.

    ``found`` is a :class:`xai.discovery.PiecePresence`. A bar's value is the mean peak presence of the sounding
    windows that cover it (:func:`concept_by_bar`), so the strip reads in bar numbers like the TCAV strip. The
    colour is shared by all concepts, so rows compare; ``selected`` outlines one row.
    """
    strength = np.asarray(found.strength, dtype=float)
    K = strength.shape[1]
    rows = [concept_by_bar(found.piece, found.windows, strength[:, k]) for k in range(K)]
    bars = [r["bar"] for r in rows[0]] if rows else []
    z = np.array([[np.nan if r["value"] is None else r["value"] for r in row] for row in rows], dtype=float)
    labels = [concept_label(k) for k in range(K)]
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(b) for b in bars], y=labels, colorscale="Oranges", zmin=0.0,
        colorbar=dict(title="presence", thickness=12),
        hovertemplate="%{y}, bar %{x}: presence %{z:.2f}<extra></extra>",
    ))
    if selected is not None and 0 <= selected < K and bars:
        fig.add_shape(type="rect", xref="paper", x0=0, x1=1, y0=selected - 0.5, y1=selected + 0.5,
                      line=dict(color=_REGION, width=2))
    fig.update_xaxes(title="bar", type="category", nticks=min(len(bars), 24))
    fig.update_yaxes(autorange="reversed")
    return _base_layout(fig, title=title or "Where each concept sits in this piece", height=120 + 26 * K)
