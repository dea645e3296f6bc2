"""Validity timeouts that follow each qubit's measured drift.

A fixed timeout checks every qubit equally often. But qubits drift at different rates, and one
that just jumped (a two-level defect arriving or leaving) is likely to jump again soon, while a
quiet one is not. :class:`DriftTimeouts` watches one node's checks (Ramsey by default) and sets
each qubit's timeout of that node from what they measured:

* every good check of the node measures the setting's offset ``x`` (Ramsey: the qubit's
  frequency minus the drive) accumulated over ``Δt``, the time since the setting was last
  known good (its last calibration or in-spec check). ``x²/Δt`` is a sample of the qubit's
  *drift rate* (a random walk's variance per second; a jump counts with its full size).
  A check with bad data (a jump beyond the check's range, a collapsed T1) counts as a jump of
  ``jump`` (default 30 tolerances);
* the rate is estimated over the last ``memory`` seconds as total squared offset over total
  time watched, starting from a prior: ``r = (r_ref·T_prior + Σx²) / (T_prior + ΣΔt)``;
* the timeout is ``T_ref·sqrt(r_ref / r)``, clipped to ``[minimum, maximum]``.

Why the square root: if a qubit accumulates error at rate ``a`` and is checked every ``T``,
its mean error is ``∝ a·T``; spending a fixed budget of checks ``Σ 1/T_i`` so as to minimise
``Σ a_i·T_i`` gives ``T_i ∝ 1/sqrt(a_i)``. ``T_ref`` may differ per qubit (a mapping): in a
memory experiment a data qubit carries the logical state through every round while an ancilla
is re-prepared every round, so the same detuning costs far more on a data qubit.

>>> dt = DriftTimeouts(tolerance=5e3, reference_rate=1e5, reference_timeout=100.0,
...                    minimum=10.0, maximum=600.0, memory=1800.0)
>>> dt.timeout("q0")
100.0
>>> dt.observe("q0", time=100.0, since=0.0, offset=300e3)   # a 300 kHz jump
>>> round(dt.timeout("q0"), 1), dt.timeout("q1")
(10.0, 100.0)
>>> for k in range(1, 200):                                   # quiet for a long time
...     dt.observe("q0", time=100.0 + 30 * k, since=70.0 + 30 * k, offset=1e3)
>>> round(dt.timeout("q0"))
153
"""

from __future__ import annotations

import collections
import math
from typing import Mapping

from qplane.errors import ConfigError


class DriftTimeouts:
    """Per-qubit validity timeouts of one node from its checks' measured drift (module doc).

    Args:
        node: the node whose checks are watched and whose timeout is set.
        value: the analysis value that is the setting's offset (Ramsey: ``frequency_offset``).
        tolerance: the node's tolerance in the value's unit (sets ``jump``'s unit).
        reference_rate: the drift rate (value² per second) at which the timeout is
            ``reference_timeout``; also the prior.
        reference_timeout: seconds, one number or qubit -> seconds (qubits not in the mapping:
            its ``"*"`` entry, else the largest).
        minimum, maximum: bounds of the timeout, seconds.
        memory: seconds of checks the rate is estimated over.
        prior: seconds of pseudo-observation at ``reference_rate``.
        jump: the offset a bad-data check counts as, in tolerances.
    """

    def __init__(self, *, node: str = "ramsey", value: str = "frequency_offset",
                 tolerance: float, reference_rate: float,
                 reference_timeout: float | Mapping[str, float], minimum: float,
                 maximum: float, memory: float = 1800.0, prior: float = 300.0,
                 jump: float = 30.0):
        refs = (dict(reference_timeout) if isinstance(reference_timeout, Mapping)
                else {"*": float(reference_timeout)})
        numbers = {"tolerance": tolerance, "reference_rate": reference_rate,
                   "minimum": minimum, "maximum": maximum, "memory": memory, "prior": prior,
                   "jump": jump, **{f"reference_timeout[{k}]": v for k, v in refs.items()}}
        for key, v in numbers.items():
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"must be a finite number > 0, got {v!r}",
                                  key=f"drift_timeouts.{key}")
        if minimum > maximum:
            raise ConfigError(f"minimum {minimum} s is above maximum {maximum} s",
                              key="drift_timeouts.minimum")
        self.node, self.value = node, value
        self.tolerance = float(tolerance)
        self.reference_rate = float(reference_rate)
        self._refs = {k: float(v) for k, v in refs.items()}
        self._default_ref = self._refs.get("*", max(self._refs.values()))
        self.minimum, self.maximum = float(minimum), float(maximum)
        self.memory, self.prior, self.jump = float(memory), float(prior), float(jump)
        # qubit -> deque of (time, squared offset, watched seconds)
        self._seen: dict[str, collections.deque[tuple[float, float, float]]] = {}

    def reference_timeout(self, qubit: str) -> float:
        """The qubit's timeout at the reference drift rate."""
        return self._refs.get(qubit, self._default_ref)

    def observe(self, qubit: str, *, time: float, since: float, offset: float | None) -> None:
        """A check of the node on ``qubit`` at ``time`` measured ``offset`` (``None``: bad data)
        accumulated since ``since`` (when the setting was last known good)."""
        x = self.jump * self.tolerance if offset is None or not math.isfinite(offset) \
            else float(offset)
        watched = max(float(time) - float(since), 0.0) if math.isfinite(since) else 0.0
        seen = self._seen.setdefault(qubit, collections.deque())
        seen.append((float(time), x * x, watched))
        while seen and seen[0][0] < time - self.memory:
            seen.popleft()

    def rate(self, qubit: str) -> float:
        """The qubit's estimated drift rate (value² per second)."""
        seen = self._seen.get(qubit, ())
        total = self.reference_rate * self.prior + sum(s for _, s, _ in seen)
        return total / (self.prior + sum(w for _, _, w in seen))

    def timeout(self, qubit: str) -> float:
        """The qubit's current timeout of the node, seconds."""
        t = self.reference_timeout(qubit) * math.sqrt(self.reference_rate / self.rate(qubit))
        return min(max(t, self.minimum), self.maximum)
