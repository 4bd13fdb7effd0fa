"""A class of 20: twenty browser sessions at once on one server, each uploading its own piece.

Each student adds their own file to their unsaved concept and must see it, and nothing of anyone else's: no other student's
file name anywhere on their page. The sessions run concurrently (every page is loaded and every upload made
before any result is awaited), so the server serves them side by side, as in a classroom.
"""

import pytest

from tests._fakes import scale_piece
from xai.symbolic import music

pytestmark = [pytest.mark.slow, pytest.mark.browser]
N = 20


def _midi(i: int) -> bytes:
    return music.to_midi_bytes(scale_piece(4 + i % 5, parts=1 + i % 3, qpm=80 + 4 * i, title=f"student{i:02d}"))


def test_twenty_concurrent_sessions_see_only_their_own_upload(browser, app_url):
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(N)]
    try:
        pages = [c.new_page() for c in contexts]
        for p in pages:
            p.set_default_timeout(240_000)
            p.goto(app_url + "/concepts", wait_until="commit")
        for p in pages:
            p.get_by_role("heading", name="Add examples").wait_for()
            p.get_by_text("Short files, one example each", exact=True).first.click()
        for i, p in enumerate(pages):
            uploader = p.locator('[data-testid="stFileUploader"]').filter(has_text="Short files, each one example")
            uploader.locator("input[type=file]").set_input_files(
                files=[{"name": f"student{i:02d}.mid", "mimeType": "audio/midi", "buffer": _midi(i)}])
        for p in pages:
            p.get_by_role("button", name="Add 1 file").click()
        for i, p in enumerate(pages):
            p.get_by_text("Added 1 file as examples").first.wait_for()
            p.get_by_role("heading", name="Your concept (1 example)").wait_for()
            p.get_by_text(f"student{i:02d}").first.wait_for()
        for i, p in enumerate(pages):  # once every session has its example, none shows another's
            text = p.locator("body").inner_text()
            assert f"student{i:02d}" in text
            others = [j for j in range(N) if j != i and f"student{j:02d}" in text]
            assert not others, f"session {i} sees the uploads of sessions {others}"
    finally:
        for c in contexts:
            c.close()
