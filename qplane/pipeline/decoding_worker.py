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
from collections.abc import Callable, Iterator
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
                            NoiseModel, Record, Syndrome, SyndromeBlocks)


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


class _Blocks:
    """The blocks of one ``syndrome`` or ``syndrome_blocks`` record, as the worker decodes
    them (no object per block: columns, the detection events back to back)."""

    __slots__ = ("rec", "circuit_id", "events", "seqs", "shots", "settings_changes", "received")

    def __init__(self, rec: Record, received: float):
        body = rec.body
        self.rec, self.received = rec, received
        self.circuit_id = body.circuit_id
        self.events = rec.arrays["detection_events"]
        if type(body) is SyndromeBlocks:
            self.seqs, self.shots = body.syndrome_seqs, body.shots
            self.settings_changes = body.settings_changes
        else:
            self.seqs, self.shots = [rec.seq], [len(self.events)]
            self.settings_changes = [body.settings_changes]

    def each(self) -> Iterator[tuple[int, np.ndarray, int]]:
        """(seq, detection events, settings changes) of each block."""
        start = 0
        for seq, n, changes in zip(self.seqs, self.shots, self.settings_changes):
            yield seq, self.events[start:start + n], changes
            start += n


class _Answers:
    """Corrections of decoded blocks, in order, as the columns of a
    :class:`~qplane.records.Corrections` (their predictions back to back)."""

    __slots__ = ("seqs", "shots", "t_decoded", "decode_seconds", "t_received", "shadow_shots",
                 "shadow_disagreements", "predictions")

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.shots: list[int] = []
        self.t_decoded: list[float] = []
        self.decode_seconds: list[float] = []
        self.t_received: list[float] = []
        self.shadow_shots: list[int] = []
        self.shadow_disagreements: list[int] = []
        self.predictions: list[np.ndarray] = []  # one array per decoder call

    def __len__(self) -> int:
        return len(self.seqs)

    def extend(self, other: "_Answers") -> None:
        for name in self.__slots__:
            getattr(self, name).extend(getattr(other, name))

    def messages(self) -> Iterator[tuple[Correction | Corrections, np.ndarray]]:
        """The records (body, predictions) that answer these blocks: a lone block's
        :class:`~qplane.records.Correction`, else one :class:`~qplane.records.Corrections` per
        :data:`~qplane.records.MAX_CORRECTIONS` blocks."""
        preds = self.predictions[0] if len(self.predictions) == 1 else np.concatenate(
            self.predictions)
        if len(self.seqs) == 1:
            yield Correction(syndrome_seq=self.seqs[0], t_decoded=self.t_decoded[0],
                             decode_seconds=self.decode_seconds[0],
                             shadow_shots=self.shadow_shots[0],
                             shadow_disagreements=self.shadow_disagreements[0],
                             t_received=self.t_received[0]), preds
            return
        row = 0
        for i in range(0, len(self.seqs), MAX_CORRECTIONS):
            cut = slice(i, i + MAX_CORRECTIONS)
            shots = self.shots[cut]
            n = sum(shots)
            yield Corrections(
                syndrome_seqs=self.seqs[cut], shots=shots, t_decoded=self.t_decoded[cut],
                decode_seconds=self.decode_seconds[cut], t_received=self.t_received[cut],
                shadow_shots=self.shadow_shots[cut],
                shadow_disagreements=self.shadow_disagreements[cut]), preds[row:row + n]
            row += n


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
        self._next_beat = 0.0  # the earliest pulse's next_due
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
        wait = self._next_beat - now
        if not self.syndromes.pending and not self._poller.poll(
                max(0, min(poll_ms, int(wait * 1000) + 1))):
            if time.time() - self._server_seen > 3 * self.heartbeat_timeout:
                self.records.event("warning", "server_silent",
                                   f"{self.name} heard nothing from the instrument server for "
                                   f"{time.time() - self._server_seen:.1f} s; registering again")
                self.register()
            return 0
        handled, batch = 0, []
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
            if not isinstance(rec.body, (Syndrome, SyndromeBlocks)):
                self.syndromes.reject("unexpected", f"the syndrome stream carries syndromes, not "
                                      f"{rec.kind} records", rec=rec)
                continue
            batch.append(_Blocks(rec, time.time()))
        if batch:
            self._answer(self._decode_safely(batch))
        return handled

    def _answer(self, answers: _Answers) -> None:
        """Send the corrections: a lone block's as a :class:`~qplane.records.Correction`, those
        of blocks that came or queued up together as one :class:`~qplane.records.Corrections`
        (a record that cannot be built is a counted rejection: nothing may stop the worker)."""
        if not len(answers):
            return
        for body, preds in answers.messages():
            try:
                self.corrections.send(body, {"predictions": preds})
            except WireFormatError as e:
                self.syndromes.reject("handler", f"the {body.kind_name()} record of a decoded "
                                      f"block cannot be sent: {e}")

    def _decode_safely(self, batch: list[_Blocks]) -> _Answers:
        """:meth:`_decode`, but a record whose decoding fails is a counted rejection (the
        others of its batch are decoded one by one): no block may stop the worker."""
        try:
            return self._decode(batch)
        except Exception:  # noqa: BLE001 - find the record that failed
            pass
        out = _Answers()
        for blocks in batch:
            try:
                out.extend(self._decode([blocks]))
            except Exception as e:  # noqa: BLE001 - no block may stop the worker
                self.syndromes.reject("handler", f"decoding {blocks.rec.kind} seq {blocks.rec.seq} "
                                      f"failed: {type(e).__name__}: {e}", rec=blocks.rec)
        return out

    def heartbeat(self, now: float, state: str = "running") -> None:
        """Send the heartbeats that are due (to the server, and to the launcher)."""
        if now < self._next_beat and state == "running":
            return  # none due (asked every step: one comparison)
        for pulse in self._pulses:
            pulse.beat(now, blocks=self.blocks, state=state)
        self._next_beat = min((p.next_due for p in self._pulses), default=float("inf"))

    def decode_records(self, recs: list[Record], received: list[float] | None = None
                       ) -> list[tuple[Correction, np.ndarray]]:
        """The corrections (body, predictions) of the blocks of syndrome records (``syndrome``
        or ``syndrome_blocks``), one per block, in their order, decoded as :meth:`step`
        decodes them. ``received`` are the records' arrival times (UNIX s), sent back as
        ``t_received``."""
        if received is None:
            received = [time.time()] * len(recs)
        answers = self._decode([_Blocks(r, t) for r, t in zip(recs, received)])
        preds = np.concatenate(answers.predictions) if answers.predictions else None
        out, row = [], 0
        for i, seq in enumerate(answers.seqs):
            n = answers.shots[i]
            out.append((Correction(
                syndrome_seq=seq, t_decoded=answers.t_decoded[i],
                decode_seconds=answers.decode_seconds[i], shadow_shots=answers.shadow_shots[i],
                shadow_disagreements=answers.shadow_disagreements[i],
                t_received=answers.t_received[i]), preds[row:row + n]))
            row += n
        return out

    def _decode(self, batch: list[_Blocks]) -> _Answers:
        """The corrections of the blocks of ``batch`` (records' blocks), in their order.

        Consecutive records of one circuit whose blocks are all small (under
        :data:`BATCH_BELOW_SHOTS` shots) are decoded in one call (joined up to
        :data:`MAX_BATCH_SHOTS` shots; the blocks of one record always together) and their
        predictions split again: a decoder decodes each shot on its own, so the predictions
        are those of decoding each block alone. Each block's ``decode_seconds`` is its share
        (by shots) of the call.
        """
        out = _Answers()
        i = 0
        while i < len(batch):
            first = batch[i]
            j, shots = i + 1, len(first.events)
            if max(first.shots) < BATCH_BELOW_SHOTS:
                while j < len(batch) and shots < MAX_BATCH_SHOTS:
                    nxt = batch[j]
                    n = len(nxt.events)
                    if (nxt.circuit_id != first.circuit_id or max(nxt.shots) >= BATCH_BELOW_SHOTS
                            or shots + n > MAX_BATCH_SHOTS):
                        break
                    j += 1
                    shots += n
            self._decode_group(batch[i:j], out)
            i = j
        return out

    def _decode_group(self, group: list[_Blocks], out: _Answers) -> None:
        """Decode ``group`` (records of one circuit) in one call; add its blocks' corrections
        to ``out``."""
        compiled, shadow = self._compiled_for(group[0].circuit_id)
        events = group[0].events if len(group) == 1 else np.concatenate([g.events for g in group])
        t0 = time.perf_counter()
        predictions = self._decode_in_chunks(compiled, events)
        decode_seconds = time.perf_counter() - t0
        t_decoded = time.time()
        predictions = np.ascontiguousarray(predictions, dtype=np.uint8)
        total = len(events)
        out.predictions.append(predictions)
        blocks = 0
        for g in group:
            out.seqs.extend(g.seqs)
            out.shots.extend(g.shots)
            out.t_received.extend([g.received] * len(g.seqs))
            out.decode_seconds.extend([decode_seconds * n / total for n in g.shots])
            blocks += len(g.seqs)
        out.t_decoded.extend([t_decoded] * blocks)
        self.blocks += blocks
        self.shots += total
        if shadow is None:
            out.shadow_shots.extend([0] * blocks)
            out.shadow_disagreements.extend([0] * blocks)
        else:
            start = 0
            for g in group:
                for _, dets, _ in g.each():
                    n = len(dets)
                    preds = predictions[start:start + n]
                    start += n
                    take = self._rng.random(n) < self.shadow_fraction
                    shadow_shots = int(np.count_nonzero(take))
                    disagreements = 0
                    if shadow_shots:
                        reference = shadow.decode_shots_bit_packed(
                            bit_packed_detection_event_data=np.ascontiguousarray(dets[take]))
                        disagreements = int(np.count_nonzero(
                            np.any(reference != preds[take], axis=1)))
                    out.shadow_shots.append(shadow_shots)
                    out.shadow_disagreements.append(disagreements)
        self._learn(group)

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
        >>> worker._pulses, worker._next_beat, worker.blocks = [], 0.0, 0
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

    def _learn(self, group: list[_Blocks]) -> None:
        """Feed decoded blocks (of one circuit) to its live estimator; when a refresh is due,
        swap models: the blocks after ``group`` are decoded with the new one."""
        cid = group[0].circuit_id
        learner = self._learners.get(cid)
        if learner is None:
            return
        for g in group:
            for _, events, changes in g.each():
                self._note_device_changes(changes)
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
            worker=self.name, version=model.version, first_seq=group[-1].seqs[-1] + 1, circuit_id=cid,
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

    def _note_device_changes(self, settings_changes: int) -> None:
        """Before a block joins the windows: if settings changed since the last block (its
        ``settings_changes``), ask the server's ledger which (answered later,
        :meth:`_apply_restarts`), noting where each window is now."""
        at = {cid: learner.shots_seen for cid, learner in self._learners.items()}
        self._apply_restarts(self._device_changes.note(settings_changes, at))

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
