"""Sliding-window latency percentiles for the live statistics (rates and intervals are in
:mod:`qplane.analysis.stats`).

>>> w = LatencyWindow(capacity=4)
>>> for x in (1.0, 2.0, 3.0, 4.0, 5.0):
...     w.add(x)
>>> w.quantile(0.5)
3.5
"""

from __future__ import annotations

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
        return self.quantiles((q,))[0]

    def quantiles(self, qs: tuple[float, ...]) -> list[float | None]:
        """Several quantiles in one pass over the window (the live statistics ask for p50 and
        p99 of each window twice a second, on the server's loop).

        >>> w = LatencyWindow(capacity=4)
        >>> w.quantiles((0.5, 0.99)), [w.add(x) for x in (1.0, 3.0)] and None, w.quantiles((0.0, 1.0))
        ([None, None], None, [1.0, 3.0])
        """
        n = min(self._count, len(self._values))
        if n == 0:
            return [None] * len(qs)
        return [float(v) for v in np.quantile(self._values[:n], qs)]
