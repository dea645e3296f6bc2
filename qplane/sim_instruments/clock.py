"""The simulated clock the device's drift runs on.

Two modes, chosen by ``speedup``:

* ``speedup == 0`` (event-driven, the default and what tests use): simulated time advances only
  by what the device does (:meth:`SimClock.spend`: every shot costs its sequence time) and by
  explicit jumps (:meth:`SimClock.advance`). Fully reproducible.
* ``speedup > 0`` (live): simulated time is ``speedup`` times the wall-clock time elapsed since
  the clock was made, plus explicit jumps; the device's own activity is already inside that
  wall time, so :meth:`spend` adds nothing. ``speedup = 60`` shows an hour of drift in a minute.

>>> clock = SimClock()
>>> clock.spend(2.5e-3); clock.advance(10.0); clock.now()
10.0025
>>> wall = iter([100.0, 101.5]).__next__
>>> SimClock(speedup=60.0, wall=wall).now()
90.0
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from qplane.errors import ConfigError


class SimClock:
    """Simulated seconds since the device was switched on.

    Args:
        speedup: simulated seconds per wall-clock second; 0 for the event-driven clock.
        wall: the wall-clock source (seconds, monotonic); injectable for tests.
    """

    def __init__(self, *, speedup: float = 0.0, wall: Callable[[], float] = time.monotonic):
        if not math.isfinite(speedup) or speedup < 0:
            raise ConfigError(f"clock speedup must be >= 0, got {speedup!r}", key="clock_speedup")
        self.speedup = float(speedup)
        self._wall = wall
        self._wall0 = wall() if speedup > 0 else 0.0
        self._offset = 0.0

    def now(self) -> float:
        """Current simulated time, s."""
        if self.speedup > 0:
            return self._offset + self.speedup * (self._wall() - self._wall0)
        return self._offset

    def spend(self, seconds: float) -> None:
        """The device was busy for ``seconds`` (counts only on the event-driven clock)."""
        if seconds < 0:
            raise ValueError(f"cannot spend negative time {seconds}")
        if self.speedup == 0:
            self._offset += seconds

    def advance(self, seconds: float) -> None:
        """Jump forward by ``seconds`` of simulated time (either mode)."""
        if not seconds >= 0:
            raise ValueError(f"the clock only runs forward; got {seconds}")
        self._offset += seconds
