"""Figures for recordings and audio models: pure functions, result -> plotly figure.

Kept apart from :mod:`xai.views` (the score figures) only so the two can change independently; they share
its colours and layout (``class_colors``, ``base_layout``), so a class has the same colour everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from xai.audio.predict import AudioPrediction, Spectrogram
from xai.views.common import base_layout, class_colors, note_name

__all__ = ["spectrogram", "probabilities_over_time", "midlevel_bars", "filterbanks", "confusion", "band_summary",
           "band_centres", "front_end_rows", "front_end_comparability"]


def spectrogram(spec: Spectrogram, *, title: str = "What the model hears (log filter-bank energy)") -> go.Figure:
    """Heatmap of a model's log filter-bank input: seconds across, band centre frequency (Hz) up."""
    fig = go.Figure(go.Heatmap(
        z=spec.values, x=spec.times, y=np.arange(spec.values.shape[0]), colorscale="Magma", showscale=False,
        customdata=np.repeat(np.round(spec.band_hz)[:, None], spec.values.shape[1], axis=1),
        hovertemplate="%{x:.2f} s, band around %{customdata:.0f} Hz<extra></extra>",
    ))
    ticks = np.linspace(0, spec.values.shape[0] - 1, 6).round().astype(int)
    fig.update_yaxes(tickvals=ticks, ticktext=[f"{spec.band_hz[t]:.0f} Hz" for t in ticks], title="frequency")
    fig.update_xaxes(title="seconds")
    return base_layout(fig, title=title, height=300)


def probabilities_over_time(pred: AudioPrediction, *, title: str | None = None) -> go.Figure:
    """One line per class: the probability of each window, drawn at the window's middle, in seconds."""
    colors = class_colors(pred.classes)
    mid = pred.starts + pred.window_seconds / 2
    fig = go.Figure()
    for k, c in enumerate(pred.classes):
        fig.add_trace(go.Scatter(
            x=mid, y=pred.window_probabilities[:, k], name=c, mode="lines+markers",
            line=dict(color=colors[c], width=2), connectgaps=False,
            hovertemplate=f"{c}: %{{y:.2f}} (window %{{customdata}})<extra></extra>",
            customdata=[f"{s:.1f}-{s + pred.window_seconds:.1f} s" for s in pred.starts],
        ))
    fig.update_xaxes(title="seconds (middle of each window)")
    fig.update_yaxes(title="probability", range=[0, 1])
    return base_layout(fig, title=title or f"{pred.model}: {pred.label} overall", height=320)


def midlevel_bars(pred: AudioPrediction, mean: Sequence[float], std: Sequence[float], *,
                  descriptions: dict | None = None, window: int | None = None) -> go.Figure:
    """The interpretable model's named features as bars, in standard units of its training clips.

    0 is the training average, +1 one standard deviation above it; the hover gives the value in the
    feature's own unit and what it measures. ``window`` picks one window; default the mean over windows.
    """
    if pred.midlevel is None:
        raise ValueError("This prediction has no mid-level features (it is not from the interpretable model).")
    vals = pred.midlevel[window] if window is not None else np.nanmean(pred.midlevel, axis=0)
    z = (vals - np.asarray(mean)) / np.asarray(std)
    names = [n.replace("_", " ") for n in pred.midlevel_names]
    desc = descriptions or {}
    fig = go.Figure(go.Bar(
        x=z, y=names, orientation="h", marker_color=np.where(z >= 0, "#1F3A5F", "#B3412B"),
        customdata=np.stack([np.round(vals, 2), [desc.get(n, "") for n in pred.midlevel_names]], axis=1),
        hovertemplate="%{y}: %{customdata[0]} (%{x:+.1f} sd)<br>%{customdata[1]}<extra></extra>",
    ))
    fig.update_xaxes(title="below / above the training average (standard deviations)", zeroline=True)
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, title="Mid-level features the model heard", height=60 + 32 * len(names))


def filterbanks(mel: np.ndarray, learned: np.ndarray, freqs_hz: np.ndarray, *,
                title: str = "Learned filter bank against the mel bank it started from") -> go.Figure:
    """Every 4th filter of a fixed mel bank (grey) and of a learned bank (colour) over frequency."""
    fig = go.Figure()
    for k in range(0, mel.shape[0], 4):
        fig.add_trace(go.Scatter(x=freqs_hz, y=mel[k], mode="lines", line=dict(color="#B0B0B0", width=1),
                                 name="mel", legendgroup="mel", showlegend=k == 0, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=freqs_hz, y=learned[k], mode="lines", line=dict(color="#B3412B", width=1.5),
                                 name="learned", legendgroup="learned", showlegend=k == 0,
                                 hovertemplate=f"band {k}: %{{x:.0f}} Hz<extra></extra>"))
    fig.update_xaxes(title="frequency (Hz)", type="log")
    fig.update_yaxes(title="weight")
    return base_layout(fig, title=title, height=320)


def confusion(matrix: Sequence[Sequence[int]], classes: Sequence[str], *, title: str = "Confusion (test clips)") -> go.Figure:
    """A model card's confusion matrix: rows true class, columns predicted, counts in the cells."""
    m = np.asarray(matrix)
    fig = go.Figure(go.Heatmap(z=m, x=list(classes), y=list(classes), colorscale="Blues", showscale=False,
                               text=m, texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_xaxes(title="predicted")
    fig.update_yaxes(title="true", autorange="reversed")
    return base_layout(fig, title=title, height=120 + 28 * len(classes))


def band_summary(freqs_hz: np.ndarray, responses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each band's peak frequency and its lower and upper half-maximum frequencies, in Hz.

    ``responses`` is (bands, len(freqs_hz)), a band's weight on the power at each frequency (a mel triangle,
    a learned triangle, a conv filter pair's power response). The half-maximum edges are taken on the side
    of the peak they belong to, so a band's width is its main lobe, not a far side lobe.
    """
    f = np.asarray(freqs_hz, dtype=float)
    h = np.asarray(responses, dtype=float)
    peak = h.argmax(axis=1)
    lo, hi = np.empty(len(h)), np.empty(len(h))
    for k, (row, p) in enumerate(zip(h, peak)):
        below = np.flatnonzero(row[:p] < row[p] / 2)
        above = np.flatnonzero(row[p:] < row[p] / 2)
        lo[k] = f[below[-1] + 1] if below.size else f[0]
        hi[k] = f[p + above[0] - 1] if above.size else f[-1]
    return f[peak], lo, hi


_BANK_COLOURS = ("#B0B0B0", "#B3412B", "#1F3A5F", "#3B7D4F", "#8A5A9E")


def band_centres(banks: dict[str, tuple[np.ndarray, np.ndarray]]) -> go.Figure:
    """Band centre frequency (the response's peak) per band, with its half-maximum range, for several banks.

    ``banks`` maps a label to (frequencies in Hz, responses) as :func:`band_summary` takes them; the first one
    (the mel bank, drawn grey) is the reference the learned banks started from.
    """
    fig = go.Figure()
    for i, (label, (freqs, resp)) in enumerate(banks.items()):
        c, lo, hi = band_summary(freqs, resp)
        k = np.arange(len(c))
        fig.add_trace(go.Scatter(
            x=k + (i - (len(banks) - 1) / 2) * 0.2, y=c, mode="markers", name=label,
            marker=dict(color=_BANK_COLOURS[i % len(_BANK_COLOURS)], size=5),
            error_y=dict(type="data", symmetric=False, array=hi - c, arrayminus=c - lo, thickness=1, width=0),
            customdata=np.stack([k, lo, hi], axis=1),
            hovertemplate=f"{label}, band %{{customdata[0]}}: peak %{{y:.0f}} Hz, "
                          "half maximum %{customdata[1]:.0f}-%{customdata[2]:.0f} Hz<extra></extra>",
        ))
    fig.update_xaxes(title="band")
    fig.update_yaxes(title="frequency (Hz): peak, bar = half-maximum range", type="log")
    return base_layout(fig, title="Where each band listens: centres and widths against the mel bank", height=380)


def front_end_rows(cards: Sequence[dict]) -> list[dict]:
    """One row per model card for the front-end comparison table: front-end, accuracies, parameters.

    Accuracies are on the test clips (soundfonts seen in training) and on clips rendered with a soundfont held
    out of training; None where a card does not report one. ``trained on`` names the soundfonts of the training
    audio and ``held out`` what the held-out accuracy measured, because models of different data versions (two
    soundfonts with FluidR3 held out, or five soundfonts left out one at a time) are not compared like for like.
    """
    from xai.audio.examples import training_soundfonts

    rows = []
    for c in cards:
        m = c.get("metrics", {})
        held = m.get("test_heldout_soundfont", {})
        fonts = training_soundfonts(c)
        rows.append({
            "model": c["name"],
            "front-end": c.get("architecture", {}).get("front_end", ""),
            "trained on": f"{len(fonts)} soundfonts",
            "test accuracy": m.get("test", {}).get("accuracy"),
            "held-out soundfont accuracy": held.get("accuracy"),
            "held out": "each of the five in turn" if len(fonts) > 2 else held.get("soundfont", ""),
            "parameters": c.get("architecture", {}).get("parameters"),
            "epochs": len(c.get("training", {}).get("history", [])) or None,
            "training seconds": c.get("training", {}).get("seconds"),
        })
    return rows


def front_end_comparability(rows: Sequence[dict]) -> str:
    """Whether the rows of :func:`front_end_rows` compare like for like, in one sentence for the page.

    Rows compare only when the models heard the same soundfonts and their held-out numbers measured the same
    thing; otherwise the sentence names the groups, so nobody reads a data difference as a front-end difference.
    """
    groups: dict[tuple, list[str]] = {}
    for r in rows:
        groups.setdefault((r["trained on"], r["held out"]), []).append(r["model"])
    if len(groups) <= 1:
        (fonts, held), names = next(iter(groups.items()), (("no", ""), []))
        how = f"each scored on a held-out soundfont ({held})" if held else "none scored on a held-out soundfont"
        return (f"All {len(names)} were trained on the same data ({fonts}), {how}: the rows compare like for like, "
                "so differences between them are the front-end's.")
    parts = "; ".join(f"{', '.join(f'`{n}`' for n in names)}: trained on {fonts}, held out {held or 'none'}"
                      for (fonts, held), names in groups.items())
    return ("**Compare rows only when they were trained on the same soundfonts.** These were not (" + parts
            + "), so a difference between groups is partly the data's, not the front-end's.")


def weakest_late(classes: Sequence[str], shifted: dict, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` classes a model gets least often right when clips are read late (``metrics.test_start_shifted``),
    weakest first; classes without test clips are skipped."""
    pairs = sorted((v, c) for c, v in zip(classes, shifted["late_per_class"]) if v is not None)
    return [(c, v) for v, c in pairs[:k]]


def start_shift_caption(card: dict, *, min_drop: float = 0.10) -> str | None:
    """A warning for the windows over time when the model's card measured that it needs a note onset at a window's
    start (``metrics.test_start_shifted``, :func:`training.train_audio.start_shifted_accuracy`).

    With the paired control (clips from their start, same last second silent) on the card, it warns when the
    accuracy that the missing onset costs has a 95 % interval above zero; on an older card without it, when reading
    late costs ``min_drop`` or more. None when the card has no such measurement or nothing to warn about."""
    sh = card.get("metrics", {}).get("test_start_shifted")
    if not sh:
        return None
    cost = sh.get("onset_cost_points", {}).get("late_vs_truncated")
    if cost is not None and cost["ci95"][0] <= 0:
        return None
    if cost is None and sh["as_rendered"] - sh["late"] < min_drop:
        return None
    worst = weakest_late(card.get("classes", []), sh)
    if cost is not None:
        measured = (f"on test clips read {sh['seconds']:g} s late it is right {cost['mean']:.1f} points less often "
                    f"than on the same clips read from their start with the same amount of music (95 % interval "
                    f"{cost['ci95'][0]:.1f} to {cost['ci95'][1]:.1f}; read late: {sh['late']:.2f}, worst: ")
    else:
        measured = (f"on test clips read {sh['seconds']:g} s late its accuracy falls from {sh['as_rendered']:.2f} to "
                    f"{sh['late']:.2f} (worst: ")
    return ("Read the windows after the first with care: every training clip of this model starts on a note onset, "
            "and " + measured + ", ".join(f"{c} {v:.2f}" for c, v in worst) + "). The first window starts where the "
            "recording does; later windows start wherever the hop falls, often in a held note.")


__all__ += ["transcription_over_spectrogram", "weakest_late", "start_shift_caption"]


def transcription_over_spectrogram(spec: Spectrogram, piece, *, title: str = "The transcription over the spectrogram",
                                   max_notes: int = 6000) -> go.Figure:
    """The model's spectrogram with the transcribed notes drawn on it as a piano roll.

    Each note is a line from its onset to its offset (seconds, through the piece's tempo map) at the band of its
    fundamental frequency (equal temperament, A4 = 440 Hz, placed between the band centres by interpolation),
    so a listener can check the transcription against what the model hears: a note with no energy under it
    was invented, energy with no note was missed. Notes past the spectrogram's end are not drawn.
    """
    fig = spectrogram(spec, title=title)
    if piece is None or piece.n_notes == 0:
        return fig
    on = np.asarray(piece.seconds(piece.onsets), dtype=float)
    off = np.asarray(piece.seconds(piece.onsets + piece.durations), dtype=float)
    end = float(spec.times[-1]) if spec.times.size else 0.0
    keep = np.flatnonzero(on < end)[:max_notes]
    hz = 440.0 * 2.0 ** ((np.asarray(piece.pitches, dtype=float)[keep] - 69.0) / 12.0)
    y = np.interp(hz, spec.band_hz, np.arange(spec.band_hz.size))
    xs = np.stack([on[keep], np.minimum(off[keep], end), np.full(keep.size, np.nan)], axis=1).ravel()
    ys = np.repeat(y, 3)
    ys[2::3] = np.nan
    names = np.repeat([note_name(int(p)) for p in np.asarray(piece.pitches)[keep]], 3)
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="lines", line=dict(color="#4DD0E1", width=3), name="transcribed notes",
        text=names, hovertemplate="%{text} at %{x:.2f} s<extra>transcribed</extra>", connectgaps=False,
    ))
    fig.update_layout(showlegend=True, height=440,
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=1, xanchor="right"))
    return fig
