"""The whole config file as one model tree, and :class:`Config`, a validated file.

:class:`ConfigDocument` is the file: ``instruments`` (the QCoDeS station) and ``qplane`` (the
pipeline, :class:`QplaneSettings`). :class:`Config` is what the launcher validates once and
hands to each process as a value (:meth:`Config.handoff` / :meth:`Config.from_handoff`), so no
process reads the YAML file again.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Optional

import yaml
from pydantic import ConfigDict, Field, field_validator, model_validator

from qplane.config._base import KeyedValueError, Section
from qplane.config._errors import validate_section
from qplane.config.calibration import CalibrationSettings
from qplane.config.controls import ControlsSettings
from qplane.config.decoding import DecodingSettings
from qplane.config.pipeline import AcquisitionSettings, EndpointSettings, RunSettings
from qplane.config.placement import PlacementSettings
from qplane.config.replay import ReplaySettings
from qplane.config.security import SecuritySettings, endpoint_problems
from qplane.config.simulation import SimulationOverride
from qplane.config.supervision import SupervisionSettings
from qplane.config.station import InstrumentEntry, QpuGeometry, qpu_geometry

#: Version of the handoff a launcher gives its processes (:meth:`Config.handoff`).
HANDOFF_VERSION = 1


class QplaneSettings(Section):
    """The ``qplane:`` section: the pipeline around the station."""

    qpu: str = Field(description="name of the station instrument that runs the QEC experiment")
    run: RunSettings = Field(default_factory=RunSettings, description="run output")
    endpoints: EndpointSettings = Field(default_factory=EndpointSettings,
                                        description="ZeroMQ endpoints")
    acquisition: AcquisitionSettings = Field(default_factory=AcquisitionSettings,
                                             description="acquisition")
    decoding: DecodingSettings = Field(default_factory=DecodingSettings, description="decoding")
    supervision: SupervisionSettings = Field(default_factory=SupervisionSettings,
                                             description="heartbeats, restarts, dispatch credit")
    placement: PlacementSettings = Field(default_factory=PlacementSettings,
                                         description="which CPUs each process runs on")
    controls: Optional[ControlsSettings] = Field(
        None, description="logical controls -> station parameter paths with limits "
                          "(qplane.drivers.controls); absent or empty = none")
    calibration: Optional[CalibrationSettings] = Field(
        None, description="calibration worker settings (qplane.calibration.config); absent or "
                          "empty = no calibration worker")
    replay: Optional[ReplaySettings] = Field(
        None, description="the recording a replay QPU (qplane.drivers.ReplayQPU) serves; "
                          "absent = the QPU is live or simulated")
    security: SecuritySettings = Field(default_factory=SecuritySettings,
                                       description="CURVE keys and per-socket bounds "
                                                   "(docs/security.md)")
    simulation: dict[str, SimulationOverride] = Field(
        default_factory=dict, description="instrument name -> its pyvisa-sim twin for "
                                          "--simulate")

    @field_validator("controls", "calibration", "replay", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == {} else value

    @model_validator(mode="after")
    def _endpoints_need_keys(self) -> QplaneSettings:
        endpoints = self.endpoints.model_dump()
        problems = endpoint_problems(endpoints, has_keys=self.security.keys is not None)
        if problems:
            name, message = problems[0]
            raise KeyedValueError(f"endpoints.{name}", message)
        if self.security.require_keys and self.security.keys is None:
            raise KeyedValueError("security.require_keys", "needs qplane.security.keys (make "
                                  "them with `qplane keys create DIR`)")
        return self


class ConfigDocument(Section):
    """A qplane config file: a QCoDeS station and the pipeline around it."""

    model_config = ConfigDict(title="qplane config file")

    instruments: dict[str, InstrumentEntry] = Field(
        description="the QCoDeS station, in QCoDeS's station format: instrument name -> "
                    "{type, address, init, parameters, ...}")
    qplane: QplaneSettings = Field(description="the pipeline: QPU, endpoints, acquisition, "
                                               "decoding, controls, calibration, run output")


@dataclasses.dataclass(frozen=True)
class Config:
    """A loaded, validated config file.

    Attributes:
        path: the file (names the run, and prefixes messages).
        text: the file's text, as recorded in the run file.
        document: the validated model tree.
        station: the station section as QCoDeS reads it: ``{"instruments": {...}}``.
    """

    path: str
    text: str
    document: ConfigDocument
    station: dict = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "station", {"instruments": {
            name: entry.given() for name, entry in self.document.instruments.items()}})

    @property
    def qplane(self) -> QplaneSettings:
        """The ``qplane:`` section."""
        return self.document.qplane

    @property
    def name(self) -> str:
        return self.qplane.run.name or os.path.splitext(os.path.basename(self.path))[0]

    def station_yaml(self) -> str:
        """The station section as YAML, for ``qcodes.Station.load_config``."""
        return yaml.safe_dump(self.station, sort_keys=False)

    def qpu_geometry(self) -> QpuGeometry:
        """The QPU's distance, rounds, basis and ``start_calibrated``: its station ``init``
        values over the QPU type's constructor defaults (the one source of these values).

        Raises:
            ConfigError: naming ``instruments.<qpu>.init.<key>``.
        """
        name = self.qplane.qpu
        return qpu_geometry(self.document.instruments[name], key=f"instruments.{name}",
                            path=self.path)

    def handoff(self) -> dict[str, Any]:
        """The validated config as JSON-ready data, for a process started by the launcher."""
        return {"version": HANDOFF_VERSION, "path": self.path, "text": self.text,
                "document": self.document.model_dump(mode="json", by_alias=True,
                                                     exclude_unset=True)}

    @classmethod
    def from_handoff(cls, data: dict[str, Any]) -> Config:
        """Rebuild the config a launcher handed over (:meth:`handoff`); reads no file.

        Raises:
            ConfigError: the handoff is of another version or does not validate.
        """
        from qplane.errors import ConfigError

        if not isinstance(data, dict) or data.get("version") != HANDOFF_VERSION:
            raise ConfigError(f"config handoff of version {data.get('version') if isinstance(data, dict) else None!r}"
                              f", this qplane reads {HANDOFF_VERSION}; start the run with this "
                              "qplane's launcher")
        document = validate_section(ConfigDocument, data["document"], key="", path=data["path"])
        return cls(path=data["path"], text=data["text"], document=document)
