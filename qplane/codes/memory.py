"""Rotated-surface-code memory circuits: the QEC experiment a device runs.

The circuits are stim's generated ``surface_code:rotated_memory_{x,z}`` circuits: their detector
coordinates ``(x, y, t)`` place each stabilizer on the patch and in time, which the neural
decoder's syndrome volume relies on. :func:`memory_circuit` adds uniform circuit-level
depolarizing noise of strength ``p`` (the SI1000-free "standard" model: every Clifford, reset,
measurement and idle data qubit per round).

>>> c = memory_circuit(distance=3, rounds=3, basis="Z", p=0.001)
>>> c.num_detectors, c.num_observables
(24, 1)
"""

from __future__ import annotations

import stim

from qplane.errors import ConfigError

BASES = ("X", "Z")


def memory_circuit(*, distance: int, rounds: int, basis: str, p: float) -> stim.Circuit:
    """A rotated-surface-code memory experiment with uniform circuit-level noise.

    Args:
        distance: code distance, odd and at least 3.
        rounds: number of stabilizer measurement rounds, at least 1.
        basis: ``"X"`` or ``"Z"``, the memory basis (which logical observable is kept).
        p: depolarizing / flip probability applied after every operation, in ``[0, 0.5)``.

    Returns:
        The stim circuit with detectors and one observable.
    """
    check_code_parameters(distance=distance, rounds=rounds, basis=basis, p=p)
    return stim.Circuit.generated(
        f"surface_code:rotated_memory_{basis.lower()}",
        distance=distance,
        rounds=rounds,
        after_clifford_depolarization=p,
        before_round_data_depolarization=p,
        before_measure_flip_probability=p,
        after_reset_flip_probability=p,
    )


def check_code_parameters(*, distance: int, rounds: int, basis: str, p: float) -> None:
    """Raise :class:`ConfigError` naming the first code parameter that is out of range."""
    if not isinstance(distance, int) or distance < 3 or distance % 2 == 0:
        raise ConfigError(f"distance must be an odd integer >= 3, got {distance!r}", key="distance")
    if not isinstance(rounds, int) or rounds < 1:
        raise ConfigError(f"rounds must be an integer >= 1, got {rounds!r}", key="rounds")
    if basis not in BASES:
        raise ConfigError(f"basis must be one of {BASES}, got {basis!r}", key="basis")
    if not 0.0 <= float(p) < 0.5:
        raise ConfigError(f"p must lie in [0, 0.5), got {p!r}", key="p")
