"""The calibration backend over the wire: the instrument server's side and the worker's side.

The calibration worker needs four things of the device (see
:class:`qplane.calibration.run.CalibrationBackend`): run an experiment, read a setting, write a
setting, read the clock. In the pipeline only the instrument server touches instruments, so:

- :class:`CalibrationService` runs inside the instrument server. It answers ``calibration_call``
  records arriving on the control socket with ``calibration_reply`` records, using an in-process
  backend (:class:`qplane.calibration.backend.StationBackend`: every write goes through the
  control map's limits and the instruments' validators). Each write is also recorded as a
  ``parameter_change`` (old value read back before, new value read back after). A refused call
  (a limit, a bad request) is answered with its error and recorded as an event; nothing is
  written. Calibration experiments run between QEC blocks: the server time-shares the device.
  On a simulated device (one with :class:`qplane.device.SimulatedTruth`) each change also
  records the setting's true ideal value (``details["true_value"]``), so reports can draw
  calibrated settings against the truth.
- :class:`RemoteBackend` is the worker's backend: the same four calls, each a request and a
  reply on a DEALER socket. ``detection_counts`` records that the server pushes on the same
  socket (syndrome statistics for the worker's triggers) are handed to ``on_counts``.
"""

from __future__ import annotations

import traceback
from typing import Any, Callable

import numpy as np
import zmq

from qplane.device import ExperimentData, ExperimentRequest, SimulatedTruth
from qplane.errors import PipelineError, QplaneError
from qplane.pipeline.transport import Inbox, Outbox, send_record
from qplane.records import (
    CalibrationCall,
    CalibrationReply,
    DetectionCounts,
    ParameterChange,
    Record,
)

CALLS = ("run_experiment", "read_setting", "write_setting", "now", "qubits")


class CalibrationService:
    """Answers calibration calls with an in-process backend (inside the instrument server).

    Args:
        backend: has ``run_experiment``, ``read_setting``, ``write_setting``, ``now``.
        qubits: the qubit names calibration may address.
        replies: outbox on the control socket (replies go behind the caller's routing frames).
        records: outbox to the recorder (parameter changes, refused calls).
    """

    def __init__(self, backend: Any, qubits: tuple[str, ...], *, replies: Outbox, records: Outbox):
        self.backend = backend
        self.qubits = tuple(qubits)
        self.replies = replies
        self.records = records
        self.calls = 0
        self.refused = 0
        self.writes = 0
        self.experiments = 0
        self.experiment_seconds = 0.0
        self.subscribers: dict[bytes, str] = {}  # routing id -> source, for detection counts

    def handle(self, routing: list[bytes], rec: Record) -> None:
        """Answer one ``calibration_call``."""
        self.calls += 1
        call, args = rec.body.call, rec.body.args
        self.subscribers[routing[0]] = rec.source
        arrays: dict[str, np.ndarray] = {}
        try:
            if call == "run_experiment":
                request = ExperimentRequest(
                    args["kind"], args["qubit"], rec.arrays.get("sweep"), shots=int(args["shots"]),
                    artificial_detuning=float(args.get("artificial_detuning", 0.0)))
                data = self.backend.run_experiment(request)
                self.experiments += 1
                self.experiment_seconds += float(data.duration)
                result = data.metadata()
                arrays = {k: np.ascontiguousarray(v) for k, v in data.arrays().items()}
            elif call == "read_setting":
                result = {"value": float(self.backend.read_setting(args["setting"]))}
            elif call == "write_setting":
                result = self._write(rec.source, args)
            elif call == "now":
                result = {"value": float(self.backend.now())}
            elif call == "qubits":
                result = {"qubits": list(self.qubits)}
            else:
                raise PipelineError(f"unknown calibration call {call!r}; known calls: {', '.join(CALLS)}")
            error = ""
        except (QplaneError, KeyError, TypeError, ValueError) as e:
            self.refused += 1
            error = f"{type(e).__name__}: {e}"
            result, arrays = {}, {}
            self.records.event("warning", "calibration_call_refused",
                               f"{call} from {rec.source} refused: {error}", call=call, args=args,
                               traceback=traceback.format_exc())
        reply = self.replies.build(CalibrationReply(call=call, error=error, result=result),
                                   arrays)
        send_record(self.replies.socket, reply, prefix=routing)

    def _write(self, source: str, args: dict[str, Any]) -> dict[str, Any]:
        setting, value = args["setting"], float(args["value"])
        old = float(self.backend.read_setting(setting))
        self.backend.write_setting(setting, value)
        new = float(self.backend.read_setting(setting))
        details = dict(args.get("details") or {})
        details["requested_by"] = source
        details["requested"] = value
        true_value = self._true_value(setting)
        if true_value is not None:
            details["true_value"] = true_value
        self.writes += 1
        self.records.send(ParameterChange(parameter=setting, old=old, new=new, details=details))
        return {"old": old, "new": new}

    def _true_settings(self) -> dict[str, float] | None:
        """A simulated device's ideal settings for its hidden truth (None for hardware)."""
        device = getattr(self.backend, "device", None)
        if not isinstance(device, SimulatedTruth):
            return None
        try:
            return device.true_settings()
        except (QplaneError, AttributeError, ValueError, IndexError):
            return None

    def _true_value(self, setting: str) -> float | None:
        """The ideal value of ``setting`` for a simulated device's hidden truth (None for hardware)."""
        ideal = self._true_settings()
        return None if ideal is None else ideal.get(setting)

    def record_truth(self, truth_outbox: Outbox) -> int:
        """Record a simulated device's true ideal settings as ``parameter_change`` rows from
        source ``truth`` (old = new = the true value), so reports can draw calibrated settings
        against the truth over time. Returns the rows sent (0 for hardware)."""
        ideal = self._true_settings()
        if ideal is None:
            return 0
        now = float(self.backend.now())
        sent = 0
        for setting, value in ideal.items():
            truth_outbox.send(ParameterChange(
                parameter=setting, old=value, new=value,
                details={"simulated_time": now, "true_value": value}))
            sent += 1
        return sent

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
    """

    def __init__(self, control: zmq.Socket, outbox: Outbox, *, timeout: float = 60.0,
                 on_counts: Callable[[Record], None] | None = None):
        self.control = control
        self.outbox = outbox
        self.timeout = timeout
        self.on_counts = on_counts
        self.inbox = Inbox(control, run_id=outbox.run_id)
        self.experiment_time = 0.0

    def _call(self, call: str, args: dict[str, Any] | None = None,
              arrays: dict[str, np.ndarray] | None = None) -> Record:
        self.outbox.send(CalibrationCall(call=call, args=args or {}), arrays)
        while True:
            if not self.control.poll(int(self.timeout * 1000)):
                raise PipelineError(f"the instrument server did not answer {call} within {self.timeout} s")
            got = self.inbox.recv()
            if got is None:
                continue
            rec = got[1]
            if rec.kind == "detection_counts":
                if self.on_counts is not None:
                    self.on_counts(rec)
                continue
            if not isinstance(rec.body, CalibrationReply) or rec.body.call != call:
                raise PipelineError(f"asked {call}, got a {rec.kind} ({getattr(rec.body, 'call', '')})")
            if rec.body.error:
                raise QplaneError(f"instrument server refused {call}: {rec.body.error}")
            return rec

    def poll_counts(self) -> None:
        """Hand every ``detection_counts`` record already waiting to ``on_counts``."""
        while self.control.poll(0):
            got = self.inbox.recv()
            if got is not None and got[1].kind == "detection_counts" and self.on_counts is not None:
                self.on_counts(got[1])

    def run_experiment(self, request: ExperimentRequest) -> ExperimentData:
        rec = self._call("run_experiment", {"kind": request.kind.value, "qubit": request.qubit,
                                            "shots": request.shots,
                                            "artificial_detuning": request.artificial_detuning},
                         {"sweep": np.asarray(request.sweep, dtype=np.float64)})
        m = rec.body.result
        data = ExperimentData(
            kind=m["kind"], qubit=m["qubit"], sweep=rec.arrays["sweep"], sweep_unit=m["sweep_unit"],
            signal=rec.arrays["signal"], shots=m["shots"], settings=m["settings"], time=m["time"],
            duration=m["duration"], iq0=rec.arrays.get("iq0"), iq1=rec.arrays.get("iq1"),
        )
        self.experiment_time += float(data.duration)
        return data

    def read_setting(self, setting: str) -> float:
        return float(self._call("read_setting", {"setting": setting}).body.result["value"])

    def write_setting(self, setting: str, value: float, details: dict[str, Any] | None = None) -> None:
        self._call("write_setting", {"setting": setting, "value": float(value), "details": details or {}})

    def now(self) -> float:
        return float(self._call("now").body.result["value"])

    def qubits(self) -> tuple[str, ...]:
        return tuple(self._call("qubits").body.result["qubits"])
