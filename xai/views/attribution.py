"""Pure figure functions for captum attributions (:class:`xai.local.attribution.Attribution` -> plotly / rows).

The pixels are drawn where the model read them, on the axes of the other views: the piano roll of the window
with the score's bar numbers (the notes outlined), a seconds-grid model's roll in seconds with the bar numbers
on top where the bars are known, or the model's spectrogram in seconds and Hz. Beside them, the
same attributions summed onto the musical grid (bars x voices / registers, time x bands), the agreement between
methods and with LIME, the baselines, the randomisation check and the deletion curves.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from xai.local.attribution import METHOD_NAMES, RANDOMISATION_THRESHOLD, Attribution, spearman
from xai.views.common import base_layout, pitch_ticks
from xai.views.local import DIVERGING

__all__ = ["input_map", "grid_map", "agreement_heatmap", "randomisation_plot", "deletion_plot", "baseline_rows",
           "ranked_rows", "agreement_rows", "method_name"]

SEQUENTIAL = [[0.0, "#f7f7f7"], [1.0, "#b2182b"]]  # Saliency and Grad-CAM are never negative
METHOD_COLOURS = {"ig": "#b2182b", "saliency": "#2166ac", "occlusion": "#1b7837", "gradcam": "#762a83",
                  "lime": "#e08214", "random": "#999999"}


def method_name(method: str) -> str:
    """The method's name as the pages print it."""
    return METHOD_NAMES.get(method, method)


def _scale(z: np.ndarray) -> dict:
    """Diverging around 0 for signed maps, white-to-red for maps that are never negative."""
    lim = float(max(np.nanmax(np.abs(z)) if z.size else 0.0, 1e-12))
    if np.nanmin(z) >= 0:
        return dict(colorscale=SEQUENTIAL, zmin=0.0, zmax=lim)
    return dict(colorscale=DIVERGING, zmin=-lim, zmax=lim)


def input_map(result: Attribution, method: str | None = None) -> go.Figure:
    """The method's attribution on every pixel the model read: the window's piano roll (notes outlined, bars
    numbered as in the score) or the 4-s window's spectrogram (seconds, Hz)."""
    m = method or result.method
    z = np.asarray(result.maps[m], dtype=float)
    title = f"{method_name(m)} for '{result.target_name}' on every pixel the model read"
    if result.kind == "time-bands":
        return _spectrogram_map(result, z, title)
    if result.fps:
        return _seconds_map(result, z, title)
    ex = result.excerpt
    lo = max(int(ex.pitches.min()) - 3, 21)
    hi = min(int(ex.pitches.max()) + 3, 108)
    rows = np.arange(lo, hi + 1) - 21
    steps = (np.arange(z.shape[1]) + 0.5) / 4.0
    fig = go.Figure(go.Heatmap(z=z[rows], x=steps, y=np.arange(lo, hi + 1), **_scale(z[rows]),
                               colorbar=dict(title="attribution", thickness=12),
                               hovertemplate="beat %{x:.2f}, MIDI %{y}<br>%{z:+.4f}<extra></extra>"))
    for on, d, p in zip(ex.onsets, ex.durations, ex.pitches):
        fig.add_shape(type="rect", x0=float(on), x1=float(on + d), y0=int(p) - 0.45, y1=int(p) + 0.45,
                      line=dict(color="rgba(0,0,0,0.55)", width=1))
    for b in ex.bar_starts:
        fig.add_vline(x=float(b), line_color="rgba(0,0,0,0.25)", line_width=1)
    vals, text = pitch_ticks(lo, hi)
    return base_layout(fig, title=title, height=420,
                       xaxis=dict(title="bar", tickvals=[float(b) for b in ex.bar_starts],
                                  ticktext=[str(n) for n in ex.bar_numbers], range=[0, z.shape[1] / 4.0]),
                       yaxis=dict(title="pitch", tickvals=vals, ticktext=text))


def _seconds_map(result: Attribution, z: np.ndarray, title: str) -> go.Figure:
    """A seconds-grid model's window: frames in the performance's seconds, notes (pedal held) outlined, and the
    bar numbers on a second axis at the bar starts where the bars are known."""
    notes = np.asarray(result.notes_s, dtype=float).reshape(-1, 3)
    lo = max(int(notes[:, 2].min()) - 3, 21) if len(notes) else 21
    hi = min(int(notes[:, 2].max()) + 3, 108) if len(notes) else 108
    rows = np.arange(lo, hi + 1) - 21
    t = result.start_s + (np.arange(z.shape[1]) + 0.5) / result.fps
    span = [result.start_s, result.end_s]
    fig = go.Figure(go.Heatmap(z=z[rows], x=t, y=np.arange(lo, hi + 1), **_scale(z[rows]),
                               colorbar=dict(title="attribution", thickness=12),
                               hovertemplate="%{x:.1f} s, MIDI %{y}<br>%{z:+.4f}<extra></extra>"))
    for on, off, p in notes:
        fig.add_shape(type="rect", x0=on, x1=off, y0=p - 0.45, y1=p + 0.45, line=dict(color="rgba(0,0,0,0.55)", width=1))
    vals, text = pitch_ticks(lo, hi)
    extra = {}
    if result.bar_ticks:
        secs = [float(a) for a, _ in result.bar_ticks]
        for x in secs:
            fig.add_vline(x=x, line_color="rgba(0,0,0,0.25)", line_width=1)
        fig.add_trace(go.Scatter(x=span, y=[lo, lo], xaxis="x2", mode="markers", marker=dict(opacity=0),
                                 hoverinfo="skip", showlegend=False))
        extra["xaxis2"] = dict(overlaying="x", side="top", range=span, tickvals=secs,
                               ticktext=[f"bar {n}" for _, n in result.bar_ticks], showgrid=False)
    clock = "" if result.bars_known else " (bars not known: clock time only)"
    return base_layout(fig, title=title, height=440, xaxis=dict(title="seconds" + clock, range=span),
                       yaxis=dict(title="pitch", tickvals=vals, ticktext=text), **extra)


def _spectrogram_map(result: Attribution, z: np.ndarray, title: str) -> go.Figure:
    g = result.cells
    t = result.start_s + (np.arange(g.frames) + 0.5) * g.hop_s
    fig = go.Figure(go.Heatmap(z=z, x=t, y=np.arange(g.bands), **_scale(z),
                               colorbar=dict(title="attribution", thickness=12),
                               hovertemplate="%{x:.2f} s, band %{y}<br>%{z:+.4f}<extra></extra>"))
    return base_layout(fig, title=title, height=380, xaxis_title="seconds", yaxis=_band_axis(result))


def _band_axis(result: Attribution) -> dict:
    g = result.cells
    be = g.band_edges() - 0.5
    mids = (be[:-1] + be[1:]) / 2
    return dict(title="frequency band", tickvals=list(mids),
                ticktext=[f"{_hz(lo)}–{_hz(hi)}" for lo, hi in g.hz_edges()])


def _hz(f: float) -> str:
    return f"{f / 1000:.1f} kHz" if f >= 1000 else f"{f:.0f} Hz"


def grid_map(result: Attribution, method: str | None = None, *, top_k: int | None = None) -> go.Figure:
    """The attribution summed onto the musical grid, as LIME's segments: bars x voices / registers of the score,
    or time x band cells of the recording; the top-k segments outlined."""
    m = method or result.method
    v = np.asarray(result.grid[m], dtype=float)
    top = result.top(top_k, m)
    title = f"{method_name(m)} summed per segment (outlined: top {len(top)})"
    if result.kind == "time-bands":
        g = result.cells
        z = v.reshape(g.n_time, g.n_bands).T
        te = result.start_s + g.time_edges() * g.hop_s
        be = g.band_edges() - 0.5
        labels = np.array([s["label"] for s in result.segments]).reshape(g.n_time, g.n_bands).T
        fig = go.Figure(go.Heatmap(z=z, x=te, y=be, **_scale(z), customdata=labels,
                                   colorbar=dict(title="sum", thickness=12),
                                   hovertemplate="%{customdata}<br>%{z:+.4f}<extra></extra>"))
        for i in top:
            tt, b = divmod(int(i), g.n_bands)
            fig.add_shape(type="rect", x0=te[tt], x1=te[tt + 1], y0=be[b], y1=be[b + 1],
                          line=dict(color="#111", width=2))
        return base_layout(fig, title=title, height=340, xaxis_title="seconds", yaxis=_band_axis(result))
    segs = result.segments
    lanes = sorted({s["lane"] for s in segs})
    lane_names = {s["lane"]: s["label"].split(", ", 1)[-1] for s in segs}
    starts = sorted({s["start_bar"] for s in segs})
    xlabels, xtitle = [str(b) for b in starts], "bar"
    if result.fps:  # seconds windows: bars with their clock time, or clock time alone where bars are not known
        first = {s["start_bar"]: s for s in sorted(segs, key=lambda d: d["id"], reverse=True)}
        when = {b: s["label"].split(", ", 1)[0] for b, s in first.items()}
        xlabels = [when[b] for b in starts]
        xtitle = "bars (clock time)" if result.bars_known else "clock time"
    z = np.full((len(lanes), len(starts)), np.nan)
    text = np.full(z.shape, "", dtype=object)
    for i, s in enumerate(segs):
        r, c = lanes.index(s["lane"]), starts.index(s["start_bar"])
        z[r, c], text[r, c] = v[i], s["label"]
    fig = go.Figure(go.Heatmap(z=z, x=xlabels, y=[lane_names[la] for la in lanes], **_scale(v),
                               customdata=text, colorbar=dict(title="sum", thickness=12), xgap=2, ygap=2,
                               hovertemplate="%{customdata}<br>%{z:+.4f}<extra></extra>"))
    for i in top:
        s = segs[i]
        r, c = lanes.index(s["lane"]), starts.index(s["start_bar"])
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color="#111", width=2))
    return base_layout(fig, title=title, height=max(220, 60 * len(lanes) + 120),
                       xaxis=dict(title=xtitle, type="category"), yaxis=dict(automargin=True))


def _agreement_matrix(result: Attribution) -> tuple[list[str], np.ndarray]:
    names = list(result.methods)
    mat = np.asarray(result.agreement, dtype=float)
    if "weights" in result.lime:
        names.append("lime")
        col = np.array([result.lime["spearman"][m] for m in result.methods])
        mat = np.block([[mat, col[:, None]], [col[None, :], np.ones((1, 1))]])
    return names, mat


def agreement_heatmap(result: Attribution) -> go.Figure:
    """Spearman rank correlation between the methods' grids (and LIME's weights on the same segments)."""
    names, mat = _agreement_matrix(result)
    labels = [method_name(n) for n in names]
    text = [[("–" if not np.isfinite(v) else f"{v:+.2f}") for v in row] for row in mat]
    fig = go.Figure(go.Heatmap(z=mat, x=labels, y=labels, zmin=-1, zmax=1, colorscale=DIVERGING, text=text,
                               texttemplate="%{text}", colorbar=dict(title="Spearman", thickness=12),
                               hovertemplate="%{y} vs %{x}: %{z:+.2f}<extra></extra>"))
    return base_layout(fig, title="Agreement on the segments (Spearman ρ)", height=380, margin=dict(l=10, r=10, t=50, b=10),
                       yaxis=dict(autorange="reversed"))


def agreement_rows(result: Attribution) -> list[dict]:
    """Table rows: each method's rank correlation with the chosen one and with LIME, and its top-k overlap."""
    rows = []
    for m in result.methods:
        row = {"method": method_name(m),
               f"Spearman with {method_name(result.method)}": round(spearman(result.grid[m],
                                                                              result.grid[result.method]), 3)}
        if "weights" in result.lime:
            row["Spearman with LIME"] = round(result.lime["spearman"][m], 3)
            row[f"top-{result.options.get('top_k', 3)} overlap with LIME"] = round(result.lime["top_k_overlap"][m], 2)
        rows.append(row)
    return rows


def randomisation_plot(result: Attribution) -> go.Figure:
    """Cascading randomisation: the rank correlation of the grid with the trained model's, as more top layers
    are re-initialised; it must fall (Adebayo et al. 2018)."""
    rz = result.randomisation
    x = ["trained"] + [f"+ {n}" for n in rz["layers"]]
    y = [1.0] + [float(v) for v in rz["spearman"]]
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", line=dict(color=METHOD_COLOURS.get(result.method)),
                               name=method_name(result.method),
                               hovertemplate="%{x}: Spearman %{y:+.2f}<extra></extra>"))
    fig.add_hline(y=RANDOMISATION_THRESHOLD, line_dash="dot", line_color="#555",
                  annotation_text="below this: changed", annotation_position="bottom right")
    return base_layout(fig, title="Randomisation check", height=380,
                       xaxis_title="layers re-initialised, from the top",
                       yaxis=dict(title="ρ with the trained model", range=[-1.05, 1.05]))


def deletion_plot(result: Attribution) -> go.Figure:
    """The class probability as each method's top-k segments are removed (faster fall = names what matters)."""
    d = result.deletion
    fig = go.Figure()
    for name, ys in d.items():
        if name == "k":
            continue
        chosen = name == result.method
        fig.add_trace(go.Scatter(x=d["k"], y=ys, mode="lines+markers", name=method_name(name),
                                 line=dict(color=METHOD_COLOURS.get(name, "#444"), width=3 if chosen else 1.5,
                                           dash="dot" if name == "random" else None),
                                 hovertemplate="%{x} removed: p = %{y:.3f}<extra>" + method_name(name) + "</extra>"))
    return base_layout(fig, title=f"Deletion check: p('{result.target_name}') as the top-k segments are removed",
                       height=340, xaxis_title="segments removed (k)", yaxis=dict(title="probability", range=[0, 1.02]),
                       legend=dict(orientation="h", y=-0.25))


def baseline_rows(result: Attribution) -> list[dict]:
    """Table rows, one per IG baseline: the sum of attributions, the logit difference it should equal, the gap,
    and the rank agreement of its grid with the chosen baseline's."""
    chosen = result.options["baseline"]
    rows = []
    for b, c in result.completeness.items():
        rows.append({"baseline": b + (" (chosen)" if b == chosen else ""),
                     "sum of attributions": round(c["sum"], 4),
                     "logit(input) − logit(baseline)": round(c["difference"], 4),
                     "completeness gap": round(c["gap"], 4), "gap (relative)": f"{100 * c['relative_gap']:.1f} %",
                     f"Spearman with {chosen}": round(spearman(result.baseline_grid[b], result.baseline_grid[chosen]),
                                                      3)})
    return rows


def ranked_rows(result: Attribution) -> list[dict]:
    """Every segment from the chosen method's largest sum down, with every method's sum (and LIME's weight)."""
    lime_w = result.lime.get("weights")
    rows = []
    for r, i in enumerate(result.ranking(), start=1):
        row = {"rank": r, "segment": result.segments[int(i)]["label"]}
        row |= {method_name(m): round(float(result.grid[m][i]), 4) for m in result.methods}
        if lime_w is not None:
            row["LIME"] = round(float(lime_w[i]), 4)
        rows.append(row)
    return rows
