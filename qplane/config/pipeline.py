"""The pipeline's own sections: ``qplane.run``, ``qplane.endpoints``, ``qplane.acquisition``.

>>> AcquisitionSettings.model_validate({"shots_per_block": 64}).max_in_flight
8
>>> EndpointSettings.model_validate({"records": "tcp://127.0.0.1:5555"}).syndromes
'auto'
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field, field_validator

from qplane.config._base import Section
from qplane.config.security import finite, run_name_problem

#: Endpoint names of the pipeline; "auto" means an ipc:// endpoint in the run's temp folder.
ENDPOINT_NAMES = ("syndromes", "corrections", "records", "control", "monitor")


def _endpoint(value: str) -> str:
    if value != "auto" and not value.startswith(("ipc://", "tcp://", "inproc://")):
        raise ValueError(f"must be 'auto', 'ipc://PATH' or 'tcp://HOST:PORT', got {value!r}")
    return value


Endpoint = Annotated[str, AfterValidator(_endpoint)]


class RunSettings(Section):
    """``qplane.run``: where the run file goes and how long a run lasts."""

    name: Optional[str] = Field(
        None, description="run name used in the run-file name (default: the config file's stem)")
    output_dir: str = Field("runs", description="folder for run files, relative to the working "
                                                "directory")
    duration: Optional[float] = Field(None, ge=0.0, description="seconds to run; null = until "
                                                                "Ctrl-C")
    compression: Literal["lzf", "none"] = Field(
        "lzf", description="compression of the run file's per-shot datasets (detection events, "
                           "predictions, truth): lzf about halves the file, at ~0.1 us of the "
                           "recorder's CPU per shot at d = 5; none writes them as they are")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: Optional[str]) -> Optional[str]:
        problem = None if value is None else run_name_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("duration")
    @classmethod
    def _finite_duration(cls, value: Optional[float]) -> Optional[float]:
        return finite(value)


class EndpointSettings(Section):
    """``qplane.endpoints``: the ZeroMQ endpoints ('auto' = ipc:// in a private temp folder)."""

    syndromes: Endpoint = Field("auto", description="dispatch: ROUTER on the instrument server, a "
                                                    "DEALER per decoding worker (blocks out; "
                                                    "registration, heartbeats, corrections in)")
    corrections: Endpoint = Field("auto", description="unused since dispatch carries the "
                                                      "corrections (kept so older configs load)")
    records: Endpoint = Field("auto", description="every process DEALER -> recorder ROUTER (acknowledged)")
    control: Endpoint = Field("auto", description="ROUTER on the instrument server: circuit "
                                                  "requests and calibration calls")
    monitor: Endpoint = Field("auto", description="PUB from every process -> launcher (live "
                                                  "statistics, heartbeats)")


class AcquisitionSettings(Section):
    """``qplane.acquisition``: syndrome blocks and how many may be in flight."""

    shots_per_block: int = Field(1024, ge=1, le=1_000_000, description="shots in one syndrome "
                                                                       "block")
    max_in_flight: int = Field(8, ge=1, le=10_000, description="blocks sent but not yet "
                                                               "corrected, at most")
    correction_timeout: float = Field(10.0, ge=0.01, description="seconds to wait for a block's "
                                      "correction before declaring it lost")

    @field_validator("correction_timeout")
    @classmethod
    def _finite_timeout(cls, value: float) -> float:
        return finite(value)
    max_blocks: Optional[int] = Field(None, ge=1, description="stop after this many blocks "
                                                              "(null = no limit)")
