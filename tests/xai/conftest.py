"""Fixtures shared by the tests of xai's modules."""

import pytest

from xai import _scratch


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """music21's scratch folder moved into a fresh private cache for one test, music21's default again after."""
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_scratch, "_DONE", False)
    yield tmp_path / "cache" / "music21"
    from music21 import environment

    environment.Environment()["directoryScratch"] = None  # music21's default again for the other tests
    monkeypatch.setattr(_scratch, "_DONE", False)
