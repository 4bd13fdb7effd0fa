"""Predictions of a symbolic classifier for a whole piece and for each window (bars, or seconds).

The piece-level prediction is the mean of the window log-probabilities (a product of experts over the
excerpts that have notes), renormalised; silent windows are shown but do not vote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from xai.contract import Result
from xai.errors import InputError
from xai.symbolic import music

__all__ = ["Prediction", "classify", "window_probabilities"]


@dataclass(frozen=True, eq=False)
class Prediction(Result):
    """What the model says about a piece: per class for the piece, and per window over time.

    A :class:`~xai.contract.Result`: :meth:`to_dict` / :meth:`from_dict` round-trip it through JSON;
    :meth:`summary` is the shorter shape ``python -m xai predict --json`` prints.
    """

    model: str
    classes: tuple[str, ...]
    piece_probabilities: np.ndarray  # (C,)
    windows: tuple[music.Window, ...]
    window_probabilities: np.ndarray  # (N, C); rows of silent windows are NaN
    title: str = ""

    @property
    def label(self) -> str:
        """The most probable class for the whole piece."""
        return self.classes[int(np.argmax(self.piece_probabilities))]

    def window_labels(self) -> list[str | None]:
        """The most probable class of each window (None for a silent window)."""
        return [
            None if np.isnan(p).any() else self.classes[int(np.argmax(p))] for p in self.window_probabilities
        ]

    def most_confident(self, k: int = 3) -> list[int]:
        """Indices of the k windows with the highest top-class probability."""
        conf = np.nan_to_num(np.max(self.window_probabilities, axis=1), nan=-1.0)
        order = np.argsort(-conf, kind="stable")
        return [int(i) for i in order[:k] if conf[i] >= 0]

    def summary(self) -> dict:
        """The JSON shape of ``python -m xai predict --json``: labels and rounded probabilities, piece and windows."""
        labels = self.window_labels()
        return {
            "model": self.model,
            "classes": list(self.classes),
            "piece": {
                "label": self.label,
                "probabilities": {c: round(float(p), 6) for c, p in zip(self.classes, self.piece_probabilities)},
            },
            "windows": [
                {
                    "start_bar": w.start_bar if w.bars_known else None,
                    "end_bar": w.end_bar if w.bars_known else None,
                    "start_beat": w.start_beat,
                    "end_beat": w.end_beat,
                    **({} if w.start_second is None else {"start_second": round(w.start_second, 3),
                                                          "end_second": round(float(w.end_second), 3)}),
                    "label": lab,
                    "probabilities": None
                    if lab is None
                    else {c: round(float(p), 6) for c, p in zip(self.classes, probs)},
                }
                for w, lab, probs in zip(self.windows, labels, self.window_probabilities, strict=True)
            ],
        }


def window_probabilities(net: torch.nn.Module, X: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """Softmax outputs for a stack of excerpt rolls (N, 2, 88, L)."""
    out = []
    net.eval()
    with torch.inference_mode():
        for i in range(0, len(X), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(X[i : i + batch_size], dtype=np.float32))
            out.append(torch.softmax(net(xb), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def classify(piece: music.Piece, model) -> Prediction:
    """Predict the style of a piece, window by window and as a whole.

    Parameters
    ----------
    piece : Piece
        The music, from :func:`xai.symbolic.io.load` or the corpus.
    model : models.registry.Model
        A loaded classifier; its input grid (bar-aligned quarters, or seconds for a model trained on
        performances) is read from it (:func:`xai.symbolic.music.encode_for`).
    """
    if piece.n_notes == 0:
        raise InputError("This piece has no notes, so there is nothing to classify.")
    wins, X = music.encode_for(piece, model)
    sounding = np.array([w.n_notes > 0 for w in wins])
    probs = np.full((len(wins), len(model.classes)), np.nan)
    probs[sounding] = window_probabilities(model.net, X[sounding])
    logp = np.log(np.clip(probs[sounding], 1e-9, 1.0)).mean(axis=0)
    piece_p = np.exp(logp - logp.max())
    piece_p /= piece_p.sum()
    return Prediction(
        model=model.name,
        classes=tuple(model.classes),
        piece_probabilities=piece_p,
        windows=tuple(wins),
        window_probabilities=probs,
        title=piece.title,
    )
