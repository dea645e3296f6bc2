"""The simulated lab: a QPU with per-qubit physics and drift, and its calibration experiments.

Public API:

* :class:`SimulatedQPU` — the QCoDeS instrument (QEC blocks, corrections, experiments);
* :class:`DeviceModel`, :class:`DeviceProfile`, :class:`TruthState` — the device's truth and drift;
* :class:`SimClock` — the simulated clock;
* the experiment contract: :class:`ExperimentKind`, :class:`ExperimentRequest`,
  :class:`ExperimentData`, :class:`ExperimentRunner`;
* :func:`memory_circuit`, :func:`patch_layout` — circuits and the patch's qubits;
* :func:`sim_lab_config` — a ready config of a simulated lab (open it with
  :func:`qplane.drivers.open_station`).
"""

from qplane.sim_instruments.clock import SimClock
from qplane.sim_instruments.device import DeviceModel, DeviceProfile, TruthState
from qplane.sim_instruments.experiments import (
    ExperimentData,
    ExperimentKind,
    ExperimentRequest,
    ExperimentRunner,
)
from qplane.sim_instruments.lab import sim_lab_config
from qplane.sim_instruments.noise import QubitErrors, Settings
from qplane.sim_instruments.qpu import CorrectionResult, SimulatedQPU, SyndromeBlock
from qplane.sim_instruments.surface_code import PatchLayout, memory_circuit, patch_layout

__all__ = [
    "CorrectionResult",
    "DeviceModel",
    "DeviceProfile",
    "ExperimentData",
    "ExperimentKind",
    "ExperimentRequest",
    "ExperimentRunner",
    "PatchLayout",
    "QubitErrors",
    "Settings",
    "SimClock",
    "SimulatedQPU",
    "SyndromeBlock",
    "TruthState",
    "memory_circuit",
    "patch_layout",
    "sim_lab_config",
]
