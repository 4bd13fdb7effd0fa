"""Is a recording outside what an audio model knows? A Mahalanobis distance in the model's embedding.

The audio models learned from MIDI rendered through two General MIDI soundfonts; a real recording (rooms,
microphones, players, instruments the soundfonts only imitate) can lie far from anything they heard, and then a
confident answer means little. Following Lee et al., "A Simple Unified Framework for Detecting Out-of-Distribution
Samples and Adversarial Attacks" (NeurIPS 2018), each class of the training clips is a Gaussian in the model's
penultimate embedding (``net.embed``) with one shared covariance; a window's score is its Mahalanobis distance to
the nearest class mean.

The threshold is set on clips rendered with a soundfont held out of training (FluidR3): the
:data:`QUANTILE` quantile of their distances on a calibration half, so that music of the kind the model knows,
played by a sound source it never heard, counts as inside 95 % of the time; the other half measures that rate
(see each calibration's ``measured``). A recording's score is the median over its sounding windows, which are
the windows :func:`xai.audio.predict.classify_audio` votes with.

Calibrations ship in ``assets/ood/<model>.npz`` (means, precision; float32, no pickles) and ``<model>.json``
(threshold and what was measured), built by ``python -m training.ood``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from xai._paths import ASSETS
from xai.audio.clip import Clip, frames
from xai.contract import Result
from xai.errors import InputError

__all__ = ["QUANTILE", "QUIET_DBFS", "Calibration", "OodResult", "fit", "distances", "calibrate", "save", "load",
           "embed_windows", "check", "available"]

QUANTILE = 0.95
QUIET_DBFS = -60.0  # windows quieter than this (RMS) hold only background noise (training clips: -26 to -14 dBFS)
RIDGE = 1e-3  # shrinkage of the shared covariance towards a multiple of the identity (share of its mean variance)
OOD_DIR = ASSETS / "ood"


@dataclass(frozen=True)
class Calibration(Result):
    """One model's class Gaussians in its embedding and the threshold set on a held-out soundfont."""

    model: str
    classes: tuple[str, ...]
    means: np.ndarray  # (C, d) float32
    precision: np.ndarray  # (d, d) float32, inverse of the shared (shrunk) covariance
    threshold: float
    quantile: float = QUANTILE
    heldout_soundfont: str = ""
    measured: dict = field(default_factory=dict)  # flagged shares with n and intervals, per kind of input

    def distance(self, Z: np.ndarray) -> np.ndarray:
        """Distance of each embedding (n, d) to the nearest class mean (Mahalanobis, shared covariance)."""
        return distances(Z, self.means, self.precision)


def fit(vectors: np.ndarray, labels: np.ndarray, *, ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Class means (C, d) and the precision (d, d) of the shared within-class covariance, shrunk by ``ridge``."""
    X = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(labels)
    classes = np.unique(y)
    means = np.stack([X[y == c].mean(0) for c in classes])
    R = X - means[np.searchsorted(classes, y)]
    cov = R.T @ R / max(1, len(X) - len(classes))
    cov += ridge * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
    return means.astype(np.float32), np.linalg.inv(cov).astype(np.float32)


def distances(Z: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """min over classes of sqrt((z - mu_c)^T P (z - mu_c)), for each row of ``Z``."""
    Z = np.atleast_2d(np.asarray(Z, dtype=np.float64))
    D = Z[:, None, :] - np.asarray(means, dtype=np.float64)[None]
    q = np.einsum("ncd,de,nce->nc", D, np.asarray(precision, dtype=np.float64), D)
    return np.sqrt(np.maximum(q.min(1), 0.0))


def calibrate(model: str, classes, vectors, labels, heldout_vectors, *, quantile: float = QUANTILE,
              heldout_soundfont: str = "", measured: dict | None = None) -> Calibration:
    """Fit the class Gaussians on ``vectors`` and set the threshold at the ``quantile`` of the held-out-soundfont
    clips' distances (``heldout_vectors``: embeddings of music the model should know, from an unheard source)."""
    means, precision = fit(vectors, labels)
    d = distances(heldout_vectors, means, precision)
    return Calibration(model=model, classes=tuple(classes), means=means, precision=precision,
                       threshold=float(np.quantile(d, quantile)), quantile=quantile,
                       heldout_soundfont=heldout_soundfont, measured=dict(measured or {}))


def save(cal: Calibration, folder: Path | None = None) -> None:
    """Write ``<model>.npz`` (arrays) and ``<model>.json`` (everything else) into ``folder`` (assets/ood)."""
    folder = folder or OOD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / f"{cal.model}.npz", means=cal.means, precision=cal.precision)
    meta = {"model": cal.model, "classes": list(cal.classes), "threshold": cal.threshold, "quantile": cal.quantile,
            "heldout_soundfont": cal.heldout_soundfont, "measured": cal.measured,
            "method": "Mahalanobis distance to the nearest class mean in net.embed, shared covariance "
                      "(Lee et al. 2018)"}
    (folder / f"{cal.model}.json").write_text(json.dumps(meta, indent=1))


def load(model: str, folder: Path | None = None) -> Calibration | None:
    """The shipped calibration of ``model``, or None when it has none."""
    folder = folder or OOD_DIR
    npz, js = folder / f"{model}.npz", folder / f"{model}.json"
    if not npz.exists() or not js.exists():
        return None
    meta = json.loads(js.read_text())
    with np.load(npz, allow_pickle=False) as z:
        means, precision = z["means"], z["precision"]
    return Calibration(model=model, classes=tuple(meta["classes"]), means=means, precision=precision,
                       threshold=float(meta["threshold"]), quantile=float(meta["quantile"]),
                       heldout_soundfont=meta.get("heldout_soundfont", ""), measured=meta.get("measured", {}))


def available(folder: Path | None = None) -> list[str]:
    """Models with a shipped calibration."""
    folder = folder or OOD_DIR
    return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []


def embed_windows(X: np.ndarray, net: torch.nn.Module, *, batch_size: int = 32) -> np.ndarray:
    """The penultimate embedding (``net.embed``) of windows (n, samples), as float32 (n, d)."""
    net.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(X), batch_size):
            out.append(net.embed(torch.from_numpy(np.ascontiguousarray(X[i:i + batch_size], dtype=np.float32))))
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


@dataclass(frozen=True)
class OodResult(Result):
    """How far a recording is from what the model heard in training, in plain words and numbers."""

    model: str
    distance: float | None  # median over sounding windows; None when no window sounds
    threshold: float
    outside: bool
    n_windows: int
    n_sounding: int
    n_outside: int
    window_distances: np.ndarray  # (n_windows,), NaN for windows too quiet to count
    message: str

    def summary(self) -> dict:
        """The JSON shape for the CLI and exports."""
        return {"model": self.model, "distance": self.distance, "threshold": round(self.threshold, 3),
                "outside": self.outside, "windows": self.n_windows, "sounding": self.n_sounding,
                "windows_outside": self.n_outside, "message": self.message}


def _message(cal: Calibration, dist: float | None, n_sounding: int, n_out: int, n: int) -> str:
    sf = cal.heldout_soundfont or "a soundfont it never heard"
    pct = f"{cal.quantile:.0%}"
    if dist is None:
        return ("Nearly silent: only faint background noise, no music the model could recognise, so its answer "
                "means nothing here.")
    if dist > cal.threshold:
        return (f"Outside what the model knows: this recording is farther from all its training audio than {pct} of "
                f"music rendered with {sf}, a sound source it never heard (distance {dist:.1f}, limit "
                f"{cal.threshold:.1f}; {n_out} of {n_sounding} windows beyond it). The model learned only from MIDI "
                "rendered by a few soundfonts, so treat its answer with caution.")
    unheard = "" if "never heard" in sf else ", which it never heard"  # the calibration may say so itself
    return (f"Within what the model knows: this recording is as close to its training audio as {pct} of music "
            f"rendered with {sf}{unheard} (distance {dist:.1f}, limit {cal.threshold:.1f}"
            + (f"; {n_out} of {n_sounding} windows beyond it" if n_out else "") + "). That says the sound is "
            "familiar, not that the answer is right.")


def check(clip: Clip, model, calibration: Calibration | None = None, *, max_windows: int = 80) -> OodResult:
    """Score a recording against the model's calibration, with the windows of the model's predictions.

    InputError when the model has no shipped calibration. Windows quieter than :data:`QUIET_DBFS` do not count;
    a recording with none louder gets a plain "nearly silent" answer (``outside`` True).
    """
    cal = calibration if calibration is not None else load(model.name)
    if cal is None:
        raise InputError(f"There is no out-of-distribution calibration for the model '{model.name}'; models with "
                         f"one: {', '.join(available()) or 'none'}.")
    inp = model.card["input"] if hasattr(model, "card") else {"window_seconds": 4.0, "hop_seconds": 2.0}
    win, hop = float(inp["window_seconds"]), float(inp["hop_seconds"])
    if max_windows > 1 and clip.duration_seconds > win:
        hop = max(hop, (clip.duration_seconds - win) / (max_windows - 1))
    X, _ = frames(clip, seconds=win, hop_seconds=hop)
    level = 20 * np.log10(np.sqrt(np.mean(X.astype(np.float64) ** 2, axis=1)) + 1e-12)
    sounding = level >= QUIET_DBFS
    d = np.full(len(X), np.nan)
    if sounding.any():
        d[sounding] = cal.distance(embed_windows(X[sounding], model.net))
    dist = float(np.median(d[sounding])) if sounding.any() else None
    n_out = int(np.sum(d[sounding] > cal.threshold))
    outside = dist is None or dist > cal.threshold
    return OodResult(model=model.name, distance=None if dist is None else round(dist, 3), threshold=cal.threshold,
                     outside=outside, n_windows=len(X), n_sounding=int(sounding.sum()), n_outside=n_out,
                     window_distances=d, message=_message(cal, dist, int(sounding.sum()), n_out, len(X)))
