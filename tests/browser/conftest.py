"""A real Streamlit server and Debian chromium (driven by pip playwright; never `playwright install`)."""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="musicxai-browser-")
    # The journeys were written for the style classifier; the piano journey picks piano_composer in the sidebar.
    env = dict(os.environ, MUSICXAI_LIBRARY=os.path.join(data_dir, "library.sqlite"), MUSICXAI_DEFAULT_MODEL="composer")
    log = open(os.path.join(data_dir, "server.log"), "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:  # not listening yet (URLError and connection errors are OSErrors)
            if proc.poll() is not None:
                raise RuntimeError(open(log.name).read()) from None
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=15)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian chromium is missing: ./test.sh installs it (scripts/setup_browser.sh).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(60000)
    yield pg
    ctx.close()
