"""``qplane.supervision``: dispatch credit, heartbeats, restarts and the bounded end of a run.

>>> s = SupervisionSettings.model_validate({})
>>> s.heartbeat_interval, s.heartbeat_timeout, s.stall_timeout, s.restart.policy
(0.25, 1.5, 15.0, 'on-failure')
>>> s.restart.delay(0), s.restart.delay(10)
(0.2, 5.0)
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from qplane.config._base import Section


class RestartSettings(Section):
    """``qplane.supervision.restart``: what the launcher does when a worker dies or hangs.

    The recorder, the decoding workers and the calibration worker are restarted; the instrument
    server is not (a run without it has no QEC): its death fails the run.
    """

    policy: Literal["on-failure", "never"] = Field(
        "on-failure", description="'on-failure': restart a dead or hung worker; 'never': a dead "
                                  "worker fails the run")
    max_restarts: int = Field(5, ge=0, le=1000, description="restarts per process at most; one "
                                                            "more death fails the run")
    backoff_initial: float = Field(0.2, ge=0.0, le=60.0, description="seconds before the first "
                                                                      "restart of a process")
    backoff_factor: float = Field(2.0, ge=1.0, le=10.0, description="each further restart of the "
                                                                    "same process waits this much longer")
    backoff_max: float = Field(5.0, ge=0.0, le=600.0, description="longest wait before a restart, "
                                                                  "seconds")

    def delay(self, restarts: int) -> float:
        """Seconds to wait before restart number ``restarts + 1`` of one process."""
        return min(self.backoff_max, self.backoff_initial * self.backoff_factor ** restarts)


class SupervisionSettings(Section):
    """``qplane.supervision``: how the pipeline's processes watch each other."""

    credit: Optional[int] = Field(
        None, ge=1, le=10_000, description="blocks one decoding worker may hold at once "
                                           "(null = acquisition.max_in_flight)")
    heartbeat_interval: float = Field(0.25, gt=0.0, le=10.0,
                                      description="seconds between heartbeats, every direction")
    heartbeat_timeout: float = Field(
        1.5, gt=0.0, le=120.0, description="a process silent this long (no heartbeat at all: "
                                           "dead, stopped, or its interpreter stuck) is hung: "
                                           "killed and restarted; a decoding worker whose loop "
                                           "is silent this long is declared lost by the "
                                           "dispatcher and its blocks re-dispatched")
    stall_timeout: float = Field(
        15.0, gt=0.0, le=3600.0,
        description="a process whose heartbeat thread still answers but whose main loop has "
                    "made no progress this long is stalled: killed and restarted (shorter "
                    "stretches, a long fit or decode, are shown as 'busy'); longer than "
                    "heartbeat_timeout")
    startup_timeout: float = Field(120.0, gt=0.0, le=3600.0,
                                   description="seconds a process may take to send its first "
                                               "heartbeat")
    stop_timeout: float = Field(3.0, gt=0.0, le=600.0,
                                description="seconds each process has to stop at the end of a "
                                            "run before it is killed")
    restart: RestartSettings = Field(default_factory=RestartSettings,
                                     description="restart policy")

    @model_validator(mode="after")
    def _timeout_after_interval(self) -> "SupervisionSettings":
        if self.heartbeat_timeout <= self.heartbeat_interval:
            raise ValueError(f"'heartbeat_timeout' ({self.heartbeat_timeout}) must be longer than "
                             f"'heartbeat_interval' ({self.heartbeat_interval}); a few intervals "
                             "is usual")
        if self.stall_timeout <= self.heartbeat_timeout:
            raise ValueError(f"'stall_timeout' ({self.stall_timeout}) must be longer than "
                             f"'heartbeat_timeout' ({self.heartbeat_timeout}): a busy process "
                             "is one whose heartbeats go on while its loop is busy for longer "
                             "than the heartbeat timeout")
        return self
