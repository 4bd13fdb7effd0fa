import pytest


@pytest.fixture(autouse=True)
def _own_library(tmp_path, monkeypatch):
    """Every page test gets its own concept library: no test reads or writes the user's."""
    path = tmp_path / "library.sqlite"
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(path))
    return path


@pytest.fixture(autouse=True)
def _default_model(monkeypatch):
    """The page tests were written for the style classifier ('composer'); piano tests pick piano_composer."""
    monkeypatch.setenv("MUSICXAI_DEFAULT_MODEL", "composer")
