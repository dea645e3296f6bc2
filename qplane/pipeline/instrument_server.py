"""The instrument server: the only process that touches instruments.

It acquires syndrome blocks from the QPU, dispatches each to a registered decoding worker
holding credit (:mod:`qplane.pipeline.dispatch`: ROUTER/DEALER, the ZeroMQ guide's
load-balancing pattern; the small blocks one step acquires for one worker travel as one
:class:`~qplane.records.SyndromeBlocks` record) and sends the same record to the recorder,
keeps at most ``max_in_flight`` blocks
outstanding, applies the corrections that come back strictly in acquisition order, and reports
each applied block, with its timing and (when simulated) its score against the truth, to the
recorder. It also answers circuit requests on its
control socket and publishes live statistics.

Corrections are matched to blocks by the syndrome record's sequence number, and accepted only
from the worker the block was dispatched to. A correction for a block that is not outstanding is
a duplicate and is recorded as one; a worker that falls silent is declared lost and its blocks
are re-dispatched; a block whose correction does not arrive within ``correction_timeout``
seconds of its last dispatch is recorded as lost, and the frame moves on.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import zmq

from qplane.codes import circuit_fingerprint
from qplane.device import acquire_blocks, apply_corrections
from qplane.errors import SourceExhausted
from qplane.pipeline.security import role_of
from qplane.pipeline._counts import DetectionCounter
from qplane.pipeline._in_flight import InFlight, InFlightBlocks, same_circuit_runs, syndrome_record
from qplane.pipeline._latency import LatencyWindow
from qplane.pipeline.dispatch import Dispatcher
from qplane.pipeline.rejections import Rejection, RejectionLog
from qplane.pipeline.transport import Inbox, Outbox, queued, send_record
from qplane.pipeline.worker import Worker
from qplane.records import (
    MAX_CORRECTIONS,
    Applied,
    AppliedBlocks,
    CalibrationCall,
    Circuit,
    CircuitRequest,
    QecInfo,
    RunStart,
    Stats,
    pack,
)

SOURCE = "instrument_server"
#: What the server sends the recorder is bundled (one message for many records) up to this
#: many records or this many seconds (a wait on its sockets ends by then). The recorder writes
#: every flush interval (0.5 s): a longer bundle costs no one a wait, and each message wakes
#: the recorder (and both sides' ZeroMQ I/O threads) once.
BUNDLE_RECORDS = 64
BUNDLE_SECONDS = 0.025
#: Blocks under this many shots are acquired while there is room in flight and dispatched
#: together (at most ACQUIRE_BATCH at once); bigger ones are sent one by one, as acquired.
SMALL_BLOCK_SHOTS = 256
ACQUIRE_BATCH = 64
#: At most this many lone small blocks' syndromes wait to go to the recorder as one
#: :class:`~qplane.records.SyndromeBlocks` (below its ``MAX_BLOCKS``).
MAX_LONE_HELD = 128


class InstrumentServer(Worker):
    """Acquisition and actuation loop around one QPU instrument.

    Args:
        qpu: the QPU instrument (a :class:`qplane.device.QECDevice`).
        dispatch: ROUTER socket (bound) the decoding workers' DEALERs connect to: blocks out,
            registrations, heartbeats and corrections in.
        control: ROUTER socket answering circuit requests.
        records: outbox to the recorder.
        monitor: outbox (PUB) for live statistics, or None.
        max_in_flight: blocks sent but not yet corrected, at most.
        correction_timeout: seconds after which a block's missing correction is declared lost.
        duration: stop acquiring after this many seconds (None: until :meth:`stop`).
        max_blocks: stop acquiring after this many blocks (None: no limit).
        heartbeat_interval: seconds between heartbeats to each decoding worker.
        heartbeat_timeout: a decoding worker silent this long is declared lost.
        acquire_batch: most small blocks acquired in one step and dispatched together
            (1: each block is sent as it is acquired).
        whole_batches: send each batch to one decoding worker whole where one has credit for
            it (the workers share one CPU: :func:`qplane.pipeline.placement.decoders_share_cpu`).
    """

    def __init__(self, *, qpu: Any, dispatch: zmq.Socket,
                 control: zmq.Socket, records: Outbox, monitor: Outbox | None,
                 max_in_flight: int, correction_timeout: float, duration: float | None = None,
                 max_blocks: int | None = None, stats_interval: float = 0.5,
                 calibration: Any = None, counts_interval: float = 0.5,
                 truth_interval: float = 5.0, heartbeat_interval: float = 0.25,
                 heartbeat_timeout: float = 1.5, acquire_batch: int = ACQUIRE_BATCH,
                 whole_batches: bool = False):
        super().__init__()
        self.qpu = qpu
        self.syndromes = Outbox(dispatch, run_id=records.run_id, source=SOURCE)
        self.control = Inbox(control, run_id=records.run_id, on_reject=self._on_reject, envelope=1)
        self.control_replies = Outbox(control, run_id=records.run_id, source=SOURCE)
        self.records = records
        self.monitor = monitor
        self.max_in_flight = max_in_flight
        self.acquire_batch = max(1, acquire_batch)
        self.correction_timeout = correction_timeout
        self.duration = duration
        self.max_blocks = max_blocks
        self.stats_interval = stats_interval
        self.calibration = calibration  # a CalibrationService, or None
        self.counts_interval = counts_interval
        self.truth_interval = truth_interval
        self._next_truth = 0.0
        self._counts = DetectionCounter(counts_interval)
        self.rejections = RejectionLog()
        self._in_flight = InFlightBlocks()
        self.dispatcher = Dispatcher(dispatch, blocks=self._in_flight, records=records,
                                     source=SOURCE, heartbeat_interval=heartbeat_interval,
                                     heartbeat_timeout=heartbeat_timeout,
                                     whole_batches=whole_batches, on_reject=self._on_reject)
        self.poller = zmq.Poller()
        self.poller.register(dispatch, zmq.POLLIN)
        self.poller.register(control, zmq.POLLIN)
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
        # blocks applied since the last bundle went: reported with it, in one record
        self._applied: list[tuple[tuple, np.ndarray, np.ndarray | None]] = []
        self.worker_blocks: dict[str, int] = {}
        self.worker_last_seen: dict[str, float] = {}
        self.ready_workers: set[str] = set()
        self._next_seq = 0  # the next block's seq (its syndrome record's)
        self._next_batch_seq = 0  # the next syndrome_blocks record's seq
        # a paced source says whether a block is ready now (else acquiring one waits for it)
        self._block_ready = getattr(qpu, "block_ready", None)
        self._big_blocks = False  # the last block had SMALL_BLOCK_SHOTS or more: one at a time
        # Small blocks sent one per record (one in flight): the recorder's copy of their
        # syndromes waits here and goes with the bundle as one SyndromeBlocks record (in
        # order, before anything else of the syndrome stream), so the recorder decodes one
        # record per bundle instead of one per block. (record, its frames, the block)
        self._lone: list[tuple[Any, list[Any], InFlight]] = []

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
        self._big_blocks = qec.shots_per_block >= SMALL_BLOCK_SHOTS
        self._acquiring = True
        self._t_start = time.time()
        super().start()

    def wait_for_workers(self, count: int, timeout: float,
                         should_stop: Any = lambda: False) -> bool:
        """Answer control requests and registrations until ``count`` decoding workers have
        registered.

        Acquisition waits for this, so the first blocks' latency does not include the workers'
        start-up. Returns False if ``timeout`` seconds pass first (acquisition then starts anyway).
        """
        deadline = time.time() + timeout
        while (len(self.dispatcher.peers) < count and time.time() < deadline
               and not should_stop()):
            for sock, _ in self.poller.poll(100):
                if sock is self.control.socket:
                    self._handle_control()
                else:
                    for got in queued(self.dispatcher.inbox):
                        self._handle_dispatch(got)
            self.dispatcher.tick(time.time())
        self._t_start = time.time()
        return len(self.dispatcher.peers) >= count

    def stop(self) -> None:
        """Stop acquiring; outstanding blocks are still corrected (see :meth:`drain`)."""
        self._acquiring = False
        self._release_records()
        super().stop()

    @property
    def acquiring(self) -> bool:
        return self._acquiring

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def drain(self, timeout: float, on_wait: Any = lambda: None) -> None:
        """Stop acquiring, then handle corrections until none is outstanding or ``timeout``
        passes (``on_wait`` is called meanwhile: the process's heartbeats)."""
        self.stop()
        deadline = time.time() + timeout
        while self._in_flight and time.time() < deadline:
            self.step(poll_ms=20)
            on_wait()
        self._publish_stats(force=True)
        self.report_rejections()
        self._release_records()

    def run(self, should_stop: Any = lambda: False, max_steps: int | None = None) -> None:
        """Loop :meth:`step` until the duration/block limit is reached or ``should_stop()``
        (what is held for the recorder goes, whatever ends the loop)."""
        try:
            super().run(should_stop, max_steps)
        finally:
            self.stop()

    def _release_records(self) -> None:
        """Send the recorder what waits for it: the lone blocks' syndromes (in one record),
        the blocks applied since the last bundle (in one record) and the bundle held
        (:meth:`Outbox.release`)."""
        if self._lone:
            self._send_lone()
        if self._applied:
            done, self._applied = self._applied, []
            try:
                self._report_applied(done)
            except Exception as e:  # noqa: BLE001 - no record may stop the server
                self.dispatcher.inbox.reject("handler", f"reporting {len(done)} applied block(s) "
                                             f"failed: {type(e).__name__}: {e}")
        self.records.release()

    # -- one unit of work --------------------------------------------------------------------
    def step(self, poll_ms: int = 50) -> int:
        """Handle pending messages, acquire one block if allowed, expire lost corrections;
        return the messages handled plus the block acquired.

        With nothing to acquire it waits on its sockets, at most ``poll_ms`` and never past
        its next timer (heartbeats, a worker's timeout, statistics, the run's duration), so a
        correction is handled the moment it arrives.
        """
        now = time.time()
        handled = 0
        can_acquire = self._may_acquire(now)
        wait_ms = 0
        if not can_acquire:
            wait_ms = max(0, min(poll_ms, int((self._next_deadline() - now) * 1000) + 1))
            if wait_ms and (self.records.held or self._applied or self._lone):
                # What the recorder is owed waits for its bundle's time, not for each wait:
                # at one block in flight a message (and a woken recorder) per block would sit
                # on the block's path, between its dispatch and its correction.
                due = self.records.held_since + BUNDLE_SECONDS - time.monotonic()
                if due <= 0:
                    self._release_records()
                else:
                    wait_ms = min(wait_ms, int(due * 1000) + 1)
        events = dict(self.poller.poll(wait_ms))
        # What this step sends the recorder (syndromes, applied blocks, events) goes in one
        # bundle when it can wait no longer (records.release): one message, not one per record.
        self.records.hold()
        if events.get(self.dispatcher.socket):
            for got in queued(self.dispatcher.inbox, ready=True):  # no poll per message
                self._handle_dispatch(got)
                handled += 1
        if events.get(self.control.socket):
            while self.control.socket.poll(0):
                self._handle_control()
                handled += 1
        if not can_acquire and handled and self._may_acquire(time.time()):
            can_acquire = True  # the corrections just applied made room: acquire now, not a turn later
        if can_acquire:
            handled += self._acquire_some()
        now = time.time()
        self.dispatcher.tick(now)
        self._expire(now)
        self._publish_stats()
        if self.calibration is not None and time.time() >= self._next_truth:
            self._next_truth = time.time() + self.truth_interval
            self.calibration.record_truth(self.records)  # ends with the server's stream
        if (not self._acquiring
                or self.records.held + len(self._applied) + len(self._lone) >= BUNDLE_RECORDS
                or time.monotonic() - self.records.held_since >= BUNDLE_SECONDS):
            self._release_records()
        return handled

    def _may_acquire(self, now: float) -> bool:
        """Whether a block may be acquired now: acquiring (the run's duration or block limit,
        once reached, stops it) and room in flight."""
        if self._acquiring and (
            (self.duration is not None and now - self._t_start >= self.duration)
            or (self.max_blocks is not None and self.blocks_acquired >= self.max_blocks)
        ):
            self.stop()
        return self._acquiring and len(self._in_flight) < self.max_in_flight

    def _acquire_some(self) -> int:
        """Acquire blocks and send them to the decoders; return the blocks acquired.

        Small blocks (under :data:`SMALL_BLOCK_SHOTS` shots) are acquired while there is room
        in flight (at most ``acquire_batch``) and the QPU has one ready now (a paced source
        that would make the first wait for the next stops the batch: a lone block never waits
        for company), in one device call where the QPU batches
        (:func:`qplane.device.acquire_blocks`); each worker's share of them then goes as one
        record (:meth:`_send_blocks`). A big block, or the only one there is room for, goes at
        once.
        """
        # (tried: at most half the window at once, two batches in flight so that a worker
        # decodes one while the server handles the other; on the loaded 2-core machine it
        # cost more CPU per block and fewer blocks/s at block 1 than the whole room at once)
        room = min(self.max_in_flight - len(self._in_flight), self.acquire_batch)
        if self.max_blocks is not None:
            room = min(room, self.max_blocks - self.blocks_acquired)
        if self._big_blocks:  # big blocks go one by one, as acquired
            room = 1
        try:  # one device call for the batch where the QPU batches (qplane.device)
            got = acquire_blocks(self.qpu, max(room, 1), self._block_ready)
        except SourceExhausted as e:  # a replayed recording ends: so does acquisition
            self.records.event("info", "source_exhausted", f"{e}; acquisition ends")
            self.stop()
            return 0
        t_acquired = time.time()
        blocks = [self._keep(block, t_acquired) for block in got]
        self._big_blocks = blocks[-1].shots >= SMALL_BLOCK_SHOTS
        self._send_blocks(blocks)
        return len(blocks)

    def _keep(self, block: Any, t_acquired: float) -> InFlight:
        """Keep the block just acquired in flight (sent by the caller)."""
        if block.circuit_id not in self._circuits:
            self._remember_circuit(self.qpu.decoding_circuit())
        circuit = self._circuits.get(block.circuit_id)
        width = (circuit.num_observables + 7) // 8 if circuit is not None else -1
        events = block.detection_events
        flight = InFlight(self._next_seq, block.index, t_acquired, len(events), width,
                          circuit_id=block.circuit_id, num_detectors=block.num_detectors,
                          settings_changes=(self.calibration.writes if self.calibration is not None
                                            else 0), events=events)
        self._next_seq += 1
        self._in_flight.add(flight)
        self.blocks_acquired += 1
        if self.calibration is not None and self.calibration.subscribers:
            self._count_detections(block)
        return flight

    def _send_blocks(self, blocks: list[InFlight]) -> None:
        """Send blocks just acquired to the decoders and the recorder: each worker's share
        (:meth:`~qplane.pipeline.dispatch.Dispatcher.plan`) in one record, built and packed
        once and sent to both (the file has every block; those no worker has credit for go
        to the recorder now and to a worker when one has)."""
        start = 0
        for peer, count in self.dispatcher.plan(len(blocks)):
            for run in same_circuit_runs(blocks[start:start + count]):
                rec = syndrome_record(run, run_id=self.records.run_id, source=SOURCE,
                                      seq=self._next_batch_seq)
                if len(run) > 1:
                    self._next_batch_seq += 1
                frames = [pack(rec)]  # one frame: ZeroMQ (and CURVE) pay per frame
                for flight in run:
                    flight.frames, flight.members = frames, len(run)
                self.syndromes.sent[rec.kind] += 1
                if peer is not None:
                    self.dispatcher.send(peer, run, frames)
                else:
                    self.dispatcher.queue.extend(b.seq for b in run)
                # the same record to the recorder (the file has every block); a lone small
                # block's joins the others' for one record with the bundle (_send_lone)
                if len(run) == 1 and run[0].shots < SMALL_BLOCK_SHOTS:
                    self._lone.append((rec, frames, run[0]))
                    if len(self._lone) >= MAX_LONE_HELD:
                        self._send_lone()
                    continue
                if self._lone:  # the syndrome stream stays in order
                    self._send_lone()
                self.records.send_frames(rec, frames)
                if len(run) > 1:  # its blocks are counted on the syndrome stream too
                    self.records.sent["syndrome"] += len(run)
            start += count

    def _send_lone(self) -> None:
        """Send the recorder the lone blocks' syndromes held (in acquisition order): one
        block as the record it travelled in, several of one circuit as one
        :class:`~qplane.records.SyndromeBlocks` (numbered on that stream, each block keeping
        its seq on the syndrome stream, as a step's batch of blocks is sent)."""
        lone, self._lone = self._lone, []
        for run in same_circuit_runs([flight for _, _, flight in lone]):
            if len(run) == 1:
                rec, frames, _ = next(one for one in lone if one[2] is run[0])
                self.records.send_frames(rec, frames)
                continue
            rec = syndrome_record(run, run_id=self.records.run_id, source=SOURCE,
                                  seq=self._next_batch_seq)
            self._next_batch_seq += 1
            self.records.send_frames(rec, [pack(rec)])
            self.records.sent["syndrome"] += len(run)

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

    def _next_deadline(self) -> float:
        """The next time a timer is due: a heartbeat or worker timeout, statistics, the end."""
        deadline = self.dispatcher.next_deadline()
        if self.monitor is not None:
            deadline = min(deadline, self._next_stats)
        if self._acquiring and self.duration is not None:
            deadline = min(deadline, self._t_start + self.duration)
        oldest = self._in_flight.oldest()
        if oldest is not None and oldest.correction is None:
            deadline = min(deadline, max(oldest.t_acquired, oldest.t_sent)
                           + self.correction_timeout)
        return deadline

    def _handle_dispatch(self, received: Any) -> None:
        """Offer each block's correction a message carries, then apply what is ready: the
        blocks of one ``corrections`` record are applied (and reported) together."""
        offered = False
        peer, offers = self.dispatcher.receive(received)  # one per block corrected
        if offers:
            source = offers[0][1].source
            self.workers.add(source)
            self.worker_last_seen[source] = time.time()
        for seq, rec, at, predictions in offers:
            try:
                offered |= self._correction(seq, rec, at, predictions, peer)
            except Exception as e:  # noqa: BLE001 - no message may stop the server
                self.dispatcher.inbox.reject("handler", f"handling a {rec.kind} record failed: "
                                             f"{type(e).__name__}: {e}", rec=rec)
        if offered:
            try:
                self._apply_ready()
            except Exception as e:  # noqa: BLE001 - no message may stop the server
                self.dispatcher.inbox.reject("handler", f"applying corrections failed: "
                                             f"{type(e).__name__}: {e}")

    def _correction(self, seq: int, rec: Any, at: int, predictions: np.ndarray,
                    peer: Any) -> bool:
        """Attach block ``seq``'s correction (entry ``at`` of ``rec``, its rows
        ``predictions``) to it; return whether it was accepted (the caller applies what is
        ready)."""
        shots, width = predictions.shape
        status = self._in_flight.offer(seq, rec, shots=shots, width=width, at=at,
                                       predictions=predictions)
        if status == "not_outstanding":
            self.duplicates += 1
            if self.duplicates > 100 and self.duplicates % 1000:  # a flood: counted, not each a row
                return False
            self.records.event("warning", "duplicate_correction",
                               f"correction for block seq {seq} from {rec.source} "
                               "is not outstanding (duplicate, or arrived after it was declared lost)",
                               syndrome_seq=seq, worker=rec.source)
            return False
        if status in ("wrong_shots", "wrong_width"):
            block = self._in_flight.get(seq)
            got, want = ((f"{shots} shots", f"{block.shots}") if status == "wrong_shots" else
                         (f"{width} bytes per shot", f"{block.width} bytes per shot"))
            self.records.event("error", "bad_correction",
                               f"correction from {rec.source} for block seq {block.seq} has "
                               f"{got}, the block needs {want}; not applied",
                               syndrome_seq=block.seq, worker=rec.source)
            return False
        self.dispatcher.accepted(peer, seq)
        return True

    def _apply_ready(self) -> None:
        """Apply corrections in acquisition order, as far as they have arrived; the recorder
        is told with the next bundle, in one :class:`~qplane.records.AppliedBlocks` for the
        blocks applied since the last (a lone one: an :class:`~qplane.records.Applied`)."""
        self._apply_each(self._applied)  # what it applied stays listed, even if it raises

    def _report_applied(self, done: list[tuple[tuple, np.ndarray, np.ndarray | None]]) -> None:
        """Send the recorder the applied blocks ``done`` (each its :class:`Applied` fields,
        in order, predictions and truth): runs of blocks with the same arrays, at most
        :data:`MAX_CORRECTIONS`, in one record each."""
        i = 0
        while i < len(done):
            truth = done[i][2] is not None
            j = i + 1
            while j < len(done) and j - i < MAX_CORRECTIONS and (done[j][2] is not None) == truth:
                j += 1
            run = done[i:j]
            if j - i == 1:
                fields, predictions, truths = run[0]
                arrays = {"predictions": predictions}
                if truth:
                    arrays["truth"] = truths
                self.records.send(Applied(**dict(zip(Applied.__struct_fields__, fields))), arrays)
            else:
                arrays = {"predictions": [r[1] for r in run]}
                if truth:
                    arrays["truth"] = [r[2] for r in run]
                self.records.send(*AppliedBlocks.of_rows([r[0] for r in run], arrays))
            i = j

    def _apply_each(self, done: list[tuple[tuple, np.ndarray, np.ndarray | None]]) -> None:
        """Apply the corrections that are ready, in order, in one device call where the QPU
        batches (:func:`qplane.device.apply_corrections`); add each block's :class:`Applied`
        fields (in their order), predictions and truth to ``done``. A block the device
        refuses (or fails on) is lost: its frame is unknown."""
        ready = list(self._in_flight.ready())
        if not ready:
            return
        latency, decode_latency = self.latency, self.decode_latency
        worker_blocks = self.worker_blocks
        batch = [(block.block_index, np.array(block.predictions)) for block in ready]
        try:  # one device call for them all where the QPU batches (qplane.device)
            results = apply_corrections(self.qpu, batch)
        except Exception as e:  # noqa: BLE001 - not a refusal: the device failed
            results = [e] * len(ready)
        t_applied = time.time()
        for block, (_, predictions), result in zip(ready, batch, results):
            corr, i = block.correction, block.at
            c = corr.body
            worker = corr.source
            if isinstance(result, Exception):  # the device refused it: the frame is unknown
                self.blocks_lost += 1
                self.records.event("error", "correction_refused",
                                   f"the QPU refused the correction of block seq {block.seq} from "
                                   f"{worker}: {result}; its logical frame is unknown",
                                   syndrome_seq=block.seq, worker=worker)
                continue
            if i >= 0:  # its entry of a Corrections record
                t_decoded, decode_seconds, t_received = (c.t_decoded[i], c.decode_seconds[i],
                                                         c.t_received[i])
                shadow_shots, disagreements = c.shadow_shots[i], c.shadow_disagreements[i]
            else:
                t_decoded, decode_seconds, t_received = c.t_decoded, c.decode_seconds, c.t_received
                shadow_shots, disagreements = c.shadow_shots, c.shadow_disagreements
            self.blocks_applied += 1
            worker_blocks[worker] = worker_blocks.get(worker, 0) + 1
            self.shots_applied += result.shots
            self.failures += max(result.failures, 0)  # -1: the device knows no truth
            self.shadow_shots += shadow_shots
            self.shadow_disagreements += disagreements
            latency.add(t_applied - block.t_acquired)
            decode_latency.add(decode_seconds)
            done.append(((block.seq, t_decoded, t_applied, decode_seconds, worker,
                          result.failures, shadow_shots, disagreements, block.t_sent, t_received),
                         predictions, result.truth))

    def _expire(self, now: float) -> None:
        """Declare lost the blocks whose correction is overdue; apply what waited behind them."""
        if not self._in_flight.any_expired(now, self.correction_timeout):
            return  # the usual case: nothing overdue
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
        try:
            self._control(*got)
        except Exception as e:  # noqa: BLE001 - no message may stop the server
            self.control.reject("handler", f"handling a {got[1].kind} record failed: "
                                f"{type(e).__name__}: {e}", rec=got[1])

    def _control(self, routing: list[bytes], rec: Any) -> None:
        if isinstance(rec.body, CircuitRequest):
            # An empty id asks for the current circuit: a worker announcing it is starting.
            circuit_id = rec.body.circuit_id
            if circuit_id == "":
                self.ready_workers.add(rec.source)
            if circuit_id not in self._circuits:
                circuit_id = self._remember_circuit(self.qpu.decoding_circuit())
            reply = self.control_replies.build(self._circuits[circuit_id])
            send_record(self.control.socket, reply, prefix=routing)
        elif isinstance(rec.body, CalibrationCall):
            refusal = (self.calibration.refusal(rec) if self.calibration is not None else
                       f"{rec.body.call} from {rec.source!r}: this run has no calibration")
            if refusal is not None:
                # the authenticated peer: the CURVE identity the source is bound to (its role)
                self.control.reject("not_allowed", refusal, rec=rec,
                                    peer=role_of(rec.source) if self.control.user_ids else None)
                return
            self.calibration.handle(routing, rec)
        else:
            self.control.reject("unexpected", f"the control socket takes circuit requests and "
                                f"calibration calls, not {rec.kind} records", rec=rec)

    def _on_reject(self, rejection: Rejection) -> None:
        if self.rejections.note(rejection):
            self.records.event("error", "rejected_record",
                               f"instrument server rejected a message from {rejection.peer}: "
                               f"{rejection.message}", **rejection.details(),
                               count=self.rejections.counts[(rejection.peer, rejection.reason)])

    def report_rejections(self) -> None:
        """Send the exact rejection counts as one event (at the end of the run)."""
        if self.rejections.total:
            self.records.event("warning", "rejections",
                               f"instrument server rejected {self.rejections.total} message(s)",
                               total=self.rejections.total, counts=self.rejections.summary())

    # -- statistics --------------------------------------------------------------------------
    def stats(self) -> Stats:
        """A snapshot of the run's numbers so far (what the live view shows)."""
        cal = self.calibration
        latency_p50, latency_p99 = self.latency.quantiles((0.5, 0.99))
        decode_p50, decode_p99 = self.decode_latency.quantiles((0.5, 0.99))
        return Stats(
            elapsed=time.time() - self._t_start, blocks_acquired=self.blocks_acquired,
            blocks_applied=self.blocks_applied, blocks_lost=self.blocks_lost,
            in_flight=len(self._in_flight), duplicates=self.duplicates,
            shots=self.shots_applied, failures=self.failures,
            latency_p50=latency_p50, latency_p99=latency_p99,
            decode_p50=decode_p50, decode_p99=decode_p99,
            shadow_shots=self.shadow_shots, shadow_disagreements=self.shadow_disagreements,
            rejected=self.dispatcher.rejected + self.control.rejected,
            workers=sorted(self.workers), acquiring=self._acquiring,
            calibration_calls=cal.calls if cal else 0,
            calibration_experiments=cal.experiments if cal else 0,
            calibration_seconds=float(cal.experiment_seconds) if cal else 0.0,
            parameter_updates=cal.writes if cal else 0,
            parameter_updates_refused=cal.updates_refused if cal else 0,
            worker_blocks=dict(self.worker_blocks), worker_last_seen=self._last_seen(),
            workers_lost=self.dispatcher.workers_lost, redispatched=self.dispatcher.redispatched,
        )

    def _last_seen(self) -> dict[str, float]:
        """Each decoding worker's latest message (correction or heartbeat), by name."""
        seen = dict(self.worker_last_seen)
        for peer in self.dispatcher.peers.values():
            seen[peer.name] = max(seen.get(peer.name, 0.0), peer.last_seen)
        return seen

    def _publish_stats(self, force: bool = False) -> None:
        now = time.time()
        if self.monitor is None or (not force and now < self._next_stats):
            return
        self._next_stats = now + self.stats_interval
        self.monitor.send(self.stats())
