"""Figures of TCAV's statistics: the null distribution beside the concept, entanglement across concepts, sanity.

Pure functions from results (:class:`xai.concepts.tcav.TCAVResult`, the sanity summary of
:mod:`xai.concepts.sanity`) to plotly figures and plain tables; nothing here computes an explanation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xai.views.common import CLASS_PALETTE, base_layout, class_colors

if TYPE_CHECKING:  # figures only read results
    from xai.concepts.tcav import TCAVResult

__all__ = ["tcav_null", "cav_similarity", "entanglement", "sanity_deciles", "sanity_rows"]

GREY = "#9e9e9e"


def tcav_null(result: TCAVResult, *, classes: Sequence[str] | None = None) -> go.Figure:
    """The concept's mean TCAV score beside the null: the mean scores of the random sets tested the same way.

    Each (class, layer) gets a grey cloud -- one dot per random set of excerpts -- and the concept's mean score
    with its 95 % bootstrap interval over runs. A layer whose CAVs cannot tell the concept from random excerpts
    gets no concept marker, only the note 'no score'; a significant cell is starred.

    Parameters
    ----------
    result : TCAVResult
    classes : sequence of str, optional
        The model's classes, so each keeps its colour.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    colors = class_colors(list(classes) if classes is not None else list(result.targets))
    multi = len(result.layers) > 1
    fig = go.Figure()
    cats, ticks, notes = [], [], []
    for j, layer in enumerate(result.layers):
        for t, target in enumerate(result.targets):
            c = result.cell(target, layer)
            cat = f"{target} · {layer}" if multi else target
            cats.append(cat)
            ticks.append(f"<b>★ {cat}</b>" if c["significant"] else cat)
            fig.add_trace(go.Box(x=[cat] * result.n_random, y=result.random_scores[t, j], name="random sets (null)",
                                 marker=dict(color=GREY, size=4), line=dict(color=GREY), fillcolor="rgba(0,0,0,0)",
                                 boxpoints="all", jitter=0.5, pointpos=0, legendgroup="null",
                                 showlegend=not fig.data, hovertemplate="random set: %{y:.2f}<extra></extra>"))
            if not c["cav_better"]:
                notes.append(dict(x=cat, y=1.06, text="no score", showarrow=False, font=dict(color=GREY)))
                continue
            lo, hi = c["ci"]
            color = colors.get(target, CLASS_PALETTE[t % len(CLASS_PALETTE)])
            fig.add_trace(go.Scatter(
                x=[cat], y=[c["tcav_mean"]], mode="markers", name="the concept (95% interval)",
                marker=dict(color=color if c["significant"] else "white", size=13, symbol="diamond",
                            line=dict(color=color, width=2)),
                error_y=dict(type="data", symmetric=False, array=[hi - c["tcav_mean"]],
                             arrayminus=[c["tcav_mean"] - lo], color=color),
                legendgroup="concept", showlegend=not any(tr.legendgroup == "concept" for tr in fig.data),
                hovertemplate=(f"{target} at {layer}: %{{y:.2f}} (random sets {c['random_mean']:.2f}; "
                               f"effect {c['effect_size']:+.1f} sd; p={c['p_corrected']:.2g} corrected)<extra></extra>"),
            ))
    fig.update_xaxes(tickmode="array", tickvals=cats, ticktext=ticks, tickangle=-30 if len(cats) > 8 else 0)
    fig.update_yaxes(range=[-0.03, 1.12], dtick=0.25, title_text="mean TCAV score", zeroline=False)
    what = f"'{result.concept}'" + (f" rather than '{result.relative_to}'" if result.relative_to else "")
    return base_layout(fig, title=dict(text=f"{what} against {result.n_random} random sets of excerpts "
                                            f"({result.n_runs} runs each)", x=0, xanchor="left"),
                       annotations=notes, height=420, margin=dict(l=10, r=10, t=50, b=10),
                       legend=dict(orientation="h", yanchor="top", y=-0.15, xanchor="left", x=0))


def cav_similarity(results: Sequence[TCAVResult], layer: str) -> np.ndarray:
    """(n, n) cosine similarity of the concepts' CAVs at one layer (NaN where a result lacks the layer)."""
    vs = [np.asarray(r.cavs_[layer], dtype=float) if layer in r.cavs_ else None for r in results]
    n = len(vs)
    out = np.full((n, n), np.nan)
    for i in range(n):
        for k in range(n):
            if vs[i] is not None and vs[k] is not None and vs[i].size == vs[k].size:
                den = np.linalg.norm(vs[i]) * np.linalg.norm(vs[k])
                out[i, k] = float(vs[i] @ vs[k] / den) if den > 0 else np.nan
    return out


def entanglement(results: Sequence[TCAVResult], target: str) -> go.Figure:
    """Several concepts at once: TCAV score and CAV accuracy per layer for one class, and their CAVs' cosines.

    Two concepts whose directions are nearly the same (cosine near 1) at a layer are one concept for the model
    there, whatever their names ('Alberti bass' and 'classical style'); their scores then say the same thing.

    Parameters
    ----------
    results : sequence of TCAVResult
        Results of several concepts, on the same layers and including ``target``.
    target : str
        The class whose scores are drawn.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    layers = list(results[0].layers)
    fig = make_subplots(rows=1, cols=3, subplot_titles=(f"TCAV score for {target}", "CAV accuracy (held out)",
                                                        f"CAV cosine at {layers[-1]}"))
    for i, r in enumerate(results):
        color = CLASS_PALETTE[i % len(CLASS_PALETTE)]
        t = r.targets.index(target) if target in r.targets else None
        ls = [la for la in layers if la in r.layers]
        if t is not None:
            y = [r.tcav_mean[t, r.layers.index(la)] if r.cell(target, la)["cav_better"] else None for la in ls]
            fig.add_trace(go.Scatter(x=ls, y=y, mode="lines+markers", name=r.concept, line=dict(color=color),
                                     legendgroup=r.concept), row=1, col=1)
        fig.add_trace(go.Scatter(x=ls, y=[r.cav_accuracy[r.layers.index(la), 0] for la in ls], mode="lines+markers",
                                 name=r.concept, line=dict(color=color), legendgroup=r.concept, showlegend=False),
                      row=1, col=2)
        fig.add_trace(go.Scatter(x=ls, y=[r.cell(r.targets[0], la)["cav_threshold"] for la in ls], mode="lines",
                                 line=dict(color=color, dash="dot"), showlegend=False, legendgroup=r.concept,
                                 hovertemplate="random sets' bound %{y:.2f}<extra></extra>"), row=1, col=2)
    names = [r.concept for r in results]
    sim = cav_similarity(results, layers[-1])
    fig.add_trace(go.Heatmap(z=sim, x=names, y=names, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                             text=np.round(sim, 2), texttemplate="%{text}", showscale=False), row=1, col=3)
    fig.update_yaxes(range=[-0.03, 1.03], row=1, col=1)
    fig.update_yaxes(range=[0.3, 1.03], row=1, col=2)
    return base_layout(fig, height=380, margin=dict(l=10, r=10, t=50, b=10),
                       legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0))


def sanity_deciles(summary: dict) -> go.Figure:
    """The raw p-values of random concepts per decile: a flat profile is what a valid test gives."""
    d = summary["raw_p"]["deciles"]
    total = max(sum(d), 1)
    fig = go.Figure(go.Bar(x=[f"{k / 10:.1f}–{(k + 1) / 10:.1f}" for k in range(10)], y=d, marker_color=GREY,
                           hovertemplate="%{y} p-values<extra></extra>"))
    fig.add_hline(y=total / 10, line_dash="dot", annotation_text="uniform")
    return base_layout(fig, title=dict(text="Random concepts' p-values (should be flat)", x=0, xanchor="left"),
                       height=260, margin=dict(l=10, r=10, t=40, b=10))


def sanity_rows(summary: dict) -> list[dict]:
    """The sanity numbers as rows (check, result, what it means) for a table a musician can read."""
    fp, raw, pl, sd = summary["false_positives"], summary["raw_p"], summary["planted"], summary["seeds"]
    lo, hi = fp["rate_ci95"]
    rows = [
        {"check": "Random concepts reported significant",
         "result": f"{fp['significant']} of {fp['cells']} ({fp['rate']:.1%}; 95% CI {lo:.1%}–{hi:.1%})",
         "meaning": "How often a set of random excerpts passes as a concept. Should be at most 5 %."},
        {"check": "Raw p-values below 0.05",
         "result": f"{raw['rate']:.1%} (uniformity test p = {raw['ks_uniform_p']:.2f})",
         "meaning": "About 5 % for a test whose p-values mean what they say."},
        {"check": f"Planted concept ('{pl['target']}' excerpts)",
         "result": ", ".join(f"{s:.2f}{' ★' if g else ''}" for s, g in zip(pl["tcav_mean"], pl["significant"])),
         "meaning": "A concept the model certainly uses must be found (★ = significant)."},
    ]
    for r in summary["randomisation"]:
        rows.append({"check": f"Weights of {', '.join(r['randomised'])} randomised",
                     "result": ", ".join(f"{s:.2f}{' ★' if g else ''}" for s, g in zip(r["tcav_mean"],
                                                                                     r["significant"])),
                     "meaning": "The planted result should change, and vanish once the tested layer is random."})
    rows.append({"check": f"Other seeds ({sd['seeds']})",
                 "result": f"scores move by at most {sd['max_abs_difference']:.3f}; calls agree: "
                           f"{'yes' if sd['significance_agrees'] else 'no'}",
                 "meaning": "The same test with other random draws should say the same."})
    return rows
