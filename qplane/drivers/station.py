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

from qplane.drivers.controls import ControlMap, validate_controls
from qplane.errors import ConfigError

#: Driver class path -> (pyvisa-sim file, resource in it) of its simulated twin.
SIM_TWINS: Mapping[str, tuple[str, str]] = {
    "qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A":
        ("qcodes.instrument.sims:RSSGS100A.yaml", "GPIB::1::INSTR"),
    "qcodes.instrument_drivers.rohde_schwarz.SGS100A.RohdeSchwarzSGS100A":
        ("qcodes.instrument.sims:RSSGS100A.yaml", "GPIB::1::INSTR"),
    "qplane.drivers.QplaneDriveController":
        ("qplane.drivers.sims:QplaneDriveController.yaml", "GPIB::1::INSTR"),
    "qplane.drivers.drive_controller.QplaneDriveController":
        ("qplane.drivers.sims:QplaneDriveController.yaml", "GPIB::1::INSTR"),
    "qplane.drivers.QplaneReadoutController":
        ("qplane.drivers.sims:QplaneReadoutController.yaml", "GPIB::2::INSTR"),
    "qplane.drivers.readout_controller.QplaneReadoutController":
        ("qplane.drivers.sims:QplaneReadoutController.yaml", "GPIB::2::INSTR"),
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
    for name, entry in out.items():
        key = f"instruments.{name}"
        if not isinstance(entry, dict) or "type" not in entry:
            raise ConfigError("needs a 'type' (the driver class path)", key=key)
        cls = _driver_class(entry["type"], key=key)
        if not issubclass(cls, VisaInstrument):
            continue
        if name in overrides:
            o = overrides[name]
            if not isinstance(o, Mapping) or set(o) != {"pyvisa_sim_file", "address"}:
                raise ConfigError("needs exactly 'pyvisa_sim_file' and 'address'",
                                  key=f"qplane.simulation.{name}")
            sim_file, address = o["pyvisa_sim_file"], o["address"]
        elif entry["type"] in SIM_TWINS:
            sim_file, address = SIM_TWINS[entry["type"]]
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


def open_station(config: Mapping[str, Any], *, simulate: bool = False) -> LabStation:
    """Load every instrument of a config's station and bind its logical controls.

    Args:
        config: the whole config document as a dict (``instruments`` and optional ``qplane``).
        simulate: open each VISA instrument on its pyvisa-sim twin instead of its address.

    Returns:
        The :class:`LabStation`; a ``SimulatedQPU`` in it has its controls bound already.

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
            lab.controls = ControlMap.from_config(controls_section, station)
        from qplane.sim_instruments.qpu import SimulatedQPU
        for component in station.components.values():
            if isinstance(component, SimulatedQPU) and lab.controls is not None:
                component.bind_controls(lab.controls)
    except BaseException:
        lab.close()
        raise
    return lab
