"""``qplane.placement``: which CPUs each pipeline process runs on.

>>> PlacementSettings.model_validate({}).preset
'auto'
>>> PlacementSettings.model_validate({"cpus": {"recorder": [1]}}).cpus
{'recorder': [1]}
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, field_validator

from qplane.config._base import Section

#: A pipeline role a placement names (every decoding worker shares ``decoder``'s CPUs).
PlacementRole = Literal["instrument_server", "decoder", "recorder", "calibration"]
PLACEMENT_ROLES: tuple[str, ...] = get_args(PlacementRole)


class PlacementSettings(Section):
    """``qplane.placement``: the CPUs of each process (Linux; ``sched_setaffinity``).

    ``preset: latency`` puts the hot path (the instrument server and the decoding workers) on
    one CPU of those the run may use and the recorder and the calibration worker on the others.
    Small blocks travel in batches that the server and a decoder take turns on (the server
    sends what there is room for in one message and waits for its corrections), so sharing a
    CPU costs them nothing, and each hand-over wakes a process on a CPU that is already awake
    instead of another one, while the recorder's writes never take the hot path's CPU. With
    the decoding workers on one CPU, the server sends each batch to one of them whole (split,
    its parts would only queue on that CPU). For throughput with large blocks, where several
    workers decode at once on their own CPUs, it is wrong.

    ``preset: auto`` (the default) chooses per run (:func:`qplane.pipeline.placement.
    auto_shares_cpu`): ``latency`` for small blocks (under 256 shots) with one decoding worker,
    or with several for blocks a matching decoder decodes in little time (at most 2048
    detector-shots: 85 shots at d = 3, 17 at d = 5; at most 16 shots where the detectors are
    not known, as with a neural decoder), where one CPU decodes a batch faster than its
    messages cost to spread, ``none`` otherwise; and ``none`` where the machine offers one CPU or
    the operating system cannot pin processes. ``none`` lets the kernel place every process.
    ``cpus`` names CPUs per role and overrides the preset for the roles it names.
    """

    preset: Literal["auto", "none", "latency"] = Field(
        "auto", description="'auto': 'latency' for small blocks (under 256 shots with one "
                            "decoding worker; with several, at most 2048 detector-shots for a "
                            "matching decoder, else 16 shots), else 'none'; 'none': "
                            "the kernel places every process; 'latency': instrument server and "
                            "decoding workers on one CPU, recorder and calibration worker on "
                            "the rest")
    cpus: dict[PlacementRole, list[int]] = Field(
        default_factory=dict, description="role -> the CPU numbers it may run on (overrides the "
                                          "preset for that role); each must be one the run may "
                                          "use, checked when the run starts")

    @field_validator("cpus")
    @classmethod
    def _cpu_lists(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        for role, cpus in value.items():
            if not cpus:
                raise ValueError(f"{role}: needs at least one CPU")
            if any(c < 0 for c in cpus):
                raise ValueError(f"{role}: CPU numbers are >= 0, got {cpus}")
            if len(set(cpus)) != len(cpus):
                raise ValueError(f"{role}: a CPU is named twice in {cpus}")
        return value
