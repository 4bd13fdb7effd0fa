"""Benchmark: time to predict a 5-minute MIDI file, and the app's first-paint time.

    .venv/bin/python bench/predict.py [--repeats 5] [--no-browser]

Goals (2 CPU cores): predicting a 5-minute MIDI < 1 s (upload bytes -> Piece -> prediction, model already
loaded, as in the app); first paint < 5 s (browser navigation until the home page's heading is visible, on a
server that has just started). Results and parameters are written to bench/results/predict.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import registry  # noqa: E402
from xai.symbolic import io, music, predict  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def five_minute_midi(seconds: float = 300.0) -> bytes:
    """Four voices of running eighths at 120 qpm for ``seconds`` (4,800 notes in 5 minutes): a dense worst case."""
    rng = np.random.default_rng(0)
    qpm = 120.0
    beats = seconds * qpm / 60.0
    on = np.repeat(np.arange(0, beats, 0.5), 4)
    part = np.tile(np.arange(4), on.size // 4)
    pitch = (48 + 7 * part + rng.integers(0, 7, on.size)).astype(np.int16)
    n_bars = int(np.ceil(beats / 4))
    piece = music.Piece(
        title="bench", onsets=on, durations=np.full(on.size, 0.5), pitches=pitch,
        velocities=np.full(on.size, 80, dtype=np.int16), parts=part.astype(np.int16),
        part_names=("S", "A", "T", "B"), bar_starts=np.arange(n_bars) * 4.0, bar_numbers=np.arange(1, n_bars + 1),
        tempi=((0.0, qpm),),
    )
    return music.to_midi_bytes(piece)


def time_predict(repeats: int) -> dict:
    model = registry.load("composer")
    data = five_minute_midi()
    predict.classify(io.load_bytes(data, "warmup.mid"), model)  # warm caches and torch's kernels
    load_t, pred_t, total = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        piece = io.load_bytes(data, "five_minutes.mid")
        t1 = time.perf_counter()
        res = predict.classify(piece, model)
        t2 = time.perf_counter()
        load_t.append(t1 - t0)
        pred_t.append(t2 - t1)
        total.append(t2 - t0)
    return {
        "midi_bytes": len(data), "notes": piece.n_notes, "minutes": round(piece.duration_seconds / 60, 2),
        "windows": len(res.windows), "load_s": round(statistics.median(load_t), 3),
        "classify_s": round(statistics.median(pred_t), 3), "total_s_median": round(statistics.median(total), 3),
        "total_s_max": round(max(total), 3), "goal_s": 1.0,
    }


def ten_minute_performance(seconds: float = 600.0) -> bytes:
    """The shipped Liszt performance (dense, pedalled) looped to ``seconds``: a 10-minute performance MIDI."""
    import mido

    src = mido.MidiFile(ROOT / "assets" / "examples" / "piano" / "liszt_transcendental_etude3_Huang14M.mid")
    merged = list(mido.merge_tracks(src.tracks))
    body = [m for m in merged if not m.is_meta]
    spt = 0.5 / src.ticks_per_beat  # the file's 120 qpm
    per_loop = sum(m.time for m in merged) * spt
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0)])
    elapsed = 0.0
    for _ in range(int(np.ceil(seconds / per_loop))):
        for m in body:
            elapsed += m.time * spt
            if elapsed > seconds:  # notes still sounding end at the track's end
                break
            track.append(m.copy())
    out = mido.MidiFile(ticks_per_beat=src.ticks_per_beat)
    out.tracks.append(track)
    import io as _io

    buf = _io.BytesIO()
    out.save(file=buf)
    return buf.getvalue()


def time_predict_performance(repeats: int) -> dict:
    """piano_composer on a 10-minute performance MIDI: upload bytes -> Piece -> prediction (model loaded)."""
    model = registry.load("piano_composer")
    data = ten_minute_performance()
    predict.classify(io.load_bytes(data, "warmup.mid"), model)
    total, load_t = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        piece = io.load_bytes(data, "ten_minutes.mid")
        t1 = time.perf_counter()
        res = predict.classify(piece, model)
        total.append(time.perf_counter() - t0)
        load_t.append(t1 - t0)
    return {"midi_bytes": len(data), "notes": piece.n_notes, "minutes": round(piece.duration_seconds / 60, 2),
            "windows": len(res.windows), "load_s": round(statistics.median(load_t), 3),
            "total_s_median": round(statistics.median(total), 3), "total_s_max": round(max(total), 3),
            "load_average": round(os.getloadavg()[0], 2), "goal_s": 1.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_first_paint() -> dict:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t_start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:  # not listening yet
                time.sleep(0.1)
        t_health = time.perf_counter() - t_start
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                      "--disable-sync"],
            )
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(url)
            page.get_by_role("heading").first.wait_for(timeout=30000)
            first = time.perf_counter() - t0
            page.reload()
            t1 = time.perf_counter()
            page.get_by_role("heading").first.wait_for(timeout=30000)
            second = time.perf_counter() - t1
            t2 = time.perf_counter()  # Classify with the default model (piano_composer) and its first example
            page.goto(url + "/classify")
            page.get_by_role("heading", name="Classify a piece").wait_for(timeout=30000)
            classify_heading = time.perf_counter() - t2
            page.get_by_text("Where in the piece").wait_for(timeout=60000)
            classify_answer = time.perf_counter() - t2
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"server_ready_s": round(t_health, 2), "first_paint_s": round(first, 2), "reload_paint_s": round(second, 2),
            "classify_paint_s": round(classify_heading, 2), "classify_answer_s": round(classify_answer, 2),
            "goal_s": 5.0}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
           "params": vars(args)}
    out["predict_5min_midi"] = time_predict(args.repeats)
    r = out["predict_5min_midi"]
    print(f"predict a {r['minutes']}-minute MIDI ({r['notes']} notes, {r['windows']} windows): "
          f"{r['total_s_median']:.3f} s median (load {r['load_s']:.3f} + classify {r['classify_s']:.3f}), "
          f"goal < 1 s -> {r['total_s_median'] / 1.0:.2f}x of the budget")
    out["predict_10min_performance"] = r = time_predict_performance(args.repeats)
    print(f"piano_composer on a {r['minutes']}-minute performance ({r['notes']} notes, {r['windows']} windows): "
          f"{r['total_s_median']:.3f} s median (load {r['load_s']:.3f}; load average {r['load_average']}), goal < 1 s")
    if not args.no_browser:
        out["first_paint"] = fp = time_first_paint()
        print(f"first paint: {fp['first_paint_s']:.2f} s (server ready after {fp['server_ready_s']:.2f} s), "
              f"goal < 5 s -> {fp['first_paint_s'] / 5.0:.2f}x of the budget")
        print(f"Classify (piano_composer): heading {fp['classify_paint_s']:.2f} s, answer {fp['classify_answer_s']:.2f} s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "predict.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
