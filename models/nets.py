"""Network definitions.

:class:`PianoRollCNN` is the symbolic style classifier: a small residual CNN on two-channel piano-roll
excerpts (onsets, sustain; 88 pitches x 64 sixteenth-note steps), in the spirit of the piano-roll ResNet
explained in Foscarin et al. (ISMIR 2022), sized for a laptop CPU. Each named block ends in a ReLU, so its
feature maps are non-negative (concept discovery factorises them) and keep the pitch x time layout of the
input (so a concept can be drawn back on the piano roll).
"""

from __future__ import annotations

import torch
from torch import nn

# Blocks an explanation can address, in input-to-output order, with their output stride (pitch, time).
LAYERS = ("block1", "block2", "block3", "block4")
DEFAULT_LAYER = "block3"


class ConvBlock(nn.Module):
    """conv-BN-ReLU-conv-BN (+ shortcut) - ReLU, optionally preceded by 2x2 max pooling."""

    def __init__(self, c_in: int, c_out: int, *, pool: bool):
        super().__init__()
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1, bias=False)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits for a batch of inputs."""
        x = self.pool(x)
        h = torch.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(h)) + self.short(x))


class PianoRollCNN(nn.Module):
    """Residual CNN: (B, 2, 88, 64) piano rolls -> (B, n_classes) logits.

    stem (full resolution, semitone detail) -> block1 (44x32) -> block2 (22x16) -> block3 (11x8)
    -> block4 (11x8) -> global average -> linear. Every block's output is a non-negative feature map.
    """

    def __init__(self, n_classes: int, *, width: int = 24, in_channels: int = 2):
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
        self.block1 = ConvBlock(w, w, pool=True)
        self.block2 = ConvBlock(w, 2 * w, pool=True)
        self.block3 = ConvBlock(2 * w, 4 * w, pool=True)
        self.block4 = ConvBlock(4 * w, 4 * w, pool=False)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(4 * w, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The convolutional features of a piano roll, before pooling."""
        x = self.stem(x)
        for name in LAYERS:
            x = getattr(self, name)(x)
        return x

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate representation (global average of block4), e.g. for a recommender."""
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits for a batch of inputs."""
        return self.fc(self.dropout(self.embed(x)))
