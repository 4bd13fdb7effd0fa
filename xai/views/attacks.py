"""Pure figure functions for adversarial comparisons: result -> plotly figure (no Streamlit).

Original vs adversarial probabilities, the two model spectrograms and their difference, the robustness study
(accuracy vs epsilon, SNR at success, targeted success per class) and the symbolic attack's piano-roll diff.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xai.symbolic.music import note_name
from xai.views.common import base_layout, rgba, wrap_title

ORIGINAL, ADVERSARIAL, NOISE = "#1F3A5F", "#B3412B", "#9A9A9A"
MODEL_COLOURS = {"style_audio": "#1F3A5F", "style_midlevel": "#3B7D4F", "style_adversarial": "#B3412B",
                 "instrument": "#8A5A9E"}


def _layout(fig: go.Figure, title: str, height: int = 320) -> go.Figure:
    """The app's common figure style (:func:`xai.views.common.base_layout`: font, template) with a legend below."""
    wrapped = wrap_title(title)  # two lines where half a page is too narrow for one
    return base_layout(fig, title=wrapped, height=height + (25 if wrapped != title else 0),
                       margin={"l": 60, "r": 20, "t": 75 if wrapped != title else 50, "b": 40},
                       legend={"orientation": "h", "y": -0.3})


def probabilities(classes: Sequence[str], original: Sequence[float], adversarial: Sequence[float], *,
                  noise: Sequence[float] | None = None, target: str | None = None,
                  title: str = "What the model answers") -> go.Figure:
    """Grouped bars: class probabilities for the original, the adversarial and (optionally) the noise control."""
    fig = go.Figure()
    fig.add_bar(x=list(classes), y=list(original), name="original", marker_color=ORIGINAL)
    fig.add_bar(x=list(classes), y=list(adversarial), name="adversarial", marker_color=ADVERSARIAL)
    if noise is not None:
        fig.add_bar(x=list(classes), y=list(noise), name="white noise at the same SNR", marker_color=NOISE)
    if target:
        fig.add_annotation(x=target, y=1.02, text="target", showarrow=False, yref="y")
    fig.update_yaxes(range=[0, 1.08], title="probability", gridcolor="#eee")
    return _layout(fig, title)


def spectrograms(original: np.ndarray, adversarial: np.ndarray, *, seconds: float, band_hz: Sequence[float],
                 title: str = "What the model hears: original, adversarial, and the difference") -> go.Figure:
    """Three heatmaps over time x band: the model's log filter-bank of the original, of the adversarial, and
    adversarial minus original (a diverging scale centred on 0)."""
    frames = original.shape[1]
    t = np.linspace(0, seconds, frames)
    y = [f"{f:.0f}" for f in band_hz]
    diff = adversarial - original
    lim = float(np.max(np.abs(diff))) or 1.0
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=("original", "adversarial", "difference (adversarial − original)"))
    lo, hi = float(np.percentile(original, 1)), float(np.max(original))
    for col, z in ((1, original), (2, adversarial)):
        fig.add_trace(go.Heatmap(z=z, x=t, y=y, colorscale="Magma", zmin=lo, zmax=hi, showscale=False,
                                 hovertemplate="%{x:.2f} s, %{y} Hz: %{z:.2f}<extra></extra>"), 1, col)
    fig.add_trace(go.Heatmap(z=diff, x=t, y=y, colorscale="RdBu_r", zmid=0, zmin=-lim, zmax=lim,
                             colorbar={"title": "Δ log", "len": 0.9},
                             hovertemplate="%{x:.2f} s, %{y} Hz: %{z:+.3f}<extra></extra>"), 1, 3)
    fig.update_yaxes(title="band centre (Hz)", row=1, col=1, nticks=6)
    fig.update_xaxes(title="seconds")
    return _layout(fig, title, height=340)


def accuracy_vs_epsilon(study: dict, *, title: str = "Accuracy under attack (untargeted PGD, same test clips)"
                        ) -> go.Figure:
    """Accuracy of each style model vs the perturbation bound epsilon, from the study's JSON."""
    eps = study["epsilons"]
    fig = go.Figure()
    xs = [e if e > 0 else eps[1] / 3 for e in eps]  # clean accuracy drawn left of the smallest epsilon
    for name, m in study["models"].items():
        fig.add_scatter(x=xs, y=m["accuracy"], mode="lines+markers", name=m.get("title", name),
                        line={"color": MODEL_COLOURS.get(name)},
                        customdata=[[e, s] for e, s in zip(eps, [None, *m["mean_snr_by_epsilon"]])],
                        hovertemplate="epsilon %{customdata[0]:g}: accuracy %{y:.2f}<extra></extra>")
    for name, m in study["models"].items():  # Wilson 95 % bands over clips, where the study has them
        ci = m.get("accuracy_ci95")
        if ci:
            colour = rgba(MODEL_COLOURS.get(name, "#777777"), 0.15)
            fig.add_scatter(x=xs + xs[::-1], y=[c[1] for c in ci] + [c[0] for c in ci][::-1], fill="toself", mode="lines",
                            fillcolor=colour, line={"width": 0}, hoverinfo="skip", showlegend=False,
                            name=f"{m.get('title', name)}: 95 % interval")
    chance = study.get("chance")
    if chance:
        fig.add_hline(y=chance, line_dash="dot", annotation_text="chance")
    fig.update_xaxes(type="log", title="epsilon (largest sample change; leftmost point = no attack)",
                     tickvals=xs, ticktext=["clean"] + [f"{e:g}" for e in eps[1:]])
    fig.update_yaxes(range=[0, 1], title="accuracy", gridcolor="#eee")
    return _layout(fig, title, height=360)


def accuracy_over_seeds(seeds: dict, *, title: str = "Accuracy under attack over training seeds (same clips)"
                        ) -> go.Figure:
    """Each style model kind's accuracy vs epsilon: one thin line per training seed, the mean over seeds, and
    the t-based 95 % band over seeds, from :func:`xai.attacks.robustness.seed_study`'s JSON."""
    eps = seeds["epsilons"]
    xs = [e if e > 0 else eps[1] / 3 for e in eps]
    fig = go.Figure()
    for name, k in seeds["kinds"].items():
        colour = MODEL_COLOURS.get(name, "#777777")
        ci = k["accuracy"]["ci95"]
        fig.add_scatter(x=xs + xs[::-1], y=[c[1] for c in ci] + [c[0] for c in ci][::-1], fill="toself", mode="lines",
                        fillcolor=rgba(colour, 0.15), line={"width": 0}, hoverinfo="skip", showlegend=False)
        for run in k["seeds"]:
            fig.add_scatter(x=xs, y=run["accuracy"], mode="lines", line={"color": colour, "width": 1, "dash": "dot"},
                            showlegend=False, hovertemplate=f"{name} seed {run['seed']}: " + "%{y:.2f}<extra></extra>")
        fig.add_scatter(x=xs, y=k["accuracy"]["mean"], mode="lines+markers", name=k.get("title", name),
                        line={"color": colour, "width": 3},
                        hovertemplate="mean over seeds: %{y:.2f}<extra></extra>")
    fig.update_xaxes(type="log", title="epsilon (largest sample change; leftmost point = no attack)",
                     tickvals=xs, ticktext=["clean"] + [f"{e:g}" for e in eps[1:]])
    fig.update_yaxes(range=[0, 1], title="accuracy", gridcolor="#eee")
    return _layout(fig, title, height=380)


def snr_at_success(study: dict, *, title: str = "How quiet the successful perturbations are (SNR at success)"
                   ) -> go.Figure:
    """Box plots of the SNR (dB) at which each model's clips were first flipped; higher = quieter attack."""
    fig = go.Figure()
    for name, m in study["models"].items():
        fig.add_box(y=m["snr_at_success"], name=name, marker_color=MODEL_COLOURS.get(name),
                    boxpoints="all", jitter=0.4, pointpos=0)
    fig.update_yaxes(title="SNR at success (dB)", gridcolor="#eee")
    fig.update_layout(showlegend=False)
    return _layout(fig, title, height=360)


def instrument_curve(ins: dict, *, title: str = "Instrument model: accuracy and SNR vs epsilon") -> go.Figure:
    """Accuracy under PGD and under white noise at the same SNR, with the mean SNR on a second axis."""
    rows = ins["untargeted"]
    eps = [r["epsilon"] for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=eps, y=[r["accuracy"] for r in rows], name="accuracy under attack", mode="lines+markers",
                    line={"color": ADVERSARIAL})
    fig.add_scatter(x=eps, y=[r["noise_accuracy_same_snr"] for r in rows], name="accuracy with white noise at "
                    "the same SNR", mode="lines+markers", line={"color": NOISE, "dash": "dash"})
    fig.add_scatter(x=eps, y=[r["mean_snr_db"] for r in rows], name="mean SNR (dB)", mode="lines+markers",
                    line={"color": ORIGINAL, "dash": "dot"}, secondary_y=True)
    fig.add_hline(y=ins["chance"], line_dash="dot", annotation_text="chance")
    fig.update_xaxes(type="log", title="epsilon")
    fig.update_yaxes(range=[0, 1.05], title="accuracy", secondary_y=False, gridcolor="#eee")
    fig.update_yaxes(title="SNR (dB)", secondary_y=True)
    return _layout(fig, title, height=360)


def targeted_by_class(ins: dict, *, title: str | None = None) -> go.Figure:
    """Targeted success rate towards each class (each clip attacked towards every other class)."""
    t = ins["targeted"]
    d = t["success_by_class"]
    fig = go.Figure(go.Bar(x=list(d), y=list(d.values()), marker_color=ADVERSARIAL,
                           hovertemplate="%{x}: %{y:.0%}<extra></extra>"))
    fig.update_yaxes(range=[0, 1.05], title="targeted success", tickformat=".0%", gridcolor="#eee")
    return _layout(fig, title or f"Targeted success per target class (epsilon {t['epsilon']:g}, {t['n_attacks']} "
                   f"attacks)")


def clip_sweep(rows: Sequence[dict], *, title: str = "This clip: the smallest epsilon that changes each model's "
               "answer") -> go.Figure:
    """Bars of the smallest flipping epsilon per model for one clip (rows from :func:`xai.attacks.robustness.clip_sweep`)."""
    fig = go.Figure(go.Bar(x=[r["title"] for r in rows], y=[r["epsilon"] or np.nan for r in rows],
                           marker_color=[MODEL_COLOURS.get(r["model"], ORIGINAL) for r in rows],
                           text=[f"{r['snr_db']:.1f} dB" if r["snr_db"] is not None else "not flipped"
                                 for r in rows], textposition="outside"))
    fig.update_yaxes(type="log", title="smallest epsilon that flips")
    return _layout(fig, title)


def roll_diff(original, adversarial, edits, *, title: str = "The edits on the piano roll") -> go.Figure:
    """Notes as bars over beats x pitch: unchanged notes grey, removed notes red (hollow), added notes green."""
    fig = go.Figure()
    dels = {(e.pitch, round(e.onset, 6)) for e in edits if e.op == "delete"}
    kept_x, kept_y, kept_t = [], [], []
    for on, du, p in zip(original.onsets, original.durations, original.pitches):
        if (int(p), round(float(on), 6)) in dels:
            continue
        kept_x += [float(on), float(on + du), None]
        kept_y += [int(p), int(p), None]
        kept_t += [note_name(p)] * 3
    fig.add_scatter(x=kept_x, y=kept_y, mode="lines", line={"color": "#A0A0A0", "width": 7}, name="unchanged",
                    hoverinfo="skip")
    for es, colour, name in (([e for e in edits if e.op == "delete"], "#B3412B", "removed"),
                             ([e for e in edits if e.op == "insert"], "#3B7D4F", "added")):
        xs, ys, texts = [], [], []
        for e in es:
            xs += [e.onset, e.onset + e.duration, None]
            ys += [e.pitch, e.pitch, None]
            texts += [e.describe(original)] * 2 + [None]
        if xs:
            fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": colour, "width": 9}, name=name, text=texts,
                            hovertemplate="%{text}<extra></extra>", opacity=0.9 if name == "added" else 0.6)
    for b, n in zip(original.bar_starts, original.bar_numbers):
        fig.add_vline(x=float(b), line_color="#ddd", annotation_text=str(n), annotation_position="top")
    all_p = np.concatenate([original.pitches, adversarial.pitches]) if adversarial.n_notes else original.pitches
    lo, hi = int(all_p.min()) - 2, int(all_p.max()) + 2
    ticks = [p for p in range(lo, hi + 1) if p % 12 in (0, 7)]
    fig.update_yaxes(range=[lo, hi], tickvals=ticks, ticktext=[note_name(p) for p in ticks], title="pitch",
                     gridcolor="#f2f2f2")
    fig.update_xaxes(title="beats (quarters)")
    return _layout(fig, title, height=380)


def veracity_grid(planted: np.ndarray, lime_top: Sequence[int], energy_top: Sequence[int], n_time: int,
                  n_bands: int, *, title: str = "Planted segments vs LIME's and the energy baseline's top-k"
                  ) -> go.Figure:
    """The time x band grid: planted segments shaded, LIME's picks marked L, the energy picks marked E."""
    z = np.zeros((n_bands, n_time))  # segment id = t * n_bands + b (xai.local.lime.TimeBandGrid)
    for s in planted:
        z[s % n_bands, s // n_bands] = 1
    text = [["" for _ in range(n_time)] for _ in range(n_bands)]
    for s in lime_top:
        text[s % n_bands][s // n_bands] += "L "
    for s in energy_top:
        text[s % n_bands][s // n_bands] += "E"
    fig = go.Figure(go.Heatmap(z=z, text=text, texttemplate="%{text}", colorscale=[[0, "#f7f7f7"], [1, "#E8A87C"]], zmin=0, zmax=1,
                               showscale=False, xgap=2, ygap=2, hoverinfo="skip"))
    fig.update_xaxes(title="time segment", tickvals=list(range(n_time)), ticktext=[str(i + 1) for i in range(n_time)])
    fig.update_yaxes(title="frequency band (low → high)", tickvals=list(range(n_bands)),
                     ticktext=[str(i + 1) for i in range(n_bands)])
    return _layout(fig, title, height=300)
