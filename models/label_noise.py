"""The label-noise lab's data and model: a small shipped subset of the style corpus, split by piece, and a tiny
piano-roll CNN that trains on it in seconds.

The subset is made once from the corpus cache (``python -m training.label_noise``) and ships as
``assets/label_noise/subset.npz``: non-overlapping 16-quarter excerpts (hop 16) of the composer model's own
train and test pieces (:func:`xai.symbolic.dataset.split`), balanced per class, rolls bit-packed (``np.packbits``) so
the file stays small; no pickles. CI and the app read only that file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

ASSET_DIR = Path(__file__).resolve().parents[1] / "assets" / "label_noise"
SUBSET_PATH = ASSET_DIR / "subset.npz"
ROLL_SHAPE = (2, 88, 64)
TRAIN_PER_CLASS = 200
TEST_PER_CLASS = 80
SUBSET_SEED = 7


class TinyRollCNN(nn.Module):
    """Eighth-note max-pool, three conv-BN-ReLU-pool stages (8, 16, 32 channels) -> global average -> linear:
    about 6k weights."""

    def __init__(self, n_classes: int, width: int = 8):
        super().__init__()
        w = width
        layers, c_in = [nn.MaxPool2d((1, 2))], ROLL_SHAPE[0]  # eighth-note time steps: half the cost
        for c_out in (w, 2 * w, 4 * w):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.MaxPool2d(2)]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits for a batch of inputs."""
        return self.fc(self.body(x).mean(dim=(2, 3)))


def pack(X: np.ndarray) -> np.ndarray:
    """(N, 2, 88, 64) 0/1 rolls -> (N, 1408) uint8 bits."""
    return np.packbits(X.reshape(len(X), -1).astype(bool), axis=1)


def unpack(P: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack`, as float32."""
    n = int(np.prod(ROLL_SHAPE))
    return np.unpackbits(P, axis=1, count=n).reshape(len(P), *ROLL_SHAPE).astype(np.float32)


def load_subset(path: Path = SUBSET_PATH) -> dict:
    """The shipped subset: X_train/X_test (packed), y_train/y_test, piece_train/piece_test, classes, piece ids."""
    z = np.load(path, allow_pickle=False)
    meta = json.loads(str(z["meta"]))
    return {k: z[k] for k in z.files if k != "meta"} | {"classes": tuple(meta["classes"]), "meta": meta}
