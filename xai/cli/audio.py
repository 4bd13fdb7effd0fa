"""CLI for recordings: the audio part of ``python -m xai predict FILE.wav --model instrument``.

:func:`xai.cli.main` keeps the ``predict`` parser; it hands a recording (by its file extension) to
:func:`predict` and prints its result with :func:`show_predict`.
"""

from __future__ import annotations

from pathlib import PurePath

from models import registry
from xai.audio import clip as audio
from xai.errors import ParameterError

__all__ = ["_is_recording", "predict", "show_predict"]


def _is_recording(path: str) -> bool:
    """Whether a file is a recording (by its extension) rather than a score."""
    return PurePath(path).suffix.lower() in audio.SUPPORTED_AUDIO_EXTENSIONS


def predict(args) -> dict:
    """Classify a recording with an audio model (``args.file``, ``args.model``): the result as JSON-able data."""
    from xai.audio import predict as audio_predict  # imports torch: only a prediction needs it

    audio_models = registry.available("audio")
    if args.model not in audio_models:
        raise ParameterError(
            f"The model '{args.model}' reads scores, not recordings; for a recording use --model with one of: "
            f"{', '.join(audio_models) or '(no audio model is installed)'}."
        )
    clip = audio.load_audio(args.file)
    return audio_predict.classify_audio(clip, registry.load(args.model)).summary()


def show_predict(result: dict) -> None:
    """Print a recording's prediction: the top three classes, then each window's answer."""
    r = result["recording"]
    top = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:3]
    print(f"{result['model']}: {r['label']} ({', '.join(f'{c} {v:.2f}' for c, v in top)})")
    for w in result["windows"]:
        lab = w["label"] or "(silent)"
        conf = f" {w['probabilities'][lab]:.2f}" if w["label"] else ""
        print(f"  {w['start_seconds']:7.1f}-{w['end_seconds']:.1f} s: {lab}{conf}")
