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
#: and the decoder take turns on. With several, it shares when one CPU decodes a batch faster
#: than its messages cost to spread: for a matching decoder, blocks of at most
#: ``AUTO_SHARED_DETECTOR_SHOTS`` detector-shots (shots x the circuit's detectors); where the
#: detectors are unknown (a neural decoder, whose cost per shot is another matter; a QPU with
#: no geometry), blocks of at most ``AUTO_SHARED_WORKERS_SHOTS`` shots. Measured on 2 CPUs,
#: 8 blocks in flight: session 12 (replay) one CPU decoding each batch whole gave 1.6-1.8x the
#: blocks/s of the kernel's placement at 1 shot (d = 3, 5: 24 and 120 detectors), but at 64
#: shots and d = 7 (21,504 detector-shots) two workers on their own CPUs decoded more (0.58
#: of the lean reference shared, 0.82 spread); session 15, 64 shots, 2 workers, replay / sim:
#: d = 3 (1,536 detector-shots) 0.67 / 0.80 of the lean reference shared against 0.60-0.62 /
#: 0.64-0.65 spread; d = 5 (7,680) 0.72 / 0.75 shared against 0.73-0.77 / 0.85-0.91 spread;
#: d = 7 0.60 / 0.70 shared against 0.82 / 0.89-0.92 spread.
AUTO_SHARED_WORKERS_SHOTS = 16
AUTO_SHARED_DETECTOR_SHOTS = 2048


def auto_shares_cpu(shots_per_block: int, workers: int, detectors: int | None = None) -> bool:
    """Whether ``preset: auto`` puts the hot path on one CPU for blocks of
    ``shots_per_block`` shots decoded by ``workers`` workers, each shot of ``detectors``
    detectors for a matching decoder (None: unknown; see the constants above)."""
    if workers <= 1:
        return shots_per_block < SMALL_BLOCK_SHOTS
    if detectors is None:
        return shots_per_block <= AUTO_SHARED_WORKERS_SHOTS
    return shots_per_block * detectors <= AUTO_SHARED_DETECTOR_SHOTS


def matching_detectors(config: Any) -> int | None:
    """The detectors per shot a matching decoder of ``config``'s run decodes: the rotated
    surface code's ``(d² − 1) · rounds``, or a replay source's recorded circuit's (the
    largest of a run file's circuits); None for a neural decoder, or where the config does
    not say (a QPU without geometry, a recording that cannot be read: the QPU reports it)."""
    from qplane.errors import QplaneError

    if not config.qplane.decoding.decoder.type.startswith("pymatching"):
        return None
    try:
        if config.qplane.replay is not None:
            return _recorded_detectors(config.qplane.replay)
        g = config.qpu_geometry()
    except (QplaneError, OSError, KeyError, TypeError, ValueError, RuntimeError):
        return None
    return (g.distance**2 - 1) * g.rounds


def _recorded_detectors(replay: Any) -> int | None:
    import stim

    if replay.format != "runfile":
        return stim.Circuit.from_file(replay.circuit).num_detectors
    from qplane.runfile import open_run

    with open_run(replay.source) as run:
        texts = list(run.circuits["stim_circuit"])
    return max(stim.Circuit(t).num_detectors for t in texts) if texts else None


def placement_for(config: Any) -> dict[str, list[int]]:
    """:func:`resolve` for a run of ``config`` on this machine: its placement settings, its
    decoding workers and shots per block, and its matching decoder's detectors per shot (what
    the launcher pins and ``qplane check`` prints)."""
    q = config.qplane
    return resolve(q.placement, available_cpus(), shots_per_block=q.acquisition.shots_per_block,
                   workers=q.decoding.workers, detectors=matching_detectors(config))


def available_cpus() -> set[int] | None:
    """The CPUs this process may run on, or None where the OS cannot pin processes."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return set(os.sched_getaffinity(0))


def resolve(settings: Any, available: set[int] | None, *, shots_per_block: int = 1024,
            workers: int = 1, detectors: int | None = None) -> dict[str, list[int]]:
    """Role -> its CPUs (sorted) for ``settings`` (:class:`~qplane.config.placement.
    PlacementSettings`) on a machine offering ``available``, for a run of ``workers``
    decoding workers on blocks of ``shots_per_block`` shots of ``detectors`` detectors each
    for a matching decoder (what ``preset: auto`` decides on); roles left to the kernel are
    absent. An empty result means nothing is pinned."""
    preset = settings.preset
    if preset == "auto":  # never an error: where it cannot pin, the kernel places
        shared = (available is not None and len(available) >= 2
                  and auto_shares_cpu(shots_per_block, workers, detectors))
        preset = "latency" if shared else "none"
    if preset == "none" and not settings.cpus:
        return {}
    if available is None:
        raise ConfigError("this operating system cannot pin processes to CPUs (no "
                          "sched_setaffinity); remove the section", key="qplane.placement")
    placement: dict[str, list[int]] = {}
    if preset == "latency" and len(available) >= 2:
        hot = min(available)
        for role in PLACEMENT_ROLES:
            placement[role] = [hot] if role in HOT_PATH_ROLES else sorted(available - {hot})
    for role, cpus in settings.cpus.items():
        missing = sorted(set(cpus) - available)
        if missing:
            raise ConfigError(f"CPU {missing} is not one this run may use (available: "
                              f"{sorted(available)})", key=f"qplane.placement.cpus.{role}")
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
