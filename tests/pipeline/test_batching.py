"""The decoding worker takes what is queued and decodes small blocks together: the same
predictions as block by block, one correction per block, in order; a lone block is not held."""

from __future__ import annotations

import numpy as np
import pytest
import zmq

from qplane.codes import circuit_fingerprint, memory_circuit
from qplane.decoder import PyMatchingDecoder
from qplane.pipeline.decoding_worker import BATCH_BELOW_SHOTS, DecodingWorker
from qplane.pipeline.transport import Inbox, Outbox, make_socket
from qplane.records import Correction, Corrections, Syndrome, SyndromeBlocks

RUN = "run-batch"


class _Counting(PyMatchingDecoder):
    """PyMatching that counts its decode calls."""

    def __init__(self):
        super().__init__()
        self.calls: list[int] = []

    def compile_decoder_for_dem(self, *, dem):
        compiled = super().compile_decoder_for_dem(dem=dem)
        calls = self.calls

        class Wrapped:
            def decode_shots_bit_packed(self, *, bit_packed_detection_event_data):
                calls.append(len(bit_packed_detection_event_data))
                return compiled.decode_shots_bit_packed(
                    bit_packed_detection_event_data=bit_packed_detection_event_data)
        return Wrapped()


@pytest.fixture
def setup(tmp_path):
    ctx = zmq.Context()
    ends = {"rec": f"ipc://{tmp_path}/rec"}
    # The worker's dispatch socket carries syndromes in and corrections (and heartbeats) out;
    # a PAIR over inproc stands in for the server's ROUTER (a sent message is queued at once).
    server = make_socket(ctx, zmq.PAIR, "inproc://syn-batch", bind=True)
    worker_end = make_socket(ctx, zmq.PAIR, "inproc://syn-batch", bind=False)
    rec_in = make_socket(ctx, zmq.PULL, ends["rec"], bind=True)
    rec_out = make_socket(ctx, zmq.PUSH, ends["rec"], bind=False)
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.01)
    decoder = _Counting()
    worker = DecodingWorker(name="decoder-0", decoder=decoder, dispatch=worker_end,
                            control=ctx.socket(zmq.DEALER),
                            records=Outbox(rec_out, run_id=RUN, source="decoder-0"),
                            shadow_fraction=0.5)
    cid = circuit_fingerprint(circuit)
    dem = circuit.detector_error_model(decompose_errors=True)
    worker._compiled[cid] = (decoder.compile_decoder_for_dem(dem=dem),
                             PyMatchingDecoder().compile_decoder_for_dem(dem=dem))
    yield ctx, circuit, cid, worker, decoder, Outbox(server, run_id=RUN, source="srv"), \
        Inbox(server, run_id=RUN)
    ctx.destroy(linger=0)


def _send(out, circuit, cid, sizes, seed=1):
    sampler = circuit.compile_detector_sampler(seed=seed)
    sent = []
    for i, n in enumerate(sizes):
        dets = sampler.sample(n, bit_packed=True)
        sent.append(out.send(Syndrome(block_index=i, circuit_id=cid,
                                      num_detectors=circuit.num_detectors, t_acquired=1.0),
                             {"detection_events": dets}))
    return sent


def _receive(inbox, count, messages=None):
    """``count`` blocks' corrections, as the server takes them (a Corrections record: one
    per block); ``messages`` collects the records as they came."""
    got = []
    while len(got) < count and inbox.socket.poll(5000):
        rec = inbox.recv()[1]
        if isinstance(rec.body, (Correction, Corrections)) and messages is not None:
            messages.append(rec)
        if isinstance(rec.body, Correction):  # heartbeats travel on the same socket
            got.append(rec)
        elif isinstance(rec.body, Corrections):
            got.extend(rec.body.corrections(rec))
    return got


def test_queued_small_blocks_are_decoded_together_with_the_same_predictions(setup):
    ctx, circuit, cid, worker, decoder, out, inbox = setup
    sizes = [1, 3, 1, 64, 2, BATCH_BELOW_SHOTS, 1]
    sent = _send(out, circuit, cid, sizes)
    handled = 0
    while handled < len(sizes):
        handled += worker.step(poll_ms=5000)
    messages = []
    got = _receive(inbox, len(sizes), messages)
    assert [r.body.syndrome_seq for r in got] == [r.seq for r in sent]
    assert all(isinstance(r.body, Correction) for r in got)
    # the blocks that queued up were answered together on the wire too
    assert len(messages) < len(sizes) and any(m.kind == "corrections" for m in messages)
    assert [len(r.arrays["predictions"]) for r in got] == sizes
    direct = PyMatchingDecoder().compile_decoder_for_dem(
        dem=circuit.detector_error_model(decompose_errors=True))
    for syn, corr in zip(sent, got):
        want = direct.decode_shots_bit_packed(
            bit_packed_detection_event_data=syn.arrays["detection_events"])
        assert np.array_equal(corr.arrays["predictions"], want)
    assert sum(decoder.calls) == sum(sizes)
    assert len(decoder.calls) < len(sizes)  # at least some were decoded together
    assert BATCH_BELOW_SHOTS in decoder.calls  # a big block is decoded on its own


def test_a_lone_block_is_decoded_at_once(setup):
    ctx, circuit, cid, worker, decoder, out, inbox = setup
    _send(out, circuit, cid, [1])
    assert worker.step(poll_ms=5000) == 1
    assert decoder.calls == [1]
    messages = []
    assert len(_receive(inbox, 1, messages)) == 1
    assert [m.kind for m in messages] == ["correction"]  # a lone block: a plain correction


class _SlowClock:
    """Stands in for the worker's ``time`` module: a decode call advances it by
    ``per_shot`` seconds a shot (a slow decoder, without waiting for one)."""

    def __init__(self, per_shot: float):
        import time as real

        self.per_shot, self.t, self._real = per_shot, real.time(), real

    def time(self) -> float:
        return self.t

    def perf_counter(self) -> float:
        return self.t

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_a_slow_decoder_answers_heartbeats_between_chunks_of_a_big_block(setup, monkeypatch):
    """A block that takes a slow decoder longer than the heartbeat timeout is decoded in
    chunks with the server's heartbeats sent between them (else the server would take the
    worker for lost), and its predictions are those of one call."""
    import qplane.pipeline.decoding_worker as dw

    ctx, circuit, cid, worker, decoder, out, inbox = setup
    clock = _SlowClock(per_shot=0.005)  # 2,000 shots: 10 s, far beyond the 1.5 s timeout
    monkeypatch.setattr(dw, "time", clock)
    compiled = worker._compiled[cid][0]

    class Slow:
        def decode_shots_bit_packed(self, *, bit_packed_detection_event_data):
            clock.t += clock.per_shot * len(bit_packed_detection_event_data)
            return compiled.decode_shots_bit_packed(
                bit_packed_detection_event_data=bit_packed_detection_event_data)

    worker._compiled[cid] = (Slow(), worker._compiled[cid][1])
    sent = _send(out, circuit, cid, [2000])
    assert worker.step(poll_ms=5000) == 1
    got, beats = [], 0
    while not got and inbox.socket.poll(5000):
        rec = inbox.recv()[1]
        if rec.kind == "heartbeat":
            beats += 1
        elif isinstance(rec.body, Correction):
            got.append(rec)
    chunks = decoder.calls
    assert chunks[0] == dw.PROBE_SHOTS and sum(chunks) == 2000 and len(chunks) > 10
    # each chunk within its share of the timeout, and a heartbeat between each (interval 0.25 s)
    longest = max(chunks[1:]) * clock.per_shot
    assert longest <= dw.CHUNK_SHARE_OF_TIMEOUT * worker.heartbeat_timeout + 1e-9
    assert beats >= len(chunks) - 1
    want = PyMatchingDecoder().compile_decoder_for_dem(
        dem=circuit.detector_error_model(decompose_errors=True)).decode_shots_bit_packed(
        bit_packed_detection_event_data=sent[0].arrays["detection_events"])
    assert np.array_equal(got[0].arrays["predictions"], want)


def test_a_syndrome_blocks_record_is_decoded_in_one_call_with_the_lone_blocks_predictions(setup):
    """The blocks of one syndrome_blocks record: one decoder call, one corrections record, and
    each block's predictions bit for bit those of its decoding alone."""
    ctx, circuit, cid, worker, decoder, out, inbox = setup
    sampler = circuit.compile_detector_sampler(seed=5)
    sizes = [1, 2, 1, 5, 1]
    dets = [sampler.sample(n, bit_packed=True) for n in sizes]
    seqs = [40, 41, 42, 43, 44]
    out.send(SyndromeBlocks(circuit_id=cid, num_detectors=circuit.num_detectors,
                            syndrome_seqs=seqs, block_indices=list(range(5)), shots=sizes,
                            t_acquired=[1.0] * 5, settings_changes=[0] * 5),
             {"detection_events": np.concatenate(dets)})
    assert worker.step(poll_ms=5000) == 1
    assert decoder.calls == [sum(sizes)]
    messages = []
    got = _receive(inbox, len(sizes), messages)
    assert [m.kind for m in messages] == ["corrections"]
    assert [r.body.syndrome_seq for r in got] == seqs
    direct = PyMatchingDecoder().compile_decoder_for_dem(
        dem=circuit.detector_error_model(decompose_errors=True))
    for d, corr in zip(dets, got):
        assert np.array_equal(corr.arrays["predictions"],
                              direct.decode_shots_bit_packed(bit_packed_detection_event_data=d))
    assert worker.blocks == len(sizes) and worker.shots == sum(sizes)
    # the same blocks as lone records: the same predictions
    lone = worker.decode_records([out.build(Syndrome(block_index=i, circuit_id=cid,
                                                     num_detectors=circuit.num_detectors,
                                                     t_acquired=1.0), {"detection_events": d})
                                  for i, d in enumerate(dets)])
    assert all(np.array_equal(p, c.arrays["predictions"]) for (_, p), c in zip(lone, got))
