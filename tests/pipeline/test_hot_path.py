"""The hot path's choices that are not timings: the run file's compression setting, the
server's records held to their bundle's time (not one message per wait), the next block
acquired in the step that made room, drains that do not raise on an empty queue, and one
block in flight end to end (order, predictions, integrity, the per-process profiles)."""

import pathlib
import pstats

import h5py
import numpy as np
import pytest
import yaml
import zmq

from qplane.config import load_config
from qplane.pipeline import instrument_server
from qplane.pipeline.recorder import Recorder
from qplane.pipeline.transport import Inbox, Outbox, has_message, make_socket, queued
from qplane.records import (Applied, Correction, QecInfo, Register, RunEnd, RunStart, Syndrome,
                            decode, unbundle)
from qplane.runfile import open_run
from tests.pipeline.replay_run import replay_one_shot_blocks
from tests.pipeline.test_dispatch import start_server

RUN = "run-hot"
SIM_D3 = pathlib.Path(__file__).parents[2] / "config" / "sim_d3.yaml"


def _record_one_block(ctx, tmp_path, **recorder_options):
    pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/rec", bind=True)
    push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/rec", bind=False)
    path = str(tmp_path / "run.h5")
    recorder = Recorder(records=pull, path=path, run_id=RUN, **recorder_options)
    server = Outbox(push, run_id=RUN, source="instrument_server")
    server.send(RunStart(config_text="x", config_path="c.yaml", station_snapshot={},
                         num_detectors=16, num_observables=1,
                         qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=4)))
    dets = np.arange(8, dtype=np.uint8).reshape(4, 2)
    syndrome = server.send(Syndrome(block_index=0, circuit_id="0" * 16, num_detectors=16,
                                    t_acquired=1.0), {"detection_events": dets})
    server.send(Applied(syndrome_seq=syndrome.seq, t_decoded=1.1, t_applied=1.2,
                        decode_seconds=0.01, worker="decoder-0", failures=0),
                {"predictions": np.ones((4, 1), np.uint8), "truth": np.ones((4, 1), np.uint8)})
    Outbox(push, run_id=RUN, source="launcher").send(RunEnd(end_state="completed", reason="test"))
    recorder.run()
    recorder.close()
    return path, dets


@pytest.mark.parametrize("compression, filter_", [("lzf", "lzf"), ("none", None)])
def test_the_run_files_per_shot_datasets_are_compressed_as_configured(ctx, tmp_path,
                                                                      compression, filter_):
    path, dets = _record_one_block(ctx, tmp_path, compression=compression)
    with h5py.File(path, "r") as f:
        assert f["qec/detection_events"].compression == filter_
        assert f["qec/predictions"].compression == filter_
        np.testing.assert_array_equal(f["qec/detection_events"][:], dets)  # read back the same
        assert f["qec/blocks"][0]["applied"] == 1


def test_compression_is_a_run_setting_lzf_by_default(tmp_path):
    assert load_config(str(SIM_D3)).qplane.run.compression == "lzf"
    doc = yaml.safe_load(SIM_D3.read_text())
    doc["qplane"].setdefault("run", {})["compression"] = "none"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert load_config(str(path)).qplane.run.compression == "none"


def test_a_drain_of_an_empty_queue_returns_without_raising(ctx, tmp_path):
    pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/q", bind=True)
    push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/q", bind=False)
    inbox = Inbox(pull, run_id=RUN)
    assert not has_message(pull) and list(queued(inbox)) == []
    out = Outbox(push, run_id=RUN, source="instrument_server")
    for i in range(3):
        out.event("info", "e", f"m{i}")
    assert pull.poll(5000)
    got = []
    for _ in range(100):  # bounded: the three arrive (all queued by now, or soon)
        got += [g[1].body.message for g in queued(inbox)]
        if len(got) == 3:
            break
        pull.poll(100)
    assert got == ["m0", "m1", "m2"]


class _Worker:
    """A decoding worker played by the test (a DEALER that registers and corrects on demand)."""

    def __init__(self, ctx, endpoint, matching):
        self.sock = make_socket(ctx, zmq.DEALER, endpoint, bind=False, linger_ms=0)
        self.out = Outbox(self.sock, run_id=RUN, source="decoder-0")
        self.out.send(Register(name="decoder-0", role="decoder", credit=1))
        self.matching = matching

    def correct_next(self) -> int:
        """Wait (bounded) for the next block and send its correction; return its seq."""
        for _ in range(250):
            if self.sock.poll(20):
                for part in unbundle(self.sock.recv_multipart()):
                    rec = decode(part)
                    if rec.kind == "syndrome":
                        preds = self.matching.decode_batch(
                            rec.arrays["detection_events"], bit_packed_shots=True,
                            bit_packed_predictions=True)
                        self.out.send(Correction(syndrome_seq=rec.seq, t_decoded=0.0,
                                                 decode_seconds=0.0), {"predictions": preds})
                        return rec.seq
        raise AssertionError("no block was dispatched")


@pytest.fixture
def one_in_flight(ctx, tmp_path):
    qpu, server, endpoint, records, matching = start_server(
        ctx, tmp_path, shots_per_block=1, run_id=RUN, max_in_flight=1, max_blocks=5)
    worker = _Worker(ctx, endpoint, matching)
    assert server.wait_for_workers(1, timeout=10.0)
    yield server, worker, records
    qpu.close()


def _received(records):
    got = []
    while records.poll(200):
        got += [decode(part) for part in unbundle(records.recv_multipart())]
    return got


def _kinds(records):
    return [rec.kind for rec in _received(records)]


def _applied_seqs(recs):
    """The syndrome seqs of the blocks reported applied, in the order reported."""
    seqs = []
    for rec in recs:
        if rec.kind == "applied":
            seqs.append(rec.body.syndrome_seq)
        elif rec.kind == "applied_blocks":
            seqs += list(rec.body.syndrome_seqs)
    return seqs


def _syndrome_seqs(recs):
    """The syndrome seqs of the blocks whose syndromes reached the recorder, in order (a
    syndrome record's own seq, a syndrome_blocks record's blocks')."""
    seqs = []
    for rec in recs:
        if rec.kind == "syndrome":
            seqs.append(rec.seq)
        elif rec.kind == "syndrome_blocks":
            seqs += list(rec.body.syndrome_seqs)
    return seqs


def test_the_step_that_applies_a_correction_acquires_the_next_block(one_in_flight):
    server, worker, _ = one_in_flight
    server.step(poll_ms=0)  # the first block: acquired and dispatched
    assert server.blocks_acquired == 1 and server.in_flight == 1
    for n in range(1, 5):
        worker.correct_next()
        for _ in range(100):  # the step waits for the correction (bounded: a few steps)
            server.step(poll_ms=200)
            if server.blocks_applied == n:
                break
        # the same step applied block n - 1 and acquired block n: nothing waits a turn
        assert server.blocks_applied == n and server.blocks_acquired == n + 1
        assert server.in_flight == 1


def test_records_wait_for_their_bundle_not_for_each_wait(one_in_flight, monkeypatch):
    server, worker, records = one_in_flight
    _kinds(records)  # what start() sent (run start, circuit): not held
    monkeypatch.setattr(instrument_server, "BUNDLE_SECONDS", 3600.0)  # a bundle is never due
    server.step(poll_ms=0)
    for n in range(1, 4):  # three blocks, each dispatched, waited for and applied
        worker.correct_next()
        for _ in range(100):
            server.step(poll_ms=200)
            if server.blocks_applied == n:
                break
    assert server.blocks_applied == 3
    assert not records.poll(50)  # nothing went to the recorder before a wait, block by block
    server.stop()  # stopping sends what is held: every record, none lost
    recs = _received(records)
    syndromes = _syndrome_seqs(recs)
    assert syndromes == [0, 1, 2, 3] and _applied_seqs(recs) == syndromes[:3]
    # the four lone blocks' syndromes went as one record, before the applied blocks
    kinds = [r.kind for r in recs]
    assert kinds.count("syndrome_blocks") == 1 and "syndrome" not in kinds
    assert kinds.index("syndrome_blocks") < kinds.index("applied_blocks")


def test_blocks_applied_in_several_steps_reach_the_recorder_in_one_record(one_in_flight,
                                                                          monkeypatch):
    """The blocks applied while a bundle is held are reported with it, in one
    ``applied_blocks`` record (not one ``applied`` record each), after their syndromes, and
    none is lost: stopping sends what was held."""
    server, worker, records = one_in_flight
    _kinds(records)  # what start() sent
    monkeypatch.setattr(instrument_server, "BUNDLE_SECONDS", 3600.0)  # held until stopping
    server.step(poll_ms=0)
    for n in range(1, 4):  # three blocks applied, each in its own step
        worker.correct_next()
        for _ in range(100):
            server.step(poll_ms=200)
            if server.blocks_applied == n:
                break
    server.stop()
    recs = _received(records)
    kinds = [r.kind for r in recs]
    syndromes = _syndrome_seqs(recs)
    assert _applied_seqs(recs) == syndromes[:3]  # each applied block once, in order
    assert kinds.count("applied") + kinds.count("applied_blocks") < 3  # not a record per block
    first_applied = min(i for i, k in enumerate(kinds) if k.startswith("applied"))
    # the applied blocks' syndromes go first
    assert set(_syndrome_seqs(recs[:first_applied])) >= set(_applied_seqs(recs))


def test_one_in_flight_replay_end_to_end_uncompressed_and_profiled(tmp_path):
    """Blocks of 1 shot, 1 in flight, through the real processes: every block applied once, in
    order, with PyMatching's predictions; the file uncompressed as configured; and with
    ``profile_dir`` each process leaves its profile."""
    replay = replay_one_shot_blocks(tmp_path, shots=200, in_flight=1, run={"compression": "none"},
                                    profile_dir=str(tmp_path / "profiles"))
    with open_run(replay.out) as run:
        replay.check_every_block_once_in_order(run)
    with h5py.File(replay.out, "r") as f:
        assert f["qec/detection_events"].compression is None
    for source in ("recorder", "instrument_server", "decoder-0"):
        stats = pstats.Stats(str(tmp_path / "profiles" / f"{source}.prof"))
        assert stats.total_calls > 0


def test_a_pipeline_process_freezes_its_start_up_heap_before_its_loop():
    """What start-up made is left out of the garbage collector's scans (a full collection of
    it stalled the recorder's loop for ~0.1 s): collected once, then frozen, before each
    role's loop."""
    import gc
    import inspect
    import weakref

    from qplane.pipeline import process

    class Node:
        pass

    gc.unfreeze()
    try:
        node = Node()
        node.itself = node  # a cycle: collected before the freeze, not frozen with the heap
        gone = weakref.ref(node)
        del node
        process._freeze_heap()
        assert gone() is None
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
    for role, loop in ((process._run_recorder, "recorder.run("),
                       (process._run_instrument_server, "server.wait_for_workers("),
                       (process._run_decoder, "worker.start()")):
        source = inspect.getsource(role)
        assert "_freeze_heap()" in source[:source.index(loop)], role.__name__


def test_the_recorders_in_order_path_keeps_gaps_duplicates_and_stream_ranges(ctx, tmp_path):
    """Block records in order take the recorder's short path; a gap, a duplicate and the
    stream's first and last seq are still recorded exactly (the short path falls back)."""
    from qplane.records import Record, StreamEnd, pack

    pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/rec", bind=True)
    push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/rec", bind=False)
    path = str(tmp_path / "run.h5")
    recorder = Recorder(records=pull, path=path, run_id=RUN, compression="none")
    server = Outbox(push, run_id=RUN, source="instrument_server")
    server.send(RunStart(config_text="x", config_path="c.yaml", station_snapshot={},
                         num_detectors=16, num_observables=1,
                         qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=2)))

    def send(body, seq, arrays):
        push.send(pack(Record.build(body, run_id=RUN, source="instrument_server", seq=seq,
                                    arrays=arrays)))

    for i, seq in enumerate([0, 1, 3, 3, 4]):  # seq 2 missing, seq 3 twice
        send(Syndrome(block_index=i, circuit_id="0" * 16, num_detectors=16, t_acquired=1.0),
             seq, {"detection_events": np.full((2, 2), i, np.uint8)})
    for n, seq in enumerate([0, 1, 3, 4]):
        send(Applied(syndrome_seq=seq, t_decoded=1.1, t_applied=1.2, decode_seconds=0.01,
                     worker="decoder-0", failures=0), n,
             {"predictions": np.ones((2, 1), np.uint8), "truth": np.ones((2, 1), np.uint8)})
    server.send(StreamEnd(sent={"syndrome": 5, "applied": 4}))
    Outbox(push, run_id=RUN, source="launcher").send(RunEnd(end_state="completed", reason="test"))
    recorder.run()
    recorder.close()
    with h5py.File(path, "r") as f:
        blocks = f["qec/blocks"][:]
        streams = {(r["source"].decode() if isinstance(r["source"], bytes) else r["source"],
                    r["kind"].decode() if isinstance(r["kind"], bytes) else r["kind"]): r
                   for r in f["streams"][:]}
        kinds = [k.decode() if isinstance(k, bytes) else k for k in f["events"]["kind"]]
    assert sorted(blocks["seq"].tolist()) == [0, 1, 3, 4]  # the duplicate not written twice
    assert (blocks["applied"] == 1).all()
    assert kinds.count("gap") == 1 and kinds.count("duplicate") == 1
    row = streams[("instrument_server", "syndrome")]
    assert (row["recorded"], row["first_seq"], row["last_seq"]) == (4, 0, 4)
    row = streams[("instrument_server", "applied")]
    assert (row["recorded"], row["first_seq"], row["last_seq"]) == (4, 0, 3)


def test_recv_parts_gives_the_frames_recv_multipart_gives(ctx):
    from qplane.pipeline.transport import recv_parts

    router = ctx.socket(zmq.ROUTER)
    router.bind("inproc://parts")
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect("inproc://parts")
    try:
        for message in ([b"one"], [b"a", b"", b"c" * 20000], [b""]):
            dealer.send_multipart(message)
            got = recv_parts(router)
            assert got[1:] == message and all(type(f) is bytes for f in got)
            router.send_multipart([got[0], *message])
            assert recv_parts(dealer) == message
        with pytest.raises(zmq.Again):  # nothing queued: as recv_multipart(NOBLOCK)
            recv_parts(dealer, zmq.NOBLOCK)
    finally:
        router.close(0)
        dealer.close(0)


def test_a_drain_announced_ready_ends_quietly_when_nothing_is_there(ctx):
    pull = ctx.socket(zmq.PULL)
    pull.bind("inproc://ready")
    push = ctx.socket(zmq.PUSH)
    push.connect("inproc://ready")
    try:
        inbox = Inbox(pull, run_id="r")
        assert list(queued(inbox, ready=True)) == []  # zmq.Again ends it, nothing raised
        out = Outbox(push, run_id="r", source="instrument_server")
        for i in range(3):
            out.event("info", "e", f"m{i}")
        assert pull.poll(1000)
        got = list(queued(inbox, ready=True))
        assert [g[1].body.message for g in got] == ["m0", "m1", "m2"]
    finally:
        pull.close(0)
        push.close(0)


def test_any_expired_says_what_expired_would_yield():
    from qplane.pipeline._in_flight import InFlight, InFlightBlocks

    blocks = InFlightBlocks()
    assert not blocks.any_expired(10.0, 1.0)
    blocks.add(InFlight(seq=0, block_index=0, t_acquired=0.0, shots=1))
    blocks.add(InFlight(seq=1, block_index=1, t_acquired=5.0, shots=1))
    for now in (0.5, 1.0, 5.5, 7.0):
        assert blocks.any_expired(now, 1.0) == bool(list(InFlightBlocks.expired(
            _copy(blocks), now, 1.0)))
    blocks.offer(0, "c")  # corrected, waiting for nothing: stops the search
    assert not blocks.any_expired(100.0, 1.0)


def _copy(blocks):
    import copy

    return copy.deepcopy(blocks)
