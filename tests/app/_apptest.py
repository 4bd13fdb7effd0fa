"""What the AppTest page tests share: opening a page the way a browser reaches it, and checking what it drew."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_page(path: str, *, timeout: float = 180) -> AppTest:
    """The app run once (its navigation, sidebar and model picker), then switched to ``path`` and run again."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(path)
    return at.run()


def ok(at: AppTest) -> str:
    """Assert the page drew no traceback and no error box; returns its markdown, then its captions, as one text."""
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)
