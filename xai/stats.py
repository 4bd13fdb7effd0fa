"""Rates with honest intervals: the one Wilson score interval behind every proportion the product reports.

TCAV's false-positive rates, LIME's flip rates, accuracy under attack, out-of-distribution flags and retrieval
accuracy are all k successes out of n; each is reported with this interval (95 % by default), so they agree to
the last digit wherever they meet. Pure arithmetic: the lowest layer, importable from anywhere.
"""

from __future__ import annotations

import math

__all__ = ["Z95", "wilson"]

Z95 = 1.959964  # the standard normal quantile of a two-sided 95 % interval


def wilson(successes: int, n: int, *, z: float = Z95, digits: int | None = 4) -> list[float]:
    """Wilson score interval ``[low, high]`` of the proportion ``successes / n``, rounded to ``digits`` (None: not).

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 or n successes (0 of 30 is
    [0, 0.114], not [0, 0]). With no observations (``n == 0``) nothing is ruled out: ``[0.0, 1.0]``.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return [0.0, 1.0]
    p, den = successes / n, 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return [low, high] if digits is None else [round(low, digits), round(high, digits)]
