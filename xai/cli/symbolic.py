"""``python -m xai predict`` for a score or MIDI file: the class per piece and per window (bars, or seconds)."""

from __future__ import annotations

from models import registry
from xai.symbolic import io, predict

__all__ = ["predict_score", "print_prediction"]


def predict_score(args) -> dict:
    """Classify the file ``args.file`` with the symbolic model ``args.model``: :meth:`Prediction.summary`'s shape."""
    piece = io.load(args.file)
    model = registry.load(args.model)
    out = predict.classify(piece, model).summary()
    out["piece"] = {**_about(piece), **out["piece"]}
    return out


def _about(piece) -> dict:
    """What the file says the piece is, as read (xai.symbolic.fidelity): title, tempo, length, first bar, warnings."""
    return {
        "title": piece.title,
        "tempo_qpm": round(float(piece.tempi[0][1]), 2),
        "duration_seconds": round(float(piece.duration_seconds), 2),
        "first_bar": int(piece.bar_numbers[0]) if piece.bar_numbers.size and piece.bars_known else None,
        "performed": bool(piece.performed),
        "bars_from": "beat annotations" if piece.bar_source == "annotations" else
        ("the file" if piece.bars_known else "unknown (a performance without beat annotations)"),
        "reading_warnings": list(piece.warnings),
    }


def print_prediction(result: dict) -> None:
    """The answer for the piece with every class's probability, then one line per window: its bars and label."""
    p = result["piece"]
    top = sorted(p["probabilities"].items(), key=lambda kv: -kv[1])
    print(f"{result['model']}: {p['label']} ({', '.join(f'{c} {v:.2f}' for c, v in top)})")
    if "title" in p:
        start = f", from bar {p['first_bar']}" if p.get("first_bar") is not None else ", bars unknown"
        print(f"{p['title']}: ♩ = {p['tempo_qpm']:g}, {p['duration_seconds']:.0f} s{start}")
        for w in p.get("reading_warnings", ()):
            print(f"  note: {w}")
    for w in result["windows"]:
        lab = w["label"] or "(silent)"
        conf = f" {w['probabilities'][lab]:.2f}" if w["label"] else ""
        if w.get("start_bar") is None and "start_second" in w:
            where = f"{w['start_second']:.0f}-{w['end_second']:.0f} s"
        else:
            where = f"bars {w['start_bar']}-{w['end_bar']}"
        print(f"  {where}: {lab}{conf}")
