"""Running one node on one qubit: acquire → fit → gate → (check | bounded update).

:func:`run_node` is the one place a node meets the device. It reads the qubit's current
settings, requests the node's experiment through a :class:`CalibrationBackend`, analyses the data
(fit + quality gate), asks the learned second opinion if one is given, and then

- in ``check`` mode compares the result with the settings: ``in_spec`` or ``out_of_spec``;
- in ``calibrate`` mode writes the node's proposal through the
  :class:`~qplane.calibration.updates.SettingsLedger` (bounded, recorded, revertible):
  ``success``, or ``out_of_spec`` when the limits refuse it.

The second opinion, when given, is strictly advisory: its verdict is recorded with the run,
and when it disagrees with the gate the run is ``flagged`` for a person (and its reason says
so), but it never decides the outcome: what can block a write is the gate, the device's specs
and the ledger's limits (see docs/calibration.md). Every outcome, with its reason, is in the
returned :class:`NodeRun`.

>>> from qplane.calibration.synthetic import SyntheticBackend
>>> backend = SyntheticBackend(seed=3)
>>> from qplane.calibration.nodes import RabiNode
>>> run = run_node(RabiNode(), "q0", backend, backend.ledger(), mode="calibrate")
>>> run.outcome.value, [c.control for c in run.changes]
('success', ['pi_amplitude'])
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from typing import Any, Protocol

from qplane.calibration.gates import Outcome
from qplane.calibration.nodes import Analysis, Node, SweepParameters
from qplane.calibration.updates import Ledger, SettingChange
from qplane.device import CONTROLS, ExperimentData, ExperimentRequest
from qplane.errors import ConfigError, LimitError

MODES = ("check", "calibrate")
#: Which runs the second opinion reviews (:func:`run_node`'s ``review``).
REVIEWS = ("all", "writes")


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

    def record_parts(self, *, figure_png: bytes = b"") -> tuple[Any, dict[str, Any]]:
        """The run as a :class:`~qplane.records.CalibrationRun` body and its arrays
        (``sweep``, ``signal`` float64, ``figure_png`` uint8): what goes on the wire, and what
        :meth:`~qplane.records.CalibrationRun.row` maps to a ``/calibration/runs`` row.

        >>> from qplane.calibration.synthetic import SyntheticBackend
        >>> from qplane.calibration.nodes import T1Node
        >>> b = SyntheticBackend(seed=0)
        >>> body, arrays = run_node(T1Node(), "q0", b, b.ledger(), mode="check").record_parts()
        >>> body.node, sorted(arrays), len(arrays["sweep"])
        ('t1', ['figure_png', 'signal', 'sweep'], 16)
        """
        import numpy as np

        from qplane.records import CalibrationRun

        experiment = dict(self.request)
        experiment.pop("sweep", None)
        experiment.update({"mode": self.mode, "uid": self.uid, "flagged": self.flagged,
                           "device_time": self.device_time,
                           "changes": [c.uid for c in self.changes]})
        if self.data is not None:
            experiment["data"] = self.data.metadata()
        body = CalibrationRun(time=self.time, node=self.node, qubit=self.qubit,
                              outcome=self.outcome.value, reason=self.reason,
                              experiment=_plain(experiment), fit=_plain(self.fit_dict),
                              verdict=_plain(self.verdict or {}))
        empty: list[float] = []
        arrays = {
            "sweep": np.asarray(self.data.sweep if self.data is not None else empty, np.float64),
            "signal": np.asarray(self.data.signal if self.data is not None else empty, np.float64),
            "figure_png": np.frombuffer(figure_png, dtype=np.uint8),
        }
        return body, arrays

    def table_row(self, *, figure_png: bytes = b"") -> dict[str, Any]:
        """Fields for a ``/calibration/runs`` row of a run file written in process (at the
        device's time)."""
        body, arrays = self.record_parts(figure_png=figure_png)
        return body.row(time=self.time, arrays=arrays)


def _plain(value: Any) -> dict[str, Any]:
    """``value`` as plain JSON data (numpy scalars as numbers, anything unknown as text)."""
    import msgspec

    from qplane.records import json_text

    return msgspec.json.decode(json_text(value))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def read_settings(backend: CalibrationBackend, qubit: str,
                  extra: tuple[str, ...] = ()) -> dict[str, float]:
    """The qubit's logical controls, ``{"<qubit>.<control>": value}`` (and ``extra`` ones)."""
    return {f"{qubit}.{c}": float(backend.read_setting(f"{qubit}.{c}"))
            for c in dict.fromkeys((*CONTROLS, *extra))}


def run_node(node: Node, qubit: str, backend: CalibrationBackend, ledger: Ledger, *,
             mode: str, second_opinion: SecondOpinion | None = None,
             parameters: SweepParameters | None = None, review: str = "all") -> NodeRun:
    """Run ``node`` on ``qubit`` in ``mode`` (``"check"`` or ``"calibrate"``); see the module.

    ``parameters`` replaces the node's own sweep parameters for this run (a retry).
    ``review``: which runs the second opinion sees: ``"all"``, or ``"writes"`` — every run
    except a check whose data passed the gate and found the device in spec (a run that writes
    nothing and leads to no write; the classifier costs more CPU than a cheap check's fit).
    """
    if review not in REVIEWS:
        raise ConfigError(f"review must be one of {REVIEWS}, got {review!r}")
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    uid = uuid.uuid4().hex
    settings = read_settings(backend, qubit, tuple(node.controls))
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
    verdict = None
    if second_opinion is not None and node.second_opinion and (review == "all" or not _quiet_check(
            node, qubit, analysis, settings, mode)):
        verdict = _ask(second_opinion, node, data, analysis)
    gate = analysis.gate
    disagree = verdict is not None and (verdict["label"] == "expected") != gate.passed
    if not gate.passed:
        reason = gate.reason
        if disagree:
            reason += f"; second opinion sees {verdict['label']} (flagged for review)"
        return NodeRun(**common, analysis=analysis, outcome=gate.outcome, reason=reason,
                       verdict=verdict, flagged=disagree)
    run = _passed(node, qubit, ledger, common, analysis, settings, mode, verdict, uid)
    if disagree:
        return dataclasses.replace(
            run, flagged=True, reason=f"{run.reason}; the second opinion sees "
                                      f"{verdict['label']} ({verdict.get('action', '')}): "
                                      "flagged for review (advisory)")
    return run


def _ask(opinion: SecondOpinion, node: Node, data: ExperimentData, analysis: Analysis
         ) -> dict[str, Any]:
    """The second opinion's verdict: on the node's own analysis when the node says so (a kind
    whose signal the raw data alone do not describe, e.g. a magnitude) and the opinion takes
    one, else on the raw data."""
    result = getattr(analysis, "result", None)
    if getattr(node, "opinion_on_analysis", False) and result is not None \
            and hasattr(opinion, "classify_analysis"):
        return opinion.classify_analysis(result)
    return opinion.classify(data)


def _quiet_check(node: Node, qubit: str, analysis: Analysis, settings: dict[str, float],
                 mode: str) -> bool:
    """A check whose data passed the gate and found the device and its settings in spec."""
    return (mode == "check" and analysis.gate.passed and node.device_spec(analysis)[0]
            and node.compare(qubit, analysis, settings)[0])


def _passed(node: Node, qubit: str, ledger: Ledger, common: dict[str, Any], analysis: Analysis,
            settings: dict[str, float], mode: str, verdict: dict[str, Any] | None,
            uid: str) -> NodeRun:
    """The rest of :func:`run_node` for data that passed the gate."""
    gate = analysis.gate
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
    settings = read_settings(backend, qubit, tuple(node.controls))
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
