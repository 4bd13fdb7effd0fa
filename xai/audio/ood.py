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

__all__ = ["QUANTILE", "QUIET_DBFS", "NOISE_FLATNESS", "TONE_SHARE", "Calibration", "OodResult", "fit", "distances",
           "calibrate", "save", "load", "embed_windows", "signal_kind", "check", "available"]

QUANTILE = 0.95
# A check that needs no model: is a window music at all? Measured on the 960 test clips of the five-soundfont data
# set (music: median spectral flatness at most 0.062; 1 clip, a held note, meets the steady-tone rule) and on
# synthetic noise (white 0.56, pink 0.21, clicks 1.0) and sines (peak share 1.0, same peak in every frame).
NOISE_FLATNESS = 0.15  # a window whose median frame spectral flatness is above this is noise
TONE_SHARE = 0.97  # ... whose frames hold this share of power within +-2 bins of one peak, at one pitch: a steady tone
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


def signal_kind(X: np.ndarray) -> np.ndarray:
    """For each window (n, samples): ``"music"``, ``"noise"`` (flat spectrum) or ``"tone"`` (one steady pitch).

    Model-free, from a Hann-windowed STFT (1,024 samples, hop 512) of the frames within 30 dB of the window's
    loudest: the median spectral flatness (geometric over arithmetic mean of the power spectrum) against
    :data:`NOISE_FLATNESS`, and the share of each frame's power within two bins of its peak together with how often
    that peak stays put, against :data:`TONE_SHARE`. The Mahalanobis distance alone calls noise familiar when the
    training audio had noise added to it; this says what a listener would.
    """
    out = np.full(len(X), "music", dtype=object)
    win = np.hanning(1024)
    for i, x in enumerate(np.asarray(X, dtype=np.float64)):
        if x.size < 1024:
            continue
        P = np.abs(np.fft.rfft(np.lib.stride_tricks.sliding_window_view(x, 1024)[::512] * win, axis=1)) ** 2 + 1e-20
        e = P.sum(1)
        P = P[e > e.max() * 1e-3]
        flat = np.exp(np.mean(np.log(P), 1)) / np.mean(P, 1)
        if np.median(flat) > NOISE_FLATNESS:
            out[i] = "noise"
            continue
        peak = P.argmax(1)
        idx = np.clip(peak[:, None] + np.arange(-2, 3)[None], 0, P.shape[1] - 1)
        share = np.take_along_axis(P, idx, 1).sum(1) / P.sum(1)
        if np.median(share) > TONE_SHARE and np.mean(np.abs(peak - np.median(peak)) <= 2) > TONE_SHARE:
            out[i] = "tone"
    return out


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
    not_music: str = ""  # "noise" or "tone" when most sounding windows are not music (:func:`signal_kind`)

    def summary(self) -> dict:
        """The JSON shape for the CLI and exports."""
        return {"model": self.model, "distance": self.distance, "threshold": round(self.threshold, 3),
                "outside": self.outside, "windows": self.n_windows, "sounding": self.n_sounding,
                "windows_outside": self.n_outside, "not_music": self.not_music, "message": self.message}


_NOT_MUSIC_TEXT = {
    "noise": "This sounds like noise (a flat spectrum, no notes), not music",
    "tone": "This sounds like one steady tone, not music",
}


def _message(cal: Calibration, dist: float | None, n_sounding: int, n_out: int, n: int, not_music: str = "") -> str:
    sf = cal.heldout_soundfont or "a soundfont it never heard"
    pct = f"{cal.quantile:.0%}"
    if dist is None:
        return ("Nearly silent: only faint background noise, no music the model could recognise, so its answer "
                "means nothing here.")
    if not_music:
        return (f"{_NOT_MUSIC_TEXT[not_music]}: the model only knows instruments playing music, so its answer means "
                f"nothing here (distance {dist:.1f}, limit {cal.threshold:.1f}).")
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
    kinds = signal_kind(X[sounding]) if sounding.any() else np.array([], dtype=object)
    # most sounding windows not music: say which of the two it mostly is
    n_noise, n_tone = int(np.sum(kinds == "noise")), int(np.sum(kinds == "tone"))
    not_music = ("" if kinds.size == 0 or 2 * (n_noise + n_tone) < kinds.size
                 else "noise" if n_noise >= n_tone else "tone")
    outside = dist is None or dist > cal.threshold or bool(not_music)
    return OodResult(model=model.name, distance=None if dist is None else round(dist, 3), threshold=cal.threshold,
                     outside=outside, n_windows=len(X), n_sounding=int(sounding.sum()), n_outside=n_out,
                     window_distances=d, message=_message(cal, dist, int(sounding.sum()), n_out, len(X), not_music),
                     not_music=not_music)
