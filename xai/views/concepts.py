"""Figures of concepts: TCAV scores, the concept strip over a piece, discovered concepts and their presence.

Pure functions of results (:class:`~xai.concepts.tcav.TCAVResult`, :class:`~xai.concepts.discovery.Discovery`);
the pages only display them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xai.concepts.discovery import concept_label
from xai.symbolic import music
from xai.views.common import CLASS_PALETTE, base_layout, class_colors, pitch_ticks, rgba
from xai.views.symbolic import piano_roll

if TYPE_CHECKING:
    from xai.concepts.tcav import TCAVResult

__all__ = ["tcav_scores", "concept_strip", "concept_by_bar", "concept_label", "discovery_roll", "concept_importance",
           "concept_overview", "fidelity_plot", "concepts_in_piece"]

_NOT_SIGNIFICANT = "#9E9E9E"
_RANDOM = "#BDBDBD"


def _p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}" if p < 0.1 else f"p={p:.2f}"


def _tcav_box(cat: str, y, *, name: str, group: str, legend: bool, color: str, line: dict, fill: str,
              size: int, hover: str) -> go.Box:
    """One box of runs, every run a dot."""
    return go.Box(
        y=y,
        x=[cat] * len(y),
        name=name,
        legendgroup=group,
        showlegend=legend,
        offsetgroup="concept" if group != "random" else "random",
        marker=dict(color=color, size=size),
        line=line,
        fillcolor=fill,
        boxpoints="all",
        jitter=0.5,
        pointpos=0,
        hovertemplate=f"{cat}<br>{hover}: %{{y:.2f}}<extra></extra>",
    )


def _tcav_pair(fig: go.Figure, result: TCAVResult, t: int, j: int, *, cat: str, color: str, what: str,
               shown: set) -> dict:
    """The concept's and the random directions' boxes of one (target, layer); returns its p-value annotation."""
    sig = bool(result.significant[t, j])
    col = color if sig else _NOT_SIGNIFICANT
    kind = "significant" if sig else "not significant"
    fig.add_trace(_tcav_box(cat, np.asarray(result.scores[t, j], dtype=float), name=f"{what}: {kind}", group=kind,
                            legend=kind not in shown, color=col, line=dict(color=col, width=2 if sig else 1),
                            fill=rgba(col, 0.45 if sig else 0.15), size=5, hover="concept run"))
    shown.add(kind)
    fig.add_trace(_tcav_box(cat, np.asarray(result.random_scores[t, j], dtype=float), name="random directions",
                            group="random", legend="random" not in shown, color=_RANDOM,
                            line=dict(color="#9A9A9A", width=1), fill=rgba(_RANDOM, 0.25), size=4,
                            hover="random run"))
    shown.add("random")
    p = float(result.p_corrected[t, j])
    return dict(
        x=cat,
        y=1.02,
        yanchor="bottom",
        text=f"<b>★ {_p_text(p)}</b>" if sig else f"n.s. ({_p_text(p)})",
        showarrow=False,
        font=dict(size=12, color="#222" if sig else "#888"),
    )


def tcav_scores(result: TCAVResult, *, classes: Sequence[str] | None = None) -> go.Figure:
    """The concept's TCAV scores over the runs next to those of random directions, per class and layer.

    Each (target, layer) gets two boxes with every run as a dot: the concept's CAVs (left) and the
    random-vs-random CAVs (right, light grey), which are what the concept is tested against. A significant
    result (after correction, with accurate CAVs) is drawn in its class's colour and starred with its p-value
    above; a result random directions match as often is greyed out and marked 'n.s.'.

    Parameters
    ----------
    result : TCAVResult
        From :func:`xai.concepts.tcav.score` or :func:`xai.concepts.tcav.relative_score`.
    classes : sequence of str, optional
        The model's classes in output order, so each class keeps the colour it has on every other chart
        (default: the result's targets in their order).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    colors = class_colors(list(classes) if classes is not None else list(result.targets))
    multi = len(result.layers) > 1
    R = np.asarray(result.scores).shape[2]
    what = f"'{result.concept}'" + (f" rather than '{result.relative_to}'" if result.relative_to else "")
    fig = go.Figure()
    cats, ticks, annotations = [], [], []
    shown: set = set()
    for j, layer in enumerate(result.layers):
        for t, target in enumerate(result.targets):
            cat = f"{target} · {layer}" if multi else target
            cats.append(cat)
            ticks.append(f"<b>★ {cat}</b>" if result.significant[t, j] else cat)
            color = colors.get(target, CLASS_PALETTE[t % len(CLASS_PALETTE)])
            annotations.append(_tcav_pair(fig, result, t, j, cat=cat, color=color, what=what, shown=shown))
    fig.update_xaxes(tickmode="array", tickvals=cats, ticktext=ticks, tickangle=-30 if len(cats) > 8 else 0)
    fig.update_yaxes(range=[-0.03, 1.12], dtick=0.25, title_text="TCAV score", zeroline=False)
    return base_layout(
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
        The windows the values belong to (from :func:`xai.symbolic.music.encode`); silent ones are left out.
    values : array-like
        One value per window, e.g. cosine similarities from :func:`xai.concepts.tcav.concept_strip`.

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
        The windows the values belong to (from :func:`xai.symbolic.music.encode`).
    values : array-like
        One value per window, e.g. cosine similarity with a CAV from :func:`xai.concepts.tcav.concept_strip`.
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
    roll = piano_roll(piece)
    x_end = max(float(roll.layout.xaxis.range[1]), max((w.end_beat for w in windows), default=0.0))
    n = int(np.ceil(x_end))
    profile = _strip_profile(piece, windows, values, n)
    bars = [str(piece.bar_at(k + 0.5)) for k in range(n)]
    piano_h = int(roll.layout.height or 400)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.02,
        row_heights=[_STRIP_PX / (_STRIP_PX + piano_h), piano_h / (_STRIP_PX + piano_h)],
    )
    fig.add_trace(_strip_heatmap(profile, bars, concept=concept, baseline=baseline), row=1, col=1)
    for tr in roll.data:
        fig.add_trace(tr, row=2, col=1)
    _strip_axes(fig, roll, x_end)
    title = f"Where the model sees '{concept}'" + (f" (at {layer})" if layer else "")
    return base_layout(
        fig,
        title=dict(text=title, x=0, xanchor="left", y=0.995, yanchor="top"),
        height=piano_h + _STRIP_PX + 60,
        margin=dict(l=10, r=10, t=90, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.02, xanchor="left", x=0),
        hovermode="closest",
        plot_bgcolor="white",
        dragmode="zoom",
    )


_STRIP_PX = 46  # height of the concept strip over the piano roll


def _strip_heatmap(profile: np.ndarray, bars: list[str], *, concept: str, baseline: float) -> go.Heatmap:
    """The strip: one row of quarters, white at ``baseline``, symmetric about it."""
    finite = profile[np.isfinite(profile)]
    spread = float(np.max(np.abs(finite - baseline))) if finite.size else 1.0
    spread = spread or 1.0
    return go.Heatmap(
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
    )


def _strip_axes(fig: go.Figure, roll: go.Figure, x_end: float) -> None:
    """Bar numbers along the top of the strip, the piano roll's pitch axis below, one time axis for both."""
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


# --------------------------------------------------------------------------------------------------------------
# Discovered concepts (xai.concepts.discovery)
# --------------------------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from xai.concepts.discovery import Discovery

__all__ += ["concept_label", "discovery_roll", "concept_importance", "concept_overview", "fidelity_plot"]

# Presence of a concept: transparent where absent, a warm orange that reads over the dark part colours.
_PRESENCE_SCALE = [[0.0, "rgba(255,170,0,0)"], [0.15, "rgba(255,160,0,0.10)"], [1.0, "rgba(217,72,1,0.60)"]]
_REGION = "#D94801"


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
        The excerpt as a piece starting at beat 0 (:meth:`xai.concepts.discovery.ExcerptSet.piece`).
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
    from xai.concepts.discovery import upsample  # discovery imports torch: only when an excerpt is drawn

    spq = music.STEPS_PER_QUARTER
    steps = int(round(window_quarters * spq))
    up = upsample(np.asarray(presence, dtype=np.float32), (music.N_PITCHES, steps))
    top = float(peak) if peak else float(up.max())
    z = up / top if top > 0 else up
    fig = piano_roll(piece, key_bars=True)
    fig.add_trace(_presence_heatmap(z))
    fig.data = (fig.data[-1],) + tuple(fig.data[:-1])  # beneath the notes
    lo, hi = (float(v) for v in fig.layout.yaxis.range)
    strong = np.flatnonzero(z.max(axis=1) >= 0.3) + music.PITCH_LOW
    if strong.size:  # show the register where the concept sits even where no note is
        lo, hi = min(lo, strong.min() - 1.5), max(hi, strong.max() + 1.5)
    shapes = list(fig.layout.shapes or ())
    annotations = list(fig.layout.annotations or ())
    y_top = hi if region is None else _listen_band(shapes, annotations, region, lo, hi)
    tv, tt = pitch_ticks(int(np.ceil(lo)), int(np.floor(hi)))
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


def _presence_heatmap(z: np.ndarray) -> go.Heatmap:
    """The presence map (pitch x sixteenths, 1 = the peak) as a translucent orange heat map."""
    spq = music.STEPS_PER_QUARTER
    return go.Heatmap(
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


def _listen_band(shapes: list, annotations: list, region: tuple[float, float], lo: float, hi: float) -> float:
    """Add the 'listen' band over the notes (to ``shapes`` and ``annotations``); returns the new top of the axis."""
    band = max(1.2, (hi - lo) * 0.06)
    shapes.append(dict(type="rect", x0=float(region[0]), x1=float(region[1]), y0=hi + 0.3, y1=hi + 0.3 + band,
                       fillcolor=_REGION, line=dict(width=0), layer="above"))
    annotations.append(dict(x=float(region[0]), y=hi + 0.3 + band / 2, xanchor="left", yanchor="middle",
                            text="<b>listen</b>", showarrow=False, font=dict(size=11, color="white")))
    return hi + 0.5 + band


def _importance_columns(discovery: Discovery) -> tuple[np.ndarray, list[str], list[str]]:
    """(classes', K) importance, the column names, and the class each column is coloured by: every class, or in
    the pairwise mode the two classes and the difference of their logits (coloured by the first)."""
    if discovery.pair_:
        a, b = discovery.pair_
        rows = [discovery.classes.index(c) for c in (a, b)]
        values = np.vstack([discovery.importance_[rows], discovery.pair_importance_[None, :]])
        return values, [a, b, f"{a} − {b}"], [a, b, a]
    names = [c + (" *" if basis == "all" else "") for c, basis in zip(discovery.classes, discovery.importance_basis_)]
    return np.asarray(discovery.importance_), names, list(discovery.classes)


def concept_importance(discovery: Discovery, concept: int) -> go.Figure:
    """Horizontal bars: the importance of one concept for each class (ICE's directional derivative).

    Bars to the right: adding the concept raises that class's logit; to the left: lowers it. Classes whose
    importance averages over all excerpts (the set held none of theirs) are marked with an asterisk. In the
    pairwise mode, the two classes and the difference of their logits (first minus second).
    """
    table, names, owners = _importance_columns(discovery)
    values = table[:, concept]
    colors = class_colors(list(discovery.classes))
    classes = owners
    order = np.argsort(values)  # largest on top
    fig = go.Figure(
        go.Bar(
            x=values[order],
            y=[names[i] for i in order],
            orientation="h",
            marker=dict(
                color=[rgba(colors[classes[i]], 1.0 if values[i] > 0 else 0.45) for i in order],
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
    return base_layout(
        fig,
        title=dict(text=f"Importance of {concept_label(concept).lower()} for each class", x=0, xanchor="left",
                   font=dict(size=14)),
        height=60 + 34 * len(classes),
        margin=dict(l=10, r=30, t=40, b=10),
        showlegend=False,
    )


def _flag_text(flag: dict) -> str:
    """A short mark for a suspect concept: '⚠ ≈ 3' (near-duplicate of concept 3), '⚠ folk only' (class detector)."""
    marks = [f"≈ {', '.join(str(j + 1) for j in flag.get('duplicates', []))}"] if flag.get("duplicates") else []
    if flag.get("class_detector"):
        marks.append(f"{flag.get('top_class')} only")
    return (" ⚠ " + "; ".join(marks)) if marks else ""


def concept_overview(discovery: Discovery, *, selected: int | None = None,
                     flags: Sequence[dict] | None = None) -> go.Figure:
    """A concepts x classes grid of importance (blue lowers the class, red raises it), values written in.

    One look says which concepts matter for which class; ``selected`` outlines one concept's row. With
    ``flags`` (:func:`xai.concepts.discovery.flags`), suspect concepts are marked on their row's label:
    '⚠ ≈ 3' for a near-duplicate of concept 3, '⚠ folk only' for a mere class detector.
    """
    table, columns, _ = _importance_columns(discovery)
    imp = table.T  # (K, classes)
    K = imp.shape[0]
    span = float(np.max(np.abs(imp))) or 1.0
    labels = [concept_label(k) for k in range(K)]
    if discovery.pair_ is not None:  # the suggested concepts (opposite signs for the two classes) starred
        labels = [lab + (" ★" if s else "") for lab, s in zip(labels, discovery.suggested_)]
    fig = go.Figure(
        go.Heatmap(
            z=imp,
            x=columns,
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
    if flags is not None:
        fig.update_yaxes(tickmode="array", tickvals=labels,
                         ticktext=[lab + _flag_text(f) for lab, f in zip(labels, flags)])
    fig.update_xaxes(side="top", tickangle=-30)
    return base_layout(fig, height=80 + 30 * K, margin=dict(l=10, r=10, t=40, b=10), shapes=shapes)


def fidelity_plot(points: Sequence[dict], *, chosen: int | None = None) -> go.Figure:
    """Fidelity against K: the model's accuracy with the layer rebuilt from K concepts, and more.

    Lines: accuracy with the reconstruction, agreement with the original predictions, explained variance of
    the layer; dashed: the original accuracy. ``chosen`` marks the K on show. Where the points hold held-out
    fidelity (``'heldout'``, see :func:`xai.concepts.discovery.fidelity_curve`), the accuracy on held-out
    pieces is drawn beside the in-sample one, with its chance floor: what as many random concepts give there,
    and (dotted grey) always answering the commonest class.
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
    _heldout_lines(fig, pts)
    log = bool(ks) and max(ks) / max(min(ks), 1) > 10  # K doubles along the curve: even steps on a log axis
    fig.update_xaxes(title_text="K (concepts)", type="log" if log else "linear", tickmode="array", tickvals=ks,
                     ticktext=[str(k) for k in ks], title_standoff=2)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return base_layout(
        fig,
        title=dict(text="Fidelity: the model with the layer rebuilt from K concepts", x=0, xanchor="left",
                   font=dict(size=14)),
        height=380,
        legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0),
        margin=dict(l=10, r=10, t=40, b=10),
    )


def _heldout_lines(fig: go.Figure, pts: Sequence[dict]) -> None:
    """Held-out accuracy and its chance floors, after the in-sample lines (drawn only where measured)."""
    held = [(p["n_concepts"], p["heldout"]) for p in pts if p.get("heldout")]
    if not held:
        return
    ks = [k for k, _ in held]
    for key, name, color, dash in (
        ("accuracy", "accuracy on held-out pieces", "#C62828", "solid"),
        ("random_accuracy", "held out, K random concepts (chance)", "#C62828", "dot"),
    ):
        fig.add_trace(go.Scatter(x=ks, y=[h.get(key) for _, h in held], mode="lines+markers", name=name,
                                 line=dict(color=color, dash=dash, width=2), marker=dict(size=6, symbol="diamond"),
                                 hovertemplate=f"K = %{{x}}: {name} %{{y:.1%}}<extra></extra>"))
    chance = held[0][1].get("chance_accuracy")
    if chance is not None:
        fig.add_hline(y=chance, line=dict(color="#BBB", dash="dot", width=1.2),
                      annotation_text=f"one class always {chance:.1%}", annotation_position="bottom left")


__all__ += ["concepts_in_piece"]


def concepts_in_piece(found, *, selected: int | None = None, title: str | None = None) -> go.Figure:
    """Where each discovered concept sits along a piece: concepts down, bars across, colour = presence.

    ``found`` is a :class:`xai.concepts.discovery.PiecePresence`. A bar's value is the mean peak presence of the sounding
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
    return base_layout(fig, title=title or "Where each concept sits in this piece", height=120 + 26 * K)


__all__ += ["selected_box"]


def selected_box(event) -> tuple[float, float] | None:
    """The x range (beats) of the latest box selected on a chart, from a chart's selection event, or None.

    ``event`` is what a chart drawn with box selection returns (an object with ``selection.box``, a list of
    ``{"x": [x0, x1], ...}``); anything else, or a box without two numbers for x, gives None.
    """
    try:
        boxes = event.selection.box
    except (AttributeError, KeyError):
        return None
    for b in reversed(boxes or []):
        x = b.get("x") if isinstance(b, dict) else None
        if isinstance(x, (list, tuple)) and len(x) == 2 and all(isinstance(v, (int, float)) for v in x):
            return float(x[0]), float(x[1])
    return None
