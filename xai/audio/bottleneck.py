"""How well an interpretable model's bottleneck carries its named features, and what they owe to the instrument.

The mid-level style model (:class:`models.audio_nets.MidLevelCNN`) decides from eight named features
(:mod:`xai.audio.midlevel`), so an explanation in their words is only as good as the bottleneck's prediction of
them (Chowdhury et al., ISMIR 2019; Hoedt, Flexer, Widmer, SMC 2025 report per-feature correlations for theirs).
Per feature: Pearson r between predicted and true values on held-out clips, with a Fisher-z 95 % interval and n.

A feature can be predicted well for the wrong reason: the data set moves every excerpt by octaves into its
instrument's range, so *register* mostly says which instrument plays. Hence per feature also the share of its
true variance explained by the instrument (eta^2 of a one-way layout) and r *within* instruments (predicted and
true values each centred on their instrument's mean): the part of the feature the model reads from the music
rather than from the instrument's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xai.contract import Result

__all__ = ["FeatureAccuracy", "feature_accuracy", "pearson_ci"]


def pearson_ci(r: float, n: int, z: float = 1.959964) -> list[float | None]:
    """Fisher-z 95 % interval of a Pearson correlation from n pairs ([None, None] for n < 4)."""
    if n < 4 or not math.isfinite(r):
        return [None, None]
    f = math.atanh(max(-0.999999, min(0.999999, r)))
    h = z / math.sqrt(n - 3)
    return [round(math.tanh(f - h), 4), round(math.tanh(f + h), 4)]


def _r(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else float("nan")


def _centre(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = x.astype(np.float64).copy()
    for g in np.unique(groups):
        out[groups == g] -= out[groups == g].mean()
    return out


@dataclass(frozen=True)
class FeatureAccuracy(Result):
    """Per named feature: r with its interval, the instrument's share of the feature, r within instruments."""

    features: tuple[str, ...]
    n: int
    rows: tuple  # one dict per feature

    def table(self) -> list[dict]:
        """The rows as plain dicts (feature, r, r_ci95, instrument_share, r_within_instrument, r_within_ci95, n)."""
        return [dict(r) for r in self.rows]


def feature_accuracy(predicted: np.ndarray, true: np.ndarray, groups: np.ndarray, names) -> FeatureAccuracy:
    """Accuracy of predicted features (n, F) against the true ones, overall and within ``groups`` (instruments)."""
    P, T, g = np.asarray(predicted, np.float64), np.asarray(true, np.float64), np.asarray(groups)
    n, rows = len(T), []
    n_groups = np.unique(g).size
    for j, name in enumerate(names):
        r = _r(P[:, j], T[:, j])
        tc, pc = _centre(T[:, j], g), _centre(P[:, j], g)
        total = float(((T[:, j] - T[:, j].mean()) ** 2).sum())
        share = 1.0 - float((tc**2).sum()) / total if total > 0 else float("nan")
        rw = _r(pc, tc)
        rows.append({"feature": name, "r": round(r, 4), "r_ci95": pearson_ci(r, n), "n": n,
                     "instrument_share": round(share, 4), "r_within_instrument": round(rw, 4),
                     "r_within_ci95": pearson_ci(rw, n - n_groups + 1)})
    return FeatureAccuracy(features=tuple(names), n=n, rows=tuple(rows))
