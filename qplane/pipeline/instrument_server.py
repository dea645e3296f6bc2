"""The instrument server: the only process that touches instruments.

It acquires syndrome blocks from the QPU and pushes them to the decoding workers (and to the
recorder), keeps at most ``max_in_flight`` blocks outstanding, applies the corrections that come
back strictly in acquisition order, and reports each applied block, with its timing and (when
simulated) its score against the truth, to the recorder. It also answers circuit requests on its
control socket and publishes live statistics.

Corrections are matched to blocks by the syndrome record's sequence number. A correction for a
block that is not outstanding is a duplicate and is recorded as one; a block whose correction does
not arrive within ``correction_timeout`` seconds is recorded as lost, and the frame moves on.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import zmq

from qplane.codes import circuit_fingerprint
from qplane.errors import QplaneError
from qplane.pipeline._counts import DetectionCounter
from qplane.pipeline._in_flight import InFlight, InFlightBlocks
from qplane.pipeline._latency import LatencyWindow
from qplane.pipeline.transport import Inbox, Outbox, send_record
from qplane.pipeline.worker import Worker
from qplane.records import (
    Applied,
    CalibrationCall,
    Circuit,
    CircuitRequest,
    Correction,
    QecInfo,
    RunStart,
    Stats,
    Syndrome,
    encode,
)

SOURCE = "instrument_server"


class InstrumentServer(Worker):
    """Acquisition and actuation loop around one QPU instrument.

    Args:
        qpu: the QPU instrument (a :class:`qplane.device.QECDevice`).
        syndromes: PUSH socket to the decoding workers.
        corrections: PULL socket from the decoding workers.
        control: ROUTER socket answering circuit requests.
        records: outbox to the recorder.
        monitor: outbox (PUB) for live statistics, or None.
        max_in_flight: blocks sent but not yet corrected, at most.
        correction_timeout: seconds after which a block's missing correction is declared lost.
        duration: stop acquiring after this many seconds (None: until :meth:`stop`).
        max_blocks: stop acquiring after this many blocks (None: no limit).
    """

    def __init__(self, *, qpu: Any, syndromes: zmq.Socket, corrections: zmq.Socket,
                 control: zmq.Socket, records: Outbox, monitor: Outbox | None,
                 max_in_flight: int, correction_timeout: float, duration: float | None = None,
                 max_blocks: int | None = None, stats_interval: float = 0.5,
                 calibration: Any = None, counts_interval: float = 0.5,
                 truth_interval: float = 5.0):
        super().__init__()
        self.qpu = qpu
        self.syndromes = Outbox(syndromes, run_id=records.run_id, source=SOURCE)
        self.corrections = Inbox(corrections, run_id=records.run_id, on_reject=self._on_reject)
        self.control = Inbox(control, run_id=records.run_id, on_reject=self._on_reject, envelope=1)
        self.control_replies = Outbox(control, run_id=records.run_id, source=SOURCE)
        self.records = records
        self.monitor = monitor
        self.max_in_flight = max_in_flight
        self.correction_timeout = correction_timeout
        self.duration = duration
        self.max_blocks = max_blocks
        self.stats_interval = stats_interval
        self.calibration = calibration  # a CalibrationService, or None
        self.counts_interval = counts_interval
        self.truth_interval = truth_interval
        self._next_truth = 0.0
        self._counts = DetectionCounter(counts_interval)
        self.poller = zmq.Poller()
        self.poller.register(corrections, zmq.POLLIN)
        self.poller.register(control, zmq.POLLIN)
        self._in_flight = InFlightBlocks()
        self._circuits: dict[str, Circuit] = {}  # circuit id -> its "circuit" record body
        self._acquiring = False
        self._t_start = 0.0
        self._next_stats = 0.0
        self.blocks_acquired = 0
        self.blocks_applied = 0
        self.blocks_lost = 0
        self.duplicates = 0
        self.shots_applied = 0
        self.failures = 0
        self.shadow_shots = 0
        self.shadow_disagreements = 0
        self.latency = LatencyWindow()
        self.decode_latency = LatencyWindow()
        self.workers: set[str] = set()
        self.worker_blocks: dict[str, int] = {}
        self.worker_last_seen: dict[str, float] = {}
        self.ready_workers: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, *, config_text: str, config_path: str, station_snapshot: dict,
              qec_attrs: dict[str, Any] | None = None) -> None:
        """Announce the run to the recorder and start acquiring.

        ``qec_attrs`` (e.g. the decoder's name) join the QPU's code parameters as ``/qec``
        attributes of the run file.
        """
        circuit = self.qpu.decoding_circuit()
        qec = QecInfo(distance=self.qpu.distance(), rounds=self.qpu.rounds(),
                      basis=self.qpu.basis(), shots_per_block=self.qpu.shots_per_block(),
                      **(qec_attrs or {}))
        self.records.send(RunStart(
            config_text=config_text, config_path=config_path, station_snapshot=station_snapshot,
            num_detectors=circuit.num_detectors, num_observables=circuit.num_observables, qec=qec,
        ))
        self._remember_circuit(circuit)
        self._acquiring = True
        self._t_start = time.time()
        super().start()

    def wait_for_workers(self, count: int, timeout: float) -> bool:
        """Answer control requests until ``count`` workers have asked for the circuit.

        Acquisition waits for this, so the first blocks' latency does not include the workers'
        start-up. Returns False if ``timeout`` seconds pass first (acquisition then starts anyway).
        """
        deadline = time.time() + timeout
        while len(self.ready_workers) < count and time.time() < deadline:
            if self.control.socket.poll(50):
                self._handle_control()
        self._t_start = time.time()
        return len(self.ready_workers) >= count

    def stop(self) -> None:
        """Stop acquiring; outstanding blocks are still corrected (see :meth:`drain`)."""
        self._acquiring = False
        super().stop()

    @property
    def acquiring(self) -> bool:
        return self._acquiring

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def drain(self, timeout: float) -> None:
        """Stop acquiring, then handle corrections until none is outstanding or ``timeout`` passes."""
        self.stop()
        deadline = time.time() + timeout
        while self._in_flight and time.time() < deadline:
            self.step(poll_ms=20)
        self._publish_stats(force=True)

    def run(self, should_stop: Any = lambda: False, max_steps: int | None = None) -> None:
        """Loop :meth:`step` until the duration/block limit is reached or ``should_stop()``."""
        super().run(should_stop, max_steps)
        self.stop()

    # -- one unit of work --------------------------------------------------------------------
    def step(self, poll_ms: int = 50) -> int:
        """Handle pending messages, acquire one block if allowed, expire lost corrections;
        return the messages handled plus the block acquired."""
        now = time.time()
        if self._acquiring and (
            (self.duration is not None and now - self._t_start >= self.duration)
            or (self.max_blocks is not None and self.blocks_acquired >= self.max_blocks)
        ):
            self.stop()
        handled = 0
        can_acquire = self._acquiring and len(self._in_flight) < self.max_in_flight
        events = dict(self.poller.poll(0 if can_acquire else poll_ms))
        if events.get(self.corrections.socket):
            while self.corrections.socket.poll(0):
                self._handle_correction()
                handled += 1
        if events.get(self.control.socket):
            while self.control.socket.poll(0):
                self._handle_control()
                handled += 1
        if can_acquire:
            self._acquire()
            handled += 1
        self._expire(time.time())
        self._publish_stats()
        if self.calibration is not None and time.time() >= self._next_truth:
            self._next_truth = time.time() + self.truth_interval
            self.calibration.record_truth(self.records)  # ends with the server's stream
        return handled

    def _acquire(self) -> None:
        block = self.qpu.acquire_block()
        t_acquired = time.time()
        if block.circuit_id not in self._circuits:
            self._remember_circuit(self.qpu.decoding_circuit())
        rec = self.syndromes.build(Syndrome(
            block_index=block.index, circuit_id=block.circuit_id,
            num_detectors=block.num_detectors, t_acquired=t_acquired,
            settings_changes=self.calibration.writes if self.calibration is not None else 0,
        ), {"detection_events": block.detection_events})
        frames = encode(rec)
        self.syndromes.send_frames(rec, frames)
        self.records.send_frames(rec, frames)  # the same record: the file has every block
        circuit = self._circuits.get(block.circuit_id)
        width = (circuit.num_observables + 7) // 8 if circuit is not None else -1
        self._in_flight.add(InFlight(rec.seq, block.index, t_acquired, len(block.detection_events),
                                     width))
        self.blocks_acquired += 1
        if self.calibration is not None and self.calibration.subscribers:
            self._count_detections(block)

    def _count_detections(self, block: Any) -> None:
        """Sum per-detector detection counts; send them to calibration when a report is due."""
        now = time.time()
        if self._counts.add(block.detection_events, num_detectors=block.num_detectors, now=now):
            counts, shots = self._counts.take(now)
            self.calibration.publish_counts(self.control.socket, self.control_replies,
                                            circuit_id=block.circuit_id, counts=counts, shots=shots)

    def _remember_circuit(self, circuit: Any) -> str:
        """Keep ``circuit`` (as its record meta) by id and send it to the recorder once."""
        circuit_id = circuit_fingerprint(circuit)
        if circuit_id not in self._circuits:
            body = Circuit(circuit_id=circuit_id, num_detectors=circuit.num_detectors,
                           num_observables=circuit.num_observables, stim_circuit=str(circuit))
            self._circuits[circuit_id] = body
            self.records.send(body)
        return circuit_id

    def _handle_correction(self) -> None:
        got = self.corrections.recv()
        if got is None:
            return
        _, rec = got
        body = rec.body
        if not isinstance(body, Correction):
            self.records.event("warning", "unexpected_record",
                               f"correction socket got a {rec.kind} record from {rec.source}; ignored")
            return
        self.workers.add(rec.source)
        self.worker_last_seen[rec.source] = time.time()
        shots, width = rec.arrays["predictions"].shape
        status = self._in_flight.offer(body.syndrome_seq, rec, shots=shots, width=width)
        if status == "not_outstanding":
            self.duplicates += 1
            self.records.event("warning", "duplicate_correction",
                               f"correction for block seq {body.syndrome_seq} from {rec.source} "
                               "is not outstanding (duplicate, or arrived after it was declared lost)",
                               syndrome_seq=body.syndrome_seq, worker=rec.source)
            return
        if status in ("wrong_shots", "wrong_width"):
            block = self._in_flight.get(body.syndrome_seq)
            got, want = ((f"{shots} shots", f"{block.shots}") if status == "wrong_shots" else
                         (f"{width} bytes per shot", f"{block.width} bytes per shot"))
            self.records.event("error", "bad_correction",
                               f"correction from {rec.source} for block seq {block.seq} has "
                               f"{got}, the block needs {want}; not applied",
                               syndrome_seq=block.seq, worker=rec.source)
            return
        self._apply_ready()

    def _apply_ready(self) -> None:
        """Apply corrections in acquisition order, as far as they have arrived."""
        for block in self._in_flight.ready():
            corr, c = block.correction, block.correction.body
            predictions = np.array(corr.arrays["predictions"])
            try:
                result = self.qpu.apply_correction(block.block_index, predictions)
            except QplaneError as e:  # the device refused it: the block's frame is unknown
                self.blocks_lost += 1
                self.records.event("error", "correction_refused",
                                   f"the QPU refused the correction of block seq {block.seq} from "
                                   f"{corr.source}: {e}; its logical frame is unknown",
                                   syndrome_seq=block.seq, worker=corr.source)
                continue
            t_applied = time.time()
            self.blocks_applied += 1
            self.worker_blocks[corr.source] = self.worker_blocks.get(corr.source, 0) + 1
            self.shots_applied += result.shots
            self.failures += result.failures
            self.shadow_shots += c.shadow_shots
            self.shadow_disagreements += c.shadow_disagreements
            self.latency.add(t_applied - block.t_acquired)
            self.decode_latency.add(c.decode_seconds)
            arrays = {"predictions": predictions}
            if result.truth is not None:
                arrays["truth"] = result.truth
            self.records.send(Applied(
                syndrome_seq=block.seq, t_decoded=c.t_decoded, t_applied=t_applied,
                decode_seconds=c.decode_seconds, worker=corr.source, failures=result.failures,
                shadow_shots=c.shadow_shots, shadow_disagreements=c.shadow_disagreements,
            ), arrays)

    def _expire(self, now: float) -> None:
        """Declare lost the blocks whose correction is overdue; apply what waited behind them."""
        while lost := list(self._in_flight.expired(now, self.correction_timeout)):
            for block in lost:
                self.blocks_lost += 1
                self.records.event("error", "correction_lost",
                                   f"no correction for block seq {block.seq} (block {block.block_index}) "
                                   f"within {self.correction_timeout} s; its logical frame is unknown",
                                   syndrome_seq=block.seq, block_index=block.block_index)
            self._apply_ready()

    def _handle_control(self) -> None:
        got = self.control.recv()
        if got is None:
            return
        routing, rec = got
        if isinstance(rec.body, CircuitRequest):
            # An empty id asks for the current circuit: a worker announcing it is starting.
            circuit_id = rec.body.circuit_id
            if circuit_id == "":
                self.ready_workers.add(rec.source)
            if circuit_id not in self._circuits:
                circuit_id = self._remember_circuit(self.qpu.decoding_circuit())
            reply = self.control_replies.build(self._circuits[circuit_id])
            send_record(self.control.socket, reply, prefix=routing)
        elif isinstance(rec.body, CalibrationCall) and self.calibration is not None:
            self.calibration.handle(routing, rec)
        else:
            self.records.event("warning", "unexpected_control",
                               f"control socket got a {rec.kind} record from {rec.source}; ignored")

    def _on_reject(self, reason: str, _frames: list[bytes]) -> None:
        self.records.event("error", "rejected_record", f"instrument server rejected a message: {reason}")

    # -- statistics --------------------------------------------------------------------------
    def stats(self) -> Stats:
        """A snapshot of the run's numbers so far (what the live view shows)."""
        cal = self.calibration
        return Stats(
            elapsed=time.time() - self._t_start, blocks_acquired=self.blocks_acquired,
            blocks_applied=self.blocks_applied, blocks_lost=self.blocks_lost,
            in_flight=len(self._in_flight), duplicates=self.duplicates,
            shots=self.shots_applied, failures=self.failures,
            latency_p50=self.latency.quantile(0.5), latency_p99=self.latency.quantile(0.99),
            decode_p50=self.decode_latency.quantile(0.5),
            decode_p99=self.decode_latency.quantile(0.99),
            shadow_shots=self.shadow_shots, shadow_disagreements=self.shadow_disagreements,
            rejected=self.corrections.rejected + self.control.rejected,
            workers=sorted(self.workers), acquiring=self._acquiring,
            calibration_calls=cal.calls if cal else 0,
            calibration_experiments=cal.experiments if cal else 0,
            calibration_seconds=float(cal.experiment_seconds) if cal else 0.0,
            parameter_updates=cal.writes if cal else 0,
            parameter_updates_refused=cal.updates_refused if cal else 0,
            worker_blocks=dict(self.worker_blocks), worker_last_seen=dict(self.worker_last_seen),
        )

    def _publish_stats(self, force: bool = False) -> None:
        now = time.time()
        if self.monitor is None or (not force and now < self._next_stats):
            return
        self._next_stats = now + self.stats_interval
        self.monitor.send(self.stats())
