"""One record per batch of small blocks, each way: the blocks a step acquires for a worker go in
one ``syndrome_blocks`` record (the same record to the worker and to the recorder), their
corrections come back in one ``corrections`` record, and every guarantee of the one-block path
holds: in-order application, a correction only from the worker holding its block, gaps and
duplicates found per block, the same predictions; a lone block goes at once, alone."""

from __future__ import annotations

import numpy as np
import zmq

from qplane.codes import memory_circuit
from qplane.errors import QplaneError
from qplane.pipeline.delivery import RetainingOutbox
from qplane.pipeline.transport import make_socket
from qplane.records import Corrections, FlushAck, Record, Syndrome, SyndromeBlocks, decode, unbundle
from qplane.runfile import open_run
from tests.pipeline.test_bundles import _recorder_rig
from tests.pipeline.test_dispatch import RUN, _Peer, start_server


def _messages(peer, max_polls=50):
    """The records each message to ``peer`` carried (heartbeats left out)."""
    out = []
    for _ in range(max_polls):
        if not peer.sock.poll(20):
            break
        recs = [decode(p) for p in unbundle(peer.sock.recv_multipart())]
        recs = [r for r in recs if r.kind != "heartbeat"]
        if recs:
            out.append(recs)
    return out


def _blocks(rec):
    """The per-block syndrome records a syndrome or syndrome_blocks record stands for."""
    return rec.body.syndromes(rec) if isinstance(rec.body, SyndromeBlocks) else [rec]


def _recorded(records):
    got = []
    while records.poll(200):
        got.extend(decode(p) for p in unbundle(records.recv_multipart()))
    return got


def _predict(matching, recs):
    return [matching.decode_batch(r.arrays["detection_events"], bit_packed_shots=True,
                                  bit_packed_predictions=True) for r in recs]


def _corrections(blocks, preds):
    n = len(blocks)
    return (Corrections(syndrome_seqs=[b.seq for b in blocks], shots=[len(p) for p in preds],
                        t_decoded=[1.0] * n, decode_seconds=[0.0] * n, t_received=[1.0] * n,
                        shadow_shots=[0] * n, shadow_disagreements=[0] * n),
            {"predictions": np.concatenate(preds)})


def _one_batch(ctx, tmp_path, shots):
    """A server (8 in flight, 4 blocks) whose first step sent worker ``decoder-a`` one batch:
    ``(qpu, server, endpoint, records, matching, a, the batch's blocks)``."""
    qpu, server, endpoint, records, matching = start_server(
        ctx, tmp_path, shots_per_block=shots, max_in_flight=8, max_blocks=4)
    a = _Peer(ctx, endpoint, "decoder-a", credit=8)
    assert server.wait_for_workers(1, timeout=10.0)
    server.step(poll_ms=0)
    return qpu, server, endpoint, records, matching, a, _blocks(_messages(a)[0][0])


def test_a_steps_blocks_go_to_the_worker_and_the_recorder_as_one_record(ctx, tmp_path):
    qpu, server, endpoint, records, matching = start_server(
        ctx, tmp_path, shots_per_block=1, max_in_flight=8, max_blocks=4)
    a = _Peer(ctx, endpoint, "decoder-a", credit=8)
    assert server.wait_for_workers(1, timeout=10.0)
    server.step(poll_ms=0)  # the four blocks there are, in one step
    messages = _messages(a)
    assert [[r.kind for r in m] for m in messages] == [["syndrome_blocks"]]
    batch = messages[0][0]
    blocks = _blocks(batch)
    assert [b.seq for b in blocks] == [0, 1, 2, 3]
    assert [b.body.block_index for b in blocks] == batch.body.block_indices
    server.stop()
    server.records.release()
    to_recorder = [r for r in _recorded(records) if r.kind.startswith("syndrome")]
    assert [r.uid for r in to_recorder] == [batch.uid]  # the same record, encoded once
    assert server.records.sent["syndrome"] == 4 and server.records.sent["syndrome_blocks"] == 1
    qpu.close()


def test_a_batchs_corrections_are_applied_in_acquisition_order(ctx, tmp_path):
    qpu, server, endpoint, records, matching, a, blocks = _one_batch(ctx, tmp_path, 2)
    preds = _predict(matching, blocks)
    # the three newest answered first (in one message, newest first): nothing can be applied
    a.out.send(*_corrections(blocks[:0:-1], preds[:0:-1]))
    for _ in range(20):
        server.step(poll_ms=10)
    assert server.blocks_applied == 0 and server.in_flight == 4
    a.correct(blocks[0], matching)  # the oldest: now all four go, oldest first
    for _ in range(20):
        server.step(poll_ms=10)
        if server.blocks_applied == 4:
            break
    assert server.blocks_applied == 4 and server.duplicates == 0
    server.drain(timeout=2.0)
    applied = [r for r in _recorded(records) if r.kind in ("applied", "applied_blocks")]
    order = [s for r in applied for s in (r.body.syndrome_seqs if r.kind == "applied_blocks"
                                          else [r.body.syndrome_seq])]
    assert order == [0, 1, 2, 3]
    got = {s: p for r in applied for s, p in (
        [(x.body.syndrome_seq, x.arrays["predictions"]) for x in r.body.applied(r)]
        if r.kind == "applied_blocks" else [(r.body.syndrome_seq, r.arrays["predictions"])])}
    for b, p in zip(blocks, preds):
        assert np.array_equal(got[b.seq], p)  # each block's own predictions, where they belong
    qpu.close()


def test_a_forged_correction_for_a_block_of_a_batch_is_refused(ctx, tmp_path):
    qpu, server, endpoint, records, matching, a, blocks = _one_batch(ctx, tmp_path, 1)
    b = _Peer(ctx, endpoint, "decoder-b", credit=8)
    assert server.wait_for_workers(2, timeout=10.0)
    wrong = [np.ones_like(p) for p in _predict(matching, blocks[1:3])]
    b.out.send(*_corrections(blocks[1:3], wrong))  # b does not hold them: refused, each
    for _ in range(20):
        server.step(poll_ms=10)
    assert server.dispatcher.refused == 2 and server.blocks_applied == 0
    a.out.send(*_corrections(blocks, _predict(matching, blocks)))
    server.drain(timeout=5.0)
    assert server.blocks_applied == 4 and server.duplicates == 0
    events = [r.body for r in _recorded(records) if r.kind == "event"]
    refused = [e for e in events if e.event == "rejected_record"]
    assert refused and {e.details["reason"] for e in refused} == {"not_dispatched_to_peer"}
    qpu.close()


def test_a_lone_block_goes_at_once_in_a_syndrome_record(ctx, tmp_path):
    """With room for one block (one in flight), or a source whose next block is not ready
    yet, the block acquired goes in the step it was acquired, alone: it never waits for
    company."""
    qpu, server, endpoint, records, matching = start_server(
        ctx, tmp_path, shots_per_block=1, max_in_flight=1, max_blocks=3)
    a = _Peer(ctx, endpoint, "decoder-a", credit=8)
    assert server.wait_for_workers(1, timeout=10.0)
    assert server.step(poll_ms=0) == 1
    messages = _messages(a, max_polls=5)
    assert [[r.kind for r in m] for m in messages] == [["syndrome"]]
    qpu.close()

    (tmp_path / "paced").mkdir()
    qpu, server, endpoint, records, matching = start_server(
        ctx, tmp_path / "paced", shots_per_block=1, max_in_flight=8, max_blocks=6)
    server._block_ready = lambda: False  # a paced source: the next block is not due yet
    a = _Peer(ctx, endpoint, "decoder-a", credit=8)
    assert server.wait_for_workers(1, timeout=10.0)
    assert server.step(poll_ms=0) == 1  # one block acquired and sent, not six
    assert [[r.kind for r in m] for m in _messages(a, max_polls=5)] == [["syndrome"]]
    server._block_ready = lambda: True
    assert server.step(poll_ms=0) == 5  # the rest, together
    assert [[r.kind for r in m] for m in _messages(a, max_polls=5)] == [["syndrome_blocks"]]
    qpu.close()


def test_blocks_split_between_two_workers_each_get_one_record(ctx, tmp_path):
    qpu, server, endpoint, records, matching = start_server(
        ctx, tmp_path, shots_per_block=1, max_in_flight=8, max_blocks=4)
    a = _Peer(ctx, endpoint, "decoder-a", credit=8)
    b = _Peer(ctx, endpoint, "decoder-b", credit=8)
    assert server.wait_for_workers(2, timeout=10.0)
    server.step(poll_ms=0)
    got_a, got_b = _messages(a), _messages(b)
    assert [len(m) for m in got_a] == [1] and [len(m) for m in got_b] == [1]
    seqs = sorted(s.seq for m in got_a + got_b for s in _blocks(m[0]))
    assert seqs == [0, 1, 2, 3]
    for peer, got in ((a, got_a), (b, got_b)):
        blocks = _blocks(got[0][0])
        peer.out.send(*_corrections(blocks, _predict(matching, blocks)))
    server.drain(timeout=5.0)
    assert server.blocks_applied == 4 and server.dispatcher.refused == 0
    qpu.close()


def test_a_lost_workers_batch_goes_again_whole_or_rebuilt(ctx, tmp_path):
    """A lost worker's blocks go again: in the record they came in when all of it is still
    outstanding, in one built for them when some were corrected meanwhile."""
    import time

    qpu, server, endpoint, records, matching = start_server(
        ctx, tmp_path, shots_per_block=1, max_in_flight=8, max_blocks=8, acquire_batch=4)
    a = _Peer(ctx, endpoint, "decoder-a", credit=8)
    assert server.wait_for_workers(1, timeout=10.0)
    server.step(poll_ms=0)
    server.step(poll_ms=0)
    first, second = [m[0] for m in _messages(a)]
    a.correct(_blocks(second)[0], matching)  # one block of the second batch is corrected
    for _ in range(10):
        server.step(poll_ms=10)
    server.stop()
    b = _Peer(ctx, endpoint, "decoder-b", credit=8)
    assert server.wait_for_workers(2, timeout=10.0)
    next(p for p in server.dispatcher.peers.values() if p.name == "decoder-a").last_seen = 0.0
    server.dispatcher.tick(time.time())
    again = [r for m in _messages(b) for r in m]
    assert again[0].uid == first.uid  # the first batch whole, as it was
    rebuilt = again[1]
    assert rebuilt.kind == "syndrome_blocks" and rebuilt.body.syndrome_seqs == [5, 6, 7]
    assert all(np.array_equal(x.arrays["detection_events"], y.arrays["detection_events"])
               for x, y in zip(_blocks(rebuilt), _blocks(second)[1:]))
    blocks = _blocks(first) + _blocks(rebuilt)
    b.out.send(*_corrections(blocks, _predict(matching, blocks)))
    server.drain(timeout=5.0)
    assert server.blocks_applied == 8 and server.blocks_lost == 0
    qpu.close()


def test_the_recorder_records_each_block_of_a_batch_and_finds_gaps_and_duplicates(ctx, tmp_path):
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.01)
    recorder, out, cid = _recorder_rig(ctx, tmp_path, circuit)
    width = (circuit.num_detectors + 7) // 8
    while recorder.writer is None and recorder.step(poll_ms=1000):  # run_start, circuit
        pass

    def batch(seqs, seq):
        n = len(seqs)
        body = SyndromeBlocks(circuit_id=cid, num_detectors=circuit.num_detectors,
                              syndrome_seqs=seqs, block_indices=seqs, shots=[2] * n,
                              t_acquired=[float(s) for s in seqs], settings_changes=[0] * n)
        return Record.build(body, run_id=RUN, source="instrument_server", seq=seq,
                            arrays={"detection_events": np.repeat(
                                np.array(seqs, np.uint8), 2)[:, None].repeat(width, 1)})

    recorder.handle(batch([0, 1, 2], 0))
    recorder.handle(batch([0, 1, 2], 0))  # the same record again: a duplicate, not written twice
    recorder.handle(batch([4, 5], 1))  # block seq 3 never came: a gap on the syndrome stream
    lone = Record.build(Syndrome(block_index=6, circuit_id=cid, num_detectors=circuit.num_detectors,
                                 t_acquired=6.0), run_id=RUN, source="instrument_server", seq=6,
                        arrays={"detection_events": np.full((2, width), 6, np.uint8)})
    recorder.handle(lone)  # a lone block after batches: the same stream, in order
    assert recorder.gaps == 1 and recorder.duplicates == 1
    recorder._write_blocks()
    recorder.close()
    with open_run(str(tmp_path / "run.h5")) as run:
        assert list(run.blocks["seq"]) == [0, 1, 2, 4, 5, 6]
        assert run.read_shots("detection_events")[:, 0].tolist() == [
            s for s in (0, 1, 2, 4, 5, 6) for _ in range(2)]
        gaps = run.events[run.events["kind"] == "gap"]
        assert len(gaps) == 1 and "syndrome record(s)" in gaps["message"].iloc[0]


def test_a_resync_names_the_first_block_of_a_kept_batch(ctx, tmp_path):
    """A restarted recorder takes the syndrome stream up from the oldest block not yet
    acknowledged, also when that block went in a syndrome_blocks record."""
    out = RetainingOutbox(make_socket(ctx, zmq.DEALER, f"ipc://{tmp_path}/r", bind=False),
                          run_id=RUN, source="instrument_server")
    cid = "ab" * 8
    body = SyndromeBlocks(circuit_id=cid, num_detectors=8, syndrome_seqs=[10, 11],
                          block_indices=[0, 1], shots=[1, 1], t_acquired=[0.0, 0.0],
                          settings_changes=[0, 0])
    rec = Record.build(body, run_id=RUN, source="instrument_server", seq=3,
                       arrays={"detection_events": np.zeros((2, 1), np.uint8)})
    out.send_frames(rec, [b"x"])
    lone = Record.build(Syndrome(block_index=2, circuit_id=cid, num_detectors=8, t_acquired=0.0),
                        run_id=RUN, source="instrument_server", seq=12,
                        arrays={"detection_events": np.zeros((1, 1), np.uint8)})
    out.send_frames(lone, [b"y"])
    first = decode(out._resync()).body.first
    assert first["syndrome_blocks"] == 3 and first["syndrome"] == 10
    out._ack(FlushAck(epoch=out.epoch, upto={"syndrome_blocks": 3}))  # the batch is in the file
    assert decode(out._resync()).body.first["syndrome"] == 12


def test_a_batch_is_applied_in_one_device_call_and_a_refused_block_is_lost_alone(ctx, tmp_path):
    """The server hands the device a batch's ready corrections in one ``apply_corrections``
    call; where the device refuses one of them, that block alone is lost (its frame unknown,
    a ``correction_refused`` event) and the others are applied and reported."""
    qpu, server, endpoint, records, matching, a, blocks = _one_batch(ctx, tmp_path, 2)
    calls = []
    native, single = qpu.apply_corrections, qpu.apply_correction
    refused_index = blocks[1].body.block_index

    def batch_refusing_second(batch):  # all or none, as the contract says
        calls.append(len(batch))
        if any(index == refused_index for index, _ in batch):
            raise QplaneError("refused by the test")
        return native(batch)

    def refuse_second(index, flips):
        if index == refused_index:
            raise QplaneError("refused by the test")
        return single(index, flips)

    qpu.apply_corrections, qpu.apply_correction = batch_refusing_second, refuse_second
    preds = _predict(matching, blocks)
    a.out.send(*_corrections(blocks, preds))
    server.drain(timeout=5.0)
    assert calls == [4]  # one device call for the four blocks (refused: then one by one)
    assert server.blocks_applied == 3 and server.blocks_lost == 1
    recorded = _recorded(records)
    refused = [r.body for r in recorded if r.kind == "event" and r.body.event == "correction_refused"]
    assert [e.details["syndrome_seq"] for e in refused] == [blocks[1].seq]
    applied = [s for r in recorded if r.kind in ("applied", "applied_blocks")
               for s in (r.body.syndrome_seqs if r.kind == "applied_blocks"
                         else [r.body.syndrome_seq])]
    assert applied == [blocks[0].seq, blocks[2].seq, blocks[3].seq]
    qpu.close()


def _first_step_shares(ctx, tmp_path, **options):
    """Blocks per message each of two workers (credit 8 each) got from a server's first step
    acquiring four one-shot blocks."""
    tmp_path.mkdir()
    qpu, server, endpoint, records, matching = start_server(
        ctx, tmp_path, shots_per_block=1, max_in_flight=8, max_blocks=4, **options)
    try:
        peers = [_Peer(ctx, endpoint, f"decoder-{n}", credit=8) for n in "ab"]
        assert server.wait_for_workers(2, timeout=10.0)
        server.step(poll_ms=0)
        return sorted([len(_blocks(m[0])) for m in _messages(p)] for p in peers)
    finally:
        qpu.close()


def test_a_batch_is_shared_between_workers_unless_they_share_a_cpu(ctx, tmp_path):
    # spread over their own CPUs, two workers decode a batch's halves at once ...
    assert _first_step_shares(ctx, tmp_path / "spread") == [[2], [2]]
    # ... on one CPU (qplane.placement) the halves would only queue there: one gets it whole
    assert _first_step_shares(ctx, tmp_path / "shared", whole_batches=True) == [[], [4]]
