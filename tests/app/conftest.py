import pytest


@pytest.fixture(autouse=True)
def _own_library(tmp_path, monkeypatch):
    """Every page test gets its own concept library: no test reads or writes the user's."""
    path = tmp_path / "library.sqlite"
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(path))
    return path
