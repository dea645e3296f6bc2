"""Control electronics for qplane: QCoDeS drivers and the logical-control mapping layer.

Modules:

* :mod:`~qplane.drivers.drive_controller` — :class:`QplaneDriveController`, the qubit-drive
  controller's QCoDeS driver;
* :mod:`~qplane.drivers.readout_controller` — :class:`QplaneReadoutController`, the readout
  controller's QCoDeS driver (each driver has a pyvisa-sim twin in ``qplane/drivers/sims/``);
* :mod:`~qplane.drivers.controls` — the mapping layer: :class:`ControlMap` binds qplane's
  logical controls to station parameters, with qplane's one limit rule (:class:`ControlLimits`,
  :func:`check_limits`);
* :mod:`~qplane.drivers.replay` — :class:`ReplayQPU`, a recording (a run file or stim sample
  files) served in the QEC device contract, at full speed or at the device's cycle time;
* :mod:`~qplane.drivers.station` — :func:`open_station` opens a config's QCoDeS station
  (optionally on the simulated twins) and binds the controls (:class:`LabStation`).

>>> from qplane.drivers import ControlLimits, check_limits
>>> callable(check_limits), ControlLimits(0.0, 1.0).low
(True, 0.0)
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
from qplane.drivers.replay import ReplayQPU
from qplane.drivers.station import SIM_TWINS, LabStation, bind_controls, open_station

__all__ = [
    "ALL_CONTROLS",
    "SIM_TWINS",
    "ControlLimits",
    "ControlMap",
    "LabStation",
    "QplaneDriveController",
    "QplaneReadoutController",
    "ReplayQPU",
    "bind_controls",
    "check_limits",
    "open_station",
    "resolve_parameter",
    "validate_controls",
]
