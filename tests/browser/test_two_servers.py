"""Two app servers on different ports sharing one PostgreSQL library and one signing secret (issue 20).

What one user saves on server A is in server B's library at once; a share link signed with the shared secret opens
on either server (a server with another secret refuses it: tests/xai/classroom/test_share.py). The servers are real
``streamlit run`` processes on loopback; the database is a real PostgreSQL (tests/_postgres.py).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests._postgres import postgres_server, postgres_url  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]
SECRET = "two-servers-secret"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(folder: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = _port()
    log = open(os.path.join(folder, f"server-{port}.log"), "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=dict(os.environ, **env), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(Path(log.name).read_text()[-2000:]) from None
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"the app server on {url} did not start")


@pytest.fixture
def servers(postgres_url):  # noqa: F811
    folder = tempfile.mkdtemp(prefix="musicxai-two-")
    procs = []
    try:
        urls = []
        for name, secret in (("a", SECRET), ("b", SECRET)):
            env = {"MUSICXAI_DATABASE_URL": postgres_url, "MUSICXAI_SECRET": secret,
                   "MUSICXAI_LIBRARY": os.path.join(folder, f"unused-{name}.sqlite")}
            proc, url = _serve(folder, env)
            procs.append(proc)
            urls.append(url)
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _open_concepts(page, url):
    page.goto(url + "/concepts")
    page.get_by_role("heading", name="Add examples").wait_for()


def test_two_servers_share_the_library_and_the_links(browser, servers, monkeypatch):
    a, b = servers
    alice_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    bob_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        alice, bob = alice_ctx.new_page(), bob_ctx.new_page()
        for p in (alice, bob):
            p.set_default_timeout(60000)
        _open_concepts(alice, a)
        alice.get_by_text("A built-in concept", exact=True).first.click()
        alice.get_by_role("button", name="Add its").click()
        alice.get_by_role("heading", name="Your concept (").wait_for()
        alice.get_by_label("Name", exact=True).fill("shared texture")
        alice.get_by_label("Name", exact=True).press("Enter")
        alice.get_by_role("button", name="Save to library").click()
        alice.get_by_text("Saved 'shared texture'").wait_for()

        _open_concepts(bob, b)  # the other server, the same PostgreSQL library: there at once
        bob.get_by_role("heading", name="Library").wait_for()
        bob.locator('[data-testid="stDataFrame"]').get_by_text("shared texture").first.wait_for(state="attached")

        # A link signed with the shared secret (as server A signs it) opens the same view on server B.
        monkeypatch.setenv("MUSICXAI_SECRET", SECRET)
        from xai.classroom import share

        token = share.encode("classify", {"source": "example", "example": "bach: bwv20.7", "model": "composer"})
        for url in (a, b):
            bob.goto(f"{url}/classify?share={token}")
            bob.get_by_text("The model hears this as").first.wait_for()
            assert bob.get_by_text("made on another installation").count() == 0
    finally:
        alice_ctx.close()
        bob_ctx.close()
