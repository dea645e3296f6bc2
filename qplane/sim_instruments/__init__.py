"""The simulated lab: a QPU with per-qubit physics and drift, and its calibration experiments.

It implements the device contract of :mod:`qplane.device` (QEC blocks and corrections,
experiment requests and data) on the codes of :mod:`qplane.codes`.

Modules:

* :mod:`~qplane.sim_instruments.qpu` — :class:`SimulatedQPU`, the QCoDeS instrument (QEC blocks,
  corrections, experiments; configs name it as ``qplane.sim_instruments.qpu.SimulatedQPU``);
* :mod:`~qplane.sim_instruments.device` — :class:`DeviceModel`, :class:`DeviceProfile`,
  :class:`TruthState`: the device's truth and drift;
* :mod:`~qplane.sim_instruments.noise` — :class:`Settings`, :class:`QubitErrors`: control
  settings against the truth, and the QEC noise they cause;
* :mod:`~qplane.sim_instruments.physics` — the calibration experiments, simulated;
* :mod:`~qplane.sim_instruments.clock` — :class:`SimClock`, the simulated clock;
* :mod:`~qplane.sim_instruments.lab` — :func:`sim_lab_config`, a ready config of a simulated
  lab (open it with :func:`qplane.drivers.open_station`).

>>> from qplane.sim_instruments import SimClock, sim_lab_config
>>> "instruments" in sim_lab_config(distance=3)
True
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
