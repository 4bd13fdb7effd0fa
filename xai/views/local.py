"""Pure figure functions for LIME explanations (result -> plotly figure or table rows); no streamlit.

The weights are drawn on what a musician reads: the piano roll with bar numbers (each note coloured by its
segment's weight), the model's spectrogram in seconds and Hz, or one bar per stem. Beside them: the
rankings side by side and the deletion curves of LIME against the trivial baseline and a random order.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from xai.local.core import Explanation
from xai.views.common import base_layout, note_name

__all__ = ["weights_bars", "piece_heatmap", "spectrogram_heatmap", "deletion_plot", "rankings_rows", "ranked_rows",
           "heatmap", "DIVERGING", "RANKING_NAMES"]

DIVERGING = [[0.0, "#2166ac"], [0.5, "#f7f7f7"], [1.0, "#b2182b"]]  # blue = against the class, red = for it
RANKING_NAMES = {"lime": "LIME", "notes": "most notes", "energy": "most energy", "random": "random order"}


def _limit(w: np.ndarray) -> float:
    return float(max(np.max(np.abs(w)), 1e-6))


def weights_bars(result: Explanation, *, k: int = 12) -> go.Figure:
    """The k segments with the largest LIME weights (by size), largest on top; red for, blue against."""
    w = np.asarray(result.fit.weights)
    order = np.argsort(-np.abs(w), kind="stable")[:k][::-1]
    labels = [result.segments[i]["label"] for i in order]
    vals = w[order]
    fig = go.Figure(go.Bar(x=vals, y=labels, orientation="h",
                           marker_color=["#b2182b" if v > 0 else "#2166ac" for v in vals],
                           hovertemplate="%{y}: %{x:+.3f}<extra></extra>"))
    fig.add_vline(x=0, line_color="#555", line_width=1)
    return base_layout(fig, title=f"LIME weight for '{result.target_name}' (change in probability)",
                        height=max(240, 28 * len(order) + 90), xaxis_title="weight", yaxis=dict(automargin=True))


def piece_heatmap(result, *, top_k: int = 3) -> go.Figure:
    """The explained bars as a piano roll, every note coloured by its segment's LIME weight; top-k outlined.

    ``result`` is a :class:`xai.local.segments.PieceLime`. The x axis is in beats from the excerpt's start, labelled
    with the score's bar numbers.
    """
    ex, seg = result.excerpt, result.segmentation
    w = np.asarray(result.fit.weights)
    lim = _limit(w)
    top = set(result.fit.top(top_k))
    fig = go.Figure()
    # one invisible-width scatter per segment keeps hover text and the colour scale; notes are drawn as bars
    x0 = ex.onsets
    for s in range(seg.n_segments):
        sel = np.flatnonzero(seg.note_segment == s)
        if sel.size == 0:
            continue
        label = result.segments[s]["label"]
        fig.add_trace(go.Bar(
            x=ex.durations[sel], base=x0[sel], y=ex.pitches[sel].astype(int), orientation="h", width=0.9,
            marker=dict(color=[w[s]] * sel.size, colorscale=DIVERGING, cmin=-lim, cmax=lim,
                        line=dict(color="#111" if s in top else "rgba(0,0,0,0)", width=1.5 if s in top else 0),
                        showscale=s == 0, colorbar=dict(title="weight", thickness=12)),
            name=label, showlegend=False,
            customdata=[[label, note_name(int(p)), w[s]] for p in ex.pitches[sel]],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>weight %{customdata[2]:+.3f}<extra></extra>"))
    bars = ex.bar_starts
    for b in bars:
        fig.add_vline(x=float(b), line_color="rgba(0,0,0,0.15)", line_width=1)
    lo, hi = int(ex.pitches.min()) - 1, int(ex.pitches.max()) + 1
    vals = [p for p in range(lo, hi + 1) if p % 12 == 0] or [lo, hi]
    return base_layout(
        fig, title=f"Where LIME puts the weight for '{result.target_name}' (outlined: top {len(top)})",
        barmode="overlay", height=420,
        xaxis=dict(title="bar", tickvals=[float(b) for b in bars], ticktext=[str(n) for n in ex.bar_numbers]),
        yaxis=dict(title="pitch", tickvals=vals, ticktext=[note_name(p) for p in vals], range=[lo - 0.5, hi + 0.5]),
    )


def spectrogram_heatmap(result, *, top_k: int = 3) -> go.Figure:
    """The model's log filter-bank (grey) with the grid's LIME weights laid over it; top-k cells outlined.

    ``result`` is a :class:`xai.local.lime.AudioLime`; seconds on x (from the window's start in the recording), the
    filter-bank bands on y labelled in Hz.
    """
    g, spec = result.grid, np.asarray(result.spectrogram)
    t = result.start_s + (np.arange(g.frames) + 0.5) * g.hop_s
    fig = go.Figure(go.Heatmap(z=spec, x=t, y=np.arange(g.bands), colorscale="Greys", showscale=False,
                               hoverinfo="skip"))
    w = np.asarray(result.fit.weights).reshape(g.n_time, g.n_bands).T  # (n_bands, n_time)
    lim = _limit(w)
    te = result.start_s + g.time_edges() * g.hop_s
    be = g.band_edges() - 0.5
    labels = np.array([s["label"] for s in result.segments]).reshape(g.n_time, g.n_bands).T
    fig.add_trace(go.Heatmap(z=w, x=te, y=be, colorscale=DIVERGING, zmin=-lim, zmax=lim, opacity=0.55,
                             colorbar=dict(title="weight", thickness=12), customdata=labels,
                             hovertemplate="%{customdata}<br>weight %{z:+.3f}<extra></extra>"))
    for i in result.fit.top(top_k):
        tt, b = divmod(int(i), g.n_bands)
        fig.add_shape(type="rect", x0=te[tt], x1=te[tt + 1], y0=be[b], y1=be[b + 1], line=dict(color="#111", width=2))
    hz = g.hz_edges()
    mids = (be[:-1] + be[1:]) / 2
    return base_layout(
        fig, title=f"Where LIME puts the weight for '{result.target_name}' (outlined: top {min(top_k, len(w.ravel()))})",
        height=380, xaxis_title="seconds",
        yaxis=dict(title="frequency band", tickvals=list(mids),
                   ticktext=[f"{_hz(lo)}–{_hz(hi)}" for lo, hi in hz]))


def _hz(f: float) -> str:
    return f"{f / 1000:.1f} kHz" if f >= 1000 else f"{f:.0f} Hz"


def heatmap(result, *, top_k: int = 3) -> go.Figure:
    """The right picture for the result's kind: piano roll, spectrogram, or weight bars for stems."""
    if result.kind == "time-bands":
        return spectrogram_heatmap(result, top_k=top_k)
    if result.kind == "stems":
        return weights_bars(result)
    return piece_heatmap(result, top_k=top_k)


def deletion_plot(result: Explanation) -> go.Figure:
    """The class probability as each ranking's top-k segments are removed: the faster it falls, the better the
    ranking names what the model relies on."""
    d = result.deletion
    colours = {"lime": "#b2182b", "random": "#999999"}
    fig = go.Figure()
    for name, ys in d.items():
        if name == "k":
            continue
        fig.add_trace(go.Scatter(x=d["k"], y=ys, mode="lines+markers", name=RANKING_NAMES.get(name, name),
                                 line=dict(color=colours.get(name, "#2166ac"), dash="dot" if name == "random" else None),
                                 hovertemplate="%{x} removed: p = %{y:.3f}<extra>" + RANKING_NAMES.get(name, name) + "</extra>"))
    return base_layout(fig, title=f"Deletion check: p('{result.target_name}') as the top-k segments are removed",
                        height=340, xaxis_title="segments removed (k)", yaxis=dict(title="probability", range=[0, 1.02]),
                        legend=dict(orientation="h", y=-0.25))


def rankings_rows(result: Explanation, *, k: int = 5) -> list[dict]:
    """Table rows: rank, LIME's segment (with weight), the baseline's, the random order's."""
    rows = []
    for r in range(min(k, result.n_segments)):
        row = {"rank": r + 1}
        for name, order in result.rankings.items():
            i = int(order[r])
            text = result.segments[i]["label"]
            if name == "lime":
                text += f" ({result.fit.weights[i]:+.3f})"
            elif name != "random":
                text += f" ({result.amount[i]:.3g})"
            row[RANKING_NAMES.get(name, name)] = text
        rows.append(row)
    return rows


def ranked_rows(result: Explanation) -> list[dict]:
    """Table rows of every segment from LIME's largest weight down, with the trivial baseline's measure beside it."""
    base = RANKING_NAMES.get(result.baseline_name, result.baseline_name)
    return [{"rank": r, "segment": s["label"], "LIME weight": round(s["weight"], 4),
             base: round(float(result.amount[s["id"]]), 3)} for r, s in enumerate(result.ranked(), start=1)]
