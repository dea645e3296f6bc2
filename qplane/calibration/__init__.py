"""Closed-loop calibration: nodes with fits and quality gates, bounded revertible updates, the
Optimus graph, syndrome-triggered checks and the calibration worker (see docs/calibration.md).

The learned second opinion lives in :mod:`qplane.calibration.classifier` (imported on demand:
it needs torch).
"""

from qplane.calibration.backend import StationBackend
from qplane.calibration.config import build_worker, validate_calibration
from qplane.calibration.gates import GateResult, Outcome
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.nodes import NODE_TYPES, Node
from qplane.calibration.run import CalibrationBackend, NodeRun, run_node
from qplane.calibration.syndrome import Regions, SyndromeMonitor
from qplane.calibration.updates import ControlLimits, Ledger, SettingChange, SettingsLedger
from qplane.calibration.worker import CalibrationWorker

__all__ = [
    "NODE_TYPES",
    "CalibrationBackend",
    "CalibrationGraph",
    "CalibrationWorker",
    "ControlLimits",
    "GateResult",
    "Ledger",
    "Node",
    "NodeRun",
    "Outcome",
    "Regions",
    "SettingChange",
    "SettingsLedger",
    "StationBackend",
    "SyndromeMonitor",
    "build_worker",
    "run_node",
    "validate_calibration",
]
