"""Benchmark: cost of one PGD step (xai.attacks.waveform's sign-Adam loop) vs one forward+backward of the same model.

    .venv/bin/python bench/attack.py [--repeats 5] [--threads 2] [--batch 1 16]

Goal: a PGD step costs at most 1.2x a plain forward+backward pass of the model on the same batch (the loop adds
only the sign, the Adam moments, the projection and the bound check). Also times a batched untargeted attack over
many clips (synthetic 4-s clips, so no data cache is needed). Writes bench/results/attack.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import registry  # noqa: E402
from xai.attacks import waveform as adv  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SAMPLES = 88_200


def clips(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLES) / 22_050
    f = 110 * 2 ** (rng.integers(0, 24, size=(n, 1)) / 12)
    x = 0.2 * np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal((n, SAMPLES))
    return x.astype(np.float32)


def fwd_bwd_loop(net, x: torch.Tensor, steps: int) -> float:
    """``steps`` plain forward+backward passes (gradient w.r.t. the input), as an attack step needs."""
    y = torch.zeros(x.shape[0], dtype=torch.long)
    t = time.perf_counter()
    for _ in range(steps):
        xr = x.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(net(xr), y)
        torch.autograd.grad(loss, xr)
    return time.perf_counter() - t


def attack_loop(net, x: torch.Tensor, steps: int) -> float:
    """``steps`` PGD updates through xai.attacks.waveform (no early stop), minus its two extra plain forward passes."""
    opt = adv.AttackOptions(method="pgd", epsilon=1e-3, steps=steps, lr=1e-4, stop_early=False)
    t = time.perf_counter()
    adv.attack_batch(x, net, opt)
    total = time.perf_counter() - t
    with torch.no_grad():
        t = time.perf_counter()
        net(x)
        net(x)
        fwd2 = time.perf_counter() - t
    return total - fwd2  # steps updates + one final forward with grad enabled (counted in: conservative)


def timed(net, x, repeats: int, steps: int = 10) -> tuple[float, float]:
    """Per-step seconds (fwd+bwd, PGD step): the minimum over interleaved repeats, robust to a shared machine."""
    fb, st = [], []
    fwd_bwd_loop(net, x, 1)  # warm-up
    for _ in range(repeats):
        fb.append(fwd_bwd_loop(net, x, steps) / steps)
        st.append(attack_loop(net, x, steps) / steps)
    return min(fb), min(st)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--models", nargs="+", default=["instrument", "style_midlevel"])
    ap.add_argument("--many", type=int, default=64, help="clips in the batched-attack timing")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.models:
        net = registry.load(name).net
        for b in args.batch:
            x = torch.from_numpy(clips(b))
            fb, st = timed(net, x, args.repeats)
            rows.append({"model": name, "batch": b, "fwd_bwd_s": round(fb, 4), "pgd_step_s": round(st, 4),
                         "ratio": round(st / fb, 3)})
            print(f"{name} batch {b}: forward+backward {fb * 1000:.1f} ms, PGD step {st * 1000:.1f} ms, "
                  f"ratio {st / fb:.2f} (goal <= 1.2)")
    net = registry.load(args.models[0]).net
    x = clips(args.many, seed=1)
    t = time.perf_counter()
    res = [adv.attack_batch(x[i:i + 16], net, adv.AttackOptions(method="pgd", epsilon=2e-3, steps=30, lr=2.5e-4))
           for i in range(0, len(x), 16)]
    many_s = time.perf_counter() - t
    succ = float(np.mean(np.concatenate([r.success for r in res])))
    print(f"batched untargeted PGD on {args.many} clips ({args.models[0]}, eps 2e-3, <= 30 steps, batches of 16): "
          f"{many_s:.1f} s, {many_s / args.many * 1000:.0f} ms per clip, success {succ:.0%}")
    out = {"goal": "PGD step <= 1.2 x forward+backward", "rows": rows,
           "batched": {"model": args.models[0], "clips": args.many, "seconds": round(many_s, 2),
                       "ms_per_clip": round(many_s / args.many * 1000, 1), "success": round(succ, 3)},
           "parameters": vars(args), "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                                 "torch": torch.__version__}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "attack.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
