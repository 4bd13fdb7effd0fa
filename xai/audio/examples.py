"""Example recordings that ship with the app, some rendered by sounds the audio models never heard in training.

``assets/examples/audio/audio_examples.json`` lists them (``file``, ``title``, ``class``, ``instrument``,
``renderer``, ``source``, ``in_training_renderers``, ...); the files sit next to it (written by
``python -m training.audio_examples``). A missing or unreadable list means no examples, never an error, as for
the example scores (:mod:`xai.symbolic.examples`).
"""

from __future__ import annotations

import json
from pathlib import Path

from xai._paths import ASSETS
from xai.errors import InputError

__all__ = ["EXAMPLES_DIR", "INDEX_FILE", "audio_examples", "titles", "example_info", "example_file",
           "training_soundfonts", "heard_by"]

EXAMPLES_DIR = ASSETS / "examples" / "audio"
INDEX_FILE = "audio_examples.json"


def audio_examples(folder: Path | None = None) -> list[dict]:
    """Every example recording's entry, in the listed order ([] when there is no readable list)."""
    try:
        entries = json.loads(((folder or EXAMPLES_DIR) / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and "file" in e and "title" in e] if isinstance(entries, list) \
        else []


def titles(folder: Path | None = None) -> list[str]:
    """The example recordings' titles (what a page shows), in order."""
    return [e["title"] for e in audio_examples(folder)]


def example_info(title: str, folder: Path | None = None) -> dict:
    """The entry of the example recording called ``title``; InputError naming the examples when there is none."""
    for e in audio_examples(folder):
        if e["title"] == title:
            return dict(e)
    names = ", ".join(titles(folder)) or "none"
    raise InputError(f"There is no example recording called '{title}'. Examples: {names}.")


def example_file(title: str, folder: Path | None = None) -> tuple[bytes, str]:
    """The bytes and file name of an example recording, to go through the same loader as an upload."""
    name = str(example_info(title, folder)["file"])
    return ((folder or EXAMPLES_DIR) / name).read_bytes(), name


def training_soundfonts(card: dict) -> tuple[str, ...]:
    """The soundfonts an audio model's training clips were rendered with, from its card's data version.

    Version 2 of the audio data set renders with five soundfonts, version 1 (the models trained before it) with
    two (:mod:`xai.audio.dataset`).
    """
    from xai.audio import dataset

    return dataset.SOUNDFONTS if int(card.get("data_version") or 1) >= 2 else dataset.TRAIN_SOUNDFONTS


def heard_by(entry: dict, cards: dict[str, dict]) -> tuple[list[str], list[str]]:
    """Which of the models (name -> card) heard an example's renderer in training, and which never did."""
    heard = [n for n, c in cards.items() if entry.get("renderer") in training_soundfonts(c)]
    return heard, [n for n in cards if n not in heard]

