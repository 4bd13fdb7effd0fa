"""Predictions of an audio model over time: one per window of seconds, and for the whole recording.

Audio models read fixed windows (the card's ``window_seconds``, 4 s) every ``hop_seconds`` (2 s); the
recording's prediction is the mean of the window log-probabilities over the windows that are not silent,
renormalised (as :mod:`xai.symbolic.predict` does over bars). The interpretable style model also reports its
named mid-level features per window, in their own units.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import torch

from models import audio_nets
from xai.audio.clip import Clip, frames
from xai.audio.frontend import learned_filters
from xai.contract import Result
from xai.errors import InputError

__all__ = ["AudioPrediction", "Spectrogram", "classify_audio", "model_spectrogram", "filterbanks", "sentence"]

_SILENT_RMS = 1e-4  # a window quieter than -80 dB RMS gets no vote


@dataclass(frozen=True, eq=False)
class AudioPrediction(Result):
    """What an audio model says about a recording: per class overall, and per window over time.

    A :class:`~xai.contract.Result`: :meth:`to_dict` / :meth:`from_dict` round-trip it through JSON;
    :meth:`summary` is the rounded shape the command line prints.
    """

    model: str
    classes: tuple[str, ...]
    probabilities: np.ndarray  # (C,)
    starts: np.ndarray  # (N,) seconds
    window_seconds: float
    window_probabilities: np.ndarray  # (N, C); rows of silent windows are NaN
    midlevel_names: tuple[str, ...] = ()
    midlevel: np.ndarray | None = None  # (N, F) in the features' units, or None
    title: str = ""

    @property
    def label(self) -> str:
        """The most probable class."""
        return self.classes[int(np.argmax(self.probabilities))]

    def summary(self) -> dict:
        """The JSON shape of ``python -m xai predict FILE.wav --json``: rounded probabilities, overall and per window."""
        out = {
            "model": self.model,
            "classes": list(self.classes),
            "recording": {"label": self.label,
                          "probabilities": {c: round(float(p), 6) for c, p in zip(self.classes, self.probabilities)}},
            "windows": [],
        }
        for i, s in enumerate(self.starts):
            p = self.window_probabilities[i]
            silent = bool(np.isnan(p).any())
            w = {"start_seconds": round(float(s), 3), "end_seconds": round(float(s + self.window_seconds), 3),
                 "label": None if silent else self.classes[int(np.argmax(p))],
                 "probabilities": None if silent else {c: round(float(v), 6) for c, v in zip(self.classes, p)}}
            if self.midlevel is not None and not silent:
                w["midlevel"] = {n: round(float(v), 4) for n, v in zip(self.midlevel_names, self.midlevel[i])}
            out["windows"].append(w)
        return out


def sentence(pred: AudioPrediction, what: str, *, markup: bool = False) -> str:
    """The prediction in one sentence: 'The style model hears baroque (p = 0.81), then classical (0.12).'

    ``what`` names the model ('instrument', 'style'); with ``markup`` the classes are HTML-escaped and set in bold
    and italics for a page, without it the sentence is plain text for a report's summary.
    """
    p = np.asarray(pred.probabilities)
    order = np.argsort(-p)
    name = [html.escape(pred.classes[i]) if markup else pred.classes[i] for i in order[:2]]
    first = f"<b><i>{name[0]}</i></b>" if markup else name[0]
    text = f"The {what} model hears {first} (p = {p[order[0]]:.2f})"
    if len(p) > 1:
        text += f", then {f'<i>{name[1]}</i>' if markup else name[1]} ({p[order[1]]:.2f})"
    return text + "."


def classify_audio(clip: Clip, model, *, hop_seconds: float | None = None, max_windows: int = 80,
                   batch_size: int = 64) -> AudioPrediction:
    """Predict a recording with an audio model, window by window and as a whole.

    Windows are the card's length, every ``hop_seconds`` (default the card's, 2 s); a long recording gets a
    longer hop so that there are at most ``max_windows`` windows (5 minutes: 80 windows about 3.7 s apart),
    which keeps a prediction under two seconds on a laptop CPU. Each window is classified on its own, exactly
    as an explanation of that window would see it.

    Parameters
    ----------
    clip : Clip
        The recording, from :func:`xai.audio.clip.load_audio_bytes` (22,050 Hz mono).
    model : models.registry.Model
        A loaded audio model (its card's ``input`` gives the window length and hop).
    hop_seconds : float, optional
        Window hop; default the card's.
    max_windows : int
        Most windows; the hop grows for long recordings (default 80).
    """
    inp = model.card["input"]
    if clip.sample_rate != inp["sample_rate"]:
        raise InputError(f"The recording is at {clip.sample_rate} Hz but the model reads {inp['sample_rate']} Hz.")
    win = float(inp["window_seconds"])
    hop = float(hop_seconds or inp["hop_seconds"])
    if max_windows > 1 and clip.duration_seconds > win:
        hop = max(hop, (clip.duration_seconds - win) / (max_windows - 1))
    X, starts = frames(clip, seconds=win, hop_seconds=hop)
    sounding = np.sqrt(np.mean(X**2, axis=1)) > _SILENT_RMS
    if not sounding.any():
        raise InputError("The recording is silent, so there is nothing to classify.")
    net = model.net
    net.eval()
    has_mid = hasattr(net, "midlevel_z")
    probs = np.full((len(X), len(model.classes)), np.nan)
    mids = np.full((len(X), getattr(net, "n_midlevel", 0)), np.nan) if has_mid else None
    idx = np.flatnonzero(sounding)
    with torch.inference_mode():
        for i in range(0, idx.size, batch_size):
            sel = idx[i : i + batch_size]
            x = torch.from_numpy(np.ascontiguousarray(X[sel]))
            spec = net.spectrogram(x)
            if has_mid:
                z = net.midlevel_z_from_spectrogram(spec)
                logits = net.head(z)
                mids[sel] = (z * net.mid_std + net.mid_mean).numpy()
            else:
                logits = net.from_spectrogram(spec)
            probs[sel] = torch.softmax(logits, dim=1).numpy()
    logp = np.log(np.clip(probs[sounding], 1e-9, 1.0)).mean(axis=0)
    p = np.exp(logp - logp.max())
    return AudioPrediction(
        model=model.name,
        classes=tuple(model.classes),
        probabilities=p / p.sum(),
        starts=starts,
        window_seconds=win,
        window_probabilities=probs,
        midlevel_names=tuple(model.card.get("midlevel", {}).get("features", ())) if has_mid else (),
        midlevel=mids,
        title=clip.title,
    )


@dataclass(frozen=True, eq=False)
class Spectrogram(Result):
    """A model's log filter-bank input for a recording: what the network actually reads."""

    values: np.ndarray  # (bands, frames)
    times: np.ndarray  # (frames,) seconds
    band_hz: np.ndarray  # (bands,) centre frequency of each band


def model_spectrogram(clip: Clip, model, *, max_seconds: float = 900.0) -> Spectrogram:
    """The log filter-bank of (the first ``max_seconds`` of) a recording, through the model's own front-end."""
    net = model.net
    x = torch.from_numpy(np.ascontiguousarray(clip.waveform[: int(max_seconds * clip.sample_rate)]))[None]
    with torch.inference_mode():
        s = net.spectrogram(x)[0].numpy()
    hop = net.front.hop
    return Spectrogram(values=s, times=np.arange(s.shape[1]) * hop / clip.sample_rate,
                       band_hz=np.asarray(net.front.band_centres_hz()))


def filterbanks(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the filter-bank figure compares: (the mel bank, the model's learned bank, FFT bin frequencies in Hz).

    Only a model with a learnable front end has a learned bank of its own.
    """
    freqs = np.linspace(0, audio_nets.SAMPLE_RATE / 2, audio_nets.N_FFT // 2 + 1)
    return audio_nets.mel_filterbank(), learned_filters(model.net), freqs
