"""Record kinds of the calibration path: node runs, device calls, setting changes, truth.

A calibration update's path: the calibration worker's node fits its data and asks the
instrument server (a :class:`CalibrationCall`) to write settings; the server's settings ledger
checks them against the controls' limits, writes them all or none, answers with a
:class:`CalibrationReply` (a refusal keeps its error type) and tells the recorder each real
change as a :class:`ParameterChange` (one ``/parameters/history`` row). The node run itself goes
to the recorder as a :class:`CalibrationRun`. A simulated device's hidden ideal settings go to
``/simulation/truth`` as :class:`SimulationTruth`, never into the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Optional, Union

import msgspec
import numpy as np

from qplane.records._base import Body, Count, JsonObject, Record, json_text


class CalibrationRun(Body, frozen=True, tag="calibration_run"):
    """One calibration-node run (calibration worker -> recorder; a ``/calibration/runs`` row).

    ``time`` is the device's clock when the node ran (a simulated lab's clock is accelerated);
    the row's time is the record's UNIX time and the device clock is kept in ``experiment``.
    Arrays: ``sweep``, ``signal`` float64 (points,), optionally ``figure_png`` uint8 (bytes,).
    """

    time: float
    node: str
    qubit: str
    outcome: str
    reason: str
    experiment: JsonObject  # kind, settings, shots, units, mode, uid, changes ...
    fit: JsonObject         # parameters, uncertainties, goodness of fit, gate
    verdict: JsonObject     # the learned second opinion, if any

    ARRAYS = {"sweep": ("float64", 1), "signal": ("float64", 1)}
    OPTIONAL_ARRAYS = {"figure_png": ("uint8", 1)}

    def rows(self, rec: Record) -> Iterator[tuple[str, dict[str, Any]]]:
        yield "/calibration/runs", self.row(time=rec.time, arrays=rec.arrays)

    def row(self, *, time: float, arrays: dict[str, Any]) -> dict[str, Any]:
        """The ``/calibration/runs`` row, at ``time`` (the device clock stays in ``experiment``)."""
        experiment = dict(self.experiment)
        experiment.setdefault("device_clock", self.time)
        return {
            "time": time, "node": self.node, "qubit": self.qubit, "outcome": self.outcome,
            "reason": self.reason, "experiment": json_text(experiment),
            "fit": json_text(self.fit), "verdict": json_text(self.verdict),
            "sweep": arrays["sweep"], "signal": arrays["signal"],
            "figure_png": arrays.get("figure_png", np.zeros(0, np.uint8)),
        }


class _CallArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
                tag_field="call"):
    """The arguments of one calibration call; the subclass's tag is the call's name."""


class RunExperimentCall(_CallArgs, frozen=True, tag="run_experiment"):
    """Run one calibration experiment (the sweep travels as the record's ``sweep`` array)."""

    kind: str
    qubit: str
    shots: Count
    artificial_detuning: float = 0.0


class ReadSettingCall(_CallArgs, frozen=True, tag="read_setting"):
    """Read one setting (``"<qubit>.<control>"``)."""

    setting: str


class WriteSettingCall(_CallArgs, frozen=True, tag="write_setting"):
    """Write one setting, as one update of the server's ledger."""

    setting: str
    value: float
    details: JsonObject = {}


class WriteSettingsCall(_CallArgs, frozen=True, tag="write_settings"):
    """Write several settings as one atomic update: all or nothing."""

    settings: dict[str, float]
    node: str = ""
    fit: JsonObject = {}
    details: JsonObject = {}


class RevertCall(_CallArgs, frozen=True, tag="revert"):
    """Undo ``node``'s last update of ``qubit``."""

    qubit: str
    node: str


class LastRunCall(_CallArgs, frozen=True, tag="last_run"):
    """The changes of ``node``'s last update of ``qubit``."""

    qubit: str
    node: str


class ChangedSinceCall(_CallArgs, frozen=True, tag="changed_since"):
    """Whether any setting of ``qubit`` changed after ``time`` (the ledger's clock)."""

    qubit: str
    time: float


#: The most setting changes one ``history`` reply carries; longer histories are paged.
MAX_HISTORY_PAGE = 256

PageSize = Annotated[int, msgspec.Meta(ge=1, le=MAX_HISTORY_PAGE)]


class HistoryCall(_CallArgs, frozen=True, tag="history"):
    """One page of the changes the server's ledger committed this run, oldest first.

    ``start`` is the cursor: the index (in the ledger's history) of the first change to
    consider; ``since``, if given, keeps only changes made after that time (the ledger's
    clock); at most ``limit`` changes come back (:data:`MAX_HISTORY_PAGE` at most). The reply
    (:class:`HistoryPage`) says where the next page starts.
    """

    start: Count = 0
    limit: PageSize = MAX_HISTORY_PAGE
    since: Optional[float] = None  # noqa: UP007 - msgspec reads the annotation


class NowCall(_CallArgs, frozen=True, tag="now"):
    """The device's clock."""


class QubitsCall(_CallArgs, frozen=True, tag="qubits"):
    """The qubits calibration may address."""


#: Every calibration call by name, and the type of its arguments.
CALIBRATION_CALLS: dict[str, type[_CallArgs]] = {
    cls.__struct_config__.tag: cls for cls in _CallArgs.__subclasses__()}
AnyCallArgs = Union[tuple(CALIBRATION_CALLS.values())]  # noqa: UP007 - a tagged union


class SettingChangeInfo(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One committed setting change, as the server's ledger reports it
    (:class:`qplane.calibration.SettingChange`'s fields)."""

    uid: str
    time: float
    setting: str
    qubit: str
    control: str
    old: float
    new: float
    node: str
    run_uid: str
    fit: JsonObject = {}
    reverts: str = ""
    details: JsonObject = {}


class _Result(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
              tag_field="result"):
    """The result of one calibration call; the subclass's tag names its shape."""


class NoResult(_Result, frozen=True, tag="none"):
    """No result (a refused call)."""


class ValueResult(_Result, frozen=True, tag="value"):
    """A number: a setting's value, the device's clock."""

    value: float


class ChangesResult(_Result, frozen=True, tag="changes"):
    """The setting changes an update, a revert or a history request concerns."""

    changes: list[SettingChangeInfo]


class HistoryPage(_Result, frozen=True, tag="history_page"):
    """One page of the ledger's history (the reply to a :class:`HistoryCall`).

    ``changes[i]`` is the change at index ``indices[i]`` of the history (with ``since``,
    changes are skipped, so the indices need not be consecutive); ``next`` is the ``start`` of
    the next page, equal to ``total`` (the history's length when answered) once every change
    has been seen.
    """

    changes: list[SettingChangeInfo]
    indices: list[Count]
    next: Count
    total: Count


class ChangedResult(_Result, frozen=True, tag="changed"):
    """Whether something changed."""

    changed: bool


class QubitsResult(_Result, frozen=True, tag="qubits"):
    """The qubits' names."""

    qubits: list[str]


class ExperimentResult(_Result, frozen=True, tag="experiment"):
    """An experiment's data but its arrays (``sweep``, ``signal``, ``iq0``/``iq1`` travel as
    the reply's arrays): :meth:`qplane.device.ExperimentData.metadata`."""

    kind: str
    qubit: str
    sweep_unit: str
    shots: Count
    settings: dict[str, float]
    time: float
    duration: float
    version: int


AnyResult = Union[NoResult, ValueResult, ChangesResult, ChangedResult, QubitsResult,  # noqa: UP007
                  ExperimentResult, HistoryPage]


class CalibrationCall(Body, frozen=True, tag="calibration_call"):
    """One call of the calibration backend (calibration worker -> instrument server): its
    arguments, typed per call (:data:`CALIBRATION_CALLS`).

    Arrays: optionally ``sweep`` float64 (points,) for ``run_experiment``.
    """

    args: AnyCallArgs  # type: ignore[valid-type]

    OPTIONAL_ARRAYS = {"sweep": ("float64", 1)}

    @property
    def call(self) -> str:
        """The call's name."""
        return type(self.args).__struct_config__.tag


class CalibrationReply(Body, frozen=True, tag="calibration_reply"):
    """The answer to a :class:`CalibrationCall`: its typed result, or its error ("" if none)
    and the error's qplane type name, so the caller raises the same type."""

    call: str
    error: str = ""
    error_type: str = ""
    result: AnyResult = NoResult()  # type: ignore[valid-type]

    OPTIONAL_ARRAYS = {"sweep": ("float64", 1), "signal": ("float64", 1),
                       "iq0": ("complex128", 1), "iq1": ("complex128", 1)}


class ParameterChange(Body, frozen=True, tag="parameter_change"):
    """One real change of a setting (the settings ledger -> recorder; a history row).

    ``update`` is shared by every change of one atomic multi-setting update; ``node`` is the
    calibration node that asked for it ("" otherwise); ``details`` holds the fit, the reason,
    who requested it and what it reverts.
    """

    parameter: str
    old: float
    new: float
    node: str = ""
    update: str = ""
    details: JsonObject = {}
    time: float | None = None  # when the change was made, if not the record's time

    def rows(self, rec: Record) -> Iterator[tuple[str, dict[str, Any]]]:
        yield "/parameters/history", self.row(time=rec.time if self.time is None else self.time,
                                              source=rec.source)

    def row(self, *, time: float, source: str) -> dict[str, Any]:
        """The ``/parameters/history`` row of this change, made at ``time`` by ``source``."""
        return {"time": time, "parameter": self.parameter, "old": self.old, "new": self.new,
                "source": source, "node": self.node, "update": self.update,
                "details": json_text(self.details)}


class SimulationTruth(Body, frozen=True, tag="simulation_truth"):
    """A simulated device's true ideal value of one setting (simulated lab only)."""

    setting: str
    value: float
    device_time: float

    def rows(self, rec: Record) -> Iterator[tuple[str, dict[str, Any]]]:
        yield "/simulation/truth", {"time": rec.time, "device_time": self.device_time,
                                    "setting": self.setting, "value": self.value}


__all__ = [
    "CALIBRATION_CALLS", "CalibrationCall", "CalibrationReply", "CalibrationRun", "ChangedResult",
    "ChangedSinceCall", "ChangesResult", "ExperimentResult", "HistoryCall", "HistoryPage",
    "LastRunCall", "MAX_HISTORY_PAGE",
    "NoResult", "NowCall", "ParameterChange", "QubitsCall", "QubitsResult", "ReadSettingCall",
    "RevertCall", "RunExperimentCall", "SettingChangeInfo", "SimulationTruth", "ValueResult",
    "WriteSettingCall", "WriteSettingsCall",
]
