"""Control electronics for qplane: QCoDeS drivers and the logical-control mapping layer.

Public API: the drivers :class:`QplaneDriveController` and :class:`QplaneReadoutController`
(each with a pyvisa-sim twin in ``qplane/drivers/sims/``), the mapping layer
:class:`ControlMap` / :func:`validate_controls` with qplane's one limit rule
(:class:`ControlLimits`, :func:`check_limits`), and :func:`open_station`, which opens a
config's QCoDeS station (optionally on the simulated twins) and binds the controls.
"""

from qplane.drivers.controls import (
    ALL_CONTROLS,
    ControlLimits,
    ControlMap,
    check_limits,
    resolve_parameter,
    validate_controls,
)
from qplane.drivers.drive_controller import QplaneDriveController
from qplane.drivers.readout_controller import QplaneReadoutController
from qplane.drivers.station import SIM_TWINS, LabStation, bind_controls, open_station

__all__ = [
    "ALL_CONTROLS",
    "SIM_TWINS",
    "ControlLimits",
    "ControlMap",
    "LabStation",
    "QplaneDriveController",
    "QplaneReadoutController",
    "bind_controls",
    "check_limits",
    "open_station",
    "resolve_parameter",
    "validate_controls",
]
