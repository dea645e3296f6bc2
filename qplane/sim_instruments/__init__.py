"""The simulated lab: a QPU with per-qubit physics and drift, and its calibration experiments.

It implements the device contract of :mod:`qplane.device` (QEC blocks and corrections,
experiment requests and data) on the codes of :mod:`qplane.codes`.

Public API:

* :class:`SimulatedQPU` — the QCoDeS instrument (QEC blocks, corrections, experiments);
* :class:`DeviceModel`, :class:`DeviceProfile`, :class:`TruthState` — the device's truth and drift;
* :class:`Settings`, :class:`QubitErrors` — control settings against the truth, and the noise
  they cause;
* :class:`SimClock` — the simulated clock;
* :func:`sim_lab_config` — a ready config of a simulated lab (open it with
  :func:`qplane.drivers.open_station`).
"""

from qplane.sim_instruments.clock import SimClock
from qplane.sim_instruments.device import DeviceModel, DeviceProfile, TruthState
from qplane.sim_instruments.lab import sim_lab_config
from qplane.sim_instruments.noise import QubitErrors, Settings
from qplane.sim_instruments.qpu import SimulatedQPU

__all__ = [
    "DeviceModel",
    "DeviceProfile",
    "QubitErrors",
    "Settings",
    "SimClock",
    "SimulatedQPU",
    "TruthState",
    "sim_lab_config",
]
