"""Small hand-made pieces and models for tests (no corpus parse, no trained weights needed)."""

from __future__ import annotations

import numpy as np
import torch

from xai import music


def scale_piece(n_bars: int = 8, *, parts: int = 1, qpm: float = 120.0, title: str = "scale") -> music.Piece:
    """A piece in 4/4 with one quarter note per beat climbing from C4, repeated in each part a third apart."""
    beats = np.arange(n_bars * 4, dtype=float)
    on, pit, prt = [], [], []
    for k in range(parts):
        on.append(beats)
        pit.append(60 + 4 * k + (np.arange(beats.size) % 12))
        prt.append(np.full(beats.size, k))
    on = np.concatenate(on)
    order = np.argsort(on, kind="stable")
    return music.Piece(
        title=title,
        onsets=on[order],
        durations=np.ones(on.size)[order],
        pitches=np.concatenate(pit).astype(np.int16)[order],
        velocities=np.full(on.size, 80, dtype=np.int16),
        parts=np.concatenate(prt).astype(np.int16)[order],
        part_names=tuple(f"Voice {k + 1}" for k in range(parts)),
        bar_starts=np.arange(n_bars) * 4.0,
        bar_numbers=np.arange(1, n_bars + 1),
        tempi=((0.0, qpm),),
    )


class PitchHeightNet(torch.nn.Module):
    """A fake 2-class classifier: class 1 when the roll's notes are high (above middle C), else class 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(x.shape[2], dtype=x.dtype)
        mass = x[:, 1].sum(dim=2)  # (B, 88)
        mean_row = (mass * rows).sum(1) / mass.sum(1).clamp_min(1e-6)
        z = (mean_row - (60 - music.PITCH_LOW)) / 4.0
        return torch.stack([-z, z], dim=1)


class FakeModel:
    """Quacks like models.registry.Model for xai.predict."""

    def __init__(self, net=None, classes=("low", "high")):
        self.name = "fake"
        self.net = net or PitchHeightNet()
        self.classes = tuple(classes)
        self.window_quarters = float(music.WINDOW_QUARTERS)
        self.hop_quarters = float(music.HOP_QUARTERS)
