"""Figures of the classroom views: the label-noise lab's accuracy curves and a live run's per-style recall.

Pure functions: plain data in (a curves document of :func:`xai.classroom.label_noise.run_curves`, run dicts), a plotly
figure out.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

__all__ = ["noise_curves", "per_class_recall", "KIND_NAMES"]

KIND_NAMES = {"symmetric": "Symmetric (any other style)", "class": "Class-dependent (a close style)"}
KIND_COLORS = {"symmetric": "#1F3A5F", "class": "#B3412B"}


def _layout(fig: go.Figure, **kw) -> go.Figure:
    fig.update_layout(template="plotly_white", margin=dict(l=60, r=20, t=40, b=50), font=dict(size=13),
                      legend=dict(orientation="h", y=-0.2), **kw)
    return fig


def noise_curves(doc: dict, *, live: list[dict] | None = None, n_classes: int | None = None) -> go.Figure:
    """Test accuracy (clean held-out pieces) against the share of wrong training labels: one line per noise kind
    (mean over seeds, band = min..max, each seed a dot), the clean model as a dashed reference, chance dotted,
    and ``live`` runs (run dicts) as stars."""
    fig = go.Figure()
    runs = doc.get("runs", [])
    clean = [r["test_accuracy"] for r in runs if r["noise"] == 0]
    for kind in doc.get("parameters", {}).get("kinds", sorted({r["kind"] for r in runs})):
        rows = [r for r in runs if r["kind"] == kind]
        if not rows:
            continue
        noises = sorted({r["noise"] for r in rows})
        acc = [[r["test_accuracy"] for r in rows if r["noise"] == n] for n in noises]
        color = KIND_COLORS.get(kind, "#555555")
        x = [100 * n for n in noises]
        fig.add_trace(go.Scatter(x=x + x[::-1], y=[max(a) for a in acc] + [min(a) for a in acc][::-1],
                                 fill="toself", mode="lines", fillcolor=_rgba(color, 0.15), line=dict(width=0),
                                 hoverinfo="skip",
                                 showlegend=False))
        fig.add_trace(go.Scatter(x=x, y=[float(np.mean(a)) for a in acc], mode="lines+markers",
                                 name=KIND_NAMES.get(kind, kind), line=dict(color=color, width=3),
                                 hovertemplate="%{x:.0f}% wrong labels: accuracy %{y:.3f}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[100 * r["noise"] for r in rows], y=[r["test_accuracy"] for r in rows],
                                 mode="markers", marker=dict(color=color, size=6, opacity=0.5), showlegend=False,
                                 hovertemplate="seed run: %{y:.3f}<extra></extra>"))
    if clean:
        fig.add_hline(y=float(np.mean(clean)), line=dict(color="#2E7D32", dash="dash"),
                      annotation_text=f"curated labels {np.mean(clean):.2f}", annotation_position="top right")
    k = n_classes or len(doc.get("parameters", {}).get("classes", [])) or None
    if k:
        fig.add_hline(y=1.0 / k, line=dict(color="#888888", dash="dot"), annotation_text="chance",
                      annotation_position="bottom right")
    for r in live or []:
        fig.add_trace(go.Scatter(x=[100 * r["noise"]], y=[r["test_accuracy"]], mode="markers",
                                 name=f"Your run ({r['kind']}, {100 * r['noise']:.0f}%)",
                                 marker=dict(symbol="star", size=16, color=KIND_COLORS.get(r["kind"], "#555"),
                                             line=dict(color="black", width=1))))
    return _layout(fig, height=420, xaxis=dict(title="Wrong training labels (%)", range=[-3, 103]),
                   yaxis=dict(title="Accuracy on held-out pieces", range=[0, 1]),
                   title="Accuracy against label noise")


def per_class_recall(run: dict, *, reference: dict | None = None) -> go.Figure:
    """Share of each style's held-out excerpts the run's model gets right (beside the reference run's)."""
    classes = list(run["per_class"])
    fig = go.Figure()
    if reference:
        fig.add_bar(x=classes, y=[reference["per_class"].get(c) for c in classes], name="Curated labels",
                    marker_color="#A5D6A7")
    fig.add_bar(x=classes, y=[run["per_class"][c] for c in classes],
                name=f"{100 * run['noise']:.0f}% wrong ({run['kind']})", marker_color=KIND_COLORS.get(run["kind"]))
    return _layout(fig, height=320, barmode="group", yaxis=dict(title="Recall", range=[0, 1]),
                   title="Per style: share of held-out excerpts recognised")


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"
