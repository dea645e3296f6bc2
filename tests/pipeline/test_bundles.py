"""Bundles and batched records on the hot path: what the instrument server sends the recorder
goes in one message of several records (each decoded, checked and counted on its own), and the
blocks it applies together go in one ``applied_blocks`` record. Nothing changes in the file:
the same rows and predictions, in order, gaps and duplicates still found across bundles."""

from __future__ import annotations

import numpy as np
import zmq

from qplane.codes import circuit_fingerprint, memory_circuit
from qplane.pipeline.delivery import RetainingOutbox
from qplane.pipeline.recorder import Recorder
from qplane.pipeline.transport import Inbox, Outbox, make_socket
from qplane.records import (Applied, AppliedBlocks, Circuit, Event, QecInfo, RunStart, Syndrome,
                            decode, pack, unbundle)
from qplane.runfile import open_run
from tests.pipeline.replay_run import replay_one_shot_blocks

RUN = "run-bundles"


def test_held_records_go_as_one_message_and_arrive_one_by_one(ctx, tmp_path):
    receiver = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/b", bind=True)
    out = Outbox(make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/b", bind=False), run_id=RUN,
                 source="instrument_server")
    out.hold()
    for i in range(5):
        out.event("info", "n", f"record {i}")
    assert out.held == 5 and not receiver.poll(50)  # nothing sent while held
    out.release()
    assert receiver.poll(2000)
    frames = receiver.recv_multipart()
    assert len(frames) == 5 and not receiver.poll(50)  # one message
    assert [decode(part).body.message for part in unbundle(frames)] == [
        f"record {i}" for i in range(5)]
    out.event("info", "n", "alone")  # not held: sent at once, as one record
    assert receiver.poll(2000) and len(receiver.recv_multipart()) == 1


def test_a_record_of_a_bundle_is_refused_alone_a_malformed_bundle_as_a_whole(ctx, tmp_path):
    a = make_socket(ctx, zmq.PAIR, f"ipc://{tmp_path}/p", bind=True)
    b = make_socket(ctx, zmq.PAIR, f"ipc://{tmp_path}/p", bind=False)
    out = Outbox(b, run_id=RUN, source="instrument_server")
    good = [pack(out.build(Event(level="info", event="n", message=str(i)))) for i in range(3)]
    other_run = pack(Outbox(b, run_id="another", source="s").build(
        Event(level="info", event="n", message="x")))
    rejections = []
    inbox = Inbox(a, run_id=RUN, on_reject=rejections.append)
    b.send_multipart([good[0], good[1], other_run, good[2]])
    assert a.poll(2000)
    got = [inbox.recv()]
    assert inbox.pending == 3  # the rest of the bundle, no further wait on the socket
    while inbox.pending:
        got.append(inbox.recv())
    assert [g[1].body.message if g else None for g in got] == ["0", "1", None, "2"]
    assert inbox.received == 3 and inbox.rejected == 1
    b.send_multipart([good[0], b"junk\x00\x00\x00", good[1]])  # one part is no record
    assert a.poll(2000)
    assert inbox.recv() is None and inbox.pending == 0
    assert inbox.received == 3 and inbox.rejected == 2  # the message, once
    assert [r.reason for r in rejections] == ["other_run", "malformed"]
    assert "bundle of 3 records, record 1" in rejections[-1].message


def test_applied_blocks_split_into_the_applied_records_they_carry():
    bodies = [(Applied(syndrome_seq=s, t_decoded=1.0, t_applied=2.0, decode_seconds=0.1,
                       worker=f"decoder-{s % 2}", failures=s % 3, t_sent=0.5, t_received=0.6),
               {"predictions": np.full((s + 1, 1), s, np.uint8),
                "truth": np.full((s + 1, 1), 1, np.uint8)}) for s in range(3)]
    body, arrays = AppliedBlocks.of(bodies)
    out = Outbox(zmq.Context.instance().socket(zmq.PUSH), run_id=RUN, source="instrument_server")
    rec = decode([pack(out.build(body, arrays))])
    each = body.applied(rec)
    assert [r.body for r in each] == [b for b, _ in bodies]
    for r, (_, a) in zip(each, bodies):
        assert all(np.array_equal(r.arrays[k], a[k]) for k in a)


def _recorder_rig(ctx, tmp_path, circuit):
    router = make_socket(ctx, zmq.ROUTER, f"ipc://{tmp_path}/rec", bind=True)
    recorder = Recorder(records=router, path=str(tmp_path / "run.h5"), run_id=RUN,
                        flush_interval=0.01)
    out = RetainingOutbox(make_socket(ctx, zmq.DEALER, f"ipc://{tmp_path}/rec", bind=False),
                          run_id=RUN, source="instrument_server")
    out.send(RunStart(config_text="x", config_path="c", station_snapshot={},
                      num_detectors=circuit.num_detectors, num_observables=1,
                      qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=2)))
    cid = circuit_fingerprint(circuit)
    out.send(Circuit(circuit_id=cid, num_detectors=circuit.num_detectors, num_observables=1,
                     stim_circuit=str(circuit)))
    return recorder, out, cid


def test_the_recorder_finds_a_gap_across_bundles_and_writes_every_block(ctx, tmp_path):
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.01)
    recorder, out, cid = _recorder_rig(ctx, tmp_path, circuit)
    width = (circuit.num_detectors + 7) // 8
    rng = np.random.default_rng(1)
    sent = {}

    def block(i):
        dets = rng.integers(0, 256, (2, width), dtype=np.uint8)
        rec = out.send(Syndrome(block_index=i, circuit_id=cid, num_detectors=circuit.num_detectors,
                                t_acquired=float(i)), {"detection_events": dets})
        sent[rec.seq] = (dets, np.full((2, 1), i % 2, np.uint8))
        return rec.seq

    def applied(seqs):
        return AppliedBlocks.of([(Applied(syndrome_seq=s, t_decoded=1.0, t_applied=2.0,
                                          decode_seconds=0.0, worker="decoder-0", failures=0),
                                  {"predictions": sent[s][1]}) for s in seqs])

    out.hold()
    first = [block(i) for i in range(3)]
    out.send(*applied(first))
    out.release()  # bundle 1: syndromes 0-2 and one applied_blocks
    out._seq["syndrome"] += 1  # syndrome seq 3 never sent: a gap the next bundle shows
    out.hold()
    second = [block(i) for i in range(3, 5)]
    out.send(*applied(second))
    out.release()
    for _ in range(200):
        recorder.step(poll_ms=20)
        if recorder.writer is not None and recorder.inbox.received >= 9:
            break
    recorder.step(poll_ms=0)
    assert recorder.gaps == 1
    recorder.close()
    with open_run(str(tmp_path / "run.h5")) as run:
        blocks = run.blocks
        assert list(blocks["seq"]) == first + second == [0, 1, 2, 4, 5]
        assert blocks["applied"].all()
        for seq, start in zip(blocks["seq"], blocks["shot_start"]):
            dets, preds = sent[seq]
            assert np.array_equal(run.read_shots("detection_events")[start:start + 2], dets)
            assert np.array_equal(run.read_shots("predictions")[start:start + 2], preds)
        assert (run.events["kind"] == "gap").sum() == 1


def test_block_one_replay_batches_and_keeps_predictions_and_order(tmp_path):
    """End to end, blocks of 1 shot with 8 in flight: blocks queue up, so they are applied and
    recorded together, yet every block is applied once, in order, with PyMatching's
    predictions."""
    replay = replay_one_shot_blocks(tmp_path, shots=400, in_flight=8)
    with open_run(replay.out) as run:
        replay.check_every_block_once_in_order(run)
        streams = run.streams
        kinds = dict(zip(streams["kind"], streams["recorded"]))
        assert kinds.get("applied_blocks", 0) > 0  # batching happened


def test_blocks_written_uncorrected_are_completed_in_place_together(ctx, tmp_path):
    """Blocks still in flight at a flush are written uncorrected; their corrections, arriving
    later (here together, with one of them still missing), fill them in at the next flush."""
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.01)
    recorder, out, cid = _recorder_rig(ctx, tmp_path, circuit)
    width = (circuit.num_detectors + 7) // 8
    for _ in range(50):
        recorder.step(poll_ms=20)
        if recorder.writer is not None and recorder.inbox.received >= 2:
            break
    build = out.build
    for i in range(5):
        recorder.handle(build(Syndrome(block_index=i, circuit_id=cid, t_acquired=float(i),
                                       num_detectors=circuit.num_detectors),
                              {"detection_events": np.full((3, width), i, np.uint8)}))
    recorder._write_blocks()  # the flush: all five in flight, written with applied=0
    preds = {s: np.full((3, 1), s % 2, np.uint8) for s in range(5)}
    body, arrays = AppliedBlocks.of([(Applied(syndrome_seq=s, t_decoded=10.0 + s, t_applied=20.0,
                                              decode_seconds=0.0, worker="decoder-0",
                                              failures=s), {"predictions": preds[s]})
                                     for s in (0, 1, 3, 4)])  # block 2's correction is lost
    recorder.handle(build(body, arrays))
    recorder._write_blocks()
    recorder.close()
    with open_run(str(tmp_path / "run.h5")) as run:
        blocks = run.blocks
        assert list(blocks["applied"]) == [True, True, False, True, True]
        assert list(blocks["failures"]) == [0, 1, -1, 3, 4]
        assert list(blocks["t_decoded"].iloc[[0, 1, 3, 4]]) == [10.0, 11.0, 13.0, 14.0]
        got = run.read_shots("predictions")
        for s in (0, 1, 3, 4):
            start = int(blocks["shot_start"].iloc[s])
            assert np.array_equal(got[start:start + 3], preds[s])
        assert run.read_shots("detection_events")[:, 0].tolist() == [
            i for i in range(5) for _ in range(3)]
