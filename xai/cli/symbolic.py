"""``python -m xai predict`` for a score or MIDI file: the style per piece and per bar-aligned window."""

from __future__ import annotations

from models import registry
from xai.symbolic import io, predict

__all__ = ["predict_score", "print_prediction"]


def predict_score(args) -> dict:
    """Classify the file ``args.file`` with the symbolic model ``args.model``: :meth:`Prediction.summary`'s shape."""
    piece = io.load(args.file)
    model = registry.load(args.model)
    return predict.classify(piece, model).summary()


def print_prediction(result: dict) -> None:
    """The answer for the piece with every class's probability, then one line per window: its bars and label."""
    p = result["piece"]
    top = sorted(p["probabilities"].items(), key=lambda kv: -kv[1])
    print(f"{result['model']}: {p['label']} ({', '.join(f'{c} {v:.2f}' for c, v in top)})")
    for w in result["windows"]:
        lab = w["label"] or "(silent)"
        conf = f" {w['probabilities'][lab]:.2f}" if w["label"] else ""
        print(f"  bars {w['start_bar']}-{w['end_bar']}: {lab}{conf}")
