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


def missing_file(seed: int) -> dict:
    """A task whose data file is missing."""
    raise FileNotFoundError(2, "No such file or directory", f"/nowhere/data_{seed}.npz")


def threads(seed: int) -> dict:
    """The thread counts of the numeric libraries while the cell runs, and a numpy value to serialise."""
    import numpy as np
    from threadpoolctl import threadpool_info

    return {"threads": sorted({p["num_threads"] for p in threadpool_info()}), "mean": np.float32(seed) / 2}


CALL = "tests.xai.study._tasks"
# A study of two hubness cells and three seeded draws, shared by the runner and CLI tests.
GRID = f"""
name = "grid"
[[hubness]]
embeddings = ["style_audio"]
k = [5]
reductions = ["none", "mp"]
[[call]]
function = "{CALL}:draw"
seeds = [0, 1, 2]
params = {{ n = 4 }}
"""
