"""Load benchmark: N concurrent browser sessions on one app server, time to result, p50/p95 and errors.

    nice -n 10 .venv/bin/python bench/load.py                      # N = 1, 5, 10, 20, 40 (a quiet machine: ~15 min)
    nice -n 10 .venv/bin/python bench/load.py --sessions 1 2       # a quick check
    .venv/bin/python bench/load.py --url http://127.0.0.1:8501     # against a server you started

One Streamlit server (``streamlit run app.py`` on 127.0.0.1, a free port, its own empty concept library and a
fixed ``MUSICXAI_SECRET``) and one headless Debian chromium (pip playwright, ``executable_path=/usr/bin/chromium``,
``--no-sandbox --disable-gpu``; never ``playwright install``), with one browser context (= one user, own
cookies and Streamlit session) per simulated user. Loopback only; every wait is bounded (``--timeout`` seconds
per step), and N is at most 64.

The journey, as a student following a teacher's links would make it:

1. **classify**: open the Classify view on a shipped example (a ``?share=`` link naming it); done when the
   model's answer ("The model hears this as ...") is on the page.
2. **tcav**: open the TCAV view with a small test (built-in concept 'imitation', class 'bach', layer block3,
   ``n_random`` = 5, at most 60 excerpts per set, run at once); done when the result ("Computed in ...") is shown.
   Every session uses its own seed, so the server-wide result store cannot answer one user with another's
   result: each session really computes its TCAV.

Time to result = from the navigation to the result on screen, per step and for the whole journey (the two steps
one after the other). An error is a step that did not reach its result within the timeout, or showed an error
box. Before the measured rounds, one session runs the journey once (not counted) so the models are loaded: the
curve is for a server that is up, not for its cold start (that first journey is reported separately).

The browser runs on the same 2 cores as the server: a loopback test measures the server with its clients
competing for CPU; with N = 40 the browser's own rendering is a real part of the load, so the numbers are an
upper bound on what real users (each with their own machine) would see.

Results: bench/results/load.json (every session's times, parameters, machine, load average) and docs/load.md
(the curve as a table, and the largest N whose journey p95 is within 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "results" / "load.json"
DOC = ROOT / "docs" / "load.md"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SECRET = "bench-load-secret"
MAX_SESSIONS = 64
EXAMPLE = "bach: bwv20.7"
TCAV = {"model": "composer", "concepts": ["imitation"], "targets": ["bach"], "layers": ["block3"], "run": True,
        "n_random": 5, "max_examples": 60}
GOAL_P95 = 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: str, *, port: int | None = None, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on 127.0.0.1 with its own library; returns (process, URL) once it is healthy."""
    port = port or _free_port()
    env = dict(os.environ, MUSICXAI_LIBRARY=os.path.join(data_dir, "library.sqlite"), MUSICXAI_SECRET=SECRET,
               **(env or {}))
    log = open(os.path.join(data_dir, f"server-{port}.log"), "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("The app server stopped while starting:\n"
                                   + Path(log.name).read_text()[-2000:]) from None
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"The app server did not answer on {url} within 120 s.")


def links(seed: int) -> dict[str, str]:
    """The two share links of the journey (signed with the server's secret); the TCAV one with ``seed``."""
    os.environ["MUSICXAI_SECRET"] = SECRET
    from xai.classroom import share

    return {"classify": "/classify?share=" + share.encode("classify", {"source": "example", "example": EXAMPLE,
                                                                       "model": "composer"}),
            "tcav": "/tcav?share=" + share.encode("tcav", {**TCAV, "seed": int(seed)})}


async def _step(page, url: str, done_text: str, timeout: float) -> tuple[float | None, str | None]:
    t0 = time.perf_counter()
    try:
        await page.goto(url, wait_until="commit", timeout=timeout * 1000)
        found = page.get_by_text(done_text).first
        failed = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').first
        done = asyncio.ensure_future(found.wait_for(timeout=timeout * 1000))
        bad = asyncio.ensure_future(failed.wait_for(timeout=timeout * 1000))
        finished, pending = await asyncio.wait({done, bad}, return_when=asyncio.FIRST_COMPLETED)
        for p in pending:
            p.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if bad in finished and bad.exception() is None:
            return None, "error box: " + (await failed.inner_text())[:200]
        if done.exception() is not None:
            return None, f"no result within {timeout:.0f} s"
        return time.perf_counter() - t0, None
    except Exception as e:  # noqa: BLE001 - any browser failure is one counted error, with its first line
        return None, (str(e).strip().splitlines() or ["browser error"])[0][:200]


async def journey(browser, base: str, seed: int, timeout: float) -> dict:
    """One user: classify an example, then a small TCAV; times per step and in total (None where it failed)."""
    ctx = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await ctx.new_page()
    out: dict = {"seed": seed}
    try:
        ln = links(seed)
        t0 = time.perf_counter()
        out["classify"], out["classify_error"] = await _step(page, base + ln["classify"], "The model hears this as",
                                                             timeout)
        if out["classify"] is not None:
            out["tcav"], out["tcav_error"] = await _step(page, base + ln["tcav"], "Computed in", timeout)
        else:
            out["tcav"], out["tcav_error"] = None, "not reached"
        out["journey"] = time.perf_counter() - t0 if out["tcav"] is not None else None
    finally:
        await ctx.close()
    return out


def _stats(xs: list[float | None]) -> dict:
    ok = np.array([x for x in xs if x is not None], dtype=float)
    if ok.size == 0:
        return {"n_ok": 0, "p50": None, "p95": None, "max": None}
    return {"n_ok": int(ok.size), "p50": round(float(np.percentile(ok, 50)), 2),
            "p95": round(float(np.percentile(ok, 95)), 2), "max": round(float(ok.max()), 2)}


async def measure(base: str, sessions: list[int], timeout: float) -> tuple[dict, list[dict]]:
    """Warm the server with one journey, then each N concurrent journeys; returns (warm-up, rows)."""
    from playwright.async_api import async_playwright

    rows = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            warm = await journey(browser, base, seed=999_999, timeout=max(timeout, 180))
            print(f"warm-up journey (cold models): {warm}", flush=True)
            for n in sessions:
                load0 = os.getloadavg()
                t0 = time.perf_counter()
                runs = await asyncio.gather(*[journey(browser, base, seed=1000 * n + i, timeout=timeout)
                                              for i in range(n)])
                errors = [r for r in runs if r["journey"] is None]
                row = {"sessions": n, "wall_seconds": round(time.perf_counter() - t0, 2),
                       "load_average_before": [round(x, 2) for x in load0],
                       "classify": _stats([r["classify"] for r in runs]), "tcav": _stats([r["tcav"] for r in runs]),
                       "journey": _stats([r["journey"] for r in runs]), "errors": len(errors),
                       "error_messages": sorted({r.get("classify_error") or r.get("tcav_error") or "" for r in errors}),
                       "runs": runs}
                rows.append(row)
                j = row["journey"]
                print(f"N={n:3d}: journey p50 {j['p50']} s, p95 {j['p95']} s (classify p95 {row['classify']['p95']} s, "
                      f"tcav p95 {row['tcav']['p95']} s), errors {len(errors)} of {n}, wall {row['wall_seconds']} s",
                      flush=True)
        finally:
            await browser.close()
    return warm, rows


def write(rows: list[dict], warm: dict, params: dict, *, out: Path = OUT, doc: Path | None = DOC,
          note: str = "") -> None:
    """bench/results/load.json and the curve as a table in docs/load.md."""
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"command": "nice -n 10 .venv/bin/python bench/load.py " + shlex.join(sys.argv[1:]),
            "machine": platform.platform(), "cores": os.cpu_count(), "python": platform.python_version(),
            "parameters": params, "warm_up": warm, "rows": rows}
    out.write_text(json.dumps(meta, indent=1))
    if doc is None:
        return
    within = [r["sessions"] for r in rows if r["errors"] == 0 and r["journey"]["p95"] is not None
              and r["journey"]["p95"] <= GOAL_P95]
    lines = ["# Load: how many users one server holds", "", *([f"> {note}", ""] if note else []),
             "Measured by `bench/load.py` (the journey, the set-up and its limits are in its docstring): one Streamlit",
             f"server and headless chromium on the same machine ({os.cpu_count()} cores, {platform.platform()}),",
             "loopback only. Each user opens a shipped example on Classify, then runs a small TCAV (built-in concept",
             f"'imitation', class 'bach', n_random {TCAV['n_random']}, own seed). Times are from navigation to the",
             "result on screen, in seconds; the models were loaded by one warm-up journey first.", "",
             "| users (N) | journey p50 | journey p95 | classify p95 | TCAV p95 | errors | load average before |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['sessions']} | {r['journey']['p50']} | {r['journey']['p95']} | {r['classify']['p95']} | "
                     f"{r['tcav']['p95']} | {r['errors']} | {r['load_average_before'][0]} |")
    lines += ["", (f"**Within {GOAL_P95:.0f} s p95 and without errors: up to {max(within)} concurrent users** "
                   "(of the N measured)." if within else
                   f"No measured N kept the journey's p95 within {GOAL_P95:.0f} s without errors."),
              "", f"Command: `{meta['command']}`; raw numbers and parameters: bench/results/load.json."]
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    """Run the benchmark; prints one line per N and writes the result files."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20, 40], help="the N to measure")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds a step may take before it is an error")
    ap.add_argument("--url", default=None, help="a running server on loopback (default: start one)")
    ap.add_argument("--out", default=str(OUT), help="the JSON result file")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/load.md (quick checks)")
    ap.add_argument("--note", default="", help="a sentence put at the top of docs/load.md (e.g. a preliminary run)")
    a = ap.parse_args(argv)
    bad = [n for n in a.sessions if not 1 <= n <= MAX_SESSIONS]
    if bad:
        ap.error(f"each N must be between 1 and {MAX_SESSIONS}, got {bad}")
    if a.url and not a.url.startswith(("http://127.0.0.1", "http://localhost")):
        ap.error("the load test runs against loopback only (http://127.0.0.1:PORT)")
    if not os.path.exists(CHROMIUM):
        print(f"Debian chromium is missing at {CHROMIUM}: run scripts/setup_browser.sh.", file=sys.stderr)
        return 2
    data_dir = tempfile.mkdtemp(prefix="musicxai-load-")
    proc = None
    try:
        if a.url:
            base = a.url.rstrip("/")
        else:
            proc, base = start_server(data_dir)
        warm, rows = asyncio.run(measure(base, a.sessions, a.timeout))
        params = {"sessions": a.sessions, "timeout_s": a.timeout, "example": EXAMPLE, "tcav": TCAV,
                  "server": "own" if proc else a.url}
        params["note"] = a.note
        write(rows, warm, params, out=Path(a.out), doc=None if a.no_doc else DOC, note=a.note)
        print(f"results: {a.out}" + ("" if a.no_doc else f", {DOC}"))
        return 0 if all(r["errors"] == 0 for r in rows) else 1
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
