"""Small statistics used by the live view and the summary.

>>> w = LatencyWindow(capacity=4)
>>> for x in (1.0, 2.0, 3.0, 4.0, 5.0):
...     w.add(x)
>>> w.quantile(0.5)
3.5
>>> lo, hi = wilson_interval(5, 100)
>>> round(lo, 4), round(hi, 4)
(0.0215, 0.1118)
"""

from __future__ import annotations

import math

import numpy as np


class LatencyWindow:
    """The last ``capacity`` samples of a latency, for percentiles over a sliding window."""

    def __init__(self, capacity: int = 10_000):
        self._values = np.zeros(capacity)
        self._count = 0

    def add(self, value: float) -> None:
        self._values[self._count % len(self._values)] = value
        self._count += 1

    def quantile(self, q: float) -> float | None:
        n = min(self._count, len(self._values))
        if n == 0:
            return None
        return float(np.quantile(self._values[:n], q))


def wilson_interval(failures: int, shots: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a binomial rate ``failures / shots``."""
    if shots <= 0:
        return (0.0, 1.0)
    p = failures / shots
    denom = 1 + z * z / shots
    centre = (p + z * z / (2 * shots)) / denom
    half = z * math.sqrt(p * (1 - p) / shots + z * z / (4 * shots * shots)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
