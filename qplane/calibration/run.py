"""Running one node on one qubit: acquire → fit → gate → (check | bounded update).

:func:`run_node` is the one place a node meets the device. It reads the qubit's current
settings, requests the node's experiment through a :class:`CalibrationBackend`, analyses the data
(fit + quality gate), asks the learned second opinion if one is given, and then

- in ``check`` mode compares the result with the settings: ``in_spec`` or ``out_of_spec``;
- in ``calibrate`` mode writes the node's proposal through the
  :class:`~qplane.calibration.updates.SettingsLedger` (bounded, recorded, revertible):
  ``success``, or ``out_of_spec`` when the limits refuse it.

An update needs the gate to pass *and*, when a second opinion is given, that opinion to see
expected behaviour; when they disagree the run is flagged for a person and nothing is written.
Every outcome, with its reason, is in the returned :class:`NodeRun`.

>>> from qplane.calibration.synthetic import SyntheticBackend
>>> backend = SyntheticBackend(seed=3)
>>> from qplane.calibration.nodes import RabiNode
>>> run = run_node(RabiNode(), "q0", backend, backend.ledger(), mode="calibrate")
>>> run.outcome.value, [c.control for c in run.changes]
('success', ['pi_amplitude'])
"""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from typing import Any, Protocol

from qplane.calibration.gates import Outcome
from qplane.calibration.nodes import Analysis, Node, SweepParameters
from qplane.calibration.updates import Ledger, SettingChange
from qplane.errors import ConfigError, LimitError
from qplane.sim_instruments.experiments import CONTROLS, ExperimentData, ExperimentRequest

MODES = ("check", "calibrate")


class CalibrationBackend(Protocol):
    """The narrow interface between calibration and the device.

    In process it wraps the device and its control map directly; in the pipeline the
    calibration worker holds a transport that forwards each call to the instrument server.
    """

    def run_experiment(self, request: ExperimentRequest) -> ExperimentData:
        """Run one experiment with the current settings (may raise LimitError/ConfigError)."""

    def read_setting(self, setting: str) -> float:
        """Current value of a logical control, ``"<qubit>.<control>"``."""

    def write_setting(self, setting: str, value: float,
                      details: dict[str, Any] | None = None) -> None:
        """Write a logical control; raise :class:`~qplane.errors.LimitError` to refuse it.

        ``details`` describe the change (node, run uid, fit) for a backend that records it.
        """

    def now(self) -> float:
        """The device's clock (simulated seconds for a simulated device)."""


class SecondOpinion(Protocol):
    """A classifier of raw data (the learned second opinion)."""

    def classify(self, data: ExperimentData) -> dict[str, Any]:
        """``{"label": ..., "confidence": ..., "action": ...}``; label ``expected`` is agreement."""


@dataclasses.dataclass(frozen=True)
class NodeRun:
    """The record of one node run on one qubit (one row of ``/calibration/runs``)."""

    uid: str
    time: float
    node: str
    qubit: str
    mode: str
    outcome: Outcome
    reason: str
    request: dict[str, Any]
    data: ExperimentData | None
    analysis: Analysis | None
    changes: tuple[SettingChange, ...] = ()
    verdict: dict[str, Any] | None = None
    flagged: bool = False
    device_time: float = 0.0

    @property
    def fit_dict(self) -> dict[str, Any]:
        if self.analysis is None:
            return {}
        fit = self.analysis.fit
        d = fit.to_dict()
        d["values"] = {k: float(v) for k, v in self.analysis.values.items()}
        d["gate"] = {"outcome": self.analysis.gate.outcome.value,
                     "reason": self.analysis.gate.reason, "check": self.analysis.gate.check}
        return _finite(d)

    def wire_parts(self, *, figure_png: bytes = b"") -> tuple[dict[str, Any], dict[str, Any]]:
        """The run as (JSON-able fields, arrays) for the wire: the arrays are ``sweep``,
        ``signal`` (float64) and ``figure_png`` (uint8); :func:`table_row_from_parts` turns
        both back into a ``/calibration/runs`` row on the recorder's side."""
        import numpy as np

        row = self.table_row(figure_png=figure_png)
        arrays = {k: np.asarray(row.pop(k)[0]) for k in ("sweep", "signal", "figure_png")}
        return row, arrays

    def table_row(self, *, figure_png: bytes = b"") -> dict[str, Any]:
        """Fields for a ``/calibration/runs`` row of the run file."""
        import numpy as np

        experiment = dict(self.request)
        experiment.pop("sweep", None)
        experiment.update({"mode": self.mode, "uid": self.uid, "flagged": self.flagged,
                           "device_time": self.device_time,
                           "changes": [c.uid for c in self.changes]})
        if self.data is not None:
            experiment["data"] = self.data.metadata()
        return {
            "time": self.time, "node": self.node, "qubit": self.qubit,
            "outcome": self.outcome.value, "reason": self.reason,
            "experiment": json.dumps(experiment, default=str),
            "sweep": _vlen(self.data.sweep if self.data is not None else [], np.float64),
            "signal": _vlen(self.data.signal if self.data is not None else [], np.float64),
            "fit": json.dumps(self.fit_dict, default=str),
            "verdict": json.dumps(self.verdict or {}, default=str),
            "figure_png": _vlen(np.frombuffer(figure_png, dtype=np.uint8), np.uint8),
        }


def table_row_from_parts(meta: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    """A ``/calibration/runs`` row from :meth:`NodeRun.wire_parts` (for the recorder).

    >>> from qplane.calibration.synthetic import SyntheticBackend
    >>> from qplane.calibration.nodes import T1Node
    >>> b = SyntheticBackend(seed=0)
    >>> meta, arrays = run_node(T1Node(), "q0", b, b.ledger(), mode="check").wire_parts()
    >>> sorted(arrays), len(table_row_from_parts(meta, arrays)["sweep"][0])
    (['figure_png', 'signal', 'sweep'], 16)
    """
    import numpy as np

    row = dict(meta)
    row["sweep"] = _vlen(arrays.get("sweep", []), np.float64)
    row["signal"] = _vlen(arrays.get("signal", []), np.float64)
    row["figure_png"] = _vlen(arrays.get("figure_png", []), np.uint8)
    return row


def _vlen(values: Any, dtype: Any) -> Any:
    """A one-row object array holding ``values``: what a variable-length table field takes
    (assigning a bare array to a one-row field would try to broadcast it)."""
    import numpy as np

    out = np.empty(1, dtype=object)
    out[0] = np.asarray(values, dtype=dtype)
    return out


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def read_settings(backend: CalibrationBackend, qubit: str) -> dict[str, float]:
    """The qubit's logical controls, ``{"<qubit>.<control>": value}``."""
    return {f"{qubit}.{c}": float(backend.read_setting(f"{qubit}.{c}")) for c in CONTROLS}


def run_node(node: Node, qubit: str, backend: CalibrationBackend, ledger: Ledger, *,
             mode: str, second_opinion: SecondOpinion | None = None,
             parameters: SweepParameters | None = None) -> NodeRun:
    """Run ``node`` on ``qubit`` in ``mode`` (``"check"`` or ``"calibrate"``); see the module.

    ``parameters`` replaces the node's own sweep parameters for this run (a retry).
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    uid = uuid.uuid4().hex
    settings = read_settings(backend, qubit)
    t0 = backend.now()
    base = dict(uid=uid, time=t0, node=node.name, qubit=qubit, mode=mode)
    try:
        request = node.request(qubit, settings, check=mode == "check", parameters=parameters)
        data = backend.run_experiment(request)
    except (LimitError, ConfigError) as e:
        return NodeRun(**base, outcome=Outcome.BAD_DATA,
                       reason=f"the device refused the experiment: {e}", request={}, data=None,
                       analysis=None)
    common = dict(base, request=request.metadata(), data=data,
                  device_time=float(data.duration))
    analysis = node.analyse(data)
    verdict = second_opinion.classify(data) if second_opinion is not None else None
    gate = analysis.gate
    disagree = verdict is not None and (verdict["label"] == "expected") != gate.passed
    if not gate.passed:
        reason = gate.reason
        if disagree:
            reason += f"; second opinion sees {verdict['label']} (flagged for review)"
        return NodeRun(**common, analysis=analysis, outcome=gate.outcome, reason=reason,
                       verdict=verdict, flagged=disagree)
    if disagree:
        return NodeRun(**common, analysis=analysis, outcome=Outcome.BAD_DATA,
                       reason=f"the fit passed its gate but the second opinion sees "
                              f"{verdict['label']} ({verdict.get('action', '')}); flagged for "
                              "review, nothing written", verdict=verdict, flagged=True)
    ok, why = node.device_spec(analysis)
    if not ok:
        return NodeRun(**common, analysis=analysis, outcome=Outcome.OUT_OF_SPEC,
                       reason=f"device out of spec: {why}", verdict=verdict)
    if mode == "check":
        ok, why = node.compare(qubit, analysis, settings)
        return NodeRun(**common, analysis=analysis,
                       outcome=Outcome.IN_SPEC if ok else Outcome.OUT_OF_SPEC, reason=why,
                       verdict=verdict)
    proposal = node.proposal(qubit, analysis, settings)
    if not proposal:
        return NodeRun(**common, analysis=analysis, outcome=Outcome.SUCCESS,
                       reason=f"measured {gate.reason}", verdict=verdict)
    fit = dict(analysis.fit.to_dict(), values=analysis.values, node_run=uid)
    try:
        changes = ledger.apply(qubit, proposal, node=node.name, fit=_finite(fit))
    except LimitError as e:
        return NodeRun(**common, analysis=analysis, outcome=Outcome.OUT_OF_SPEC,
                       reason=f"update refused: {e}", verdict=verdict)
    moved = ", ".join(f"{c.control} {c.old:.6g} → {c.new:.6g}" for c in changes)
    return NodeRun(**common, analysis=analysis, outcome=Outcome.SUCCESS,
                   reason=f"{moved} ({gate.reason})", changes=tuple(changes), verdict=verdict)


def calibrate_from_check(node: Node, qubit: str, backend: CalibrationBackend,
                         ledger: Ledger, check: NodeRun) -> NodeRun:
    """Calibrate ``node`` on ``qubit`` from a check's data, without a new experiment.

    For a check that passed its gate (and its second opinion), found the setting out of spec,
    and measured it precisely enough (:meth:`Node.check_suffices`); the update is bounded and
    recorded like any other.
    """
    if check.analysis is None or check.outcome is not Outcome.OUT_OF_SPEC or check.flagged:
        raise ConfigError("calibrate_from_check needs a check that found the setting out of spec")
    settings = read_settings(backend, qubit)
    base = dict(uid=uuid.uuid4().hex, time=backend.now(), node=node.name, qubit=qubit,
                mode="calibrate", request=check.request, data=check.data,
                analysis=check.analysis, verdict=check.verdict, device_time=0.0)
    fit = dict(check.analysis.fit.to_dict(), values=check.analysis.values,
               node_run=base["uid"], from_check=check.uid)
    try:
        changes = ledger.apply(qubit, node.proposal(qubit, check.analysis, settings),
                               node=node.name, fit=_finite(fit))
    except LimitError as e:
        return NodeRun(**base, outcome=Outcome.OUT_OF_SPEC, reason=f"update refused: {e}")
    moved = ", ".join(f"{c.control} {c.old:.6g} → {c.new:.6g}" for c in changes)
    return NodeRun(**base, outcome=Outcome.SUCCESS, changes=tuple(changes),
                   reason=f"{moved} (from the check's data, no new experiment: "
                          f"{check.analysis.gate.reason})")
