"""The decoding worker: pulls syndrome blocks, decodes them, pushes corrections back.

Several workers can share one syndrome stream (ZeroMQ PUSH/PULL load-balances it). Each worker
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
import time

import numpy as np
import zmq

from qplane.decoder import CompiledDecoder, Decoder, PyMatchingDecoder
from qplane.pipeline.transport import Inbox, Outbox, request_circuit
from qplane.pipeline.worker import Worker
from qplane.records import Correction, DecoderCompiled, Record, Syndrome, encode


class DecodingWorker(Worker):
    """Decodes syndrome records into correction records.

    Args:
        name: this worker's name (``decoder-0`` ...), its ``source`` on the wire.
        decoder: the decoder factory (compiled per circuit).
        syndromes: PULL socket from the instrument server.
        corrections: outbox (PUSH) to the instrument server.
        control: DEALER socket to the instrument server's control ROUTER.
        records: outbox to the recorder (events).
        shadow_fraction: fraction of shots also decoded by plain PyMatching.
        seed: seeds the choice of shadow shots.
        circuit_timeout: seconds to wait for the instrument server to send a circuit.
    """

    def __init__(self, *, name: str, decoder: Decoder, syndromes: zmq.Socket, corrections: Outbox,
                 control: zmq.Socket, records: Outbox, shadow_fraction: float = 0.0,
                 seed: int = 0, circuit_timeout: float = 10.0):
        super().__init__()
        self.name = name
        self.decoder = decoder
        self.syndromes = Inbox(syndromes, run_id=records.run_id, on_reject=self._on_reject)
        self.corrections = corrections
        self.control = control
        self.control_out = Outbox(control, run_id=records.run_id, source=name)
        self.records = records
        self.shadow_fraction = shadow_fraction
        self.circuit_timeout = circuit_timeout
        self._rng = np.random.default_rng(seed)
        self._compiled: dict[str, tuple[CompiledDecoder, CompiledDecoder | None]] = {}
        self._shadow = PyMatchingDecoder()
        self.blocks = 0
        self.shots = 0

    def start(self) -> None:
        """Fetch and compile the current circuit, telling the instrument server this worker is ready."""
        self._compiled_for("")
        super().start()


    def step(self, poll_ms: int = 100) -> int:
        """Decode one pending block, if any arrives within ``poll_ms``; return how many
        messages were handled (0 or 1)."""
        if not self.syndromes.socket.poll(poll_ms):
            return 0
        got = self.syndromes.recv()
        if got is None:
            return 1
        _, rec = got
        if not isinstance(rec.body, Syndrome):
            self.records.event("warning", "unexpected_record",
                               f"{self.name} got a {rec.kind} record on the syndrome stream; ignored")
            return 1
        self.corrections.socket.send_multipart(self.decode_record(rec))
        return 1

    def decode_record(self, rec: Record) -> list[bytes]:
        """The encoded correction record for one syndrome record."""
        compiled, shadow = self._compiled_for(rec.body.circuit_id)
        events = rec.arrays["detection_events"]
        t0 = time.perf_counter()
        predictions = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=events)
        decode_seconds = time.perf_counter() - t0
        t_decoded = time.time()
        shadow_shots = disagreements = 0
        if shadow is not None:
            n = len(events)
            take = self._rng.random(n) < self.shadow_fraction
            shadow_shots = int(np.count_nonzero(take))
            if shadow_shots:
                reference = shadow.decode_shots_bit_packed(
                    bit_packed_detection_event_data=np.ascontiguousarray(events[take]))
                disagreements = int(np.count_nonzero(np.any(reference != predictions[take], axis=1)))
        self.blocks += 1
        self.shots += len(events)
        out = self.corrections.build(Correction(
            syndrome_seq=rec.seq, t_decoded=t_decoded, decode_seconds=decode_seconds,
            shadow_shots=shadow_shots, shadow_disagreements=disagreements,
        ), {"predictions": np.ascontiguousarray(predictions, dtype=np.uint8)})
        return encode(out)

    def _compiled_for(self, circuit_id: str) -> tuple[CompiledDecoder, CompiledDecoder | None]:
        cached = self._compiled.get(circuit_id)
        if cached is not None:
            return cached
        circuit_id, circuit = request_circuit(self.control, self.control_out, circuit_id,
                                              timeout=self.circuit_timeout)
        dem = circuit.detector_error_model(decompose_errors=True)
        compiled = self.decoder.compile_decoder_for_dem(dem=dem)
        shadow = self._shadow.compile_decoder_for_dem(dem=dem) if self.shadow_fraction > 0 else None
        self._compiled[circuit_id] = (compiled, shadow)
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

    def _on_reject(self, reason: str, _frames: list[bytes]) -> None:
        self.records.event("error", "rejected_record", f"{self.name} rejected a message: {reason}")
