"""Planted feature maps, tiny networks and a tiny excerpt set for the discovery tests (no corpus, no weights)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from tests._fakes import scale_piece
from xai import concepts, discovery, music


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


class FakeModel:
    """Quacks like models.registry.Model for xai.discovery."""

    def __init__(self, net, classes=("low", "high"), sha="weights-1", name="fake"):
        self.net = net
        self.classes = tuple(classes)
        self.weights_sha256 = sha
        self.name = name


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
