"""Functions that ``[[call]]`` cells of the study tests run in worker processes (importable by path)."""

import os
import signal
import time

import numpy as np


def draw(seed: int, n: int = 5) -> dict:
    """Seeded numbers: the same on any worker."""
    return {"values": np.random.default_rng(seed).normal(size=n).round(12).tolist()}


def fail(seed: int) -> dict:
    """A task that raises."""
    raise ValueError(f"broken on purpose (seed {seed})")


def die_once(seed: int, flag: str, wait: float = 0.0) -> dict:
    """Kill the worker process running it (SIGKILL) the first time; succeed once ``flag`` exists."""
    if os.path.exists(flag):
        return {"seed": seed, "survived": True}
    time.sleep(wait)
    open(flag, "w").close()
    os.kill(os.getpid(), signal.SIGKILL)
    return {}
