"""Recorder and instrument server in one process, over ipc sockets in a temp folder."""

import h5py
import numpy as np
import pymatching
import zmq

from qplane.pipeline.instrument_server import InstrumentServer
from qplane.pipeline.recorder import Recorder
from qplane.pipeline.transport import Outbox, make_socket
from qplane.records import (Applied, Correction, Event, QecInfo, Register, RunEnd, RunStart, Syndrome,
                            decode, encode, unbundle)
from qplane.sim_instruments.qpu import SimulatedQPU

RUN = "run-test"


def ipc(tmp_path, name):
    return f"ipc://{tmp_path}/{name}"


def event_kinds(path):
    with h5py.File(path, "r") as f:
        return [e["kind"].decode() if isinstance(e["kind"], bytes) else e["kind"] for e in f["events"][:]]


def test_recorder_records_gaps_duplicates_and_rejections_and_keeps_running(ctx, tmp_path):
    pull = make_socket(ctx, zmq.PULL, ipc(tmp_path, "rec"), bind=True)
    push = make_socket(ctx, zmq.PUSH, ipc(tmp_path, "rec"), bind=False)
    path = str(tmp_path / "run.h5")
    recorder = Recorder(records=pull, path=path, run_id=RUN)
    server = Outbox(push, run_id=RUN, source="instrument_server")
    server.send(RunStart(config_text="x", config_path="c.yaml", station_snapshot={},
                         num_detectors=16, num_observables=1,
                         qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=4)))
    dets = np.arange(8, dtype=np.uint8).reshape(4, 2)
    meta = {"block_index": 0, "circuit_id": "0" * 16, "num_detectors": 16, "t_acquired": 1.0}
    first = server.send(Syndrome(**meta), {"detection_events": dets})
    server._seq["syndrome"] += 1  # seq 1 is never sent: a gap
    third = server.send(Syndrome(**dict(meta, block_index=2)), {"detection_events": dets + 1})
    push.send_multipart(encode(third))  # the same record again: a duplicate
    push.send_multipart([b"syndrome", b"{broken json"])  # malformed: rejected
    other_run = Outbox(push, run_id="another-run", source="x")
    other_run.send(Event(level="info", event="e", message="m"))
    truth = np.array([[0], [1], [0], [1]], np.uint8)
    server.send(Applied(syndrome_seq=first.seq, t_decoded=1.1, t_applied=1.2, decode_seconds=0.01,
                        worker="decoder-0", failures=2),
                {"predictions": np.zeros((4, 1), np.uint8), "truth": truth})
    Outbox(push, run_id=RUN, source="launcher").send(RunEnd(end_state="completed", reason="test"))
    recorder.run()
    recorder.close()

    kinds = event_kinds(path)
    assert kinds.count("gap") == 1
    assert kinds.count("duplicate") == 1
    assert kinds.count("rejected_record") == 2
    assert "unapplied_blocks" in kinds
    assert recorder.inbox.rejected == 2
    with h5py.File(path, "r") as f:
        assert f.attrs["end_state"] == "completed"
        blocks = f["qec/blocks"][:]
        # the duplicate is reported as an event and not written twice
        assert list(blocks["seq"]) == [0, 2]
        assert list(blocks["applied"]) == [1, 0]
        assert blocks[0]["failures"] == 2 and blocks[0]["worker"] == b"decoder-0"
        np.testing.assert_array_equal(f["qec/detection_events"][:4], dets)
        np.testing.assert_array_equal(f["qec/truth"][:4], truth)
        np.testing.assert_array_equal(f["qec/detection_events"][4:8], dets + 1)


class _Rig:
    """An instrument server with the test playing the decoding workers and the recorder."""

    def __init__(self, ctx, tmp_path, *, max_in_flight=4, correction_timeout=30.0, shots=32):
        self.qpu = SimulatedQPU(f"qpu_{tmp_path.name[-20:]}", distance=3, rounds=3, physical_error_rate=0.01,
                                shots_per_block=shots, seed=3)
        self.records = make_socket(ctx, zmq.PULL, ipc(tmp_path, "rec"), bind=True)
        self.server = InstrumentServer(
            qpu=self.qpu,
            dispatch=make_socket(ctx, zmq.ROUTER, ipc(tmp_path, "syn"), bind=True),
            control=make_socket(ctx, zmq.ROUTER, ipc(tmp_path, "ctl"), bind=True),
            records=Outbox(make_socket(ctx, zmq.PUSH, ipc(tmp_path, "rec"), bind=False), run_id=RUN,
                           source="instrument_server"),
            monitor=None, max_in_flight=max_in_flight, correction_timeout=correction_timeout, max_blocks=4,
            heartbeat_timeout=60.0,  # the test sends no heartbeats
            acquire_batch=1,  # one block per step: the test plays each block's worker
        )
        self.server.start(config_text="x", config_path="c", station_snapshot={})
        # The test is decoding worker decoder-0: a DEALER that registers with the server.
        self.syndromes = make_socket(ctx, zmq.DEALER, ipc(tmp_path, "syn"), bind=False)
        self.corrections = self.syndromes
        self.worker = Outbox(self.corrections, run_id=RUN, source="decoder-0")
        self.worker.send(Register(name="decoder-0", role="decoder", credit=max_in_flight))
        assert self.server.wait_for_workers(1, timeout=10.0)
        dem = self.qpu.decoding_circuit().detector_error_model(decompose_errors=True)
        self.matching = pymatching.Matching.from_detector_error_model(dem)

    def acquire(self, n):
        for _ in range(n):
            self.server.step(poll_ms=0)
        out = []
        while len(out) < n:  # the server's heartbeats come on the same socket
            for part in unbundle(self.syndromes.recv_multipart()):  # dispatched together
                rec = decode(part)
                if rec.kind == "syndrome":
                    out.append(rec)
        return out

    def correct(self, rec):
        preds = self.matching.decode_batch(rec.arrays["detection_events"], bit_packed_shots=True,
                                           bit_packed_predictions=True)
        self.worker.send(Correction(syndrome_seq=rec.seq, t_decoded=0.0, decode_seconds=0.0),
                         {"predictions": preds})
        return preds

    def recorded(self):
        out = []
        while self.records.poll(200):  # the server bundles what it sends the recorder
            for part in unbundle(self.records.recv_multipart()):
                rec = decode(part)  # blocks applied together come as one applied_blocks
                out.extend(rec.body.applied(rec) if rec.kind == "applied_blocks" else [rec])
        return out

    def close(self):
        self.qpu.close()


def test_corrections_are_applied_in_acquisition_order(ctx, tmp_path):
    rig = _Rig(ctx, tmp_path)
    try:
        blocks = rig.acquire(4)
        assert rig.server.step(poll_ms=0) == 0 and rig.server.in_flight == 4  # max_in_flight reached: nothing acquired
        for rec in reversed(blocks):  # corrections arrive in reverse order
            rig.correct(rec)
        rig.server.drain(timeout=5.0)
        applied = [r for r in rig.recorded() if r.kind == "applied"]
        assert [r.body.syndrome_seq for r in applied] == [0, 1, 2, 3]
        assert rig.server.blocks_applied == 4 and rig.qpu.shots_done() == 4 * 32
        for r in applied:
            wrong = np.any(r.arrays["predictions"] != r.arrays["truth"], axis=1)
            assert r.body.failures == wrong.sum()
        assert rig.qpu.logical_failures() == sum(r.body.failures for r in applied)
    finally:
        rig.close()


def test_duplicate_correction_is_recorded_not_applied_twice(ctx, tmp_path):
    rig = _Rig(ctx, tmp_path)
    try:
        (block,) = rig.acquire(1)
        rig.correct(block)
        rig.server.drain(timeout=5.0)
        rig.correct(block)
        for _ in range(20):
            rig.server.step(poll_ms=20)
        recorded = rig.recorded()
        assert [r.kind for r in recorded].count("applied") == 1
        dup = [r for r in recorded if r.kind == "event" and r.body.event == "duplicate_correction"]
        assert len(dup) == 1 and rig.server.duplicates == 1
        assert rig.qpu.shots_done() == 32
    finally:
        rig.close()


def test_missing_correction_is_declared_lost_and_the_frame_moves_on(ctx, tmp_path):
    rig = _Rig(ctx, tmp_path, correction_timeout=30.0)
    try:
        first, second = rig.acquire(2)
        rig.correct(second)  # the first block's correction never comes
        rig.server.stop()  # no more blocks: only these two are in flight
        for _ in range(500):  # until the server holds the second block's correction (bounded)
            rig.server.step(poll_ms=10)
            if rig.server._in_flight.get(second.seq).correction is not None:
                break
        # Now the first block is overdue (whatever the machine's load was until here): it is
        # declared lost, and the second block, waiting behind it, is applied.
        rig.server.correction_timeout = 0.0
        rig.server.drain(timeout=5.0)
        recorded = rig.recorded()
        lost = [r for r in recorded if r.kind == "event" and r.body.event == "correction_lost"]
        assert len(lost) == 1 and lost[0].body.details["syndrome_seq"] == first.seq
        assert [r.body.syndrome_seq for r in recorded if r.kind == "applied"] == [second.seq]
        assert rig.server.blocks_lost == 1
    finally:
        rig.close()


def test_server_rejects_malformed_correction_and_keeps_running(ctx, tmp_path):
    rig = _Rig(ctx, tmp_path)
    try:
        (block,) = rig.acquire(1)
        rig.corrections.send_multipart([b"correction", b"{}"])
        rig.correct(block)
        rig.server.drain(timeout=5.0)
        recorded = rig.recorded()
        rejected = [r for r in recorded if r.kind == "event" and r.body.event == "rejected_record"]
        assert len(rejected) == 1 and "missing required field" in rejected[0].body.message
        assert [r.kind for r in recorded].count("applied") == 1
    finally:
        rig.close()


def test_wrong_width_correction_is_recorded_not_applied_and_the_server_goes_on(ctx, tmp_path):
    rig = _Rig(ctx, tmp_path)
    try:
        (block,) = rig.acquire(1)
        wide = np.zeros((32, 2), np.uint8)  # a d=3 memory has one observable: 1 byte per shot
        rig.worker.send(Correction(syndrome_seq=block.seq, t_decoded=0.0, decode_seconds=0.0),
                        {"predictions": wide})
        rig.correct(block)  # the right one still counts
        rig.server.drain(timeout=5.0)
        recorded = rig.recorded()
        bad = [r for r in recorded if r.kind == "event" and r.body.event == "bad_correction"]
        assert len(bad) == 1 and "2 bytes per shot, the block needs 1 bytes per shot" in bad[0].body.message
        assert [r.body.syndrome_seq for r in recorded if r.kind == "applied"] == [block.seq]
    finally:
        rig.close()


def test_recorder_ignores_a_second_run_start(ctx, tmp_path):
    pull = make_socket(ctx, zmq.PULL, ipc(tmp_path, "rec"), bind=True)
    push = make_socket(ctx, zmq.PUSH, ipc(tmp_path, "rec"), bind=False)
    path = str(tmp_path / "run.h5")
    recorder = Recorder(records=pull, path=path, run_id=RUN)
    server = Outbox(push, run_id=RUN, source="instrument_server")
    start = RunStart(config_text="x", config_path="c.yaml", station_snapshot={}, num_detectors=16,
                     num_observables=1, qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=4))
    server.send(start)
    Outbox(push, run_id=RUN, source="intruder").send(start)
    Outbox(push, run_id=RUN, source="launcher").send(RunEnd(end_state="completed", reason="test"))
    recorder.run()
    recorder.close()
    kinds = event_kinds(path)
    assert kinds.count("duplicate_run_start") == 1 and kinds.count("run_start") == 1
    with h5py.File(path, "r") as f:
        assert f.attrs["end_state"] == "completed"
