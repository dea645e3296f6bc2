"""The decoding worker: receives syndrome blocks, decodes them, sends corrections back.

A worker joins the run's dispatch (:mod:`qplane.pipeline.dispatch`): its DEALER connects to the
instrument server's ROUTER, it registers with its name and credit (how many blocks it may hold),
and each correction it sends back on the same socket returns one credit. Heartbeats go both
ways: it sends one every ``heartbeat_interval`` s, and registers again when the server has been
silent for ``3 * heartbeat_timeout`` s (the server restarted it, or forgot it). A call to a
slow decoder that would outlast a share of the heartbeat timeout is cut into chunks with the
heartbeats sent between them, so a big block does not make the worker look lost. Each worker
builds its decoder from the circuit the instrument server hands out for the block's
``circuit_id`` (asked for on the control socket, cached by id), so a change of circuit on the
QPU reaches the decoder without a restart.

Independent verification: on a ``shadow_fraction`` sample of each block's shots the worker also
runs plain PyMatching and counts the shots where the two disagree. For a PyMatching decoder that
count must be zero; for the neural decoder it is the live measure of how far it departs from
the classical baseline.
"""

from __future__ import annotations

import json
import os
import socket as _socket
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import stim
import zmq

from qplane.decoder import CompiledDecoder, Decoder, PyMatchingDecoder
from qplane.errors import WireFormatError
from qplane.pipeline.dispatch import peer_register
from qplane.pipeline.heartbeat import Pulse
from qplane.pipeline.noise_window import DeviceChanges
from qplane.pipeline.rejections import Rejection, RejectionLog
from qplane.pipeline.transport import NOBLOCK, Inbox, Outbox, has_message, request_circuit
from qplane.pipeline.worker import Worker
from qplane.records import (MAX_CORRECTIONS, Correction, Corrections, DecoderCompiled, Heartbeat,
                            NoiseModel, Record, Syndrome)


#: Blocks under this many shots are decoded together when several are queued.
BATCH_BELOW_SHOTS = 256
#: At most this many shots are decoded in one call.
MAX_BATCH_SHOTS = 4096
#: At most this many queued messages are taken in one step.
MAX_BATCH_BLOCKS = 256
#: A slow decoder's call is cut into chunks that take about this share of the heartbeat
#: timeout each, with the heartbeats due sent between them (the server must not take a worker
#: busy with one big block for a lost one).
CHUNK_SHARE_OF_TIMEOUT = 0.25
#: Chunks are never smaller than this many shots.
MIN_CHUNK_SHOTS = 16
#: A decoder not yet timed decodes this many shots of a big call first, to be timed.
PROBE_SHOTS = 64


def batch_corrections(answers: list[tuple[Correction, np.ndarray]]) -> Corrections:
    """The one :class:`~qplane.records.Corrections` body of several blocks' corrections
    (their predictions go with it, concatenated in the same order)."""
    bodies = [c for c, _ in answers]
    return Corrections(
        syndrome_seqs=[c.syndrome_seq for c in bodies], shots=[len(p) for _, p in answers],
        t_decoded=[c.t_decoded for c in bodies],
        decode_seconds=[c.decode_seconds for c in bodies],
        t_received=[c.t_received for c in bodies], shadow_shots=[c.shadow_shots for c in bodies],
        shadow_disagreements=[c.shadow_disagreements for c in bodies])


class DecodingWorker(Worker):
    """Decodes syndrome records into correction records.

    Args:
        name: this worker's name (``decoder-0`` ...), its ``source`` on the wire.
        decoder: the decoder factory (compiled per circuit).
        dispatch: DEALER socket connected to the instrument server's dispatch ROUTER (blocks
            in; registration, heartbeats and corrections out).
        control: DEALER socket to the instrument server's control ROUTER.
        records: outbox to the recorder (events).
        shadow_fraction: fraction of shots also decoded by plain PyMatching.
        seed: seeds the choice of shadow shots.
        circuit_timeout: seconds to wait for the instrument server to send a circuit.
        credit: blocks this worker may hold at once.
        heartbeat_interval: seconds between heartbeats to the server (and to ``monitor``).
        heartbeat_timeout: the server's heartbeat timeout; silent for three times this, the
            server is asked to take this worker again (it registers anew).
        monitor: outbox (PUB) to the launcher's monitor, for its heartbeats, or None.
        learner: for learned weights: builds a :class:`qplane.noise.LiveNoiseLearner` from a
            circuit's nominal DEM (``None``: nominal weights only).
    """

    def __init__(self, *, name: str, decoder: Decoder, dispatch: zmq.Socket,
                 control: zmq.Socket, records: Outbox, shadow_fraction: float = 0.0,
                 seed: int = 0, circuit_timeout: float = 10.0, credit: int = 8,
                 heartbeat_interval: float = 0.25, heartbeat_timeout: float = 1.5,
                 monitor: Outbox | None = None,
                 learner: Callable[[stim.DetectorErrorModel], Any] | None = None):
        super().__init__()
        self.name = name
        self.decoder = decoder
        self.rejections = RejectionLog()
        self.syndromes = Inbox(dispatch, run_id=records.run_id, on_reject=self._on_reject)
        self._poller = zmq.Poller()  # one poller for the run (socket.poll makes one per call)
        self._poller.register(dispatch, zmq.POLLIN)
        self.corrections = Outbox(dispatch, run_id=records.run_id, source=name)
        self.credit = credit
        self.heartbeat_timeout = heartbeat_timeout
        self._seconds_per_shot = 0.0  # the last decode call's, for cutting slow calls
        self._pulses = [Pulse(self.corrections, role="decoder", interval=heartbeat_interval)]
        if monitor is not None:
            self._pulses.append(Pulse(monitor, role="decoder", interval=heartbeat_interval))
        self._server_seen = 0.0
        self.registrations = 0
        self.control = control
        self.control_out = Outbox(control, run_id=records.run_id, source=name)
        self.records = records
        self.shadow_fraction = shadow_fraction
        self.circuit_timeout = circuit_timeout
        self._rng = np.random.default_rng(seed)
        self._compiled: dict[str, tuple[CompiledDecoder, CompiledDecoder | None]] = {}
        self._shadow = PyMatchingDecoder()
        self._learner_factory = learner
        self._learners: dict[str, Any] = {}
        self.noise_versions: dict[str, int] = {}
        # the device's setting changes, for the live estimators' per-qubit window restarts
        self._device_changes = DeviceChanges(control, self.control_out,
                                             timeout=max(30.0, circuit_timeout))
        self.blocks = 0
        self.shots = 0

    def start(self) -> None:
        """Fetch and compile the current circuit, then register with the instrument server."""
        self._compiled_for("")
        self.register()
        super().start()

    def register(self) -> None:
        """Join (or join again) the server's dispatch with this worker's credit."""
        peer_register(self.corrections, role="decoder", credit=self.credit, pid=os.getpid(),
                      host=_socket.gethostname())
        self.registrations += 1
        self._server_seen = time.time()

    def step(self, poll_ms: int = 100) -> int:
        """Decode the blocks pending, if any arrives within ``poll_ms`` (and before the next
        heartbeat is due); return how many messages were handled.

        A lone block is decoded as soon as it arrives; blocks already queued behind it are
        taken too (never waited for) and small ones decoded together (:meth:`decode_records`).
        """
        now = time.time()
        self.heartbeat(now)
        wait = min(p.next_due for p in self._pulses) - now
        if not self.syndromes.pending and not self._poller.poll(
                max(0, min(poll_ms, int(wait * 1000) + 1))):
            if time.time() - self._server_seen > 3 * self.heartbeat_timeout:
                self.records.event("warning", "server_silent",
                                   f"{self.name} heard nothing from the instrument server for "
                                   f"{time.time() - self._server_seen:.1f} s; registering again")
                self.register()
            return 0
        handled, batch, received = 0, [], []
        flags = 0  # the first message is there (poll said so); the rest only if queued
        while handled < MAX_BATCH_BLOCKS:
            if flags and not self.syndromes.pending and not has_message(self.syndromes.socket):
                break  # nothing more queued (cheaper than a receive that raises zmq.Again)
            try:
                got = self.syndromes.recv(flags)
            except zmq.Again:
                break
            flags = NOBLOCK
            handled += 1
            self._server_seen = time.time()
            if got is None:
                continue
            _, rec = got
            if isinstance(rec.body, Heartbeat):
                continue
            if not isinstance(rec.body, Syndrome):
                self.syndromes.reject("unexpected", f"the syndrome stream carries syndromes, not "
                                      f"{rec.kind} records", rec=rec)
                continue
            batch.append(rec)
            received.append(time.time())
        self._answer(self._decode_safely(batch, received))
        return handled

    def _answer(self, answers: list[tuple[Correction, np.ndarray]]) -> None:
        """Send the corrections: a lone one as a :class:`~qplane.records.Correction`, those of
        blocks that queued up together as one :class:`~qplane.records.Corrections` (a record
        that cannot be built is a counted rejection: nothing may stop the worker)."""
        messages = (list(answers) if len(answers) <= 1 else
                    [(batch_corrections(part), np.concatenate([p for _, p in part]))
                     for part in (answers[i:i + MAX_CORRECTIONS]
                                  for i in range(0, len(answers), MAX_CORRECTIONS))])
        for body, preds in messages:
            try:
                self.corrections.send(body, {"predictions": preds})
            except WireFormatError as e:
                self.syndromes.reject("handler", f"the {body.kind_name()} record of a decoded "
                                      f"block cannot be sent: {e}")

    def _decode_safely(self, batch: list[Record],
                       received: list[float]) -> list[tuple[Correction, np.ndarray]]:
        """:meth:`decode_records`, but a block whose decoding fails is a counted rejection
        (the others of its batch are decoded one by one): no block may stop the worker."""
        try:
            return self.decode_records(batch, received)
        except Exception:  # noqa: BLE001 - find the block that failed
            pass
        out = []
        for rec, t in zip(batch, received):
            try:
                out.extend(self.decode_records([rec], [t]))
            except Exception as e:  # noqa: BLE001 - no block may stop the worker
                self.syndromes.reject("handler", f"decoding syndrome seq {rec.seq} failed: "
                                      f"{type(e).__name__}: {e}", rec=rec)
        return out

    def heartbeat(self, now: float, state: str = "running") -> None:
        """Send the heartbeats that are due (to the server, and to the launcher)."""
        for pulse in self._pulses:
            pulse.beat(now, blocks=self.blocks, state=state)

    def decode_record(self, rec: Record) -> tuple[Correction, np.ndarray]:
        """The correction (body, predictions) of one syndrome record."""
        return self.decode_records([rec])[0]

    def decode_records(self, recs: list[Record], received: list[float] | None = None
                       ) -> list[tuple[Correction, np.ndarray]]:
        """The corrections (body, predictions) of syndrome records, in their order.

        Consecutive small blocks (under :data:`BATCH_BELOW_SHOTS` shots) of one circuit are
        decoded in one call (up to :data:`MAX_BATCH_SHOTS` shots) and their predictions split
        again: a decoder decodes each shot on its own, so the predictions are those of decoding
        each block alone. Each block's ``decode_seconds`` is its share (by shots) of the call.
        ``received`` are the records' arrival times (UNIX s), sent back as ``t_received``.
        """
        if received is None:
            received = [time.time()] * len(recs)
        out: list[tuple[Correction, np.ndarray]] = []
        i = 0
        while i < len(recs):
            group = [recs[i]]
            shots = len(recs[i].arrays["detection_events"])
            while (shots < MAX_BATCH_SHOTS and i + len(group) < len(recs)
                   and len(group[0].arrays["detection_events"]) < BATCH_BELOW_SHOTS):
                nxt = recs[i + len(group)]
                n = len(nxt.arrays["detection_events"])
                if (nxt.body.circuit_id != group[0].body.circuit_id or n >= BATCH_BELOW_SHOTS
                        or shots + n > MAX_BATCH_SHOTS):
                    break
                group.append(nxt)
                shots += n
            out.extend(self._decode_group(group, received[i:i + len(group)]))
            i += len(group)
        return out

    def _decode_group(self, group: list[Record],
                      received: list[float]) -> list[tuple[Correction, np.ndarray]]:
        compiled, shadow = self._compiled_for(group[0].body.circuit_id)
        parts = [rec.arrays["detection_events"] for rec in group]
        events = parts[0] if len(parts) == 1 else np.concatenate(parts)
        t0 = time.perf_counter()
        predictions = self._decode_in_chunks(compiled, events)
        decode_seconds = time.perf_counter() - t0
        t_decoded = time.time()
        predictions = np.ascontiguousarray(predictions, dtype=np.uint8)
        out, start = [], 0
        for rec, dets, t_received in zip(group, parts, received):
            n = len(dets)
            preds = predictions[start:start + n]
            start += n
            shadow_shots = disagreements = 0
            if shadow is not None:
                take = self._rng.random(n) < self.shadow_fraction
                shadow_shots = int(np.count_nonzero(take))
                if shadow_shots:
                    reference = shadow.decode_shots_bit_packed(
                        bit_packed_detection_event_data=np.ascontiguousarray(dets[take]))
                    disagreements = int(np.count_nonzero(np.any(reference != preds[take], axis=1)))
            self.blocks += 1
            self.shots += n
            out.append((Correction(
                syndrome_seq=rec.seq, t_decoded=t_decoded,
                decode_seconds=decode_seconds * n / len(events),
                shadow_shots=shadow_shots, shadow_disagreements=disagreements,
                t_received=t_received,
            ), preds))
        self._learn(group, parts)
        return out

    def _decode_in_chunks(self, compiled: CompiledDecoder, events: np.ndarray) -> np.ndarray:
        """Decode ``events``; a call that would take longer than a share of the heartbeat
        timeout (judged by the last call's time per shot; a decoder not yet timed first
        decodes :data:`PROBE_SHOTS` shots of a big call) is cut into chunks, and the heartbeats that fall
        due are sent between them. Each shot is decoded on its own, so the predictions are
        those of one call.

        >>> import numpy as np
        >>> class Echo:
        ...     calls = []
        ...     def decode_shots_bit_packed(self, *, bit_packed_detection_event_data):
        ...         self.calls.append(len(bit_packed_detection_event_data))
        ...         return bit_packed_detection_event_data[:, :1]
        >>> worker = DecodingWorker.__new__(DecodingWorker)
        >>> worker.heartbeat_timeout, worker._seconds_per_shot = 1.5, 0.0  # not yet timed
        >>> worker._pulses, worker.blocks = [], 0
        >>> events = (np.arange(1000) % 251).astype(np.uint8).reshape(1000, 1)
        >>> bool((worker._decode_in_chunks(Echo(), events) == events).all()), Echo.calls
        (True, [64, 936])
        """
        parts, start, n = [], 0, len(events)
        while start < n:
            if self._seconds_per_shot > 0:
                chunk = max(MIN_CHUNK_SHOTS, int(CHUNK_SHARE_OF_TIMEOUT * self.heartbeat_timeout
                                                 / self._seconds_per_shot))
            else:
                chunk = PROBE_SHOTS if n > 4 * PROBE_SHOTS else n
            if start:
                self.heartbeat(time.time())
            part = events if start == 0 and chunk >= n else np.ascontiguousarray(
                events[start:start + chunk])
            t0 = time.perf_counter()
            parts.append(compiled.decode_shots_bit_packed(bit_packed_detection_event_data=part))
            self._seconds_per_shot = (time.perf_counter() - t0) / len(part)
            start += len(part)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _learn(self, group: list[Record], parts: list[np.ndarray]) -> None:
        """Feed decoded blocks (of one circuit) to its live estimator; when a refresh is due,
        swap models: the blocks after ``group`` are decoded with the new one."""
        cid = group[0].body.circuit_id
        learner = self._learners.get(cid)
        if learner is None:
            return
        for rec, events in zip(group, parts):
            self._note_device_changes(rec)
            learner.observe(events)
        self._apply_restarts(self._device_changes.poll())
        if not learner.due():
            return
        model = learner.refresh()
        if model.estimator == "nominal":
            return  # nothing usable learned: keep decoding with the current model
        compiled = self.decoder.compile_decoder_for_dem(dem=model.to_dem())
        self._compiled[cid] = (compiled, self._compiled[cid][1])
        self.noise_versions[cid] = model.version
        self.records.send(NoiseModel(
            worker=self.name, version=model.version, first_seq=group[-1].seq + 1, circuit_id=cid,
            model_hash=model.hash, estimator=model.estimator, shots=model.shots,
            window_start=model.window[0], window_stop=model.window[1],
            kept_nominal=model.kept_nominal, learned_at=model.time,
            details={"reasons": model.reasons, "nominal_hash": model.nominal_hash,
                     "restarts": learner.restarts, "per_qubit_restarts":
                     self._device_changes.per_qubit, "whole_restarts": self._device_changes.whole}),
            {"probabilities": model.probabilities, "lower": model.lower, "upper": model.upper})

    def restart_noise_window(self, qubits: set[str] | None = None) -> None:
        """The device changed (a calibration update): every live estimator restarts its
        window for the detectors ``qubits`` reach (``None``: the whole window)."""
        self._apply_restarts([(qubits, {cid: learner.shots_seen
                                        for cid, learner in self._learners.items()})])

    def _note_device_changes(self, rec: Record) -> None:
        """Before a block joins the windows: if settings changed since the last block, ask the
        server's ledger which (answered later, :meth:`_apply_restarts`), noting where each
        window is now."""
        at = {cid: learner.shots_seen for cid, learner in self._learners.items()}
        self._apply_restarts(self._device_changes.note(rec.body.settings_changes, at))

    def _apply_restarts(self, restarts: list) -> None:
        """Restart each estimator's window, at the shot of the change, for the detectors the
        changed qubits reach (all of them when the qubits are unknown)."""
        for qubits, at in restarts:
            for cid, shot in at.items():
                learner = self._learners.get(cid)
                if learner is not None:
                    learner.restart(self._device_changes.detectors(cid, qubits), at=shot)

    def _compiled_for(self, circuit_id: str) -> tuple[CompiledDecoder, CompiledDecoder | None]:
        cached = self._compiled.get(circuit_id)
        if cached is not None:
            return cached
        self._apply_restarts(self._device_changes.settle())  # the control socket is free
        circuit_id, circuit = request_circuit(self.control, self.control_out, circuit_id,
                                              timeout=self.circuit_timeout)
        dem = circuit.detector_error_model(decompose_errors=True)
        compiled = self.decoder.compile_decoder_for_dem(dem=dem)
        shadow = self._shadow.compile_decoder_for_dem(dem=dem) if self.shadow_fraction > 0 else None
        self._compiled[circuit_id] = (compiled, shadow)
        if self._learner_factory is not None:
            self._learners[circuit_id] = self._learner_factory(dem)
            self._device_changes.add_circuit(circuit_id, circuit)
            self.noise_versions[circuit_id] = 0
        # A neural decoder names its network backend and device (torch, onnx, onnx-int8).
        where = {"backend": getattr(compiled, "backend", None) or "pymatching",
                 "device": str(getattr(compiled, "device_name", None)
                               or getattr(compiled, "device", "cpu"))}
        body = DecoderCompiled(worker=self.name, decoder=self.decoder.name, circuit_id=circuit_id,
                               **where)
        card = getattr(compiled, "card", None)
        if card is not None:  # a trained model: its card and hash go into the run file
            body = DecoderCompiled(
                worker=self.name, decoder=self.decoder.name, circuit_id=circuit_id, **where,
                model_card=json.loads(card.to_json()), model_sha256=getattr(compiled, "sha256", ""),
                notes=list(getattr(compiled, "notes", [])),
                # The decision rule applied to this circuit (picked by its noise, see rule_for_noise).
                rule=dict(getattr(compiled, "rule", {})))
        self.records.send(body)
        return compiled, shadow

    def _on_reject(self, rejection: Rejection) -> None:
        if self.rejections.note(rejection):
            self.records.event("error", "rejected_record",
                               f"{self.name} rejected a message from {rejection.peer}: "
                               f"{rejection.message}", **rejection.details(),
                               count=self.rejections.counts[(rejection.peer, rejection.reason)])

    def run(self, should_stop=lambda: False, max_steps: int | None = None) -> None:
        """Decode until stopped; then send the exact rejection counts, if any, as one event."""
        super().run(should_stop, max_steps)
        if self.rejections.total:
            self.records.event("warning", "rejections",
                               f"{self.name} rejected {self.rejections.total} message(s)",
                               total=self.rejections.total, counts=self.rejections.summary())
