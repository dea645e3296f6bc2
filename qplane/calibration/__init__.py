"""Closed-loop calibration: nodes with fits and quality gates, bounded revertible updates, the
Optimus graph, syndrome-triggered checks and the calibration worker (see docs/calibration.md).

Modules:

* :mod:`~qplane.calibration.analysis` — :func:`analyse`: any lab's sweep (population,
  magnitude, phase or IQ, any SI-prefixed units) → values with uncertainties, the gate's
  outcome criterion by criterion, the second opinion; the nodes use it too;
* :mod:`~qplane.calibration.kinds` — what each kind of experiment is analysed with
  (:data:`KINDS`, :func:`register_kind`); :mod:`~qplane.calibration.fit_models` — the fit
  models and model selection; :mod:`~qplane.calibration.criteria` — the gate's criteria as
  reusable objects (:class:`Gate`); :mod:`~qplane.calibration.noise` — the noise model
  estimated from the data; :mod:`~qplane.calibration.units` — SI prefixes in and out;
  :mod:`~qplane.calibration.datafile` — CSV / NPZ / HDF5 data files;
* :mod:`~qplane.calibration.nodes` — one node per experiment (:data:`NODE_TYPES`): parameters,
  acquire, fit, update;
* :mod:`~qplane.calibration.fits` — fit models with guesses, uncertainties and chi²;
* :mod:`~qplane.calibration.gates` — the quality gate every fit passes (:class:`GateResult`);
* :mod:`~qplane.calibration.run` — one node on one qubit (:func:`run_node` -> :class:`NodeRun`)
  and the :class:`CalibrationBackend` Protocol it talks to;
* :mod:`~qplane.calibration.backend` — :class:`StationBackend`, that backend over a device and
  its control map;
* :mod:`~qplane.calibration.updates` — the settings ledger: bounded, atomic, revertible
  updates (:class:`SettingChange`, :class:`SettingsLedger`);
* :mod:`~qplane.calibration.graph` — the calibration graph with dependencies and timeouts;
* :mod:`~qplane.calibration.syndrome` — syndrome-driven triggers (:class:`SyndromeMonitor`);
* :mod:`~qplane.calibration.worker` — :class:`CalibrationWorker`, running the graph beside QEC;
* :mod:`~qplane.calibration.config` — the config section turned into a worker
  (:func:`build_worker`);
* :mod:`~qplane.calibration.record` — :class:`CalibrationRecorder`, node runs and setting
  changes into the run file;
* :mod:`~qplane.calibration.figures` — a PNG per node run (:func:`render_png`);
* :mod:`~qplane.calibration.history` — a run file's setting history read back, and reverting
  a node's last update (:func:`read_history`, :func:`revert_plan`, :func:`apply_revert`);
* :mod:`~qplane.calibration.synthetic` — synthetic one-qubit data with known truth
  (:class:`SyntheticBackend`, loaded on first use);
* :mod:`~qplane.calibration.classifier`, :mod:`~qplane.calibration.training` — the learned
  second opinion and its training (need torch; loaded on first use);
* :mod:`~qplane.calibration.closed_loop` — the closed-loop comparison behind the closed-loop
  benchmark (one drifting device, four ways).

>>> from qplane.calibration import NODE_TYPES, SettingChange
>>> "ramsey" in NODE_TYPES
True
"""

from __future__ import annotations

import importlib
from typing import Any

from qplane.calibration.analysis import AnalysisResult, Value, analyse
from qplane.calibration.backend import StationBackend, split_setting
from qplane.calibration.config import build_worker, validate_calibration
from qplane.calibration.figures import render_png
from qplane.calibration.criteria import Criterion, CriterionResult, Gate, GateContext
from qplane.calibration.gates import GateCriteria, GateResult, Outcome, evaluate_gate
from qplane.calibration.kinds import KINDS, AnalysisKind, register_kind
from qplane.calibration.graph import (
    DEFAULT_DEPENDENCIES,
    DEFAULT_TIMEOUTS,
    CalibrationGraph,
    GraphNode,
    NodeState,
)
from qplane.calibration.nodes import (
    NODE_TYPES,
    EchoNode,
    Node,
    RabiNode,
    RamseyNode,
    ReadoutNode,
    SpectroscopyNode,
)
from qplane.calibration.drift import DriftTimeouts
from qplane.calibration.record import CalibrationRecorder
from qplane.calibration.run import (
    CalibrationBackend,
    NodeRun,
    SecondOpinion,
    calibrate_from_check,
    read_settings,
    run_node,
)
from qplane.calibration.state import (
    CalibrationState,
    StateStart,
    apply_state,
    load_state,
    mark_validity,
    save_state,
    update_from_run,
)
from qplane.calibration.syndrome import Regions, SyndromeMonitor, Trigger
from qplane.calibration.updates import (
    ControlLimits,
    DictTarget,
    Ledger,
    SettingChange,
    SettingsLedger,
    SettingsTarget,
    last_run,
)
from qplane.calibration.worker import CalibrationWorker

#: Names loaded on first use (scipy.stats, or torch for the learned second opinion), and the
#: module that holds each.
_LAZY = {
    "SyntheticBackend": "qplane.calibration.synthetic",
    "LearnedSecondOpinion": "qplane.calibration.classifier",
    "SweepClassifier": "qplane.calibration.classifier",
    "Verdict": "qplane.calibration.classifier",
    "read_history": "qplane.calibration.history",
    "revert_plan": "qplane.calibration.history",
    "apply_revert": "qplane.calibration.history",
    "write_figures": "qplane.calibration.history",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qplane.calibration' has no attribute {name!r}")


__all__ = [
    "KINDS",
    "AnalysisKind",
    "AnalysisResult",
    "Criterion",
    "CriterionResult",
    "Gate",
    "GateContext",
    "Value",
    "analyse",
    "register_kind",
    "DEFAULT_DEPENDENCIES",
    "DEFAULT_TIMEOUTS",
    "NODE_TYPES",
    "CalibrationBackend",
    "CalibrationGraph",
    "CalibrationRecorder",
    "CalibrationWorker",
    "ControlLimits",
    "DictTarget",
    "EchoNode",
    "GateCriteria",
    "GateResult",
    "GraphNode",
    "LearnedSecondOpinion",
    "Ledger",
    "Node",
    "NodeRun",
    "NodeState",
    "Outcome",
    "RabiNode",
    "RamseyNode",
    "ReadoutNode",
    "Regions",
    "SecondOpinion",
    "SettingChange",
    "SettingsLedger",
    "SettingsTarget",
    "SpectroscopyNode",
    "StationBackend",
    "SweepClassifier",
    "SyndromeMonitor",
    "SyntheticBackend",
    "Trigger",
    "Verdict",
    "build_worker",
    "calibrate_from_check",
    "evaluate_gate",
    "last_run",
    "read_settings",
    "render_png",
    "run_node",
    "split_setting",
    "validate_calibration",
    "read_history",
    "revert_plan",
    "apply_revert",
    "write_figures",
    "CalibrationState",
    "DriftTimeouts",
    "StateStart",
    "apply_state",
    "load_state",
    "mark_validity",
    "save_state",
    "update_from_run",
]
