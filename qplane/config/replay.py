"""``qplane.replay``: serve a recording instead of a live QPU (:class:`qplane.drivers.ReplayQPU`).

The section is handed to the QPU instrument's constructor when the station opens, so the QPU
named by ``qplane.qpu`` must be of type ``qplane.drivers.ReplayQPU``.

>>> ReplaySettings.model_validate({"source": "runs/recorded.h5"}).format
'runfile'
>>> ReplaySettings.model_validate({"source": "s.b8", "format": "b8", "circuit": "c.stim"}).cycle_time
0.0
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from qplane.config._base import KeyedValueError, Section

#: The QPU type the section configures.
REPLAY_TYPES = ("qplane.drivers.ReplayQPU", "qplane.drivers.replay.ReplayQPU")


class ReplaySettings(Section):
    """``qplane.replay``: the recording the replay QPU serves, and how fast."""

    source: str = Field(description="a qplane run file, or a stim sample file (with circuit)")
    format: Literal["runfile", "b8", "01", "ptb64", "r8", "hits", "dets"] = Field(
        "runfile", description="'runfile' (a qplane run file) or a stim sample format")
    circuit: Optional[str] = Field(None, description="stim circuit file the samples were taken "
                                                     "from (stim formats; the decoding circuit)")
    observables: Optional[str] = Field(
        None, description="stim formats: 'appended' (observables after the detectors), a "
                          "separate observables file, or null (no truth: blocks not scored)")
    cycle_time: float = Field(0.0, ge=0.0, le=10.0, description="seconds per shot the blocks "
                                                                "are paced at; 0 = full speed")
    loop: bool = Field(False, description="start again at the end of the data (false: "
                                          "acquisition ends there)")

    @model_validator(mode="after")
    def _circuit_for_stim(self) -> ReplaySettings:
        if self.format != "runfile" and self.circuit is None:
            raise KeyedValueError("circuit", f"a {self.format} sample file needs the stim circuit "
                                             "it was sampled from")
        if self.format == "runfile" and (self.circuit or self.observables):
            raise KeyedValueError("circuit" if self.circuit else "observables",
                                  "a run file carries its circuits and truth; give this only "
                                  "for stim sample formats")
        return self
