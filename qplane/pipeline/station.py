"""Opening the QCoDeS station a config describes, and finding its QPU."""

from __future__ import annotations

import warnings
from typing import Any

from qcodes.station import Station, ValidationWarning

from qplane.config import Config
from qplane.errors import ConfigError


def open_station(config: Config) -> tuple[Station, Any]:
    """Instantiate every instrument of the config's station; return (station, qpu).

    The QPU's ``shots_per_block`` is set from ``qplane.acquisition.shots_per_block``. On any
    failure the instruments already opened are closed again.

    Raises:
        ConfigError: an instrument cannot be created, or the QPU lacks the QEC interface.
    """
    station = Station()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationWarning)
        station.load_config(config.station_yaml())
    try:
        for name in config.station["instruments"]:
            try:
                station.load_instrument(name)
            except Exception as e:  # noqa: BLE001 - any driver error is reported with its name
                raise ConfigError(f"cannot open instrument {name!r}: {type(e).__name__}: {e}",
                                  path=config.path, key=f"instruments.{name}") from e
        qpu = station.components[config.qplane.qpu]
        for method in ("acquire_block", "apply_correction", "decoding_circuit", "circuit_id"):
            if not callable(getattr(qpu, method, None)):
                raise ConfigError(
                    f"instrument {config.qplane.qpu!r} ({type(qpu).__name__}) has no {method}(); "
                    "the QPU must implement the QEC interface of qplane.sim_instruments.qpu.SimulatedQPU",
                    path=config.path, key="qplane.qpu",
                )
        qpu.shots_per_block(config.qplane.acquisition.shots_per_block)
    except BaseException:
        close_station(station)
        raise
    return station, qpu


def close_station(station: Station) -> None:
    """Close every instrument of ``station``."""
    for name in list(station.components):
        component = station.components[name]
        if hasattr(component, "close"):
            station.close_and_remove_instrument(component)
