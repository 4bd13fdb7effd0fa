"""Benchmark: time to predict 5 minutes of audio with each shipped audio model.

    .venv/bin/python bench/audio.py [--repeats 3] [--threads 2] [--transcribe-only]

Goal (2 CPU cores): upload bytes (a 5-minute 44.1 kHz stereo WAV) -> Clip -> prediction over time < 2 s per
model, model already loaded, as in the app; transcribing the same 5 minutes with basic-pitch < 10 s (model
loaded by a first, short call). Results and parameters are written to bench/results/audio.json;
``--transcribe-only`` times only the transcription and replaces just that entry of the file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import registry  # noqa: E402
from xai.audio import clip as audio  # noqa: E402
from xai.audio import predict as audio_predict
from xai.audio import transcribe

RESULTS = ROOT / "bench" / "results"


def five_minute_wav(seconds: float = 300.0, sr: int = 44_100) -> bytes:
    """A 44.1 kHz stereo WAV of 5 minutes: a changing chord of harmonic tones with some noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 110.0 * 2 ** (np.floor(t / 2.0) % 12 / 12)
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5)) * 0.1 + rng.standard_normal(t.size) * 0.005
    stereo = np.stack([x, 0.8 * x], axis=1)
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(np.round(np.clip(stereo, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--transcribe-only", action="store_true", help="time only basic-pitch; keep the model results")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = five_minute_wav()
    t0 = time.perf_counter()
    clip = audio.load_audio_bytes(data, "bench.wav")
    load_s = time.perf_counter() - t0
    results = {"audio_seconds": clip.duration_seconds, "wav_bytes": len(data), "load_seconds": round(load_s, 3),
               "threads": args.threads, "machine": platform.machine(), "torch": torch.__version__, "models": {}}
    out = RESULTS / "audio.json"
    if args.transcribe_only and out.exists():
        results = {**json.loads(out.read_text()), "transcribe": {}}
    for name in ([] if args.transcribe_only else registry.available("audio")):
        model = registry.load(name)
        audio_predict.classify_audio(audio.Clip(clip.waveform[:22050 * 8], 22050), model)  # warm-up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            c = audio.load_audio_bytes(data, "bench.wav")
            audio_predict.classify_audio(c, model)
            times.append(time.perf_counter() - t0)
        results["models"][name] = {"median_seconds": round(statistics.median(times), 3),
                                   "goal_seconds": 2.0, "ok": statistics.median(times) < 2.0}
        print(f"{name}: {statistics.median(times):.2f} s for {clip.duration_seconds:.0f} s of audio (goal < 2 s)")
    if transcribe.available():
        transcribe.transcribe(audio.Clip(clip.waveform[: 22050 * 8], 22050, title="warm-up"))
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            piece = transcribe.transcribe(clip)
            times.append(time.perf_counter() - t0)
        t = statistics.median(times)
        results["transcribe"] = {"seconds": round(t, 3), "notes": piece.n_notes, "goal_seconds": 10.0, "ok": t < 10.0,
                                 "cores": len(os.sched_getaffinity(0))}
        print(f"transcribe: {t:.2f} s for {clip.duration_seconds:.0f} s of audio, {piece.n_notes} notes (goal < 10 s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
