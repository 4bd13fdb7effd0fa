"""LIME over musical segments: which bars, voices, registers, time-frequency cells or stems a prediction rests on.

LIME (Ribeiro et al. 2016) explains one prediction by switching segments of the input off at random,
asking the model again, and fitting a weighted linear surrogate: a segment's weight is how much the class
probability moves, locally, when it is there. Praher et al. (ISMIR 2021, "On the veracity of local,
model-agnostic explanations in audio classification") show that LIME often misses what really drove a
prediction and that its fidelity (R^2) cannot tell a right explanation from a wrong one. So every explanation
here comes with a trivial baseline on the same segments (the loudest / busiest segments, and a random order),
a deletion check (how the probability falls as the top-k segments are removed), and a stability score
(agreement of the top-k over several seeds).

This module is the public face of :mod:`xai.local`: the core (:mod:`xai.local.core`: coalitions, the weighted
fit, the checks, :class:`Explanation`), the score segmentations (:mod:`xai.local.segments`) and, here, the audio
explainer. Segmentations turn a coalition into model input as one tensor operation per batch (a matrix product
of the masks with the segments' piano rolls, stems or spectrogram cells), never one Python composition per sample.

Explainers, data first, the model second, the class third, options keyword-only: :func:`explain_piece`
(symbolic model; bars x voices or bars x registers), :func:`explain_audio` (audio model; time x frequency bands
of its log filter-bank), :func:`explain_stems` (audio model on a rendered score; one exact, listenable stem per
part).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from models.audio_nets import LOG_EPS
from xai.audio.dataset import CLIP_SAMPLES, SAMPLE_RATE
from xai.audio.frontend import band_centres_hz, hop_samples
from xai.contract import Options, Progress, no_progress, option, resolve_target
from xai.errors import InputError, ParameterError
from xai.local.core import (
    EXACT_MAX,
    Explanation,
    LimeFit,
    LimeOptions,
    check_segments,
    coalitions,
    deletion_curves,
    fast,
    finish,
    fit,
    fit_scores,
    kernel_weights,
    lime_options,
    random_ranking,
    stability,
    top_k_jaccard,
    weighted_ridge,
)
from xai.local.segments import PieceGridOptions, PieceLime, StemLime, explain_piece, explain_stems

__all__ = [
    "EXACT_MAX", "LimeFit", "LimeOptions", "fit", "fit_scores", "coalitions", "kernel_weights", "weighted_ridge",
    "fast", "TimeBandGrid", "AudioGridOptions", "Explanation", "AudioLime", "PieceLime", "StemLime",
    "PieceGridOptions", "explain_audio", "explain_piece", "explain_stems", "sonify_cells", "deletion_curves",
    "stability", "random_ranking", "top_k_jaccard", "resolve_target", "OFF_MODES", "SEGMENT_KINDS",
]

OFF_MODES = ("mean", "zero", "noise")
SEGMENT_KINDS = ("bars-voices", "bars-registers", "time-bands", "stems")


@dataclass(frozen=True)
class AudioGridOptions(Options):
    """The time x frequency-band grid of :func:`explain_audio` and what a switched-off cell holds."""

    n_time: int = option(5, low=1, high=20, help="Time segments of the 4-s window.")
    n_bands: int = option(4, low=1, high=16, help="Frequency bands (groups of the model's filter-bank bands).")
    off: str = option("mean", choices=OFF_MODES,
                      help="What replaces a segment's cells in the model's spectrogram when it is switched off.")


# --------------------------------------------------------------------------------------------------------------
# audio: time x frequency bands of the model's log filter-bank


@dataclass(frozen=True)
class TimeBandGrid:
    """A grid of n_time x n_bands cells over a (bands, frames) spectrogram; segment id = t * n_bands + b.

    Frames and filter-bank bands are split as evenly as possible (leftovers spread over the cells, so every
    frame and every band belongs to a cell; unlike audioLIME, no band is left permanently off).
    ``hop_s`` and ``band_hz`` ((bands,) centre frequencies) only serve the labels.
    """

    n_time: int
    n_bands: int
    frames: int
    bands: int
    hop_s: float = 512 / 22050
    band_hz: tuple = ()
    offset_s: float = 0.0

    @property
    def n_segments(self) -> int:
        """How many cells the grid has."""
        return self.n_time * self.n_bands

    def time_edges(self) -> np.ndarray:
        """Frame boundaries of the time segments, (n_time + 1,)."""
        return np.linspace(0, self.frames, self.n_time + 1).round().astype(int)

    def band_edges(self) -> np.ndarray:
        """Filter-bank band boundaries of the band groups, (n_bands + 1,)."""
        return np.linspace(0, self.bands, self.n_bands + 1).round().astype(int)

    def index(self) -> np.ndarray:
        """(bands, frames) int array: the segment id of every cell of the spectrogram."""
        t = np.searchsorted(self.time_edges(), np.arange(self.frames), side="right") - 1
        b = np.searchsorted(self.band_edges(), np.arange(self.bands), side="right") - 1
        return b[:, None] + self.n_bands * t[None, :]

    def mask(self, ids) -> np.ndarray:
        """(bands, frames) bool: True on the cells of the given segments."""
        return np.isin(self.index(), np.asarray(list(ids), dtype=int))

    def hz_edges(self) -> np.ndarray:
        """Lower/upper frequency of each band group (midpoints between the centres of neighbouring bands)."""
        c = np.asarray(self.band_hz, dtype=float) if len(self.band_hz) == self.bands else np.arange(self.bands, dtype=float)
        mids = np.concatenate([[max(0.0, c[0] - (c[1] - c[0]) / 2)], (c[1:] + c[:-1]) / 2, [c[-1] + (c[-1] - c[-2]) / 2]])
        e = self.band_edges()
        return np.stack([mids[e[:-1]], mids[e[1:]]], axis=1)

    def segments(self) -> list[dict]:
        """Each cell for a musician: its seconds, its Hz range and a label."""
        te, hz = self.time_edges(), self.hz_edges()
        out = []
        for t in range(self.n_time):
            for b in range(self.n_bands):
                s0 = self.offset_s + te[t] * self.hop_s
                s1 = self.offset_s + te[t + 1] * self.hop_s
                lo, hi = float(hz[b, 0]), float(hz[b, 1])
                out.append({"id": t * self.n_bands + b, "time": t, "band": b, "start_s": round(float(s0), 3),
                            "end_s": round(float(s1), 3), "low_hz": round(lo, 1), "high_hz": round(hi, 1),
                            "label": f"{s0:.1f}–{s1:.1f} s, {_hz(lo)}–{_hz(hi)}"})
        return out


@dataclass(frozen=True, eq=False)
class AudioLime(Explanation):
    """A LIME explanation of an audio model over time x frequency-band cells of its log filter-bank."""

    grid: TimeBandGrid | None = None
    start_s: float = 0.0
    waveform: np.ndarray | None = field(default=None, repr=False)  # the explained 4-s window
    spectrogram: np.ndarray | None = field(default=None, repr=False)  # (bands, frames) log filter-bank
    off: str = "mean"


def _hz(f: float) -> str:
    return f"{f / 1000:.1f} kHz" if f >= 1000 else f"{f:.0f} Hz"


def _window(waveform: np.ndarray, start_s: float, sr: int, n: int) -> np.ndarray:
    x = np.asarray(waveform, dtype=np.float32).reshape(-1)
    s = int(round(start_s * sr))
    if start_s < 0 or (x.size and s >= x.size):
        raise ParameterError(f"The window start {start_s:g} s is outside the recording "
                             f"({x.size / sr:.1f} s long).")
    out = np.zeros(n, dtype=np.float32)
    seg = x[s : s + n]
    out[: seg.size] = seg
    return out


def _softmax_target(logits, target: int) -> np.ndarray:
    return torch.softmax(logits.float(), dim=1)[:, target].double().numpy()


def _audio_window(waveform: np.ndarray, start_s: float) -> np.ndarray:
    """The explained 4-s window, refused when silent."""
    x = _window(waveform, start_s, SAMPLE_RATE, CLIP_SAMPLES)
    if float(np.max(np.abs(x))) < 1e-3:  # -60 dBFS, as xai.audio.clip refuses silent files
        raise InputError(f"The 4-s window from {start_s:g} s is silent, so there is nothing to explain; "
                         "choose another start.")
    return x


def _audio_grid(net, spec, grid_options: AudioGridOptions, start_s: float) -> TimeBandGrid:
    """The time x band grid over the model's spectrogram, labelled with the front end's band centres and hop."""
    bands, frames = spec.shape
    n_time, n_bands = grid_options.n_time, grid_options.n_bands
    if n_bands > bands or n_time > frames:
        raise ParameterError(f"The grid {n_time} x {n_bands} is finer than the spectrogram ({frames} frames x "
                             f"{bands} bands).")
    return TimeBandGrid(n_time, n_bands, frames, bands, hop_s=hop_samples(net) / SAMPLE_RATE,
                        band_hz=band_centres_hz(net), offset_s=float(start_s))


def explain_audio(waveform: np.ndarray, model, target: int | str | None = None, *, n_time: int | None = None,
                  n_bands: int | None = None, off: str | None = None, samples: int | None = None,
                  kernel_width: float | None = None, random_state: int | None = None, start_s: float = 0.0,
                  top_k: int | None = None, stability_seeds: int | None = None, batch_size: int = 32,
                  progress: Progress | None = None) -> AudioLime:
    """LIME over time x frequency-band cells of an audio model's log filter-bank (the veracity paper's grid).

    A 4-s window of ``waveform`` (22,050 Hz) from ``start_s`` is turned into the model's spectrogram once
    (``net.spectrogram``); a coalition replaces the switched-off cells by ``off``: 'mean' (the clip's mean
    log energy, veracity's choice), 'zero' (silence: the log of zero power) or 'noise' (one fixed draw of
    Gaussian noise with the clip's mean and spread); the batch goes through ``net.from_spectrogram``.
    ``target`` None = the predicted class. The baseline ranks cells by their energy. Options left None take
    their declared defaults (:class:`AudioGridOptions`, :class:`LimeOptions`).
    """
    progress = progress or no_progress
    grid_opts = AudioGridOptions.from_dict({k: v for k, v in dict(n_time=n_time, n_bands=n_bands, off=off).items()
                                            if v is not None})
    opts = lime_options(samples=samples, kernel_width=kernel_width, random_state=random_state, top_k=top_k,
                        stability_seeds=stability_seeds)
    check_segments(grid_opts.n_time * grid_opts.n_bands, opts)
    x = _audio_window(waveform, start_s)
    net = model.net
    net.eval()
    with torch.inference_mode():
        spec = net.spectrogram(torch.from_numpy(x)[None])[0].float()  # (bands, frames)
        probs = torch.softmax(net.from_spectrogram(spec[None]).float(), dim=1)[0].numpy()
    t_idx = int(np.argmax(probs)) if target is None else resolve_target(target, model.classes)
    grid = _audio_grid(net, spec, grid_opts, start_s)
    idx = torch.from_numpy(grid.index())
    base = _off_spectrogram(spec, grid_opts.off, opts.random_state)
    forward = fast(net, "from_spectrogram", spec[None].repeat(2, 1, 1))

    def score(masks: np.ndarray) -> np.ndarray:
        keep = torch.from_numpy(np.asarray(masks, dtype=bool))[:, idx]  # (n, bands, frames), one gather
        with torch.inference_mode():
            return _softmax_target(forward(torch.where(keep, spec, base)), t_idx)

    lime_fit = fit(score, grid.n_segments, samples=opts.samples, kernel_width=opts.kernel_width,
                   random_state=opts.random_state, batch_size=batch_size, progress=progress)
    power = torch.exp(spec).double()
    energy = torch.zeros(grid.n_segments, dtype=torch.float64).index_add_(0, idx.reshape(-1), power.reshape(-1)).numpy()
    record = {"segments": "time-bands", **grid_opts.to_dict(), "start_s": start_s}
    return finish("time-bands", model, t_idx, float(probs[t_idx]), lime_fit, grid.segments(), energy, "energy",
                  score, options=opts, batch_size=batch_size, progress=progress, record=record, cls=AudioLime,
                  grid=grid, start_s=float(start_s), waveform=x, spectrogram=spec.numpy(), off=grid_opts.off)


def _off_spectrogram(spec, off: str, random_state: int):
    """What a switched-off cell holds (a (bands, frames) tensor or a scalar tensor)."""
    if off == "mean":
        return spec.mean()
    if off == "zero":
        return torch.tensor(float(np.log(LOG_EPS)), dtype=spec.dtype)
    g = torch.Generator().manual_seed(int(random_state))
    return spec.mean() + spec.std() * torch.randn(spec.shape, generator=g, dtype=spec.dtype)


def sonify_cells(waveform: np.ndarray, grid: TimeBandGrid, ids, *, keep: bool = True, n_fft: int = 1024,
                 hop: int = 512, sr: int = 22050) -> np.ndarray:
    """The waveform with only the given cells (keep=True) or everything but them (keep=False), to listen to.

    The cells' seconds and Hz ranges are cut out of the STFT (same frames as the model's spectrogram) and
    resynthesised; the parts add back up to the window.
    """
    x = torch.from_numpy(np.asarray(waveform, dtype=np.float32))
    win = torch.hann_window(n_fft)
    Z = torch.stft(x, n_fft, hop, window=win, center=True, return_complex=True)  # (bins, frames)
    freqs = np.linspace(0, sr / 2, Z.shape[0])
    m = np.zeros(Z.shape, dtype=bool)
    te, hz = grid.time_edges(), grid.hz_edges()
    hz_lo = hz[:, 0].copy()
    hz_hi = hz[:, 1].copy()
    hz_lo[0], hz_hi[-1] = 0.0, sr / 2 + 1  # the outer bands reach the ends of the spectrum
    for i in ids:
        t, b = divmod(int(i), grid.n_bands)
        f = (freqs >= hz_lo[b]) & (freqs < hz_hi[b])
        m[f, te[t] : min(te[t + 1], Z.shape[1])] = True
    if not keep:
        m = ~m
    y = torch.istft(Z * torch.from_numpy(m), n_fft, hop, window=win, center=True, length=x.numel())
    return y.numpy()


