"""Figures for the recommender's hubness: pure functions, result -> plotly figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from xai.views.common import base_layout

__all__ = ["k_occurrence_histogram", "tradeoff", "hub_shares", "midlevel_z", "nk_trace", "measure_rows"]

_COLORS = {"none": "#B3412B", "mp": "#1F3A5F", "mp_gauss": "#2E7D32", "ls": "#6A3D9A", "nicdm": "#B8860B",
           "csls": "#00838F"}


def k_occurrence_histogram(nks: Mapping[str, np.ndarray], k: int, *, titles: Mapping[str, str] | None = None,
                           hub_size: float = 2.0) -> go.Figure:
    """How many items occur N_k times in others' k-NN lists, one outline per reduction (log count axis)."""
    fig = go.Figure()
    top = max(int(np.max(v)) for v in nks.values())
    for name, nk in nks.items():
        counts = np.bincount(np.asarray(nk), minlength=top + 1)
        fig.add_trace(go.Scatter(x=np.arange(top + 1), y=np.where(counts > 0, counts, np.nan), mode="lines+markers",
                                 line_shape="hvh", name=(titles or {}).get(name, name),
                                 line=dict(color=_COLORS.get(name)), connectgaps=False,
                                 hovertemplate="N_k = %{x}: %{y} items<extra>" + name + "</extra>"))
    fig.add_vline(x=hub_size * k - 0.5, line_dash="dot", line_color="#777",
                  annotation_text=f"hubs (N_k ≥ {hub_size * k:g})", annotation_position="top right")
    # A long axis title in a chart half the page wide: a smaller font keeps it whole at 1280 px.
    fig.update_xaxes(title=f"k-occurrence N_{k} (in how many other items' top-{k} lists)", title_font_size=12)
    fig.update_yaxes(title="items", type="log")
    return base_layout(fig, title=f"k-occurrence distribution (k = {k})", height=360)


def tradeoff(rows: Sequence[dict], *, titles: Mapping[str, str] | None = None) -> go.Figure:
    """Hubness (skewness) against retrieval quality (same-class precision at k), one point per reduction."""
    fig = go.Figure()
    for r in rows:
        if r.get("retrieval_precision") is None:
            continue
        name = r["reduction"]
        fig.add_trace(go.Scatter(
            x=[r["skewness"]], y=[r["retrieval_precision"]], mode="markers", name=(titles or {}).get(name, name),
            marker=dict(size=13, color=_COLORS.get(name)),
            hovertemplate=f"skewness %{{x:.2f}}<br>precision@k %{{y:.3f}}<br>k-NN accuracy {r['knn_accuracy']:.3f}"
                          "<extra></extra>"))
    fig.update_xaxes(title="skewness of N_k (lower: fewer hubs)")
    fig.update_yaxes(title="same-class precision at k")
    fig.update_layout(legend=dict(orientation="h", y=-0.3))
    return base_layout(fig, title="Hubness against retrieval quality", height=400)


def hub_shares(shares: Sequence[dict], *, what: str) -> go.Figure:
    """Share of each value (class, instrument, ...) among the biggest hubs vs among all items."""
    names = [s["name"] for s in shares]
    fig = go.Figure([
        go.Bar(x=names, y=[s["hubs"] for s in shares], name="among the hubs", marker_color="#B3412B"),
        go.Bar(x=names, y=[s["all"] for s in shares], name="among all items", marker_color="#BDBDBD"),
    ])
    fig.update_yaxes(title="share", tickformat=".0%")
    fig.update_layout(barmode="group")
    return base_layout(fig, title=f"{what} of the biggest hubs", height=300)


def midlevel_z(z: Mapping[str, float]) -> go.Figure:
    """Mean mid-level features of the hubs, in standard deviations from the collection's mean."""
    names = list(z)
    vals = [z[n] for n in names]
    fig = go.Figure(go.Bar(x=vals, y=[n.replace("_", " ") for n in names], orientation="h",
                           marker_color=["#B3412B" if v > 0 else "#1F3A5F" for v in vals],
                           hovertemplate="%{y}: %{x:+.2f} sd<extra></extra>"))
    fig.add_vline(x=0, line_color="#777")
    fig.update_xaxes(title="hubs' mean, in standard deviations from all items")
    return base_layout(fig, title="Mid-level features of the hubs", height=300)


def nk_trace(traces: Mapping[str, Sequence[int]], *, check_every: int, need: float) -> go.Figure:
    """The attacked song's k-occurrence during the attack (checked every few steps), per defence."""
    fig = go.Figure()
    for name, tr in traces.items():
        fig.add_trace(go.Scatter(x=np.arange(len(tr)) * check_every, y=list(tr), mode="lines+markers", name=name,
                                 line=dict(color=_COLORS.get(name))))
    fig.add_hline(y=need, line_dash="dot", line_color="#777", annotation_text="hub")
    fig.update_xaxes(title="attack step")
    fig.update_yaxes(title="N_k of the attacked song")
    return base_layout(fig, title="The attacked song's k-occurrence", height=300)


def measure_rows(reports: Sequence, *, titles: Mapping[str, str] | None = None) -> list[dict]:
    """One table row per hubness report (:class:`xai.recommender.hubness.HubnessReport`): hubness measures and
    retrieval quality under its reduction, named by ``titles`` (reduction -> heading; the key itself without)."""
    titles = titles or {}
    rows = []
    for r in reports:
        d = r.summary()
        rows.append({"reduction": titles.get(r.reduction, r.reduction), "skewness": d["skewness"],
                     "hub occurrence": d["hub_occurrence"], "anti-hub occurrence": d["antihub_occurrence"],
                     "Robin Hood": d["robinhood"], "Gini": d["gini"], "biggest N_k": d["max_k_occurrence"],
                     "same-class precision@k": d["retrieval_precision"], "k-NN accuracy": d["knn_accuracy"]})
    return rows
