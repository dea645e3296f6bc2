"""Open a config file's QCoDeS station, for real or against the instruments' simulated twins.

A qplane config is one YAML document: an ``instruments:`` section in exactly QCoDeS's station
format, and a ``qplane:`` section whose ``controls`` binds the logical controls
(:mod:`qplane.drivers.controls`). :func:`open_station` loads every instrument with
``qcodes.Station``, binds the controls, and hands any simulated QPU its controls. With
``simulate=True`` every VISA instrument is opened on its pyvisa-sim twin instead of its
address (:data:`SIM_TWINS`, or a ``qplane.simulation.<instrument>`` entry with
``pyvisa_sim_file`` and ``address``), which is what ``qplane check CONFIG --simulate`` runs.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any

import yaml
from qcodes.instrument import Instrument, VisaInstrument
from qcodes.station import Station

from qplane.device import ControlledDevice
from qplane.config import SimulationOverride, validate_section
from qplane.drivers.controls import ControlMap, validate_controls
from qplane.errors import ConfigError

_SGS = ("qcodes.instrument.sims:RSSGS100A.yaml", tuple(f"GPIB::{i}::INSTR" for i in range(1, 6)))
_DRIVE = ("qplane.drivers.sims:QplaneDriveController.yaml",
          tuple(f"GPIB::{i}::INSTR" for i in range(1, 5)))
_READOUT = ("qplane.drivers.sims:QplaneReadoutController.yaml",
            tuple(f"GPIB::{i}::INSTR" for i in range(1, 5)))
#: Driver class path -> (pyvisa-sim file, the resources it simulates) of its simulated twin.
#: Instruments sharing a twin file get distinct resources (a resource's state is shared).
SIM_TWINS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A": _SGS,
    "qcodes.instrument_drivers.rohde_schwarz.SGS100A.RohdeSchwarzSGS100A": _SGS,
    "qplane.drivers.QplaneDriveController": _DRIVE,
    "qplane.drivers.drive_controller.QplaneDriveController": _DRIVE,
    "qplane.drivers.QplaneReadoutController": _READOUT,
    "qplane.drivers.readout_controller.QplaneReadoutController": _READOUT,
}


@dataclasses.dataclass
class LabStation:
    """An opened station and its bound logical controls; close it when done (or use ``with``)."""

    station: Station
    controls: ControlMap | None

    def close(self) -> None:
        """Close every instrument this station opened."""
        for name in list(self.station.components):
            component = self.station.components[name]
            if isinstance(component, Instrument):
                self.station.remove_component(name)
                component.close()

    def __enter__(self) -> LabStation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def simulated_instruments_section(instruments: Mapping[str, Any],
                                  overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A copy of an ``instruments:`` section with every VISA instrument moved onto its twin.

    Raises:
        ConfigError: a VISA instrument has no known twin and no override.
    """
    out = copy.deepcopy(dict(instruments))
    overrides = overrides or {}
    used: dict[str, int] = {}
    for name, entry in out.items():
        key = f"instruments.{name}"
        if not isinstance(entry, dict) or "type" not in entry:
            raise ConfigError("needs a 'type' (the driver class path)", key=key)
        cls = _driver_class(entry["type"], key=key)
        if not issubclass(cls, VisaInstrument):
            continue
        if name in overrides:
            o = validate_section(SimulationOverride, overrides[name],
                                 key=f"qplane.simulation.{name}")
            sim_file, address = o.pyvisa_sim_file, o.address
        elif entry["type"] in SIM_TWINS:
            sim_file, resources = SIM_TWINS[entry["type"]]
            n = used.get(sim_file, 0)
            if n >= len(resources):
                raise ConfigError(f"more than {len(resources)} instruments share the twin "
                                  f"{sim_file}; add qplane.simulation.{name}", key=key)
            used[sim_file] = n + 1
            address = resources[n]
        else:
            raise ConfigError(
                f"{entry['type']} has no known pyvisa-sim twin; add qplane.simulation.{name} "
                "with pyvisa_sim_file and address", key=key)
        entry["address"] = address
        init = dict(entry.get("init") or {})
        init.pop("visalib", None)
        init["pyvisa_sim_file"] = sim_file
        entry["init"] = init
    return out


def _driver_class(type_path: Any, *, key: str) -> type:
    if not isinstance(type_path, str) or "." not in type_path:
        raise ConfigError(f"type must be a dotted class path, got {type_path!r}", key=key)
    module_name, _, cls_name = type_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"cannot import driver {type_path!r}: {e}", key=f"{key}.type") from e
    if not isinstance(cls, type) or not issubclass(cls, Instrument):
        raise ConfigError(f"{type_path!r} is not a QCoDeS Instrument class", key=f"{key}.type")
    return cls


def bind_controls(station: Station, section: Mapping[str, Any]) -> ControlMap:
    """Bind a ``qplane.controls`` section to an opened station; hand it to the devices that read it.

    Call this after loading the station's instruments (``open_station`` does). Every instrument
    that is a :class:`~qplane.device.ControlledDevice` (has ``bind_controls``, as the simulated
    QPU does) reads its settings through the returned map from then on.

    Raises:
        ConfigError: the section is malformed or a path resolves to nothing.
        LimitError: a simulated QPU's initial calibration falls outside a limit.
    """
    controls = ControlMap.from_config(section, station)
    for component in station.components.values():
        if isinstance(component, ControlledDevice):
            component.bind_controls(controls)
    return controls


def open_station(config: Mapping[str, Any], *, simulate: bool = False) -> LabStation:
    """Load every instrument of a config's station and bind its logical controls.

    Args:
        config: the whole config document as a dict (``instruments`` and optional ``qplane``).
        simulate: open each VISA instrument on its pyvisa-sim twin instead of its address.

    Returns:
        The :class:`LabStation`; a controlled device in it has its controls bound already.

    Raises:
        ConfigError: a malformed section, an unknown driver, a control path that resolves to
            nothing, or an instrument that fails to open (the message names it).
    """
    if not isinstance(config, Mapping) or not isinstance(config.get("instruments"), Mapping):
        raise ConfigError("needs an 'instruments' mapping (QCoDeS station format)",
                          key="instruments")
    qplane_section = config.get("qplane") or {}
    controls_section = qplane_section.get("controls")
    if controls_section is not None:
        validate_controls(controls_section)
    instruments = dict(config["instruments"])
    if simulate:
        instruments = simulated_instruments_section(instruments,
                                                    qplane_section.get("simulation"))
    else:
        for name, entry in instruments.items():
            _driver_class((entry or {}).get("type"), key=f"instruments.{name}")
    station = Station()
    station.load_config(yaml.safe_dump({"instruments": instruments}))
    lab = LabStation(station, None)
    try:
        for name in instruments:
            try:
                station.load_instrument(name)
            except Exception as e:  # a driver may raise anything while connecting
                raise ConfigError(f"could not open instrument: {type(e).__name__}: {e}",
                                  key=f"instruments.{name}") from e
        if controls_section is not None:
            lab.controls = bind_controls(station, controls_section)
    except BaseException:
        lab.close()
        raise
    return lab
