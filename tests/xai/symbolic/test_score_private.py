"""Engraving leaves nothing of an upload in a shared folder: no pickle, and music21's scratch folder is private."""

from __future__ import annotations

from pathlib import Path

from xai.symbolic import io as xio
from xai.symbolic import score

ABC = "X:1\nT:Private reel\nM:4/4\nL:1/8\nK:D\nDFAF dFAF|GBdB gBdB|Acec A2FA|d2f2 d4|\n"


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


def test_engraving_a_bar_range_pickles_nothing_and_loads_no_pickle(private_cache, monkeypatch):
    from music21 import freezeThaw

    calls = []
    monkeypatch.setattr(freezeThaw.StreamFreezer, "write", lambda *a, **k: calls.append("pickled"))
    monkeypatch.setattr(freezeThaw.StreamThawer, "open", lambda *a, **k: calls.append("unpickled"))
    piece = xio.load_bytes(ABC.encode(), "reel.abc")
    pages = score.engrave(piece, start_bar=2, end_bar=3)  # through music21 (a bar range)
    assert pages and "<svg" in pages[0]
    assert calls == []
    assert not [p for p in _files(private_cache) if p.name.endswith((".p", ".p.gz"))]


