"""Small hand-made pieces and models for tests (no corpus parse, no trained weights needed)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from xai.concepts import discovery
from xai.concepts import library as concepts
from xai.symbolic import music


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
    """A symbolic model for the explainers (:class:`xai.contract.Model`) around any small network."""

    def __init__(self, net=None, classes=("low", "high"), *, sha: str = "weights-1", name: str = "fake"):
        self.name = name
        self.net = net or PitchHeightNet()
        self.classes = tuple(classes)
        self.weights_sha256 = sha
        self.window_quarters = float(music.WINDOW_QUARTERS)
        self.hop_quarters = float(music.HOP_QUARTERS)


class FakeAudioModel:
    """An audio model for the explainers (:class:`xai.contract.Model`): a network on waveforms and its classes."""

    def __init__(self, net, classes=("a", "b"), *, name: str = "fake_audio"):
        self.name = name
        self.net = net
        self.classes = tuple(classes)


def record(pid, n_bars, pitch0=60, n_parts=1) -> dict:
    """One corpus-cache record (:class:`xai.symbolic.dataset.PieceTable` input): scales in 4/4, one note a beat."""
    on = np.repeat(np.arange(n_bars * 4, dtype=float), n_parts)
    parts = np.tile(np.arange(n_parts), n_bars * 4)
    return {
        "id": pid, "file": pid, "onsets": on, "durations": np.ones(on.size), "n_parts": n_parts,
        "pitches": (pitch0 + parts * 4 + np.arange(on.size) % 7).astype(np.int16), "parts": parts.astype(np.int16),
        "bar_starts": np.arange(n_bars) * 4.0, "bar_numbers": np.arange(1, n_bars + 1),
    }


def two_voices(n_bars: int = 4) -> music.Piece:
    """Voice 1 holds C3 in every beat, voice 2 holds C5: only voice 2 is ever at E4 or above."""
    beats = np.arange(n_bars * 4, dtype=float)
    on = np.concatenate([beats, beats])
    return music.Piece(title="two voices", onsets=on, durations=np.ones(on.size),
                       pitches=np.concatenate([np.full(beats.size, 48), np.full(beats.size, 72)]).astype(np.int16),
                       velocities=np.full(on.size, 80, dtype=np.int16),
                       parts=np.repeat([0, 1], beats.size).astype(np.int16), part_names=("Voice 1", "Voice 2"),
                       bar_starts=np.arange(n_bars) * 4.0, bar_numbers=np.arange(1, n_bars + 1))


class MapNet(torch.nn.Module):
    """Reads a feature map directly: 'feat' is the layer (an identity), then a global mean and a linear head."""

    def __init__(self, weight: np.ndarray):
        super().__init__()
        self.feat = torch.nn.Identity()
        self.fc = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.feat(x).mean(dim=(2, 3)))


class RollNet(torch.nn.Module):
    """A tiny piano-roll CNN: 'feat' = conv (8x8 stride 8) + ReLU -> (6, 11, 8), then mean and a linear head."""

    def __init__(self, n_classes: int = 2, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.conv = torch.nn.Conv2d(2, 6, 8, stride=8)
        self.feat = torch.nn.Sequential(self.conv, torch.nn.ReLU())
        self.fc = torch.nn.Linear(6, n_classes)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.rand(p.shape, generator=g) - 0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.feat(x).mean(dim=(2, 3)))


def planted(rng, *, N=80, C=16, K=4, h=6, w=5, channels_per=4):
    """Maps built from K known non-negative channel patterns with known, sparse spatial presence.

    Each concept has two spatial templates (sparse masks over pitch x time); each excerpt holds each concept
    with probability 0.7, at a gamma-distributed strength per template. Returns (maps (N, C, h, w), patterns
    (K, C), presence (N, K, h, w)).
    """
    P = np.zeros((K, C))
    for k in range(K):
        idx = rng.choice(C, size=channels_per, replace=False)
        P[k, idx] = rng.uniform(0.5, 1.5, channels_per)
    templates = (rng.uniform(size=(K, 2, h, w)) > 0.6) * rng.uniform(0.5, 1.0, (K, 2, h, w))
    strength = rng.gamma(1.0, 1.0, (N, K, 2)) * (rng.uniform(size=(N, K, 1)) > 0.3)
    S = np.einsum("nkt,kthw->nkhw", strength, templates)
    return np.einsum("nkhw,kc->nchw", S, P).astype(np.float32), P, S


def excerpt_set(n_pieces: int = 6) -> discovery.ExcerptSet:
    """A small excerpt set from scale pieces (rising scales, two classes by register), hop 4 quarters."""
    rolls, examples, labels, ids = [], [], [], []
    for i in range(n_pieces):
        base = scale_piece(12, parts=1 + i % 2, title=f"scale{i}")
        shift = 0 if i % 2 == 0 else 14  # class 'high': an octave and more up
        piece = dataclasses.replace(base, pitches=(base.pitches + shift).astype(np.int16))
        wins, X = music.encode(piece, hop=4)
        for w, x in zip(wins, X):
            if w.n_notes < 4:
                continue
            rolls.append(x.astype(np.uint8))
            examples.append(concepts.Example.from_span(piece, w.start_beat, w.end_beat, origin="discovered"))
            labels.append(i % 2)
            ids.append(("folkcoll/" if i < 3 else "bach/") + f"scale{i}.abc")
    return discovery.ExcerptSet(
        X=np.stack(rolls),
        labels=np.array(labels),
        classes=("low", "high"),
        piece_ids=tuple(ids),
        piece_sha256=tuple(e.source_sha256 for e in examples),
        start_bar=np.array([e.start_bar for e in examples]),
        end_bar=np.array([e.end_bar for e in examples]),
        start_beat=np.array([e.start_beat for e in examples]),
        end_beat=np.array([e.end_beat for e in examples]),
        n_parts=np.array([max(len(e.part_names), 1) for e in examples]),
        note_ptr=np.concatenate([[0], np.cumsum([e.n_notes for e in examples])]),
        onsets=np.concatenate([e.onsets for e in examples]),
        durations=np.concatenate([e.durations for e in examples]),
        pitches=np.concatenate([e.pitches for e in examples]),
        parts=np.concatenate([e.parts for e in examples]),
        bar_ptr=np.concatenate([[0], np.cumsum([e.bar_starts.size for e in examples])]),
        bar_starts=np.concatenate([e.bar_starts for e in examples]),
        bar_numbers=np.concatenate([e.bar_numbers for e in examples]),
        meta={"made_by": "tests"},
    )
