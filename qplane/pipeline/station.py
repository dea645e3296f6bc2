"""Opening the QCoDeS station a config describes, and finding its QPU."""

from __future__ import annotations

from typing import Any

from qplane.config import Config
from qplane.drivers import LabStation
from qplane.drivers import open_station as open_lab_station
from qplane.errors import ConfigError

#: What the instrument server needs of the QEC instrument.
QPU_METHODS = ("acquire_block", "apply_correction", "decoding_circuit", "circuit_id")


def open_station(config: Config, *, simulate: bool = False) -> tuple[LabStation, Any]:
    """Open every instrument of the config's station, bind its controls; return (lab, qpu).

    The QPU's ``shots_per_block`` is set from ``qplane.acquisition.shots_per_block``; a replay
    QPU gets the ``qplane.replay`` section as its constructor's keywords. On any
    failure the instruments already opened are closed again.

    Args:
        config: the validated config.
        simulate: open VISA instruments on their pyvisa-sim twins (``qplane check --simulate``).

    Raises:
        ConfigError: an instrument cannot be opened, a control path resolves to nothing, or the
            QPU lacks the QEC interface; the message names the file and the key.
    """
    controls, simulation = config.qplane.controls, config.qplane.simulation
    instruments = config.station["instruments"]
    if config.qplane.replay is not None:  # the replay QPU takes its section as init values
        entry = dict(instruments[config.qplane.qpu])
        entry["init"] = {**entry.get("init", {}), **config.qplane.replay.model_dump()}
        instruments = {**instruments, config.qplane.qpu: entry}
    document = {"instruments": instruments,
                "qplane": {"controls": controls,  # validated: the drivers take it as is
                           "simulation": {name: o.given() for name, o in simulation.items()}
                                         or None}}
    try:
        lab = open_lab_station(document, simulate=simulate)
    except ConfigError as e:
        raise ConfigError(str(e), path=config.path) from e
    try:
        qpu = lab.station.components[config.qplane.qpu]
        for method in QPU_METHODS:
            if not callable(getattr(qpu, method, None)):
                raise ConfigError(
                    f"instrument {config.qplane.qpu!r} ({type(qpu).__name__}) has no {method}(); "
                    "the QPU must implement the QEC interface qplane.device.QECDevice",
                    path=config.path, key="qplane.qpu",
                )
        qpu.shots_per_block(config.qplane.acquisition.shots_per_block)
    except BaseException:
        lab.close()
        raise
    return lab, qpu
