"""Example pieces that ship with the app, one per class, held out from training.

``assets/examples/examples.json`` lists them as ``{"file", "title", "class", "source"}``; the files sit next to
it. :data:`EXAMPLES` maps each title (what a page shows) to its file, so the examples double as test fixtures.
A missing or unreadable list means no examples, never an error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from xai._paths import ASSETS
from xai.errors import InputError

__all__ = ["EXAMPLES_DIR", "EXAMPLES", "INFO", "example_path", "example_info", "example_file", "by_sha256",
           "for_model"]

EXAMPLES_DIR = ASSETS / "examples"


def _read(folder: Path) -> dict[str, dict]:
    try:
        entries = json.loads((folder / "examples.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict) or "file" not in e:
            continue
        path = folder / str(e["file"])
        if path.is_file():
            title = str(e.get("title") or path.stem)
            out[title] = {
                "title": title,
                "path": path,
                "class": e.get("class"),
                "source": e.get("source", ""),
                "piece_title": str(e.get("piece_title") or ""),  # the piece's real title, where its file lacks one
                "models": tuple(str(m) for m in e.get("models") or ()),  # the models it was held out from ('' = all)
                "annotations": folder / str(e["annotations"]) if e.get("annotations") else None,  # ASAP beats
            }
    return out


INFO: dict[str, dict] = _read(EXAMPLES_DIR)
EXAMPLES: dict[str, Path] = {title: e["path"] for title, e in INFO.items()}


def example_path(name: str) -> Path:
    """The file of the example called ``name`` (a key of :data:`EXAMPLES`)."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise InputError(f"There is no example called '{name}'. Examples: {', '.join(EXAMPLES) or 'none'}.") from None


def example_info(name: str) -> dict:
    """Title, path, true class and source (provenance) of an example."""
    example_path(name)
    return dict(INFO[name])


def for_model(model_name: str | None) -> list[str]:
    """Example names with the ones held out from ``model_name`` first (a model's own examples lead its list)."""
    mine = [n for n, e in INFO.items() if model_name and model_name in e["models"]]
    return mine + [n for n in INFO if n not in mine]


def example_file(name: str) -> tuple[bytes, str]:
    """The bytes and file name of an example, to go through the same loader as an upload."""
    path = example_path(name)
    return path.read_bytes(), path.name


def by_sha256() -> dict[str, str]:
    """SHA-256 of each example's file -> the example's name: which example a concept example was cut from."""
    return {hashlib.sha256(p.read_bytes()).hexdigest(): name for name, p in EXAMPLES.items()}
