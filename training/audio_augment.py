"""Augmentation drawn afresh for every training batch of an audio model (on top of the rendered set's own).

The rendered data set (:mod:`xai.audio.dataset`) augments each clip once, when it is rendered, so every epoch
sees the same room, tilt and noise. What separates one soundfont from another is mostly the spectral envelope
of its samples, so an instrument model that is to hear instruments rather than soundfonts is shown, at every
step, each clip through a different random equaliser (a smooth curve over log frequency), sometimes with one
band removed (the waveform analogue of SpecAugment's frequency mask), and sometimes with a stretch of time
silenced (its time mask). All three act on the waveform, before the network's own front end, so they apply
alike to every front end. Each is off when its parameter is 0.
"""

from __future__ import annotations

import math

import torch

EQ_POINTS = 8  # control points of the random equaliser, spaced evenly in log frequency
EQ_LOW_HZ, EQ_HIGH_HZ = 50.0, 11_000.0


def _log_positions(n_bins: int, sample_rate: int) -> torch.Tensor:
    """Each rfft bin's position on the equaliser's log-frequency axis (0 at EQ_LOW_HZ, 1 at EQ_HIGH_HZ, clamped)."""
    f = torch.linspace(0, sample_rate / 2, n_bins).clamp(min=EQ_LOW_HZ)
    return ((f.log() - math.log(EQ_LOW_HZ)) / (math.log(EQ_HIGH_HZ) - math.log(EQ_LOW_HZ))).clamp(0, 1)


def random_eq(n: int, n_bins: int, sample_rate: int, *, db: float, gen: torch.Generator) -> torch.Tensor:
    """(n, n_bins) linear gains: a smooth curve through EQ_POINTS random levels in [-db/2, +db/2] dB."""
    levels = (torch.rand(n, EQ_POINTS, generator=gen) - 0.5) * db
    pos = _log_positions(n_bins, sample_rate) * (EQ_POINTS - 1)
    lo = pos.floor().long().clamp(max=EQ_POINTS - 2)
    frac = pos - lo
    curve = levels[:, lo] * (1 - frac) + levels[:, lo + 1] * frac
    return 10 ** (curve / 20)


def band_stop(n: int, n_bins: int, sample_rate: int, *, p: float, gen: torch.Generator) -> torch.Tensor:
    """(n, n_bins) gains: with probability ``p`` one band, a third to one octave wide, attenuated by 20-40 dB."""
    pos = _log_positions(n_bins, sample_rate)
    octaves = math.log2(EQ_HIGH_HZ / EQ_LOW_HZ)
    width = (1 / 3 + torch.rand(n, 1, generator=gen) * 2 / 3) / octaves
    centre = torch.rand(n, 1, generator=gen)
    depth = 10 ** (-(20 + 20 * torch.rand(n, 1, generator=gen)) / 20)
    inside = (pos[None] - centre).abs() < width / 2
    on = torch.rand(n, 1, generator=gen) < p
    return torch.where(inside & on, depth, torch.ones(()))


def time_mask(x: torch.Tensor, *, p: float, max_fraction: float, gen: torch.Generator) -> torch.Tensor:
    """With probability ``p`` per clip, silence one stretch of up to ``max_fraction`` of its length."""
    n, t = x.shape
    length = (torch.rand(n, generator=gen) * max_fraction * t).long()
    start = (torch.rand(n, generator=gen) * (t - length)).long()
    on = torch.rand(n, generator=gen) < p
    idx = torch.arange(t)[None]
    mask = on[:, None] & (idx >= start[:, None]) & (idx < (start + length)[:, None])
    return x.masked_fill(mask, 0.0)


def time_roll(x: torch.Tensor, *, p: float, gen: torch.Generator) -> torch.Tensor:
    """With probability ``p`` per clip, rotate it in time by a uniformly drawn offset (the end wraps to the start).

    Every rendered clip starts on a note onset at sample 0; a window of a real recording starts anywhere, often in
    the middle of a held note. Rotating moves the clip's start into the middle of its notes."""
    n, t = x.shape
    shift = (torch.rand(n, generator=gen) * t).long()
    on = torch.rand(n, generator=gen) < p
    shift = torch.where(on, shift, torch.zeros_like(shift))
    idx = (torch.arange(t)[None] + shift[:, None]) % t
    return torch.gather(x, 1, idx)


def batch(x: torch.Tensor, sample_rate: int, params: dict, gen: torch.Generator) -> torch.Tensor:
    """Augment a (n, samples) batch of waveforms by ``params``' ``eq_db``, ``band_stop``, ``time_mask`` and
    ``time_roll`` (0: off)."""
    eq, bs, tm = params.get("eq_db", 0.0), params.get("band_stop", 0.0), params.get("time_mask", 0.0)
    roll = params.get("time_roll", 0.0)
    if eq > 0 or bs > 0:
        spec = torch.fft.rfft(x, dim=1)
        gain = torch.ones(spec.shape[1])[None].expand(len(x), -1)
        if eq > 0:
            gain = gain * random_eq(len(x), spec.shape[1], sample_rate, db=eq, gen=gen)
        if bs > 0:
            gain = gain * band_stop(len(x), spec.shape[1], sample_rate, p=bs, gen=gen)
        x = torch.fft.irfft(spec * gain, n=x.shape[1], dim=1)
    if tm > 0:
        x = time_mask(x, p=tm, max_fraction=0.25, gen=gen)
    if roll > 0:
        x = time_roll(x, p=roll, gen=gen)
    return x


def describe(params: dict) -> str:
    """A sentence for the model card on the per-batch augmentation in ``params`` ('' when it is all off)."""
    parts = []
    if params.get("eq_db", 0) > 0:
        parts.append(f"a fresh random equaliser (+-{params['eq_db'] / 2:g} dB at {EQ_POINTS} points over "
                     f"{EQ_LOW_HZ:g} Hz-{EQ_HIGH_HZ / 1000:g} kHz, log frequency)")
    if params.get("band_stop", 0) > 0:
        parts.append(f"with probability {params['band_stop']:g} one band (1/3-1 octave) cut by 20-40 dB")
    if params.get("time_mask", 0) > 0:
        parts.append(f"with probability {params['time_mask']:g} up to a quarter of the clip silenced")
    if params.get("time_roll", 0) > 0:
        parts.append(f"with probability {params['time_roll']:g} the clip rotated in time by a random offset, so it "
                     "no longer starts on a note onset")
    if not parts:
        return ""
    return " In training, every batch is drawn again through " + "; ".join(parts) + " (training.audio_augment)."
