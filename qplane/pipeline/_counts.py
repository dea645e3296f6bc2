"""Per-detector detection counts the instrument server sums for the calibration worker's
syndrome triggers, reported every ``interval`` seconds.

>>> import numpy as np
>>> c = DetectionCounter(interval=0.0)
>>> due = c.add(np.array([[0b101], [0b001]], np.uint8), num_detectors=3, now=1.0)
>>> due, c.take()
(True, (array([2, 0, 1]), 2))
"""

from __future__ import annotations

import numpy as np


class DetectionCounter:
    """Sums detection events per detector over blocks until they are taken."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self._counts: np.ndarray | None = None
        self._shots = 0
        self._next = 0.0

    def add(self, detection_events: np.ndarray, *, num_detectors: int, now: float) -> bool:
        """Add one block's bit-packed events; return whether a report is due."""
        counts = np.unpackbits(detection_events, axis=1, count=num_detectors,
                               bitorder="little").sum(axis=0, dtype=np.int64)
        if self._counts is None or len(self._counts) != len(counts):
            self._counts, self._shots = np.zeros_like(counts), 0
        self._counts += counts
        self._shots += len(detection_events)
        return now >= self._next

    def take(self, now: float | None = None) -> tuple[np.ndarray, int]:
        """The counts and shots so far; the sums restart."""
        counts, shots = self._counts.copy(), self._shots
        self._counts[:] = 0
        self._shots = 0
        if now is not None:
            self._next = now + self.interval
        return counts, shots
