"""The example reverse-proxy config (docs/deploy/nginx.conf) is valid and really keeps each browser on one server."""

import http.server
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "docs" / "deploy" / "nginx.conf"


def _nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if path is None:
        pytest.fail("nginx is not installed, so the example deployment cannot be checked: scripts/setup.sh installs "
                    "it (apt-get install nginx-light).", pytrace=False)
    return path


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _backend(name: str) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = _port()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, port


def test_the_config_is_valid_nginx():
    p = subprocess.run([_nginx(), "-t", "-c", str(CONF)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "syntax is ok" in p.stderr


def test_a_browser_stays_on_its_server_and_new_browsers_are_spread(tmp_path):
    nginx = _nginx()
    (a, pa), (b, pb) = _backend("server-a"), _backend("server-b")
    front = _port()
    text = CONF.read_text().replace("127.0.0.1:8501", f"127.0.0.1:{pa}").replace("127.0.0.1:8502", f"127.0.0.1:{pb}")
    text = text.replace("127.0.0.1:8080", f"127.0.0.1:{front}").replace("/tmp/musicxai-nginx", str(tmp_path / "ngx"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    proc = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{front}/"
        for _ in range(100):  # bounded wait for nginx to listen
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        seen = {}
        for browser in range(16):
            r = urllib.request.urlopen(url, timeout=5)
            first = r.read().decode()
            cookie = r.headers["Set-Cookie"].split(";")[0]
            assert cookie.startswith("musicxai_route=")
            for _ in range(5):  # the same browser (its cookie) always reaches the same server
                req = urllib.request.Request(url, headers={"Cookie": cookie})
                assert urllib.request.urlopen(req, timeout=5).read().decode() == first
            seen[browser] = first
        assert set(seen.values()) == {"server-a", "server-b"}  # new browsers go to both servers
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        a.shutdown()
        b.shutdown()
