"""Figures of a piece and of a prediction: probabilities, the prediction over time, the piano roll, listening.

Nothing here computes an explanation or touches a model; each function only draws what it is given, so a
page, a report or a notebook shows the same picture.
"""

from __future__ import annotations

import html
import io
import wave
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from xai.errors import ParameterError
from xai.symbolic import music
from xai.symbolic.predict import Prediction
from xai.views.common import (
    PART_PALETTE,
    SILENT,
    base_layout,
    class_colors,
    note_name,
    part_colorscale,
    pitch_ticks,
    rgba,
    tick_step,
)

__all__ = ["reading", "piece_summary", "window_caption", "window_rows", "probability_bars", "prediction_timeline", "piano_roll", "listening_wav",
           "selection_bars"]

_FORMAT_NAMES = {"midi": "MIDI", "musicxml": "MusicXML", "abc": "ABC", "humdrum": "Humdrum"}


def reading(prediction: Prediction, *, markup: bool = True) -> str:
    """The answer in one or two plain sentences, with a warning when the model is unsure.

    With ``markup`` the classes are set in bold and italics (HTML, class names escaped); without, plain text.
    """
    def em(text: str, tag: str) -> str:
        return f"<{tag}>{html.escape(text)}</{tag}>" if markup else text

    p = np.asarray(prediction.piece_probabilities)
    order = np.argsort(-p)
    top = prediction.classes[order[0]]
    top_text = f"<b><i>{html.escape(top)}</i></b>" if markup else top
    text = f"The model hears this as {top_text} (p = {p[order[0]]:.2f})."
    if len(order) > 1:
        text += f" Next comes {em(prediction.classes[order[1]], 'i')} ({p[order[1]]:.2f})."
        if p[order[0]] < 2.0 / len(p) or p[order[0]] - p[order[1]] < 0.1:
            text += f" It is {em('unsure', 'b')}: no style stands out clearly."
    return text


def piece_summary(piece: music.Piece, prediction: Prediction) -> str:
    """One line about a piece as read: format, bars, length, parts, notes and the model's windows."""
    src = piece.source
    fmt = _FORMAT_NAMES.get(src.format if src else "", "unknown format")
    secs = piece.duration_seconds
    length = f"{int(secs // 60)}:{int(round(secs % 60)):02d}"
    parts = len(piece.part_names)
    bars = (f"{len(piece.bar_numbers)} bars (bars {piece.bar_numbers.min()}–{piece.bar_numbers.max()})"
            + (", from beat annotations" if piece.bar_source == "annotations" else "")) if piece.bars_known \
        else "a performance without bar lines (windows in seconds)"
    return (
        f"{fmt} · {bars} · "
        f"{length} min · {parts} part{'s' if parts != 1 else ''} · {piece.n_notes:,} notes · "
        f"{len(prediction.windows)} windows"
    )


def window_caption(prediction: Prediction, index: int) -> str:
    """One line naming a window and its reading, e.g. 'bars 5–8 · bach 0.91' or 'bars 9–12 · silent'."""
    w = prediction.windows[index]
    probs = prediction.window_probabilities[index]
    if np.isnan(probs).any():
        return f"{w.label} · silent"
    k = int(np.argmax(probs))
    return f"{w.label} · {prediction.classes[k]} {probs[k]:.2f}"


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
            "bars": w.label,
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


def probability_bars(prediction: Prediction) -> go.Figure:
    """Horizontal bars of the piece-level probability of every class, most likely on top.

    The predicted class is drawn in full colour with its value in bold; the others are faded so the answer
    is seen first and the runners-up second.

    Parameters
    ----------
    prediction : Prediction
        From :func:`xai.symbolic.predict.classify`.

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
                color=[colors[c] if c == top else rgba(colors[c], 0.35) for c in ys],
                line=dict(color=["#222" if c == top else "rgba(0,0,0,0)" for c in ys], width=1.5),
            ),
            text=[f"<b>{x:.2f}</b>" if c == top else f"{x:.2f}" for c, x in zip(ys, xs, strict=True)],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: p = %{x:.3f}<extra></extra>",
        )
    )
    # Room right of 1.0 for the bold "1.00" written outside the bar, in a column a third of the page wide.
    fig.update_xaxes(range=[0, 1.25], title_text="probability", tickformat=".1f", dtick=0.2)
    fig.update_yaxes(
        tickmode="array",
        tickvals=ys,
        ticktext=[f"<b>{c}</b>" if c == top else c for c in ys],
    )
    return base_layout(
        fig,
        title=dict(text="Whole piece", x=0, xanchor="left"),
        height=max(200, 38 * len(classes) + 90),
        showlegend=False,
        bargap=0.25,
    )


def prediction_timeline(prediction: Prediction, *, kind: str = "stacked") -> go.Figure:
    """Each class's probability in each window, in the order the windows occur in the piece.

    One column per window (``kind='stacked'``: the class probabilities stacked to 1) or one line per class
    (``kind='lines'``). Windows are labelled by the bars they cover; silent windows, which the model does not
    read, are left as gaps.

    Parameters
    ----------
    prediction : Prediction
        From :func:`xai.symbolic.predict.classify`.
    kind : {'stacked', 'lines'}
        Stacked columns (how the answer is shared out) or lines (how each class rises and falls).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if kind not in ("stacked", "lines"):
        raise ParameterError(f"The 'kind' parameter must be 'stacked' or 'lines', got {kind!r}.")
    classes = list(prediction.classes)
    colors = class_colors(classes)
    probs = np.asarray(prediction.window_probabilities, dtype=float)
    n = len(prediction.windows)
    x = np.arange(n)
    labels = [w.label for w in prediction.windows]
    fig = go.Figure()
    for k, c in enumerate(classes):
        common = dict(
            x=x,
            y=probs[:, k] if n else np.zeros(0),
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
    _mark_silent_windows(fig, [i for i in range(n) if np.isnan(probs[i]).any()], labels)
    ticks = list(range(0, n, tick_step(n, 12)))
    fig.update_xaxes(
        tickmode="array",
        tickvals=ticks,
        ticktext=[labels[i] for i in ticks],
        range=[-0.6, n - 0.4],
        tickangle=-30 if n > 6 else 0,
    )
    fig.update_yaxes(range=[0, 1.0 if kind == "stacked" else 1.05], title_text="probability", dtick=0.25)
    return base_layout(
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


def _mark_silent_windows(fig: go.Figure, silent: list[int], labels: list[str]) -> None:
    """Grey bands behind the silent windows of a timeline, labelled 'silent' while there are few enough to read."""
    for i in silent:
        fig.add_vrect(x0=i - 0.5, x1=i + 0.5, fillcolor=SILENT, opacity=0.35, line_width=0, layer="below")
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


def piano_roll(
    piece: music.Piece,
    *,
    prediction: Prediction | None = None,
    highlight: Sequence[int] = (),
    selected: int | None = None,
    key_bars: bool = True,
) -> go.Figure:
    """The notes of a piece over time (beats) and pitch, with its bars and the model's windows.

    The notes are drawn on the grid the model reads (sixteenth notes, :data:`xai.symbolic.music.STEPS_PER_QUARTER`
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
    length = max(piece.length, float(piece.bar_starts[-1]) if piece.bar_starts.size else 0.0, 1.0)
    wins = list(prediction.windows) if prediction is not None else []
    x_end = max([length] + [w.end_beat for w in wins])
    pitches, lo, hi = _pitch_range(piece)

    fig = go.Figure()
    fig.add_trace(_notes_heatmap(piece, lo, hi, int(np.ceil(length * _SPQ))))
    if piece.n_notes:
        fig.add_trace(_note_starts(piece, pitches))
    if len(piece.part_names) > 1:  # a legend entry per part (the heatmap itself has none)
        for k, name in enumerate(piece.part_names):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, showlegend=True,
                                     marker=dict(symbol="square", size=12, color=PART_PALETTE[k % len(PART_PALETTE)])))
    if key_bars and piece.bar_starts.size:
        fig.add_trace(_bar_lines(piece, lo, hi))

    shapes: list[dict] = []
    annotations: list[dict] = []
    y_top = hi + 0.5
    if prediction is not None and wins:
        y_top = _window_lane(fig, prediction, lo, hi, highlight, selected, x_end, shapes, annotations)
    _roll_axes(fig, piece, key_bars, x_end, lo, hi, y_top)
    height = int(np.clip(9 * (y_top - lo) + 120, 320, 720))
    # Overlapping windows would stack their labels on one line: give each rank its own row (~20 px).
    units_per_px = (y_top - lo + 0.5) / max(height - 110, 100)
    for a in annotations:
        a["y"] = lo - 0.5 + a["y"] * 20 * units_per_px
    return base_layout(
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


_SPQ = music.STEPS_PER_QUARTER  # the piano roll's grid: the model's


def _pitch_range(piece: music.Piece) -> tuple[np.ndarray, int, int]:
    """The notes' pitches folded into the piano's range, and the lowest and highest pitch row to show."""
    if piece.n_notes:
        pitches = music.fold_pitch(np.asarray(piece.pitches))
        lo, hi = int(pitches.min()) - 2, int(pitches.max()) + 2
    else:
        pitches = np.zeros(0, dtype=np.int64)
        lo, hi = 55, 79
    return pitches, max(lo, music.PITCH_LOW), min(hi, music.PITCH_HIGH)


def _notes_heatmap(piece: music.Piece, lo: int, hi: int, T: int) -> go.Heatmap:
    """Every note on the model's grid as one heatmap, coloured by part, darker where a note starts."""
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
    return go.Heatmap(z=z, x0=0.5 / _SPQ, dx=1.0 / _SPQ, y0=lo, dy=1, zmin=0.5, zmax=2 * n_parts + 0.5,
                      colorscale=part_colorscale(n_parts), showscale=False, hoverinfo="skip", name="notes")


def _note_starts(piece: music.Piece, pitches: np.ndarray) -> go.Scatter:
    """An invisible marker at each note start: the hover text (pitch, part, bar) and what a box selects."""
    bars = np.array([piece.bar_at(b) for b in piece.onsets])
    names = [note_name(p) for p in piece.pitches]
    parts = [piece.part_names[k] if k < len(piece.part_names) else f"Part {k + 1}" for k in piece.parts]
    return go.Scatter(
        x=piece.onsets + 0.5 / _SPQ,
        y=pitches,
        mode="markers",
        marker=dict(size=6, color="rgba(0,0,0,0)"),
        customdata=np.stack([names, parts, bars.astype(str), piece.durations.round(3).astype(str)], axis=1),
        hovertemplate="%{customdata[0]} · %{customdata[1]}<br>bar %{customdata[2]}, beat %{x:.2f}"
        ", length %{customdata[3]} quarters<extra></extra>",
        showlegend=False,
        name="note starts",
    )


def _bar_lines(piece: music.Piece, lo: int, hi: int) -> go.Scatter:
    """All bar lines as one line trace with gaps: far cheaper to draw than one shape per bar."""
    bx = np.repeat(piece.bar_starts, 3).astype(object)
    by = np.tile(np.array([lo - 0.5, hi + 0.5, None], dtype=object), piece.bar_starts.size)
    bx[2::3] = None
    return go.Scatter(x=bx, y=by, mode="lines", line=dict(color="rgba(90,90,90,0.35)", width=1), hoverinfo="skip",
                      showlegend=False, name="bar lines")


def _window_lane(fig, prediction: Prediction, lo: int, hi: int, highlight: Sequence[int], selected: int | None,
                 x_end: float, shapes: list[dict], annotations: list[dict]) -> float:
    """The model's windows above the notes (bands, hover, outlines of ``highlight``, the shaded ``selected``).

    Appends to ``shapes`` and ``annotations`` (the highlight labels carry a row number in ``y``, placed once the
    figure's height is known) and returns the top of the lane.
    """
    wins = prediction.windows
    colors = class_colors(prediction.classes)
    labels = prediction.window_labels()
    # Two rows above the notes: consecutive windows overlap (hop < length), so they alternate rows.
    row_h = max(1.2, (hi - lo) * 0.045)
    lane_lo = hi + 0.8
    row_y = [lane_lo + (i % 2) * (row_h + 0.3) for i in range(len(wins))]
    for i, w in enumerate(wins):
        lab = labels[i]
        conf = 0.0 if lab is None else float(np.nanmax(prediction.window_probabilities[i]))
        fill, alpha = (SILENT, 0.6) if lab is None else (colors[lab], 0.25 + 0.55 * conf)
        shapes.append(dict(type="rect", x0=w.start_beat, x1=w.end_beat, y0=row_y[i], y1=row_y[i] + row_h,
                           fillcolor=rgba(fill, alpha), line=dict(color="white", width=1), layer="above"))
    lane_hi = lane_lo + 2 * row_h + 0.3
    # Hover for the lane: one invisible point in the middle of each window band.
    fig.add_trace(
        go.Scatter(
            x=[(w.start_beat + w.end_beat) / 2 for w in wins],
            y=[y + row_h / 2 for y in row_y],
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
        col = colors[labels[i]] if labels[i] is not None else "#555"
        shapes.append(_window_box(wins[i], lo, lane_hi, line=dict(color=col, width=3), fillcolor="rgba(0,0,0,0)",
                                  layer="above"))
        annotations.append(_highlight_label(prediction, i, rank, col, x_end))
    if selected is not None and 0 <= selected < len(wins):
        shapes.append(_window_box(wins[selected], lo, lane_hi, fillcolor="rgba(255,215,0,0.16)",
                                  line=dict(color="#222", width=2, dash="dot"), layer="below"))
    return lane_hi + 0.3


def _window_box(w: music.Window, lo: int, top: float, **style) -> dict:
    """A rectangle over a window's beats, from below the lowest note to ``top``."""
    return dict(type="rect", x0=w.start_beat, x1=w.end_beat, y0=lo - 0.5, y1=top, **style)


def _highlight_label(prediction: Prediction, i: int, rank: int, colour: str, x_end: float) -> dict:
    """'#1 bars 5–8 · bach 0.91' for the ``rank``-th highlighted window; ``y`` is its row, placed later."""
    w = prediction.windows[i]
    right = w.start_beat > 0.6 * x_end  # label towards the middle, so it is never cut at an edge
    return dict(
        x=w.end_beat if right else w.start_beat,
        y=rank,
        xanchor="right" if right else "left",
        yanchor="bottom",
        text=f"<b>#{rank + 1}</b> {window_caption(prediction, i)}",
        showarrow=False,
        font=dict(size=12, color="#222"),
        bgcolor="rgba(255,255,255,0.85)",
        bordercolor=colour,
        borderwidth=1,
    )


def _roll_axes(fig, piece: music.Piece, key_bars: bool, x_end: float, lo: int, hi: int, y_top: float) -> None:
    """Time axis in bar numbers along the top (or in beats), pitch axis labelled with note names."""
    if key_bars and piece.bar_starts.size:
        step = tick_step(piece.bar_starts.size, 25)
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
    tv, tt = pitch_ticks(lo, hi)
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
