"""CPU placement of the pipeline's processes (``qplane.placement``).

The launcher resolves the placement once, against the CPUs it may use itself, before any
process starts (a CPU the machine does not offer is a :class:`~qplane.errors.ConfigError`
naming the role), records it in the run file's ``/events`` and hands it to every process in its
:class:`~qplane.pipeline.process.RunSpec`; each process pins itself (and the threads it starts
afterwards) first thing.
"""

from __future__ import annotations

import os
from typing import Any

from qplane.config import PLACEMENT_ROLES
from qplane.errors import ConfigError

#: The roles ``preset: latency`` puts on one CPU together (the rest go on the other CPUs).
HOT_PATH_ROLES = ("instrument_server", "decoder")


def available_cpus() -> set[int] | None:
    """The CPUs this process may run on, or None where the OS cannot pin processes."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return set(os.sched_getaffinity(0))


def resolve(settings: Any, available: set[int] | None) -> dict[str, list[int]]:
    """Role -> its CPUs (sorted) for ``settings`` (:class:`~qplane.config.placement.
    PlacementSettings`) on a machine offering ``available``; roles left to the kernel are
    absent. An empty result means nothing is pinned."""
    if settings.preset == "none" and not settings.cpus:
        return {}
    if available is None:
        raise ConfigError("qplane.placement: this operating system cannot pin processes to "
                          "CPUs (no sched_setaffinity); remove the section")
    placement: dict[str, list[int]] = {}
    if settings.preset == "latency" and len(available) >= 2:
        hot = min(available)
        for role in PLACEMENT_ROLES:
            placement[role] = [hot] if role in HOT_PATH_ROLES else sorted(available - {hot})
    for role, cpus in settings.cpus.items():
        missing = sorted(set(cpus) - available)
        if missing:
            raise ConfigError(f"qplane.placement.cpus.{role}: CPU {missing} is not one this run "
                              f"may use (available: {sorted(available)})")
        placement[role] = sorted(cpus)
    return placement


def pin(placement: dict[str, list[int]], role: str) -> list[int] | None:
    """Pin the calling process to its role's CPUs; return them (None: left to the kernel)."""
    cpus = placement.get(role)
    if cpus:
        os.sched_setaffinity(0, cpus)
    return cpus or None


def describe(placement: dict[str, list[int]]) -> str:
    """One line for the run's events: which role runs where (the roles ``placement`` pins)."""
    return "; ".join(f"{role} on CPU {','.join(map(str, cpus))}"
                     for role, cpus in placement.items())
