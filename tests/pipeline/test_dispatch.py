"""Dispatch with credit, in one process: who holds each block, refusals with the peer's
identity, re-dispatch of a lost worker's blocks."""

import time

import numpy as np
import pymatching
import pytest
import zmq

from qplane.pipeline.instrument_server import InstrumentServer
from qplane.pipeline.transport import Outbox, make_socket
from qplane.records import Correction, Corrections, Register, decode, unbundle
from qplane.sim_instruments.qpu import SimulatedQPU

RUN = "run-dispatch"


class _Peer:
    """A decoding worker played by the test: a DEALER that registers with some credit."""

    def __init__(self, ctx, endpoint, name, credit, register=True):
        self.sock = make_socket(ctx, zmq.DEALER, endpoint, bind=False, linger_ms=0)
        self.out = Outbox(self.sock, run_id=RUN, source=name)
        if register:
            self.out.send(Register(name=name, role="decoder", credit=credit))

    def blocks(self, max_polls=50):
        got = []
        for _ in range(max_polls):
            if not self.sock.poll(20):
                break
            for part in unbundle(self.sock.recv_multipart()):  # blocks dispatched together
                rec = decode(part)
                if rec.kind == "syndrome":
                    got.append(rec)
        return got

    def correct(self, rec, matching):
        preds = matching.decode_batch(rec.arrays["detection_events"], bit_packed_shots=True,
                                      bit_packed_predictions=True)
        self.out.send(Correction(syndrome_seq=rec.seq, t_decoded=0.0, decode_seconds=0.0),
                      {"predictions": preds})


def start_server(ctx, tmp_path, *, shots_per_block: int, run_id: str = RUN, **options):
    """A started instrument server on a d = 3 simulated QPU (seed 3) in ``tmp_path``'s ipc
    sockets: ``(qpu, server, dispatch endpoint, records PULL socket, PyMatching for its DEM)``.
    ``options`` go to :class:`InstrumentServer` (``max_in_flight``, ``max_blocks``, ...)."""
    qpu = SimulatedQPU(f"qpu_{tmp_path.name[-20:]}", distance=3, rounds=3, physical_error_rate=0.01,
                       shots_per_block=shots_per_block, seed=3)
    records = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/rec", bind=True)
    endpoint = f"ipc://{tmp_path}/syn"
    server = InstrumentServer(
        qpu=qpu, dispatch=make_socket(ctx, zmq.ROUTER, endpoint, bind=True),
        control=make_socket(ctx, zmq.ROUTER, f"ipc://{tmp_path}/ctl", bind=True),
        records=Outbox(make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/rec", bind=False),
                       run_id=run_id, source="instrument_server"),
        monitor=None, correction_timeout=60.0, heartbeat_timeout=60.0, **options)
    server.start(config_text="x", config_path="c", station_snapshot={})
    dem = qpu.decoding_circuit().detector_error_model(decompose_errors=True)
    return qpu, server, endpoint, records, pymatching.Matching.from_detector_error_model(dem)


@pytest.fixture
def rig(ctx, tmp_path):
    qpu, server, endpoint, records, matching = start_server(
        ctx, tmp_path, shots_per_block=16, max_in_flight=4, max_blocks=4,
        acquire_batch=1)  # one block per step, as the tests count
    yield server, endpoint, records, matching
    qpu.close()


def recorded_events(records):
    out = []
    while records.poll(200):  # the server bundles what it sends the recorder
        for part in unbundle(records.recv_multipart()):
            rec = decode(part)
            if rec.kind == "event":
                out.append(rec.body)
    return out


def test_blocks_go_to_credit_and_a_correction_from_another_peer_is_refused(ctx, rig):
    server, endpoint, records, matching = rig
    a = _Peer(ctx, endpoint, "decoder-a", credit=1)
    b = _Peer(ctx, endpoint, "decoder-b", credit=1)
    intruder = _Peer(ctx, endpoint, "intruder", credit=0, register=False)
    assert server.wait_for_workers(2, timeout=10.0)
    for _ in range(3):  # three blocks, two credits: one waits in the queue
        server.step(poll_ms=0)
    got_a, got_b = a.blocks(), b.blocks()
    assert len(got_a) == len(got_b) == 1 and len(server.dispatcher.queue) == 1
    holder = server._in_flight.get(got_a[0].seq).holder
    assert server.dispatcher.peers[holder].name == "decoder-a"
    b.correct(got_a[0], matching)  # b answers a's block: refused
    intruder.correct(got_b[0], matching)  # an unregistered peer: refused
    for _ in range(20):
        server.step(poll_ms=10)
    assert server.blocks_applied == 0 and server.dispatcher.refused == 2
    a.correct(got_a[0], matching)  # the credit comes back: the queued block goes to a
    b.correct(got_b[0], matching)
    for _ in range(20):
        server.step(poll_ms=10)
    later = a.blocks() + b.blocks()  # the queued block (seq 2), and the fourth acquired
    assert 2 in [r.seq for r in later] and server.blocks_applied == 2
    events = recorded_events(records)
    refused = [e for e in events if e.event == "rejected_record"]
    assert {e.details["reason"] for e in refused} == {"not_dispatched_to_peer", "unregistered_peer"}
    assert all(e.details["peer"] for e in refused)  # the peer's identity, recorded
    assert any(e.details["claimed_source"] == "decoder-b" for e in refused)


def test_a_lost_workers_blocks_are_dispatched_again_to_a_healthy_one(ctx, rig):
    server, endpoint, records, matching = rig
    a = _Peer(ctx, endpoint, "decoder-a", credit=2)
    assert server.wait_for_workers(1, timeout=10.0)
    server.step(poll_ms=0)
    server.step(poll_ms=0)
    held = a.blocks()
    assert len(held) == 2
    server.stop()  # no more blocks: only these two are in flight
    b = _Peer(ctx, endpoint, "decoder-b", credit=4)
    assert server.wait_for_workers(2, timeout=10.0)
    peer_a = next(p for p in server.dispatcher.peers.values() if p.name == "decoder-a")
    peer_a.last_seen = 0.0  # a has been silent since the epoch: the next tick declares it lost
    server.dispatcher.tick(time.time())
    again = b.blocks()
    assert sorted(r.seq for r in again) == sorted(r.seq for r in held)
    for rec in held:  # a wakes up and answers: too late, refused (it holds them no more)
        a.correct(rec, matching)
    for rec in again:
        b.correct(rec, matching)
    server.drain(timeout=5.0)
    assert server.blocks_applied == 2 and server.dispatcher.redispatched == 2
    kinds = [e.event for e in recorded_events(records)]
    assert "worker_lost" in kinds and kinds.count("rejected_record") == 2


def test_one_corrections_message_answers_several_blocks_each_checked_on_its_own(ctx, rig):
    """A worker answers queued blocks in one Corrections record: each block is checked as a
    lone correction (held by that peer, its shots), returns its credit, and is applied in
    order; a block in it that the peer does not hold is refused, the others still applied."""
    server, endpoint, records, matching = rig
    a = _Peer(ctx, endpoint, "decoder-a", credit=3)
    b = _Peer(ctx, endpoint, "decoder-b", credit=1)
    assert server.wait_for_workers(2, timeout=10.0)
    for _ in range(4):
        server.step(poll_ms=0)
    got_a, got_b = a.blocks(), b.blocks()
    assert len(got_a) == 3 and len(got_b) == 1
    peer_a = next(p for p in server.dispatcher.peers.values() if p.name == "decoder-a")
    assert peer_a.credit == 0
    answers = got_b + got_a  # b's block inside a's message: refused
    preds = [matching.decode_batch(r.arrays["detection_events"], bit_packed_shots=True,
                                   bit_packed_predictions=True) for r in answers]
    a.out.send(Corrections(syndrome_seqs=[r.seq for r in answers],
                           shots=[len(p) for p in preds], t_decoded=[1.0] * 4,
                           decode_seconds=[0.0] * 4, t_received=[1.0] * 4,
                           shadow_shots=[0] * 4, shadow_disagreements=[0] * 4),
               {"predictions": np.concatenate(preds)})
    for _ in range(20):
        server.step(poll_ms=10)
        if server.blocks_applied:
            break
    # a's three blocks are corrected; they wait behind b's (older) block to be applied
    assert server.dispatcher.refused == 1 and peer_a.blocks == 3
    b.correct(got_b[0], matching)
    server.drain(timeout=5.0)
    assert server.blocks_applied == 4 and server.blocks_lost == 0
    refused = [e for e in recorded_events(records) if e.event == "rejected_record"]
    assert [e.details["reason"] for e in refused] == ["not_dispatched_to_peer"]
