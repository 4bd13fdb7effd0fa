"""Evaluation shared by the training recipes: window and piece-level accuracy, per-class F1, confusion matrices."""

from __future__ import annotations

import numpy as np


def piece_level(probs: np.ndarray, piece_idx: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aggregate window probabilities per piece by mean log-probability (as xai.symbolic.predict does)."""
    pieces = np.unique(piece_idx)
    pred, true, P = [], [], []
    for p in pieces:
        m = piece_idx == p
        lp = np.log(np.clip(probs[m], 1e-9, 1)).mean(axis=0)
        P.append(lp)
        pred.append(int(np.argmax(lp)))
        true.append(int(y[m][0]))
    return np.asarray(pred), np.asarray(true), pieces


def metrics(pred: np.ndarray, true: np.ndarray, classes) -> dict:
    """Accuracy, balanced accuracy, per-class F1 and the confusion matrix of predictions against truth."""
    from sklearn.metrics import confusion_matrix, f1_score

    k = len(classes)
    return {
        "accuracy": round(float(np.mean(pred == true)), 4),
        "balanced_accuracy": round(float(np.mean([np.mean(pred[true == c] == c) for c in range(k) if np.any(true == c)])), 4),
        "per_class_f1": {c: round(float(f), 4) for c, f in zip(classes, f1_score(true, pred, labels=range(k), average=None, zero_division=0))},
        "confusion": confusion_matrix(true, pred, labels=range(k)).tolist(),
        "n": int(true.size),
    }
