"""The calibration backend over the wire: the instrument server's side and the worker's side.

The calibration worker needs a few things of the device (see
:class:`qplane.calibration.run.CalibrationBackend`): run an experiment, read a setting, read the
clock, and update settings. In the pipeline only the instrument server touches instruments, so:

- :class:`CalibrationService` runs inside the instrument server. It answers ``calibration_call``
  records arriving on the control socket with ``calibration_reply`` records, using an in-process
  backend (:class:`qplane.calibration.backend.StationBackend`) and the run's one settings ledger
  (:class:`qplane.calibration.updates.SettingsLedger`), which sits here, where the write
  happens: each update reads the old values once, checks every limit once (the control map's:
  the config's ``qplane.controls`` section), writes, reads back and, only when the whole update
  is committed, sends one ``parameter_change`` per setting (sharing the update's id). A refused
  update writes nothing, is counted and recorded as an event, and its reply carries the error's
  class (``error_type``). Calibration experiments run between QEC blocks: the server
  time-shares the device. On a simulated device :meth:`CalibrationService.record_truth` sends
  the true ideal settings as ``simulation_truth`` records (``/simulation/truth``), never as
  changes.
- :class:`RemoteBackend` is the worker's backend: each call a request and a reply on a DEALER
  socket; a refusal is raised as the same qplane error class the server raised (a
  ``LimitError`` stays a ``LimitError``). ``detection_counts`` records that the server pushes on
  the same socket (syndrome statistics for the worker's triggers) are handed to ``on_counts``.
- :class:`RemoteLedger` is the worker's view of the server's ledger: updates, reverts and
  "what changed" questions are calls, so the worker keeps no ledger of its own to disagree.
"""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Mapping

import msgspec
import numpy as np
import zmq

from qplane import errors as _errors
from qplane.calibration import SettingChange, SettingsLedger
from qplane.device import ExperimentData, ExperimentRequest, SimulatedTruth
from qplane.errors import PipelineError, QplaneError, WireFormatError
from qplane.pipeline.security import role_of
from qplane.pipeline.transport import Inbox, Outbox, send_record
from qplane.records import (
    CALIBRATION_CALLS,
    CalibrationCall,
    CalibrationReply,
    ChangedResult,
    ChangesResult,
    DetectionCounts,
    ExperimentResult,
    HistoryPage,
    MAX_HISTORY_PAGE,
    NoResult,
    ParameterChange,
    QubitsResult,
    Record,
    SettingChangeInfo,
    SimulationTruth,
    ValueResult,
)

#: The calls a calibration worker may make (each one's arguments: ``CALIBRATION_CALLS``).
CALLS = tuple(CALIBRATION_CALLS)

#: Calls that change the device or its record: only the calibration worker may make them.
WRITING_CALLS = frozenset({"run_experiment", "write_setting", "write_settings", "revert"})

#: The role that may make :data:`WRITING_CALLS`.
CALIBRATION_ROLE = "calibration"

#: The read-only calls, open to any role; a decoding worker may make only these (its live
#: noise estimator asks for the ``history`` of changes, to restart its window for the qubits
#: they touch).
READ_CALLS = frozenset({"read_setting", "last_run", "changed_since", "history", "now", "qubits"})


def _changes(changes: Any) -> ChangesResult:
    """A ledger's changes as a typed result."""
    return ChangesResult(changes=[msgspec.convert(c.to_dict(), SettingChangeInfo) for c in changes])


def history_page(history: tuple[SettingChange, ...], *, start: int = 0,
                 limit: int = MAX_HISTORY_PAGE, since: float | None = None) -> HistoryPage:
    """One bounded page of a ledger's ``history``: at most ``limit`` (and at most
    :data:`~qplane.records.MAX_HISTORY_PAGE`) changes from index ``start`` on, made after
    ``since`` if given; ``next`` is where the next page starts (``total`` once done).

    >>> history_page((), start=5).next, history_page((), start=5).total
    (0, 0)
    """
    limit = max(1, min(int(limit), MAX_HISTORY_PAGE))
    total = len(history)
    picked: list[int] = []
    i = min(int(start), total)
    while i < total and len(picked) < limit:
        if since is None or history[i].time > since:
            picked.append(i)
        i += 1
    return HistoryPage(changes=_changes(history[j] for j in picked).changes, indices=picked,
                       next=i, total=total)


class CalibrationService:
    """Answers calibration calls with an in-process backend (inside the instrument server).

    Args:
        backend: has ``run_experiment``, ``read_setting``, ``write_setting``, ``now`` (and
            ``check_write``, its limits layer, for a station backend).
        qubits: the qubit names calibration may address.
        replies: outbox on the control socket (replies go behind the caller's routing frames).
        records: outbox to the recorder (parameter changes, refused calls and updates).

    Attributes:
        ledger: the run's settings ledger (on the backend's clock).
        calls, refused: calls answered, and of those refused.
        writes: setting changes committed (one per setting of each committed update).
        experiments, experiment_seconds: experiments run and their device time.
    """

    def __init__(self, backend: Any, qubits: tuple[str, ...], *, replies: Outbox, records: Outbox):
        self.backend = backend
        self.qubits = tuple(qubits)
        self.replies = replies
        self.records = records
        self.ledger = SettingsLedger(backend, clock=backend.now, on_change=self._record_change,
                                     on_refused=self._record_refusal)
        self.calls = 0
        self.refused = 0
        self.writes = 0
        self.experiments = 0
        self.experiment_seconds = 0.0
        self.subscribers: dict[bytes, str] = {}  # routing id -> source, for detection counts

    @property
    def updates_refused(self) -> int:
        """Setting updates the ledger refused (nothing written)."""
        return self.ledger.refused

    def refusal(self, rec: Record) -> str | None:
        """Why the caller of ``rec`` may not make its call (None: it may).

        Only the calibration worker (role ``calibration``; its authenticated identity on a
        CURVE socket) may run experiments, write settings or revert them.
        """
        call = rec.body.call
        if call in WRITING_CALLS and role_of(rec.source) != CALIBRATION_ROLE:
            return (f"{call} from {rec.source!r}: only the calibration worker may run "
                    "experiments or write settings")
        if role_of(rec.source) == "decoder" and call not in READ_CALLS:
            return (f"{call} from {rec.source!r}: a decoding worker may only make the read-only "
                    f"calls {', '.join(sorted(READ_CALLS))}")
        return None

    def handle(self, routing: list[bytes], rec: Record) -> None:
        """Answer one ``calibration_call``."""
        self.calls += 1
        call, args = rec.body.call, rec.body.args
        if role_of(rec.source) == CALIBRATION_ROLE:  # detection counts go to calibration only
            self.subscribers[routing[0]] = rec.source
        refused_before = self.ledger.refused
        arrays: dict[str, np.ndarray] = {}
        try:
            result, arrays = self._answer(call, args, rec)
            error = error_type = ""
        except Exception as e:  # noqa: BLE001 - every failure is a refusal the caller is told of
            self.refused += 1
            error, error_type = f"{type(e).__name__}: {e}", type(e).__name__
            result, arrays = NoResult(), {}
            if self.ledger.refused == refused_before:  # the ledger records its own refusals
                self.records.event("warning", "calibration_call_refused",
                                   f"{call} from {rec.source} refused: {error}", call=call,
                                   args=msgspec.to_builtins(args), error_type=error_type,
                                   traceback=traceback.format_exc())
        reply = self.replies.build(CalibrationReply(call=call, error=error, error_type=error_type,
                                                    result=result), arrays)
        send_record(self.replies.socket, reply, prefix=routing)

    def _answer(self, call: str, args: Any, rec: Record) -> tuple[Any, dict[str, np.ndarray]]:
        """The typed result of one call, and its arrays."""
        if call == "run_experiment":
            request = ExperimentRequest(
                args.kind, args.qubit, rec.arrays.get("sweep"), shots=int(args.shots),
                artificial_detuning=float(args.artificial_detuning))
            data = self.backend.run_experiment(request)
            self.experiments += 1
            self.experiment_seconds += float(data.duration)
            meta = data.metadata()
            meta["settings"] = {k: float(v) for k, v in meta["settings"].items()}
            return (msgspec.convert(meta, ExperimentResult),
                    {k: np.ascontiguousarray(v) for k, v in data.arrays().items()})
        if call == "read_setting":
            return ValueResult(value=float(self.backend.read_setting(args.setting))), {}
        if call == "write_setting":
            details = dict(args.details)
            node = str(details.pop("node", ""))
            changes = self._update({args.setting: float(args.value)}, node=node,
                                   details=details, source=rec.source)
            return _changes(changes), {}
        if call == "write_settings":
            changes = self._update(args.settings, node=args.node, fit=args.fit,
                                   details=args.details, source=rec.source)
            return _changes(changes), {}
        if call == "revert":
            return _changes(self.ledger.revert(qubit=args.qubit, node=args.node,
                                               details={"requested_by": rec.source})), {}
        if call == "last_run":
            return _changes(self.ledger.last_run(qubit=args.qubit, node=args.node)), {}
        if call == "changed_since":
            return ChangedResult(changed=bool(self.ledger.changed_since(args.qubit,
                                                                        float(args.time)))), {}
        if call == "history":  # bounded: one page (HistoryCall.limit <= MAX_HISTORY_PAGE)
            return history_page(self.ledger.history, start=args.start, limit=args.limit,
                                since=args.since), {}
        if call == "now":
            return ValueResult(value=float(self.backend.now())), {}
        if call == "qubits":
            return QubitsResult(qubits=list(self.qubits)), {}
        raise PipelineError(f"unknown calibration call {call!r}; known calls: {', '.join(CALLS)}")

    def _update(self, settings: Mapping[str, float], *, node: str, source: str,
                fit: dict[str, Any] | None = None,
                details: dict[str, Any] | None = None) -> list[SettingChange]:
        details = dict(details or {})
        details["requested_by"] = source
        return self.ledger.update(settings, node=node, fit=fit, details=details)

    def _record_change(self, change: SettingChange) -> None:
        """Send one committed change to the recorder (the row's time is UNIX time; the
        device's clock goes into the details)."""
        meta = change.record_meta()
        meta["details"]["device_time"] = change.time
        self.writes += 1
        self.records.send(ParameterChange(**meta))

    def _record_refusal(self, *, update: str, node: str, settings: dict[str, float],
                        details: dict[str, Any], error: Exception) -> None:
        self.records.event(
            "warning", "setting_update_refused",
            f"update {update[:8]} of {', '.join(sorted(settings))} by node {node or '-'} "
            f"(requested by {details.get('requested_by', '?')}) refused, nothing written: "
            f"{type(error).__name__}: {error}",
            update=update, node=node, settings=settings,
            requested_by=details.get("requested_by", ""), error_type=type(error).__name__,
            error=str(error))

    def record_truth(self, truth_outbox: Outbox) -> int:
        """Send a simulated device's true ideal settings as ``simulation_truth`` records
        (``/simulation/truth``), so reports can draw calibrated settings against the truth over
        time. Returns the records sent (0 for hardware)."""
        device = getattr(self.backend, "device", None)
        if not isinstance(device, SimulatedTruth):
            return 0
        try:
            ideal = device.true_settings()
        except (QplaneError, AttributeError, ValueError, IndexError):
            return 0
        now = float(self.backend.now())
        for setting, value in ideal.items():
            truth_outbox.send(SimulationTruth(setting=setting, value=float(value), device_time=now))
        return len(ideal)

    def publish_counts(self, socket: zmq.Socket, outbox: Outbox, *, circuit_id: str,
                       counts: np.ndarray, shots: int) -> None:
        """Send detection counts to every calibration worker that has called in."""
        rec = outbox.build(DetectionCounts(circuit_id=circuit_id, shots=shots),
                           {"counts": counts.astype(np.int64)})
        for routing in self.subscribers:
            send_record(socket, rec, prefix=[routing])


class RemoteBackend:
    """A calibration backend whose calls go to the instrument server (the worker's side).

    Args:
        control: DEALER socket connected to the instrument server's control ROUTER.
        outbox: outbox on ``control`` (this worker's source name and run id).
        timeout: seconds to wait for a reply.
        on_counts: called with each ``detection_counts`` record that arrives meanwhile.
        should_stop: checked while waiting for a reply; once it says so the call gives up at
            once (``PipelineError``), so a worker told to stop never waits out ``timeout``.
        on_wait: called while waiting for a reply (at least every ``WAIT_SLICE_S``), e.g. to
            send the process's heartbeats.
    """

    #: The longest a waiting call goes without checking ``should_stop`` and calling ``on_wait``.
    WAIT_SLICE_S = 0.1

    def __init__(self, control: zmq.Socket, outbox: Outbox, *, timeout: float = 60.0,
                 on_counts: Callable[[Record], None] | None = None,
                 should_stop: Callable[[], bool] = lambda: False,
                 on_wait: Callable[[], None] = lambda: None):
        self.control = control
        self.outbox = outbox
        self.timeout = timeout
        self.on_counts = on_counts
        self.should_stop = should_stop
        self.on_wait = on_wait
        self.inbox = Inbox(control, run_id=outbox.run_id)
        self.experiment_time = 0.0

    def call(self, call: str, args: dict[str, Any] | None = None,
             arrays: dict[str, np.ndarray] | None = None) -> Record:
        """Make one call and return its reply.

        Raises:
            QplaneError: the server's refusal, as the same class (see :func:`remote_error`).
            PipelineError: no reply within the timeout, or an unexpected one.
        """
        kind = CALIBRATION_CALLS.get(call)
        if kind is None:
            raise PipelineError(f"unknown calibration call {call!r}; known calls: {', '.join(CALLS)}")
        try:
            typed = msgspec.convert(dict(args or {}), kind)
        except msgspec.ValidationError as e:
            raise WireFormatError(f"calibration call {call}: {e}") from e
        self.outbox.send(CalibrationCall(args=typed), arrays)
        while True:
            self._wait_for_reply(call)
            got = self.inbox.recv()
            if got is None:
                continue
            rec = got[1]
            if isinstance(rec.body, DetectionCounts):
                if self.on_counts is not None:
                    self.on_counts(rec)
                continue
            if not isinstance(rec.body, CalibrationReply) or rec.body.call != call:
                raise PipelineError(f"asked {call}, got a {rec.kind} ({getattr(rec.body, 'call', '')})")
            if rec.body.error:
                raise remote_error(call, rec.body.error_type, rec.body.error)
            return rec


    def _wait_for_reply(self, call: str) -> None:
        """Wait until a message is ready, in slices: give up when told to stop or at the timeout."""
        deadline = time.monotonic() + self.timeout
        while not self.control.poll(int(min(self.WAIT_SLICE_S, self.timeout) * 1000)):
            self.on_wait()
            if self.should_stop():
                raise PipelineError(f"gave up waiting for the instrument server's answer to {call}: "
                                    "this worker is stopping")
            if time.monotonic() >= deadline:
                raise PipelineError(f"the instrument server did not answer {call} within {self.timeout} s")

    def poll_counts(self) -> None:
        """Hand every ``detection_counts`` record already waiting to ``on_counts``."""
        while self.control.poll(0):
            got = self.inbox.recv()
            if got is not None and isinstance(got[1].body, DetectionCounts) and self.on_counts is not None:
                self.on_counts(got[1])

    def run_experiment(self, request: ExperimentRequest) -> ExperimentData:
        rec = self.call("run_experiment", {"kind": request.kind.value, "qubit": request.qubit,
                                           "shots": request.shots,
                                           "artificial_detuning": request.artificial_detuning},
                        {"sweep": np.asarray(request.sweep, dtype=np.float64)})
        m = self._result(rec, ExperimentResult)
        data = ExperimentData(
            kind=m.kind, qubit=m.qubit, sweep=rec.arrays["sweep"], sweep_unit=m.sweep_unit,
            signal=rec.arrays["signal"], shots=m.shots, settings=m.settings, time=m.time,
            duration=m.duration, iq0=rec.arrays.get("iq0"), iq1=rec.arrays.get("iq1"),
        )
        self.experiment_time += float(data.duration)
        return data

    def read_setting(self, setting: str) -> float:
        return self._result(self.call("read_setting", {"setting": setting}), ValueResult).value

    def write_setting(self, setting: str, value: float, details: dict[str, Any] | None = None) -> None:
        """One setting as one update of the server's ledger (``details["node"]`` names the node)."""
        self.call("write_setting", {"setting": setting, "value": float(value), "details": details or {}})

    def now(self) -> float:
        return self._result(self.call("now"), ValueResult).value

    def qubits(self) -> tuple[str, ...]:
        return tuple(self._result(self.call("qubits"), QubitsResult).qubits)

    @staticmethod
    def _result(rec: Record, expected: type) -> Any:
        """The reply's result, which must be of type ``expected``."""
        result = rec.body.result
        if not isinstance(result, expected):
            raise PipelineError(f"{rec.body.call} answered with a {type(result).__name__}, "
                                f"expected a {expected.__name__}")
        return result


class RemoteLedger:
    """The worker's proxy for the instrument server's :class:`SettingsLedger`.

    Has the :class:`~qplane.calibration.updates.Ledger` methods; each is a call, answered by
    the one ledger where the write happens, so nothing here can disagree with it.

    Args:
        backend: the worker's :class:`RemoteBackend`.
    """

    def __init__(self, backend: RemoteBackend):
        self.backend = backend

    def apply(self, qubit: str, values: dict[str, float], *, node: str,
              fit: dict[str, Any] | None = None,
              details: dict[str, Any] | None = None) -> list[SettingChange]:
        """One atomic update of ``qubit``'s controls (``write_settings``).

        Raises:
            LimitError: the server's ledger refused it; nothing was written.
        """
        return self.update({f"{qubit}.{c}": v for c, v in values.items()}, node=node, fit=fit,
                           details=details)

    def update(self, settings: Mapping[str, float], *, node: str = "",
               fit: dict[str, Any] | None = None,
               details: dict[str, Any] | None = None) -> list[SettingChange]:
        """Write ``settings`` (``"<qubit>.<control>"`` -> value) all or nothing."""
        return self._changes("write_settings", {
            "settings": {s: float(v) for s, v in settings.items()}, "node": node,
            "fit": dict(fit or {}), "details": dict(details or {})})

    def revert(self, *, qubit: str, node: str) -> list[SettingChange]:
        return self._changes("revert", {"qubit": qubit, "node": node})

    def last_run(self, *, qubit: str, node: str) -> list[SettingChange]:
        return self._changes("last_run", {"qubit": qubit, "node": node})

    def changed_since(self, qubit: str, time: float) -> bool:
        rec = self.backend.call("changed_since", {"qubit": qubit, "time": float(time)})
        return self.backend._result(rec, ChangedResult).changed

    @property
    def history(self) -> tuple[SettingChange, ...]:
        """Every change the server's ledger committed this run, oldest first (fetched page by
        page, :meth:`history_page`)."""
        return tuple(self.history_since())

    def history_since(self, since: float | None = None, *, start: int = 0,
                      page: int = MAX_HISTORY_PAGE) -> list[SettingChange]:
        """The changes from index ``start`` on (made after ``since``, if given), every page
        of them; the pages asked for are bounded by the history's length when asked."""
        out: list[SettingChange] = []
        changes, nxt, total = self.history_page(start=start, limit=page, since=since)
        out.extend(changes)
        for _ in range(total // max(1, page) + 1):  # bounded, even if the history grows
            if nxt >= total:
                break
            changes, nxt, total = self.history_page(start=nxt, limit=page, since=since)
            out.extend(changes)
        return out

    def history_page(self, *, start: int = 0, limit: int = MAX_HISTORY_PAGE,
                     since: float | None = None) -> tuple[list[SettingChange], int, int]:
        """One page of the server's history: ``(changes, next start, total)``."""
        args: dict[str, Any] = {"start": int(start), "limit": int(limit)}
        if since is not None:
            args["since"] = float(since)
        rec = self.backend.call("history", args)
        result = self.backend._result(rec, HistoryPage)
        return ([SettingChange.from_dict(msgspec.structs.asdict(c)) for c in result.changes],
                result.next, result.total)

    def _changes(self, call: str, args: dict[str, Any]) -> list[SettingChange]:
        rec = self.backend.call(call, args)
        result = self.backend._result(rec, ChangesResult)
        return [SettingChange.from_dict(msgspec.structs.asdict(c)) for c in result.changes]


def _qplane_errors() -> dict[str, type[QplaneError]]:
    return {name: cls for name, cls in vars(_errors).items()
            if isinstance(cls, type) and issubclass(cls, QplaneError)}


def remote_error(call: str, error_type: str, message: str) -> QplaneError:
    """The error to raise for a refusal the server reported as ``error_type``/``message``.

    A qplane error keeps its class (a ``LimitError`` on the server is a ``LimitError`` here);
    anything else becomes a :class:`PipelineError` that names the remote type.

    >>> type(remote_error("write_settings", "LimitError", "LimitError: too far")).__name__
    'LimitError'
    >>> remote_error("read_setting", "KeyError", "KeyError: 'q9.x'")
    PipelineError("instrument server refused read_setting: KeyError: 'q9.x' (the server raised KeyError, not a qplane error)")
    """
    text = f"instrument server refused {call}: {message}"
    cls = _qplane_errors().get(error_type)
    if cls is None:
        return PipelineError(f"{text} (the server raised {error_type or 'an untyped error'}, "
                             "not a qplane error)")
    return cls(text)
