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
from qplane.pipeline.instrument_server import SMALL_BLOCK_SHOTS

#: The roles ``preset: latency`` puts on one CPU together (the rest go on the other CPUs).
HOT_PATH_ROLES = ("instrument_server", "decoder")
#: ``preset: auto`` shares the hot path's CPU, with one decoding worker, for the instrument
#: server's small blocks (under its ``SMALL_BLOCK_SHOTS``), which travel in batches the server
#: and the decoder take turns on; with several, for blocks of at most this many shots:
#: measured on 2 CPUs (replay, 8 in flight, session 12), one CPU decoding each batch whole gave
#: 1.6-1.8x the blocks/s of the kernel's placement at 1 shot (d = 3, 5), but at 64 shots and
#: d = 7 two workers on their own CPUs decoded more (0.58 of the lean reference shared, 0.82
#: spread).
AUTO_SHARED_WORKERS_SHOTS = 16


def auto_shares_cpu(shots_per_block: int, workers: int) -> bool:
    """Whether ``preset: auto`` puts the hot path on one CPU for blocks of
    ``shots_per_block`` shots decoded by ``workers`` workers (see the constants above)."""
    if workers <= 1:
        return shots_per_block < SMALL_BLOCK_SHOTS
    return shots_per_block <= AUTO_SHARED_WORKERS_SHOTS


def available_cpus() -> set[int] | None:
    """The CPUs this process may run on, or None where the OS cannot pin processes."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return set(os.sched_getaffinity(0))


def resolve(settings: Any, available: set[int] | None, *, shots_per_block: int = 1024,
            workers: int = 1) -> dict[str, list[int]]:
    """Role -> its CPUs (sorted) for ``settings`` (:class:`~qplane.config.placement.
    PlacementSettings`) on a machine offering ``available``, for a run of ``workers``
    decoding workers on blocks of ``shots_per_block`` shots (what ``preset: auto`` decides
    on); roles left to the kernel are absent. An empty result means nothing is pinned."""
    preset = settings.preset
    if preset == "auto":  # never an error: where it cannot pin, the kernel places
        shared = (available is not None and len(available) >= 2
                  and auto_shares_cpu(shots_per_block, workers))
        preset = "latency" if shared else "none"
    if preset == "none" and not settings.cpus:
        return {}
    if available is None:
        raise ConfigError("qplane.placement: this operating system cannot pin processes to "
                          "CPUs (no sched_setaffinity); remove the section")
    placement: dict[str, list[int]] = {}
    if preset == "latency" and len(available) >= 2:
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


def decoders_share_cpu(placement: dict[str, list[int]]) -> bool:
    """Whether every decoding worker runs on one CPU (the server then sends each batch of
    small blocks to one worker whole: :class:`~qplane.pipeline.dispatch.Dispatcher`)."""
    return len(placement.get("decoder", ())) == 1


def describe(placement: dict[str, list[int]]) -> str:
    """One line for the run's events: which role runs where (the roles ``placement`` pins)."""
    return "; ".join(f"{role} on CPU {','.join(map(str, cpus))}"
                     for role, cpus in placement.items())
