"""The calibration worker in the pipeline: the calibration graph's worker, over the wire.

:class:`PipelineCalibrationWorker` has the pipeline's one worker shape
(:class:`~qplane.pipeline.worker.Worker`): its control socket (a DEALER connected to the
instrument server's control ROUTER) and its records outbox are passed in. On :meth:`start` it
fetches the decoding circuit, asks the server for the qubits, and builds the
:class:`~qplane.calibration.CalibrationWorker` from the validated ``qplane.calibration``
section, with a :class:`~qplane.pipeline.calibration_link.RemoteBackend` and
:class:`~qplane.pipeline.calibration_link.RemoteLedger` (the one ledger lives in the server).
Each :meth:`step` hands the detection counts that arrived to the syndrome monitor and does one
unit of calibration work; node runs go to the recorder as ``calibration_run`` records, errors
as ``calibration_error`` events. With a calibration state file (``qplane.calibration.state``)
each node's validity starts as the state's entries say
(:func:`~qplane.calibration.state.mark_validity`): what the last run calibrated is not checked
again before its ``valid_until``, and what expired is checked first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import zmq

from qplane.pipeline.calibration_link import RemoteBackend, RemoteLedger
from qplane.pipeline.transport import Outbox, request_circuit
from qplane.pipeline.worker import Worker
from qplane.records import Record

#: How long an idle calibration worker waits for syndrome reports before its next pass.
IDLE_WAIT_MS = 250


class PipelineCalibrationWorker(Worker):
    """Keeps the device in spec from inside a run.

    Args:
        config: the run's validated :class:`~qplane.config.Config`.
        control: DEALER socket connected to the instrument server's control ROUTER.
        records: outbox to the recorder (node runs, errors, lifecycle).
        timeout: seconds to wait for each of the instrument server's replies.
        should_stop: checked while a call waits; when it says so the call gives up at once.
        on_wait: called while a call waits (the process's heartbeats).
    """

    def __init__(self, config: Any, *, control: zmq.Socket, records: Outbox,
                 timeout: float = 60.0, should_stop: Any = lambda: False,
                 on_wait: Any = lambda: None):
        super().__init__()
        self.config = config
        self.control = control
        self.records = records
        self.timeout = timeout
        self.outbox = Outbox(control, run_id=records.run_id, source=records.source)
        self.backend = RemoteBackend(control, self.outbox, timeout=timeout,
                                     on_counts=self._on_counts, should_stop=should_stop,
                                     on_wait=on_wait)
        self.worker: Any = None  # the graph's CalibrationWorker, built on start
        self.circuit_id = ""
        self._figures = True

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Fetch the circuit and qubits from the server and build the graph's worker."""
        from qplane.calibration import build_worker, validate_calibration
        from qplane.codes import patch_layout

        section = validate_calibration(self.config.qplane.calibration)
        self._figures = bool(section["figures"])
        self.circuit_id, circuit = request_circuit(self.control, self.outbox, "",
                                                   timeout=self.timeout,
                                                   should_stop=self.backend.should_stop)
        geometry = self.config.qpu_geometry()
        layout = patch_layout(distance=geometry.distance, basis=geometry.basis)
        self.worker = build_worker(
            self.config.qplane.calibration, self.backend, qubits=self.backend.qubits(),
            circuit=circuit, layout=layout, on_run=self._on_run, on_error=self._on_error,
            poll=self.backend.poll_counts, ledger=RemoteLedger(self.backend),
            start_calibrated=geometry.start_calibrated)
        if section["state"]:
            import time

            from qplane.calibration import load_state, mark_validity

            mark_validity(self.worker.graph, load_state(section["state"]), self.worker.qubits,
                          now=time.time(), read_setting=self.backend.read_setting)
        self.worker.start()
        super().start()

    def step(self, poll_ms: int = IDLE_WAIT_MS) -> int:
        """One unit of calibration work; an idle pass waits up to ``poll_ms`` for syndrome
        reports instead of spinning. Returns 1 when a node ran or was checked, else 0."""
        did = self.worker.step()
        if did == "idle":
            self.control.poll(poll_ms)
        self.backend.poll_counts()
        return 0 if did == "idle" else 1

    def close(self) -> None:
        """Close the graph's worker and report its counters."""
        if self.worker is not None and not self.closed:
            self.worker.close()
            self.records.event("info", "worker_stopped", f"{self.records.source} stopped",
                               **{k: int(v) for k, v in self.worker.stats.items()
                                  if isinstance(v, (int, np.integer))})
        super().close()

    # -- callbacks of the graph's worker ------------------------------------------------------
    def _on_counts(self, rec: Record) -> None:
        if self.worker is not None and rec.body.circuit_id == self.circuit_id:
            self.worker.report_detector_counts(np.asarray(rec.arrays["counts"]), rec.body.shots)

    def _on_run(self, run: Any) -> None:
        from qplane.calibration import render_png

        png = render_png(run) if self._figures else b""
        body, arrays = run.record_parts(figure_png=png)
        self.records.send(body, arrays)

    def _on_error(self, message: str, tb: str) -> None:
        if self.backend.should_stop():  # the run is ending: the step was abandoned, not failed
            self.records.event("info", "calibration_step_abandoned",
                               f"{message} (the worker was stopping)")
            return
        self.records.event("error", "calibration_error", message, traceback=tb)
